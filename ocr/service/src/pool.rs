//! The OCR pipeline on a bounded set of blocking threads, shared by the extract worker (in
//! process) and `lol-ocr serve`.
//!
//! Reading a capture is ~0.3–1 s of CPU, so it runs on Tokio's blocking pool, never on the
//! async threads that keep heartbeats, acks and HTTP connections flowing. A semaphore bounds how
//! many readings run at once — also after a timeout, when the caller gives up waiting but the
//! reading still finishes on its thread and holds its permit until then. Each engine — its
//! Tesseract readers (~90 ms to create, not thread-safe) and its ONNX Runtime sessions (one
//! inference at a time) — is created once and reused by whichever reading takes it next; the
//! PP-OCR models' bytes are read once and shared by all of them.
//!
//! A caller that must not pile up work (the HTTP server) asks for an [`Admission`] first: at
//! most `threads + queue` readings are admitted, running or waiting, and an admission is held
//! until its reading has really ended, even when the caller stopped waiting for it.

use std::sync::{Arc, Mutex};

use proto::{OcrJobInput, OcrJobOutput};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use ocr::engine::{EngineError, TesseractReader};
use ocr::pipeline::Pipeline;
use ocr::ppocr::PpOcrModels;

type Reader = Pipeline<TesseractReader>;

#[derive(Clone)]
pub struct OcrPool {
    threads: usize,
    permits: Arc<Semaphore>,
    admissions: Arc<Semaphore>,
    admissions_limit: usize,
    idle: Arc<Mutex<Vec<Reader>>>,
    models: PpOcrModels,
}

/// A place among the readings the pool accepts at once; see [`OcrPool::admit`]. Held, never
/// read: dropping it frees the place.
pub struct Admission {
    _place: OwnedSemaphorePermit,
}

#[derive(Debug, thiserror::Error)]
pub enum OcrPoolError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("the OCR thread panicked: {0}")]
    Panicked(String),
}

/// How busy the pool is, for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    /// Readings running on a thread.
    pub reading: usize,
    /// Admitted readings waiting for a thread.
    pub queued: usize,
}

impl OcrPool {
    /// A pool of at most `threads` concurrent readings that admits `queue` more waiting. One
    /// engine is created now, so a missing Tesseract or language pack stops the caller at start
    /// rather than failing every job.
    pub fn new(threads: usize, queue: usize, models: PpOcrModels) -> Result<Self, EngineError> {
        let first = Pipeline::standard(models.clone())?;
        let threads = threads.max(1);
        Ok(OcrPool {
            threads,
            permits: Arc::new(Semaphore::new(threads)),
            admissions: Arc::new(Semaphore::new(threads + queue)),
            admissions_limit: threads + queue,
            idle: Arc::new(Mutex::new(vec![first])),
            models,
        })
    }

    /// A place for one more reading, or `None` when `threads + queue` are already running or
    /// waiting.
    pub fn admit(&self) -> Option<Admission> {
        Arc::clone(&self.admissions).try_acquire_owned().ok().map(|place| Admission { _place: place })
    }

    pub fn load(&self) -> Load {
        let reading = self.threads - self.permits.available_permits();
        let admitted = self.admissions_limit - self.admissions.available_permits();
        Load { reading, queued: admitted.saturating_sub(reading) }
    }

    /// Read `image` for `input`, waiting for a thread. Dropping the future before a thread is
    /// free cancels the reading; once it runs, it runs to the end.
    pub async fn read(&self, input: OcrJobInput, image: Vec<u8>) -> Result<OcrJobOutput, OcrPoolError> {
        self.read_holding((), input, image).await
    }

    /// [`OcrPool::read`] for an admitted reading: the admission is given back when the reading
    /// ends.
    pub async fn read_admitted(
        &self,
        admission: Admission,
        input: OcrJobInput,
        image: Vec<u8>,
    ) -> Result<OcrJobOutput, OcrPoolError> {
        self.read_holding(admission, input, image).await
    }

    async fn read_holding<Held: Send + 'static>(
        &self,
        held: Held,
        input: OcrJobInput,
        image: Vec<u8>,
    ) -> Result<OcrJobOutput, OcrPoolError> {
        let permit = Arc::clone(&self.permits).acquire_owned().await.expect("the semaphore is never closed");
        let idle = Arc::clone(&self.idle);
        let models = self.models.clone();
        let span = tracing::Span::current();
        let reading = tokio::task::spawn_blocking(move || {
            let _held = (permit, held);
            let _entered = span.enter();
            let taken = idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).pop();
            let mut reader = match taken {
                Some(reader) => reader,
                None => Pipeline::standard(models)?,
            };
            let output = reader.run(&input, &image);
            idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(reader);
            Ok(output)
        });
        reading.await.map_err(|e| OcrPoolError::Panicked(e.to_string()))?
    }
}
