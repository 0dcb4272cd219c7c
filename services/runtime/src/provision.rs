//! Streams and durable consumers, created or brought back to the documented settings at every
//! start. Safe with many replicas starting at once: creation is idempotent on the server (same
//! config → same stream), and a replica that loses a creation race simply updates.
//!
//! | stream | subjects | retention | why |
//! |---|---|---|---|
//! | `JOBS_EXTRACT`, `JOBS_CLEANUP`, `JOBS_AUTO_DONE` | the task's subject | work queue, file | a job is stored until one consumer acks it, and survives restarts |
//! | `DEAD_LETTERS` | `dead_letter.>` | limits (30 days), file | given-up jobs wait there for `dlq list` / `dlq replay` |
//!
//! All job streams keep a 2-minute de-duplication window keyed by `Nats-Msg-Id`.
//!
//! Each task has one durable pull consumer shared by all replicas. `max_deliver` is unlimited on
//! the server: the runtime counts attempts itself so that the last one runs the task's
//! `on_exhausted` hook and dead-letters the job, which a server-side limit would skip silently.
//!
//! Drift: settings that can change in place (replicas, duplicate window, ack wait, …) are updated
//! and logged as reconciled; settings the server cannot change (storage, retention) stop the
//! process with an error naming the stream and the field, rather than run on a wrong stream.

use std::time::Duration;

use async_nats::jetstream::{
    self,
    consumer::{AckPolicy, DeliverPolicy, pull},
    stream::{self, RetentionPolicy, StorageType},
};

pub const DEAD_LETTER_STREAM: &str = "DEAD_LETTERS";
pub const DEAD_LETTER_SUBJECT_PREFIX: &str = "dead_letter";
/// Long enough for a scheduler replica that fires a few seconds late, or a retried publish.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
const DEAD_LETTER_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);
/// Consumer-wide cap of unacknowledged jobs. Each process pulls only as many jobs as it has free
/// slots, so this cap never decides how work is shared; it only bounds the damage of a bug.
pub const MAX_ACK_PENDING: i64 = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error(
        "stream {stream}: {field} is {actual} on the server but must be {wanted}; it cannot be changed in place — migrate or delete the stream"
    )]
    ImmutableDrift { stream: String, field: &'static str, actual: String, wanted: String },
    #[error("stream {stream}: {source}")]
    Stream {
        stream: String,
        #[source]
        source: async_nats::Error,
    },
    #[error("consumer {consumer} on {stream}: {source}")]
    Consumer {
        stream: String,
        consumer: String,
        #[source]
        source: async_nats::Error,
    },
}

/// The stream that stores jobs published on `subject`.
pub fn job_stream_name(subject: &str) -> String {
    format!("JOBS_{}", subject.to_ascii_uppercase())
}

pub fn job_stream_config<J: proto::Job>(replicas: usize) -> stream::Config {
    stream::Config {
        name: job_stream_name(J::SUBJECT),
        subjects: vec![J::SUBJECT.to_owned()],
        max_message_size: i32::try_from(J::MAX_PAYLOAD_BYTES).unwrap_or(i32::MAX),
        retention: RetentionPolicy::WorkQueue,
        storage: StorageType::File,
        num_replicas: replicas,
        duplicate_window: DUPLICATE_WINDOW,
        allow_direct: true,
        ..Default::default()
    }
}

pub fn dead_letter_stream_config(replicas: usize) -> stream::Config {
    stream::Config {
        name: DEAD_LETTER_STREAM.to_owned(),
        subjects: vec![format!("{DEAD_LETTER_SUBJECT_PREFIX}.>")],
        retention: RetentionPolicy::Limits,
        storage: StorageType::File,
        num_replicas: replicas,
        max_age: DEAD_LETTER_MAX_AGE,
        duplicate_window: DUPLICATE_WINDOW,
        allow_direct: true,
        ..Default::default()
    }
}

