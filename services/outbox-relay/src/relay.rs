//! The relay loop: claim, publish, settle, commit; then wait for a notification or the poll.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use futures::future::join_all;
use proto::{CleanupJob, ExtractJob, Job};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use worker_runtime::provision::{self, ProvisionError};
use worker_runtime::publish::Publisher;
use worker_runtime::retry_policy::RetryPolicy;
use worker_runtime::shutdown::Shutdown;

use crate::metrics::RelayMetrics;
use crate::outbox::{self, PendingRow, Settled};

const STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);
const IDLE_IN_TRANSACTION_TIMEOUT: Duration = Duration::from_secs(10);

/// Settings for every connection of the relay's pool. They bound how long a claim can hold rows
/// that were published but not yet marked: a statement that hangs (a lock) is cancelled, and a
/// relay that stops talking mid-transaction (frozen, cut off) has it rolled back by the server.
pub fn session_settings() -> [(&'static str, String); 2] {
    [
        ("statement_timeout", format!("{}ms", STATEMENT_TIMEOUT.as_millis())),
        ("idle_in_transaction_session_timeout", format!("{}ms", IDLE_IN_TRANSACTION_TIMEOUT.as_millis())),
    ]
}

/// How often the backlog gauges are refreshed and published rows past retention pruned.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(5);
const PRUNE_BATCH: i64 = 10_000;

#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// Rows claimed per transaction.
    pub batch_size: usize,
    /// Longest wait between two looks at the table when no notification comes.
    pub poll_interval: Duration,
    /// Longest wait for one row's PubAck; the batch's publishes overlap, so also the batch's.
    pub publish_timeout: Duration,
    /// Backoff of a row whose publish failed.
    pub retry: RetryPolicy,
    /// How long published rows are kept (for looking a job up) before they are deleted.
    pub retention: Duration,
}

impl RelaySettings {
    /// The longest a row can be in the stream while still `PENDING`, so the longest between a
    /// publish and the next publish of the same row: a claim publishes for at most
    /// `publish_timeout`, then settles and commits within the statement timeout, or the server
    /// rolls it back after the idle-in-transaction timeout; the row is claimed again within a
    /// poll interval, or, if its publish failed because the connection dropped (the client sends
    /// buffered messages when it is back), after at most the retry ceiling.
    pub fn longest_unmarked(&self) -> Duration {
        self.publish_timeout + STATEMENT_TIMEOUT + IDLE_IN_TRANSACTION_TIMEOUT + self.poll_interval + self.retry.max
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(
        "stream {stream} drops duplicates for {window:?}, shorter than the {unmarked:?} a row can wait between publish and mark: raise the window or lower RELAY_PUBLISH_TIMEOUT_SECS / RELAY_RETRY_MAX_DELAY_MS"
    )]
    DuplicateWindowTooShort { stream: String, window: Duration, unmarked: Duration },
    #[error(transparent)]
    Stream(#[from] ProvisionError),
    #[error("listening for {channel}: {source}")]
    Listen {
        channel: &'static str,
        #[source]
        source: sqlx::Error,
    },
}

/// What one publish attempt of a row came to. Retryable and permanent failures are different
/// variants: only [`RowOutcome::Retry`] is ever tried again.
#[derive(Debug)]
enum RowOutcome {
    Published { sequence: u64, duplicate: bool },
    Retry(String),
    Rejected(String),
}

pub struct Relay {
    pub pool: PgPool,
    pub nats: async_nats::Client,
    pub js: jetstream::Context,
    pub settings: RelaySettings,
    pub metrics: Arc<RelayMetrics>,
}

impl Relay {
    /// Refuse to run where a second publish of a row would not be recognised as a duplicate.
    /// A stream that does not exist yet (no worker has started) is only reported: publishes to
    /// it fail and are retried until it does.
    pub async fn check_duplicate_windows(&self) -> Result<(), RelayError> {
        let unmarked = self.settings.longest_unmarked();
        for subject in [ExtractJob::SUBJECT, CleanupJob::SUBJECT] {
            let stream = provision::job_stream_name(subject);
            match provision::duplicate_window(&self.js, &stream).await? {
                Some(window) if window < unmarked => {
                    return Err(RelayError::DuplicateWindowTooShort { stream, window, unmarked });
                }
                Some(_) => {}
                None => tracing::warn!(%stream, "stream not there yet; its rows wait until a worker creates it"),
            }
        }
        Ok(())
    }

