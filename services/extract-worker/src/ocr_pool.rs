//! The OCR pipeline on a bounded set of blocking threads.
//!
//! Reading a capture is ~0.3–1 s of CPU, so it runs on Tokio's blocking pool, never on the
//! async threads that keep heartbeats and acks flowing. A semaphore bounds how many readings run
//! at once — also after a timeout, when the runtime gives up waiting but the reading still
//! finishes on its thread and holds its permit until then. Each Tesseract engine (~90 ms to
//! create, not thread-safe) is created once and reused by whichever reading takes it next; the
//! PP-OCR models are loaded once and shared by all of them.

use std::sync::{Arc, Mutex};

use ocr::engine::{EngineError, TesseractReader};
use ocr::pipeline::Pipeline;
use ocr::ppocr::PpOcrModels;
use proto::{OcrJobInput, OcrJobOutput};
use tokio::sync::Semaphore;

type Reader = Pipeline<TesseractReader>;

#[derive(Clone)]
pub struct OcrPool {
    permits: Arc<Semaphore>,
    idle: Arc<Mutex<Vec<Reader>>>,
    models: PpOcrModels,
}

#[derive(Debug, thiserror::Error)]
pub enum OcrPoolError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("the OCR thread panicked: {0}")]
    Panicked(String),
}

impl OcrPool {
    /// A pool of at most `threads` concurrent readings. One engine is created now, so a missing
    /// Tesseract or language pack stops the worker at start rather than failing every job.
    pub fn new(threads: usize, models: PpOcrModels) -> Result<Self, EngineError> {
        let first = Pipeline::standard(models.clone())?;
        Ok(OcrPool {
            permits: Arc::new(Semaphore::new(threads.max(1))),
            idle: Arc::new(Mutex::new(vec![first])),
            models,
        })
    }

    pub async fn read(&self, input: OcrJobInput, image: Vec<u8>) -> Result<OcrJobOutput, OcrPoolError> {
        let permit = Arc::clone(&self.permits).acquire_owned().await.expect("the semaphore is never closed");
        let idle = Arc::clone(&self.idle);
        let models = self.models.clone();
        let span = tracing::Span::current();
        let reading = tokio::task::spawn_blocking(move || {
            let _permit = permit;
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
