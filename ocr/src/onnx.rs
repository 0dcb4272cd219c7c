//! The PP-OCRv4 models run by ONNX Runtime, in-process: the library (`libonnxruntime.so`, taken
//! out of the PyPI `onnxruntime` wheel at set-up and checked by digest, like the models) is
//! loaded once per process, and every OCR thread gets its own sessions over model bytes read
//! once.
//!
//! Why ONNX Runtime rather than `tract`: on this machine's two cores, one thread, the detection
//! model over a 960 × 544 canvas takes about 120 ms in ONNX Runtime and about 370 ms in tract
//! (960 × 640), the largest step of a reading. Sessions run one inference at a time on one
//! thread (the pool's threads are the parallelism), with the memory pattern off, because the
//! detector's input size follows the capture's shape, and one memory arena for every session of
//! the process (`share_one_arena`; the crate's only `unsafe`: three calls of ONNX Runtime's C
//! API).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use ort::AsPointer;
use ort::environment::Environment;
use ort::memory::{AllocationDevice, AllocatorType, MemoryInfo, MemoryType};
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;

use crate::engine::EngineError;

/// Where `scripts/install-deps.sh` and the Docker image put the library.
pub const DEFAULT_LIBRARY: &str = "/usr/local/lib/lol-ocr/libonnxruntime.so.1.31.1";

static ENVIRONMENT: OnceLock<Result<Environment, String>> = OnceLock::new();

/// Load the ONNX Runtime library at `library`, once per process; later calls return the first
/// outcome whatever path they name.
fn environment(library: &Path) -> Result<&'static Environment, EngineError> {
    ENVIRONMENT
        .get_or_init(|| {
            if !library.is_file() {
                return Err(format!(
                    "ONNX Runtime library {} not found (scripts/install-deps.sh installs it; ORT_DYLIB_PATH names another)",
                    library.display()
                ));
            }
            ort::init_from(library)
                .map_err(|e| format!("loading ONNX Runtime from {}: {e}", library.display()))?
                .with_name("lol-ocr")
                .build()
                .and_then(|environment| share_one_arena(&environment).map(|()| environment))
                .map_err(|e| format!("starting ONNX Runtime from {}: {e}", library.display()))
        })
        .as_ref()
        .map_err(|message| EngineError::RuntimeUnavailable(message.clone()))
}

/// The first chunk of the process's one activation arena: room for the detector's largest
/// canvas (960 × 640: ~75 MB of activations live at once, measured with `massif`) and the
/// recogniser's, so a reading's tensors are carved from one region.
const ARENA_FIRST_CHUNK: usize = 96 << 20;

/// Give every session of the process one CPU arena, its first chunk [`ARENA_FIRST_CHUNK`].
///
/// Why: each session's own arena starts small and grows by doubling, and a reading's tensors
/// scattered over those chunks left ~100 MB resident after the detector's first run. Held in one
/// chunk from the start they stay packed: a warm process reading the 33 real captures peaked at
/// 243 instead of 271 MB, its readings unchanged and no slower (docs/ocr.md, *One memory arena*). `ort` has no
/// safe call for an environment's allocator, hence the C API here.
fn share_one_arena(environment: &Environment) -> ort::Result<()> {
    let api = ort::api();
    let keys = [c"initial_chunk_size_bytes".as_ptr()];
    let values = [ARENA_FIRST_CHUNK];
    let mut config: *mut ort::sys::OrtArenaCfg = std::ptr::null_mut();
    // SAFETY: `keys` and `values` hold `keys.len()` entries and outlive the call; on success
    // `config` is a valid arena configuration, which is released below once used.
    unsafe {
        ort::Error::result_from_status((api.CreateArenaCfgV2)(keys.as_ptr(), values.as_ptr(), keys.len(), &mut config))?
    };
    let registered =
        MemoryInfo::new(AllocationDevice::CPU, 0, AllocatorType::Arena, MemoryType::Default).and_then(|cpu| {
            // SAFETY: the environment and the memory info are live for the call, and ONNX Runtime
            // copies the configuration into the allocator it keeps for the environment's lifetime.
            unsafe {
                ort::Error::result_from_status((api.CreateAndRegisterAllocator)(
                    environment.ptr().cast_mut(),
                    cpu.ptr(),
                    config,
                ))
            }
        });
    // SAFETY: `config` came from `CreateArenaCfgV2` and is not used after this.
    unsafe { (api.ReleaseArenaCfg)(config) };
    registered
}

/// An ONNX model file read into memory; each [`OnnxModel::session`] is one thread's runner.
#[derive(Clone)]
pub struct OnnxModel {
    what: &'static str,
    path: PathBuf,
    bytes: Arc<[u8]>,
    environment: &'static Environment,
}

impl OnnxModel {
    /// Read the model `what` from `path`; a missing file says where the models come from
    /// (`hint` adds how to do without this one).
    pub fn read(what: &'static str, path: &Path, hint: &str, library: &Path) -> Result<Self, EngineError> {
        if !path.is_file() {
            return Err(EngineError::ModelMissing { what, path: path.to_owned(), hint: hint.to_owned() });
        }
        let bytes = std::fs::read(path).map_err(|source| EngineError::ModelUnreadable {
            what,
            path: path.to_owned(),
            source,
        })?;
        Ok(OnnxModel { what, path: path.to_owned(), bytes: bytes.into(), environment: environment(library)? })
    }

    pub fn session(&self) -> Result<Session, EngineError> {
        let failed = |source: ort::Error| EngineError::Onnx { what: self.describe(), source };
        Session::builder(self.environment)
            .map_err(failed)?
            .with_optimization_level(GraphOptimizationLevel::All)
            .map_err(|e| failed(e.into()))?
            .with_intra_threads(1)
            .map_err(|e| failed(e.into()))?
            .with_inter_threads(1)
            .map_err(|e| failed(e.into()))?
            .with_memory_pattern(false)
            .map_err(|e| failed(e.into()))?
            .with_env_allocators()
            .map_err(|e| failed(e.into()))?
            .commit_from_memory(&self.bytes)
            .map_err(failed)
    }

    /// What the model is and where it was read from, for error messages.
    pub fn describe(&self) -> String {
        format!("{} {}", self.what, self.path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_model_says_which_and_where_before_anything_is_loaded() {
        let path = Path::new("/nonexistent/det.onnx");
        let error = OnnxModel::read("text detector", path, "", Path::new("/nonexistent/libonnxruntime.so"))
            .err()
            .expect("no such model");
        assert!(
            matches!(&error, EngineError::ModelMissing { what: "text detector", path: missing, .. } if missing == path),
            "{error:?}"
        );
        assert!(error.to_string().contains("scripts/install-deps.sh installs it"), "{error}");
    }
}
