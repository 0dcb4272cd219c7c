//! The routes of `lol-ocr serve` and what each answer is made of. `POST /v1/extract` answers
//! the contract's output document (`proto/schemas/ocr_job_output.schema.json`) whenever the OCR
//! had something to say, with the HTTP status telling the caller what to do with it; the
//! service's own refusals (busy, too slow, too large) are a small `{"error": {code, message}}`.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ocr::job_input;
use ocr::pipeline::early_failure;
use ocr_service::pool::{Admission, OcrPool};
use proto::{OcrErrorCode, OcrJobInput, OcrJobOutput};
use tracing::Instrument as _;
use uuid::Uuid;

use super::Server;
use super::metrics::StatusLabel;

pub fn router(server: Arc<Server>, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/v1/extract", post(extract))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(exposition))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(server)
}

/// The service's own refusals, before or instead of a reading.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    NotReady,
    Overloaded,
    DeadlineExceeded,
    RequestTooLarge,
}

impl Refusal {
    fn status(self) -> StatusCode {
        match self {
            Refusal::NotReady | Refusal::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            Refusal::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
            Refusal::RequestTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Refusal::NotReady => "NOT_READY",
            Refusal::Overloaded => "OVERLOADED",
            Refusal::DeadlineExceeded => "DEADLINE_EXCEEDED",
            Refusal::RequestTooLarge => "REQUEST_TOO_LARGE",
        }
    }
}

enum Answer {
    Output(Box<OcrJobOutput>),
    Refused(Refusal, String),
}

impl Answer {
    fn status(&self) -> StatusCode {
        match self {
            Answer::Output(output) => status_of(output),
            Answer::Refused(refusal, _) => refusal.status(),
        }
    }

