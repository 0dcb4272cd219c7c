//! The client of `lol-ocr serve` (`proto/openapi/lol-ocr.yaml`): the job input and the image as
//! `multipart/form-data` to `POST /v1/extract`, with the trace context in `traceparent`.
//!
//! Any answer carrying the contract's output document is the reading, whatever its status
//! (200 done; 400/422 the permanent failure it names; 500 an engine error, retried). A server
//! that cannot be reached or answers `503` is skipped for the next URL; when none takes the
//! request, or one answers `504`, the attempt fails retryably and JetStream redelivers later.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use proto::{OcrJobInput, OcrJobOutput};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use tracing::Instrument as _;

pub struct HttpReader {
    client: reqwest::Client,
    urls: Vec<String>,
    next: AtomicUsize,
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("no OCR server took the request: {0}")]
    Unavailable(String),
    #[error("OCR server {url} answered {status}: {body}")]
    Refused { url: String, status: u16, body: String },
    #[error("OCR server {url} answered {status} with something that is not the output contract: {reason}")]
    NotTheContract { url: String, status: u16, reason: String },
}

/// A capture too large for the server's body limit will be refused again. Any other refusal
/// without an output document (a wrong `OCR_URL` path, a proxy's error page) is a deployment to
/// fix, and the job should still be there when it is.
impl worker_runtime::Classify for HttpError {
    fn failure(&self) -> worker_runtime::Failure {
        match self {
            HttpError::Refused { status: 413, .. } => worker_runtime::Failure::Permanent,
            _ => worker_runtime::Failure::Retryable,
        }
    }
}

/// Why one server did not give the reading.
enum Miss {
    /// Down or busy: try the next server now.
    Skip(String),
    /// An answer that ends this attempt.
    Stop(HttpError),
}

/// Longest wait for a TCP connection: a server that does not accept within this is down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

impl HttpReader {
    /// `timeout` bounds a whole request (upload, queue, reading, answer).
    pub fn new(urls: Vec<String>, timeout: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder().connect_timeout(CONNECT_TIMEOUT).timeout(timeout).build()?;
        let urls = urls.into_iter().map(|url| url.trim_end_matches('/').to_owned()).collect();
        Ok(HttpReader { client, urls, next: AtomicUsize::new(0) })
    }

    pub async fn read(&self, input: &OcrJobInput, image: Vec<u8>) -> Result<OcrJobOutput, HttpError> {
        let image = bytes::Bytes::from(image);
        let first = self.next.fetch_add(1, Ordering::Relaxed);
        let mut skipped = Vec::new();
        for n in 0..self.urls.len() {
            let url = &self.urls[(first + n) % self.urls.len()];
            let span = tracing::info_span!(
                "POST /v1/extract",
                otel.kind = "client",
                http.request.method = "POST",
                server.address = %url,
            );
            match self.read_at(url, input, image.clone()).instrument(span).await {
                Ok(output) => return Ok(output),
                Err(Miss::Stop(error)) => return Err(error),
                Err(Miss::Skip(why)) => skipped.push(format!("{url}: {why}")),
            }
        }
        Err(HttpError::Unavailable(skipped.join("; ")))
    }

    async fn read_at(&self, url: &str, input: &OcrJobInput, image: bytes::Bytes) -> Result<OcrJobOutput, Miss> {
        let document = serde_json::to_vec(input).map_err(|e| Miss::Skip(format!("serialising the input: {e}")))?;
        let json = Part::bytes(document).mime_str("application/json").map_err(|e| Miss::Skip(e.to_string()))?;
        let length = image.len() as u64;
        let form =
            Form::new().part("input", json).part("image", Part::stream_with_length(image, length).file_name("capture"));
        // The client span's context: the server's request span becomes its child.
        let mut headers = reqwest::header::HeaderMap::new();
        worker_runtime::inject_current_http(&mut headers);
        let sent = self.client.post(format!("{url}/v1/extract")).headers(headers).multipart(form).send().await;
        let response = match sent {
            Ok(response) => response,
            Err(error) if error.is_timeout() && !error.is_connect() => {
                return Err(Miss::Stop(HttpError::Unavailable(format!("{url}: no answer in time: {error}"))));
            }
            Err(error) => return Err(Miss::Skip(error.to_string())),
        };
        let status = response.status();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            return Err(Miss::Skip("503 (busy or still loading)".to_owned()));
        }
        let body = response.bytes().await.map_err(|e| Miss::Skip(format!("reading the answer: {e}")))?;
        if matches!(status.as_u16(), 200 | 400 | 422 | 500) {
            return proto::decode::<OcrJobOutput>(&body).map_err(|e| {
                Miss::Stop(HttpError::NotTheContract {
                    url: url.to_owned(),
                    status: status.as_u16(),
                    reason: e.to_string(),
                })
            });
        }
        let body = String::from_utf8_lossy(&body).chars().take(500).collect();
        Err(Miss::Stop(HttpError::Refused { url: url.to_owned(), status: status.as_u16(), body }))
    }
}