    /// Relay until `shutdown`; the batch in hand is settled before returning.
    pub async fn run(self, shutdown: Shutdown) -> Result<(), RelayError> {
        let mut listener = PgListener::connect_with(&self.pool)
            .await
            .map_err(|source| RelayError::Listen { channel: outbox::CHANNEL, source })?;
        listener
            .listen(outbox::CHANNEL)
            .await
            .map_err(|source| RelayError::Listen { channel: outbox::CHANNEL, source })?;
        let publisher = Publisher::new(self.js.clone());
        let mut housekept = Instant::now() - HOUSEKEEPING_EVERY;
        while !shutdown.is_shutdown() {
            let full_batch = self.nats.connection_state() == async_nats::connection::State::Connected
                && match self.relay_batch(&publisher).await {
                    Ok(claimed) => claimed == self.settings.batch_size,
                    Err(error) => {
                        tracing::warn!(%error, "relaying a batch failed; its rows stay pending");
                        false
                    }
                };
            if housekept.elapsed() >= HOUSEKEEPING_EVERY {
                self.housekeeping().await;
                housekept = Instant::now();
            }
            if full_batch {
                continue; // more rows are due
            }
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = tokio::time::sleep(self.settings.poll_interval) => {}
                notified = listener.recv() => {
                    if let Err(error) = notified {
                        tracing::warn!(%error, "outbox notifications interrupted; polling meanwhile");
                        tokio::time::sleep(self.settings.poll_interval).await;
                    }
                }
            }
            // One pass serves every notification that arrived meanwhile.
            while listener.next_buffered().is_some() {}
        }
        tracing::info!("relay stopped");
        Ok(())
    }

    /// Claim, publish and settle one batch in one transaction; returns the rows claimed.
    async fn relay_batch(&self, publisher: &Publisher) -> Result<usize, sqlx::Error> {
        let mut claim = self.pool.begin().await?;
        let rows = outbox::claim(&mut claim, i64::try_from(self.settings.batch_size).unwrap_or(i64::MAX)).await?;
        if rows.is_empty() {
            claim.rollback().await?;
            return Ok(0);
        }
        let outcomes = join_all(rows.iter().map(|row| self.publish_row(publisher, row))).await;
        let mut settled = Settled::default();
        let (mut duplicates, mut failures, mut rejected) = (0, 0, 0);
        for (row, outcome) in rows.iter().zip(outcomes) {
            match outcome {
                RowOutcome::Published { sequence, duplicate } => {
                    duplicates += u64::from(duplicate);
                    settled.published.push((row.id, i64::try_from(sequence).unwrap_or(i64::MAX)));
                }
                RowOutcome::Retry(error) => {
                    failures += 1;
                    let failed_attempt = u32::try_from(row.attempts).unwrap_or(0).saturating_add(1);
                    settled.retry.push((row.id, self.settings.retry.delay(failed_attempt), error));
                }
                RowOutcome::Rejected(error) => {
                    rejected += 1;
                    tracing::error!(row = row.id, subject = %row.subject, %error, "outbox row rejected: not a valid job");
                    settled.rejected.push((row.id, error));
                }
            }
        }
        outbox::settle(&mut claim, &settled).await?;
        claim.commit().await?;
        self.metrics.published.inc_by(settled.published.len() as u64);
        self.metrics.duplicates.inc_by(duplicates);
        self.metrics.failures.inc_by(failures);
        self.metrics.rejected.inc_by(rejected);
        if let Some((_, _, error)) = settled.retry.first() {
            tracing::warn!(rows = failures, %error, "outbox publishes failed; retrying with backoff");
        }
        Ok(rows.len())
    }

    async fn publish_row(&self, publisher: &Publisher, row: &PendingRow) -> RowOutcome {
        match row.subject.as_str() {
            ExtractJob::SUBJECT => self.publish_as::<ExtractJob>(publisher, row).await,
            CleanupJob::SUBJECT => self.publish_as::<CleanupJob>(publisher, row).await,
            other => RowOutcome::Rejected(format!("no job type for subject {other:?}")),
        }
    }

    /// Publish `row` as a `J`, if it is one: nothing outside the contract leaves the outbox.
    async fn publish_as<J: Job>(&self, publisher: &Publisher, row: &PendingRow) -> RowOutcome {
        let job: J = match proto::decode(row.payload.as_bytes()) {
            Ok(job) => job,
            Err(error) => return RowOutcome::Rejected(error.to_string()),
        };
        let message_id = row.message_id();
        let publish = publisher.publish_continuing(&job, &message_id, row.traceparent.as_deref());
        match tokio::time::timeout(self.settings.publish_timeout, publish).await {
            Ok(Ok(published)) => RowOutcome::Published { sequence: published.sequence, duplicate: published.duplicate },
            Ok(Err(error)) => RowOutcome::Retry(error.to_string()),
            Err(_) => RowOutcome::Retry(format!("no publish ack within {:?}", self.settings.publish_timeout)),
        }
    }

    /// Refresh the backlog gauges and delete published rows past their retention.
    async fn housekeeping(&self) {
        match outbox::backlog(&self.pool).await {
            Ok((pending, oldest_age)) => {
                self.metrics.pending.set(pending);
                self.metrics.oldest_pending_age.set(oldest_age);
            }
            Err(error) => tracing::warn!(%error, "reading the outbox backlog"),
        }
        match outbox::prune(&self.pool, self.settings.retention, PRUNE_BATCH).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "pruned published outbox rows past retention"),
            Err(error) => tracing::warn!(%error, "pruning published outbox rows"),
        }
    }
}