    /// A refusal of the request itself, answered in the output format like a refused job input.
    fn invalid(job_id: Uuid, message: impl Into<String>) -> Self {
        Answer::Output(Box::new(early_failure(job_id, OcrErrorCode::InvalidInput, message.into(), Default::default())))
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match &self {
            Answer::Output(output) => serde_json::to_value(output),
            Answer::Refused(refusal, message) => {
                Ok(serde_json::json!({"error": {"code": refusal.code(), "message": message}}))
            }
        };
        let mut response = match body {
            Ok(body) => (status, axum::Json(body)).into_response(),
            Err(error) => {
                (StatusCode::INTERNAL_SERVER_ERROR, format!("serialising the answer: {error}")).into_response()
            }
        };
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // A reading takes about a second: by then a place is likely free.
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// What the caller should do with the output: 200 use it, 400 fix the request, 422 this image
/// will never read (the worker's permanent failures), 500 try again.
fn status_of(output: &OcrJobOutput) -> StatusCode {
    let OcrJobOutput::Failed(failure) = output else {
        return StatusCode::OK;
    };
    match failure.error.code {
        OcrErrorCode::InvalidInput | OcrErrorCode::UnknownRoiProfile => StatusCode::BAD_REQUEST,
        OcrErrorCode::NotAnImage
        | OcrErrorCode::ImageTooLarge
        | OcrErrorCode::NotAScoreboard
        | OcrErrorCode::ImageNotFound => StatusCode::UNPROCESSABLE_ENTITY,
        OcrErrorCode::OcrEngineError | OcrErrorCode::DownloadFailed => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

async fn extract(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let started = Instant::now();
    let span = tracing::info_span!(
        "POST /v1/extract",
        otel.kind = "server",
        http.request.method = "POST",
        http.route = "/v1/extract",
        http.response.status_code = tracing::field::Empty,
    );
    worker_runtime::continue_trace_http(&span, &headers);
    let answer = answer(&server, multipart).instrument(span.clone()).await;
    let status = answer.status().as_u16();
    span.record("http.response.status_code", status);
    server.metrics.requests.get_or_create(&StatusLabel { status }).inc();
    server.metrics.duration.observe(started.elapsed().as_secs_f64());
    answer.into_response()
}

async fn answer(server: &Server, multipart: Result<Multipart, MultipartRejection>) -> Answer {
    let Some(pool) = server.pool.get() else {
        discard(server, multipart).await;
        return Answer::Refused(Refusal::NotReady, "the models are still loading".to_owned());
    };
    // Admitted before the body is kept, so a crowd of callers costs no memory.
    let Some(admission) = pool.admit() else {
        let load = pool.load();
        let message = format!("{} readings running and {} waiting; try again shortly", load.reading, load.queued);
        discard(server, multipart).await;
        return Answer::Refused(Refusal::Overloaded, message);
    };
    match tokio::time::timeout(server.timeout, read(pool, admission, multipart)).await {
        Ok(answer) => answer,
        Err(_) => {
            let message = format!("no answer within {} ms", server.timeout.as_millis());
            Answer::Refused(Refusal::DeadlineExceeded, message)
        }
    }
}

async fn read(pool: &OcrPool, admission: Admission, multipart: Result<Multipart, MultipartRejection>) -> Answer {
    let started = Instant::now();
    let (input, image) = match parts(multipart).await {
        Ok(parts) => parts,
        Err(refused) => return refused,
    };
    let job_id = input.job_id;
    match pool.read_admitted(admission, input, image).await {
        Ok(output) => Answer::Output(Box::new(output)),
        Err(error) => Answer::Output(Box::new(early_failure(
            job_id,
            OcrErrorCode::OcrEngineError,
            error.to_string(),
            started.elapsed(),
        ))),
    }
}

/// Reads a refused request's body chunk by chunk and keeps none of it. Answering with the body
/// unread would close the connection under an HTTP/1.1 client still writing it, which then sees
/// a broken pipe instead of the 503 and its `Retry-After`.
async fn discard(server: &Server, multipart: Result<Multipart, MultipartRejection>) {
    let Ok(mut multipart) = multipart else { return };
    let drain = async {
        while let Ok(Some(mut field)) = multipart.next_field().await {
            while let Ok(Some(_chunk)) = field.chunk().await {}
        }
    };
    // A body that never ends must not hold the refusal back.
    let _ = tokio::time::timeout(server.timeout, drain).await;
}

/// The `input` and `image` parts of the request.
async fn parts(multipart: Result<Multipart, MultipartRejection>) -> Result<(OcrJobInput, Vec<u8>), Answer> {
    let mut multipart = multipart.map_err(|rejection| {
        Answer::invalid(Uuid::nil(), format!("expected multipart/form-data with `input` and `image`: {rejection}"))
    })?;
    let (mut input, mut image) = (None, None);
    while let Some(field) = multipart.next_field().await.map_err(body_error)? {
        let part = match field.name() {
            Some("input") => &mut input,
            Some("image") => &mut image,
            other => {
                return Err(Answer::invalid(Uuid::nil(), format!("unknown part {other:?}; send `input` and `image`")));
            }
        };
        *part = Some(field.bytes().await.map_err(body_error)?);
    }
    let input = input.ok_or_else(|| Answer::invalid(Uuid::nil(), "no `input` part (the job input JSON)"))?;
    let input = job_input::parse(&input).map_err(|refused| {
        Answer::Output(Box::new(early_failure(refused.job_id, refused.code, refused.message, Default::default())))
    })?;
    let image = image.ok_or_else(|| Answer::invalid(input.job_id, "no `image` part (the screenshot)"))?;
    Ok((input, image.to_vec()))
}

fn body_error(error: MultipartError) -> Answer {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Answer::Refused(Refusal::RequestTooLarge, error.body_text())
    } else {
        Answer::invalid(Uuid::nil(), format!("reading the multipart body: {}", error.body_text()))
    }
}

async fn ready(State(server): State<Arc<Server>>) -> (StatusCode, &'static str) {
    match server.pool.get() {
        Some(_) => (StatusCode::OK, "ready\n"),
        None => (StatusCode::SERVICE_UNAVAILABLE, "loading the models\n"),
    }
}

async fn exposition(State(server): State<Arc<Server>>) -> String {
    let metrics = &server.metrics;
    let load = server.pool.get().map(OcrPool::load);
    metrics.ready.set(i64::from(load.is_some()));
    metrics.reading.set(load.map_or(0, |l| l.reading) as i64);
    metrics.queued.set(load.map_or(0, |l| l.queued) as i64);
    metrics.encode()
}
