//! What a service provides: a [`Task`] — the job type it consumes, how to handle one, how to
//! classify failures ([`Classify`]), and its [`TaskPolicy`].

use std::fmt;
use std::future::Future;
use std::time::Duration;

use crate::dead_letter::Reason;
use crate::retry_policy::RetryPolicy;

/// How a handler failed. The distinction decides everything that follows:
/// a retryable failure is tried again later (network, database down, timeouts), a permanent
/// one never will succeed (bad payload, missing row, not an image) and is dead-lettered at once.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("{0:#}")]
    Retryable(anyhow::Error),
    #[error("{0:#}")]
    Permanent(anyhow::Error),
}

impl TaskError {
    pub fn retryable(error: impl Into<anyhow::Error>) -> Self {
        TaskError::Retryable(error.into())
    }

    pub fn permanent(error: impl Into<anyhow::Error>) -> Self {
        TaskError::Permanent(error.into())
    }
}

/// Whether another attempt can succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Retryable,
    Permanent,
}

/// An error that knows whether trying again can help. Each error type a handler meets says so
/// once, next to its variants, and `?` in a handler turns it into the matching [`TaskError`].
pub trait Classify: std::error::Error + Send + Sync + 'static {
    fn failure(&self) -> Failure;
}

impl<E: Classify> From<E> for TaskError {
    fn from(error: E) -> Self {
        match error.failure() {
            Failure::Retryable => TaskError::Retryable(error.into()),
            Failure::Permanent => TaskError::Permanent(error.into()),
        }
    }
}

/// The database unreachable, a timeout, a lost connection, a serialisation conflict: the job's
/// own data is checked before it reaches a query, so a database error is the database's state.
impl Classify for sqlx::Error {
    fn failure(&self) -> Failure {
        Failure::Retryable
    }
}

/// Why a job is given up on, as the task's hook and the dead letter see it.
#[derive(Debug, Clone, Copy)]
pub enum GiveUp<'a> {
    /// The last attempt failed retryably, or an attempt failed permanently, with this error.
    Failed(&'a TaskError),
    /// A delivery came past the last attempt: that attempt never reported back (the worker
    /// crashed, timed out or lost its connection).
    NeverReportedBack,
    /// An earlier delivery gave up but could not finish; this is what it noted.
    Noted { reason: Reason, error: &'a str },
    /// The payload is not a job of the subject's contract (no hook runs: there is no job).
    Undecodable(&'a str),
}

impl GiveUp<'_> {
    pub fn reason(&self) -> Reason {
        match self {
            GiveUp::Failed(TaskError::Retryable(_)) | GiveUp::NeverReportedBack => Reason::Exhausted,
            GiveUp::Failed(TaskError::Permanent(_)) => Reason::Permanent,
            GiveUp::Noted { reason, .. } => *reason,
            GiveUp::Undecodable(_) => Reason::Undecodable,
        }
    }
}

impl fmt::Display for GiveUp<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GiveUp::Failed(error) => write!(f, "{error}"),
            GiveUp::NeverReportedBack => f.write_str(
                "the previous attempt never reported back (worker crashed, timed out or lost its connection)",
            ),
            GiveUp::Noted { error, .. } | GiveUp::Undecodable(error) => f.write_str(error),
        }
    }
}

/// The delivery attempt a handler is running, from the message's metadata (1 = first delivery).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Attempt {
    pub number: u32,
    pub max: u32,
}

impl Attempt {
    /// `true` when no retry follows a failure of this attempt.
    pub fn is_last(&self) -> bool {
        self.number >= self.max
    }
}

impl fmt::Display for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.number, self.max)
    }
}

/// Per-task limits.
#[derive(Debug, Clone, Copy)]
pub struct TaskPolicy {
    /// Deliveries before the job is given up on (the hook runs, the message is dead-lettered).
    pub max_attempts: u32,
    /// Longest a handler may run; past it the attempt fails as retryable.
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

/// What follows one attempt's result: the single place the outcome table of
/// [`worker`](crate::worker) is decided, shared by the worker and by test harnesses.
#[derive(Debug)]
pub enum Settlement<'a> {
    /// The job is done: acknowledge it.
    Ack,
    /// A retryable failure with attempts left: deliver it again after this delay.
    RetryAfter(Duration),
    /// Give the job up: run the hook, store the dead letter, terminate the message.
    GiveUp(GiveUp<'a>),
}

impl TaskPolicy {
    pub fn settle<'a>(&self, result: &'a Result<(), TaskError>, attempt: Attempt) -> Settlement<'a> {
        match result {
            Ok(()) => Settlement::Ack,
            Err(TaskError::Retryable(_)) if !attempt.is_last() => {
                Settlement::RetryAfter(self.retry.delay(attempt.number))
            }
            Err(error) => Settlement::GiveUp(GiveUp::Failed(error)),
        }
    }
}

/// A consumer of one job subject. Implementations hold their own clients (pool, S3, …).
pub trait Task: Send + Sync + 'static {
    type Job: proto::Job + Clone + Send + Sync + 'static;

    /// Durable consumer name, shared by all replicas of the service.
    const CONSUMER: &'static str;

    fn policy(&self) -> TaskPolicy;

    /// Handle one delivery. Must be idempotent: a job can be delivered more than once (after a
    /// crash, a lost ack, or a duplicate publish outside the de-duplication window).
    fn handle(&self, job: Self::Job, attempt: Attempt) -> impl Future<Output = Result<(), TaskError>> + Send;

    /// Register the task's own metrics (outcomes, step timings) beside the runtime's; they are
    /// served on `/metrics` with the `worker_` prefix.
    fn register_metrics(&self, registry: &mut prometheus_client::registry::Registry) {
        let _ = registry;
    }

    /// Runs once when the job is given up on — after its last attempt failed, or at once on a
    /// permanent failure — before the message is dead-lettered and terminated. If the hook
    /// itself fails the message is retried later, so the hook must be idempotent too.
    /// `attempt` is the one that failed last; `why` says how (its `Display` is the error the
    /// dead letter stores).
    fn on_exhausted(
        &self,
        job: &Self::Job,
        why: GiveUp<'_>,
        attempt: Attempt,
    ) -> impl Future<Output = anyhow::Result<()>> + Send {
        let _ = (job, why, attempt);
        async { Ok(()) }
    }
}
