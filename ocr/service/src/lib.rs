//! The OCR's edges, around the pure reading of the `ocr` library:
//!
//! - [`pool`]: the pipeline on a bounded set of blocking threads (Tokio), engines reused, with
//!   admission for callers that must refuse rather than queue (the extract worker and `serve`).
//! - [`download`]: the screenshot from S3 under the size limit (the CLI and the extract worker).
//! - [`ModelArgs`]: where the PP-OCR models, ONNX Runtime and the name-shape font are, as flags
//!   and environment variables of every binary that reads.
//!
//! The `lol-ocr` binary (`src/bin/lol-ocr/`) is a thin CLI over these and the library:
//! `extract` reads one capture, `serve` answers `POST /v1/extract` over HTTP
//! (`proto/openapi/lol-ocr.yaml`).

pub mod download;
pub mod pool;

use ocr::engine::EngineError;
use ocr::ppocr::{PpOcrConfig, PpOcrModels};

/// The PP-OCRv4 models: the text detector the layout needs, and the recogniser that reads the
/// names first; and the font the last look draws unread Hangul names in.
#[derive(Debug, Clone, clap::Args)]
pub struct ModelArgs {
    /// The PP-OCRv4 text detection model (ONNX): finds the texts the layout is built from.
    #[arg(long, env = "PPOCR_DET_MODEL", default_value = ocr::detect::DEFAULT_MODEL)]
    pub ppocr_det_model: String,
    /// The PP-OCRv4 recognition model (ONNX): the first reader of every name cell, Tesseract
    /// reading the rows it leaves to no player of the match; empty: Tesseract alone.
    #[arg(long, env = "PPOCR_REC_MODEL", default_value = ocr::ppocr::DEFAULT_MODEL)]
    pub ppocr_rec_model: String,
    /// The ONNX Runtime library that runs both models.
    #[arg(long, env = "ORT_DYLIB_PATH", default_value = ocr::onnx::DEFAULT_LIBRARY)]
    pub onnxruntime: String,
    /// The Korean font the last look draws unread Hangul names in, to compare with their cells;
    /// empty: no such look.
    #[arg(long, env = "NAME_FONT", default_value = ocr::name_shape::DEFAULT_FONT)]
    pub name_font: String,
}

impl ModelArgs {
    pub fn config(&self) -> PpOcrConfig {
        PpOcrConfig {
            ppocr_det_model: self.ppocr_det_model.clone(),
            ppocr_rec_model: self.ppocr_rec_model.clone(),
            onnxruntime: self.onnxruntime.clone(),
            name_font: self.name_font.clone(),
        }
    }

    /// Both models and the library, as [`PpOcrConfig::load`].
    pub fn load(&self) -> Result<PpOcrModels, EngineError> {
        self.config().load()
    }
}
