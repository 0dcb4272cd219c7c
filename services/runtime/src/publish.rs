//! Publishing jobs: the reference for every producer (the API, `make demo`, tests, the
//! scheduler).
//!
//! - The payload is the contract type, serialised; nothing unvalidated goes out.
//! - `Nats-Msg-Id` is set, so a retried publish within the stream's 2-minute window stores one
//!   job; the server says so and [`Published::duplicate`] reports it.
//! - The current span's W3C trace context goes into `traceparent`/`tracestate`.
//! - The publish is acknowledged by JetStream before `publish` returns: the job is on disk (or on
//!   a quorum of replicas).

use async_nats::{HeaderMap, jetstream};
use proto::Job;
use tracing::Instrument;

use crate::trace_headers;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub stream: String,
    pub sequence: u64,
    /// The server already held a job with this message id; nothing new was stored.
    pub duplicate: bool,
    /// The trace the job travels in (32 hex digits), for finding it in the trace UI and logs.
    pub trace_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("publishing to {subject}: {source}")]
    Send {
        subject: &'static str,
        #[source]
        source: jetstream::context::PublishError,
    },
    #[error("waiting for the publish ack on {subject}: {source}")]
    Ack {
        subject: &'static str,
        #[source]
        source: jetstream::context::PublishError,
    },
}

#[derive(Debug, Clone)]
pub struct Publisher {
    js: jetstream::Context,
}

impl Publisher {
    pub fn new(js: jetstream::Context) -> Self {
        Publisher { js }
    }

    /// Publish `job` with `message_id` as its de-duplication key, in the current trace.
    pub async fn publish<J: Job>(&self, job: &J, message_id: &str) -> Result<Published, PublishError> {
        self.publish_continuing(job, message_id, None).await
    }

    /// Publish `job` in the trace of `traceparent` (a producer's W3C trace context recorded
    /// earlier, as the outbox does), or in the current trace when it is `None`.
    pub async fn publish_continuing<J: Job>(
        &self,
        job: &J,
        message_id: &str,
        traceparent: Option<&str>,
    ) -> Result<Published, PublishError> {
        let span = tracing::info_span!(
            "publish",
            otel.name = format!("{} publish", J::SUBJECT),
            otel.kind = "producer",
            messaging.system = "nats",
            messaging.operation.type = "publish",
            messaging.destination.name = J::SUBJECT,
            messaging.message.id = message_id,
        );
        if let Some(traceparent) = traceparent {
            let mut recorded = HeaderMap::new();
            recorded.insert("traceparent", traceparent);
            trace_headers::continue_trace(&span, Some(&recorded));
        }
        async {
            let mut headers = HeaderMap::new();
            headers.insert("Nats-Msg-Id", message_id);
            trace_headers::inject_current(&mut headers);
            let payload = proto::encode(job);
            let ack = self
                .js
                .publish_with_headers(J::SUBJECT, headers, payload.into())
                .await
                .map_err(|source| PublishError::Send { subject: J::SUBJECT, source })?
                .await
                .map_err(|source| PublishError::Ack { subject: J::SUBJECT, source })?;
            if ack.duplicate {
                tracing::info!(message_id, "duplicate publish: the job is already queued");
            }
            let trace_id = trace_headers::trace_id(&tracing::Span::current());
            Ok(Published { stream: ack.stream, sequence: ack.sequence, duplicate: ack.duplicate, trace_id })
        }
        .instrument(span)
        .await
    }
}
