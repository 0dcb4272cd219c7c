//! Where a capture is read: in this process on the [`OcrPool`] (the default), or by `lol-ocr
//! serve` over HTTP (`EXTRACTION_MODE=http`), so OCR replicas can scale apart from the workers.
//! The job's outcome is the same either way: the contract's output document, or an error that
//! says whether another attempt may succeed.

use clap::{Args, ValueEnum};
use ocr_service::pool::{OcrPool, OcrPoolError};
use proto::{OcrJobInput, OcrJobOutput};
use worker_runtime::{Classify, Failure};

use crate::ocr_http::{HttpError, HttpReader};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExtractionMode {
    /// The OCR pipeline on this worker's threads.
    Inprocess,
    /// `lol-ocr serve` at `OCR_URL`.
    Http,
}

#[derive(Debug, Clone, Args)]
pub struct ExtractionConfig {
    /// `inprocess`: read on this worker; `http`: send the capture to `lol-ocr serve` at `OCR_URL`.
    #[arg(long, env = "EXTRACTION_MODE", value_enum, default_value_t = ExtractionMode::Inprocess)]
    pub extraction_mode: ExtractionMode,
    /// Base URLs of `lol-ocr serve`, comma-separated (or one load balancer), for `http` mode.
    /// Requests go round the list; a server that is down or busy is skipped for the next.
    #[arg(long, env = "OCR_URL", value_delimiter = ',')]
    pub ocr_url: Vec<String>,
}

pub enum OcrReader {
    InProcess(OcrPool),
    Http(HttpReader),
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Pool(#[from] OcrPoolError),
    #[error(transparent)]
    Http(#[from] HttpError),
}

/// Only an OCR server's refusal of the request itself is final; an engine that failed, a
/// server down, busy or too slow may do better on the next attempt.
impl Classify for ReadError {
    fn failure(&self) -> Failure {
        match self {
            ReadError::Pool(_) => Failure::Retryable,
            ReadError::Http(error) => error.failure(),
        }
    }
}

impl OcrReader {
    pub async fn read(&self, input: OcrJobInput, image: Vec<u8>) -> Result<OcrJobOutput, ReadError> {
        match self {
            OcrReader::InProcess(pool) => Ok(pool.read(input, image).await?),
            OcrReader::Http(http) => Ok(http.read(&input, image).await?),
        }
    }
}