pub fn consumer_config(name: &str, ack_wait: Duration) -> pull::Config {
    pull::Config {
        durable_name: Some(name.to_owned()),
        description: Some("shared by every replica of this task's worker".to_owned()),
        ack_policy: AckPolicy::Explicit,
        deliver_policy: DeliverPolicy::All,
        ack_wait,
        max_deliver: -1,
        max_ack_pending: MAX_ACK_PENDING,
        // Outstanding pull requests: one per replica at a time, so this allows 512 replicas.
        max_waiting: 512,
        ..Default::default()
    }
}

/// Create the stream, or reconcile it to `wanted`.
pub async fn ensure_stream(js: &jetstream::Context, wanted: stream::Config) -> Result<stream::Stream, ProvisionError> {
    let name = wanted.name.clone();
    let stream_error = |source: async_nats::Error| ProvisionError::Stream { stream: name.clone(), source };
    match js.get_stream(&name).await {
        Ok(mut existing) => {
            let actual = existing.info().await.map_err(|e| stream_error(e.into()))?.config.clone();
            let changed = drift(&actual, &wanted)?;
            if !changed.is_empty() {
                js.update_stream(wanted.clone()).await.map_err(|e| stream_error(e.into()))?;
                tracing::warn!(stream = %name, fields = ?changed, "stream settings drifted; reconciled");
            }
            Ok(existing)
        }
        Err(error) if is_stream_not_found(&error) => {
            // Another replica may be creating it right now: create-or-update is idempotent.
            js.create_or_update_stream(wanted.clone()).await.map_err(|e| stream_error(e.into()))?;
            js.get_stream(&name).await.map_err(|e| stream_error(e.into()))
        }
        Err(error) => Err(stream_error(error.into())),
    }
}

/// How the server's `actual` settings differ from `wanted`: the fields a reconcile would change
/// (empty when in step), or the error for one that cannot be changed in place.
pub fn drift(actual: &stream::Config, wanted: &stream::Config) -> Result<Vec<&'static str>, ProvisionError> {
    check_immutable(actual, wanted)?;
    Ok(mutable_drift(actual, wanted))
}

/// Create the durable consumer or update it in place to `wanted`.
pub async fn ensure_consumer(
    stream: &stream::Stream,
    wanted: pull::Config,
) -> Result<jetstream::consumer::Consumer<pull::Config>, ProvisionError> {
    let consumer_name = wanted.durable_name.clone().unwrap_or_default();
    let stream_name = stream.cached_info().config.name.clone();
    // The server's create action is create-or-update for a durable consumer of the same name.
    stream.create_consumer(wanted).await.map_err(|source| ProvisionError::Consumer {
        stream: stream_name,
        consumer: consumer_name,
        source: source.into(),
    })
}

/// Every stream the system uses: one per job subject, and the dead letters.
pub async fn ensure_all_streams(js: &jetstream::Context, replicas: usize) -> Result<(), ProvisionError> {
    ensure_stream(js, job_stream_config::<proto::ExtractJob>(replicas)).await?;
    ensure_stream(js, job_stream_config::<proto::CleanupJob>(replicas)).await?;
    ensure_stream(js, job_stream_config::<proto::AutoDoneTick>(replicas)).await?;
    ensure_stream(js, dead_letter_stream_config(replicas)).await?;
    Ok(())
}

/// The duplicate window of `stream` on the server, or `None` when the stream does not exist yet.
pub async fn duplicate_window(js: &jetstream::Context, stream: &str) -> Result<Option<Duration>, ProvisionError> {
    let stream_error = |source: async_nats::Error| ProvisionError::Stream { stream: stream.to_owned(), source };
    match js.get_stream(stream).await {
        Ok(mut found) => Ok(Some(found.info().await.map_err(|e| stream_error(e.into()))?.config.duplicate_window)),
        Err(error) if is_stream_not_found(&error) => Ok(None),
        Err(error) => Err(stream_error(error.into())),
    }
}

fn is_stream_not_found(error: &jetstream::context::GetStreamError) -> bool {
    matches!(
        error.kind(),
        jetstream::context::GetStreamErrorKind::JetStream(inner)
            if inner.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND
    )
}

fn check_immutable(actual: &stream::Config, wanted: &stream::Config) -> Result<(), ProvisionError> {
    let drift = |field, actual_value: String, wanted_value: String| ProvisionError::ImmutableDrift {
        stream: wanted.name.clone(),
        field,
        actual: actual_value,
        wanted: wanted_value,
    };
    if actual.storage != wanted.storage {
        return Err(drift("storage", format!("{:?}", actual.storage), format!("{:?}", wanted.storage)));
    }
    if actual.retention != wanted.retention {
        return Err(drift("retention", format!("{:?}", actual.retention), format!("{:?}", wanted.retention)));
    }
    Ok(())
}

fn mutable_drift(actual: &stream::Config, wanted: &stream::Config) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if actual.subjects != wanted.subjects {
        changed.push("subjects");
    }
    if actual.num_replicas != wanted.num_replicas {
        changed.push("num_replicas");
    }
    if actual.duplicate_window != wanted.duplicate_window {
        changed.push("duplicate_window");
    }
    if actual.max_age != wanted.max_age {
        changed.push("max_age");
    }
    if actual.allow_direct != wanted.allow_direct {
        changed.push("allow_direct");
    }
    if no_limit_as_minus_one(actual.max_message_size) != no_limit_as_minus_one(wanted.max_message_size) {
        changed.push("max_message_size");
    }
    changed
}

/// The client's default "no limit" is 0; the server stores and reports it as -1.
fn no_limit_as_minus_one(limit: i32) -> i32 {
    if limit == 0 { -1 } else { limit }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_streams_are_durable_work_queues_with_a_dedupe_window() {
        let config = job_stream_config::<proto::ExtractJob>(3);
        assert_eq!(config.name, "JOBS_EXTRACT");
        assert_eq!(config.subjects, ["extract"]);
        assert_eq!(config.retention, RetentionPolicy::WorkQueue);
        assert_eq!(config.storage, StorageType::File);
        assert_eq!(config.num_replicas, 3);
        assert!(config.duplicate_window >= Duration::from_secs(120));
        assert_eq!(config.max_message_size, 1024, "payload limit enforced by the server");
    }

    #[test]
    fn storage_drift_is_refused_and_named() {
        let wanted = job_stream_config::<proto::CleanupJob>(1);
        let actual = stream::Config { storage: StorageType::Memory, ..wanted.clone() };
        let error = check_immutable(&actual, &wanted).expect_err("storage cannot change in place");
        let text = error.to_string();
        assert!(text.contains("JOBS_CLEANUP") && text.contains("storage"), "{text}");
    }

    #[test]
    fn replica_and_window_drift_are_reconcilable() {
        let wanted = job_stream_config::<proto::AutoDoneTick>(3);
        let actual = stream::Config { num_replicas: 1, duplicate_window: Duration::from_secs(10), ..wanted.clone() };
        assert!(check_immutable(&actual, &wanted).is_ok());
        assert_eq!(mutable_drift(&actual, &wanted), ["num_replicas", "duplicate_window"]);
    }

    #[test]
    fn the_clients_no_limit_is_the_servers_no_limit() {
        let wanted = dead_letter_stream_config(1);
        assert_eq!(wanted.max_message_size, 0, "the client's default");
        let reported = stream::Config { max_message_size: -1, ..wanted.clone() };
        assert_eq!(drift(&reported, &wanted).unwrap(), Vec::<&str>::new());
        let limited = stream::Config { max_message_size: 4096, ..wanted.clone() };
        assert_eq!(drift(&limited, &wanted).unwrap(), ["max_message_size"]);
    }
}
