//! The consume loop: pull jobs when a slot is free, run the task's handler with a heartbeat and
//! a timeout, and settle every delivery explicitly.
//!
//! **Flow control.** A process has `WORKER_CONCURRENCY` slots and holds at most
//! `WORKER_PREFETCH` jobs more (up to `WORKER_PREFETCH_MAX` for jobs of well under a
//! millisecond), delivered and waiting for the next free slot (see `prefetch.rs`). It keeps one pull request open for exactly as many jobs as it
//! may still hold, so a freed slot starts the next job without a round trip, a busy replica never
//! holds more than its window, and N replicas on the same durable consumer share the queue by how
//! fast each frees its slots. `WORKER_PREFETCH=0` pulls only for free slots.
//!
//! **Long handlers.** While a handler runs, the worker sends an in-progress ack every third of
//! the ack wait, so a 60 s OCR job is never redelivered to another replica while it is still
//! running, yet a crashed worker's job comes back after one ack wait (30 s by default) rather
//! than after the longest job could take. Heartbeats over a large ack wait: crash recovery time
//! stays short whatever the handler timeout is.
//!
//! **Outcomes.**
//! | handler result | settlement |
//! |---|---|
//! | `Ok` | confirmed ack (the server replies once it has recorded it; acks of jobs that finish together share one reply: [`ack`](crate::ack)) |
//! | retryable error, panic or timeout, attempts left | nak with the [`RetryPolicy`](crate::retry_policy::RetryPolicy) delay |
//! | retryable error on the last attempt | `on_exhausted` hook → dead letter → term |
//! | permanent error | `on_exhausted` hook → dead letter → term, no retries |
//! | payload not valid for the contract | dead letter → term (no typed job for the hook) |
//! | delivered again after the last attempt (its worker died) | hook → dead letter → term |
//!
//! If the hook or the dead-letter copy fails, the message is nak'd and the give-up is retried on
//! its next delivery: a job is terminated only once its dead letter is stored.

use std::any::Any;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, AckKind};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tracing::{Instrument, Span, field};

use crate::ack::ConfirmedAcks;
use crate::dead_letter::{DeadLetters, DeferredGiveUp, Reason};
use crate::metrics::{Metrics, TaskSeries};
use crate::prefetch::{Held, Pace, Window};
use crate::provision::{self, ProvisionError};
use crate::shutdown::Shutdown;
use crate::task::{Attempt, GiveUp, Settlement, Task, TaskError};
use crate::trace_headers;

#[derive(Debug, Clone, Copy)]
pub struct WorkerSettings {
    pub concurrency: usize,
    /// Jobs held beyond the running ones, delivered and ready for the next free slot.
    pub prefetch: usize,
    /// Most jobs held beyond the running ones, when the jobs are short enough.
    pub prefetch_max: usize,
    pub ack_wait: Duration,
    pub shutdown_grace: Duration,
}

/// What happened to one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Succeeded,
    Retrying,
    DeadLettered(Reason),
    /// Hook or dead-letter copy failed: nak'd so the give-up is tried again.
    GiveUpDeferred,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Retrying => "retrying",
            Outcome::DeadLettered(Reason::Exhausted) => "exhausted",
            Outcome::DeadLettered(Reason::Permanent) => "permanent_failure",
            Outcome::DeadLettered(Reason::Undecodable) => "undecodable",
            Outcome::GiveUpDeferred => "give_up_deferred",
        }
    }
}

struct Shared<T: Task> {
    task: T,
    acks: ConfirmedAcks,
    dead_letters: DeadLetters,
    metrics: Arc<Metrics>,
    series: TaskSeries,
    /// `"{subject} process"`, the span name every job's trace shows, built once.
    span_name: String,
    settings: WorkerSettings,
    pace: Arc<Pace>,
}

/// Provision the task's consumer and consume until `shutdown`; then wait up to the grace period
/// for in-flight jobs. Jobs still running after it are left unacknowledged for redelivery.
pub async fn run<T: Task>(
    task: T,
    js: jetstream::Context,
    replicas: usize,
    settings: WorkerSettings,
    metrics: Arc<Metrics>,
    shutdown: Shutdown,
) -> Result<(), ProvisionError> {
    let subject = <T::Job as proto::Job>::SUBJECT;
    let stream = provision::ensure_stream(&js, provision::job_stream_config::<T::Job>(replicas)).await?;
    provision::ensure_stream(&js, provision::dead_letter_stream_config(replicas)).await?;
    let consumer =
        provision::ensure_consumer(&stream, provision::consumer_config(T::CONSUMER, settings.ack_wait)).await?;

    let shared = Arc::new(Shared {
        task,
        acks: ConfirmedAcks::start(js.client()),
        dead_letters: DeadLetters::new(js),
        series: metrics.series(subject),
        metrics,
        span_name: format!("{subject} process"),
        settings,
        pace: Arc::new(Pace::default()),
    });
    let slots = Arc::new(Semaphore::new(settings.concurrency));
    let mut window =
        Window::new(consumer, settings.concurrency, (settings.prefetch, settings.prefetch_max), shared.pace.clone());
    let beat = settings.ack_wait / 3;
    let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + beat, beat);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut in_flight = JoinSet::new();
    // Made once: a new one each turn of the loop would join and leave the token's waiter list.
    let cancelled = shutdown.cancelled();
    tokio::pin!(cancelled);
    shared.metrics.consuming.store(true, std::sync::atomic::Ordering::Relaxed);
    tracing::info!(
        subject,
        consumer = T::CONSUMER,
        concurrency = settings.concurrency,
        prefetch = settings.prefetch,
        prefetch_max = settings.prefetch_max,
        "worker started"
    );

    while !shutdown.is_shutdown() {
        window.pull().await;
        tokio::select! {
            biased;
            () = &mut cancelled => break,
            slot = slots.clone().acquire_owned(), if window.has_delivered() => {
                // Every delivered job a free slot can take starts now, not one per turn.
                let mut slot = Some(slot.expect("the semaphore is never closed"));
                while let Some(free) = slot.take() {
                    let held = window.take().expect("a delivered job is waiting");
                    in_flight.spawn(process(shared.clone(), held, free));
                    if window.has_delivered() {
                        slot = slots.clone().try_acquire_owned().ok();
                    }
                }
            }
            () = window.changed() => {}
            _ = heartbeat.tick() => window.heartbeat().await,
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {
                while in_flight.try_join_next().is_some() {}
            }
        }
    }
    let returned = window.give_back().await;
    if returned > 0 {
        tracing::info!(returned, "prefetched jobs given back unstarted");
    }
    // Draining: a load balancer or orchestrator should stop counting on this replica.
    shared.metrics.consuming.store(false, std::sync::atomic::Ordering::Relaxed);

    let running = in_flight.len();
    if running > 0 {
        tracing::info!(running, grace = ?settings.shutdown_grace, "waiting for in-flight jobs");
        let drained =
            tokio::time::timeout(settings.shutdown_grace, async { while in_flight.join_next().await.is_some() {} })
                .await;
        if drained.is_err() {
            tracing::warn!(left = in_flight.len(), "grace period over; unfinished jobs will be redelivered");
            in_flight.abort_all();
        }
    }
    tracing::info!(subject, "worker stopped");
    Ok(())
}

/// Handle one delivery start to finish, inside a span that continues the producer's trace.
#[expect(clippy::manual_async_fn, reason = "an async fn would hold the message twice (below)")]
fn process<T: Task>(shared: Arc<Shared<T>>, held: Held, slot: OwnedSemaphorePermit) -> impl Future<Output = ()> + Send {
    // An `async` block rather than an `async fn`: an `async fn` moves its arguments into its body,
    // where the message would take its room in the job's future a second time.
    async move {
        let message = &held.message;
        let slot = (slot, held.permit);
        let Ok(info) = message.info() else {
            tracing::warn!(subject = %message.subject, "ignoring a message without JetStream metadata");
            return;
        };
        let attempt = Attempt {
            number: u32::try_from(info.delivered).unwrap_or(u32::MAX).max(1),
            max: shared.task.policy().max_attempts,
        };
        let stream_sequence = info.stream_sequence;
        shared.series.pending.set(i64::try_from(info.pending).unwrap_or(i64::MAX));
        let subject = <T::Job as proto::Job>::SUBJECT;
        let span = tracing::info_span!(
            "process",
            otel.name = shared.span_name.as_str(),
            otel.kind = "consumer",
            otel.status_code = field::Empty,
            messaging.system = "nats",
            messaging.operation.type = "process",
            messaging.destination.name = subject,
            messaging.consumer.group.name = T::CONSUMER,
            messaging.message.id =
                message.headers.as_ref().and_then(|headers| headers.get("Nats-Msg-Id")).map_or("", |id| id.as_str()),
            messaging.nats.stream_sequence = stream_sequence,
            messaging.nats.attempt = attempt.number,
            job.outcome = field::Empty,
            trace_id = field::Empty,
            span_id = field::Empty,
        );
        // With no subscriber listening (a library user without tracing) there is nothing to
        // parent and no log line to carry the ids, so the per-job context work is skipped.
        if !span.is_disabled() {
            trace_headers::continue_trace(&span, message.headers.as_ref());
            // Every log line of the job carries these, so logs and traces can be joined.
            span.record("trace_id", trace_headers::trace_id(&span));
            span.record("span_id", trace_headers::span_id(&span));
        }

        let outcome = settle(&shared, message, stream_sequence, attempt, slot).instrument(span.clone()).await;
        span.record("job.outcome", outcome.as_str());
        span.record("otel.status_code", if outcome == Outcome::Succeeded { "OK" } else { "ERROR" });
    }
}

async fn settle<T: Task>(
    shared: &Shared<T>,
    message: &jetstream::Message,
    stream_sequence: u64,
    attempt: Attempt,
    slot: (OwnedSemaphorePermit, OwnedSemaphorePermit),
) -> Outcome {
    let limit = <T::Job as proto::Job>::MAX_PAYLOAD_BYTES;
    if message.payload.len() > limit {
        // Not even parsed: a stream made before the limit existed could still hold such a job.
        let error = format!("payload is {} bytes; the limit for this subject is {limit}", message.payload.len());
        tracing::error!(error, "payload refused unread");
        return give_up(shared, message, stream_sequence, None, attempt, GiveUp::Undecodable(&error)).await;
    }
    let job = match proto::decode::<T::Job>(&message.payload) {
        Ok(job) => job,
        Err(error) => {
            tracing::error!(%error, "payload rejected by the contract");
            let error = error.to_string();
            return give_up(shared, message, stream_sequence, None, attempt, GiveUp::Undecodable(&error)).await;
        }
    };
    // A redelivery may carry a give-up an earlier delivery could not finish (its hook or its
    // dead-letter copy failed): that delivery left a note of why, and no attempt runs now. One
    // direct get per redelivery, none on a first delivery; boxed, like every rare path here, so
    // that its future does not weigh on every job's (see `give_up`).
    if attempt.number > 1 {
        let subject = <T::Job as proto::Job>::SUBJECT;
        let noted = Box::pin(shared.dead_letters.deferred(subject, stream_sequence)).await.unwrap_or_else(|error| {
            tracing::warn!(%error, "reading the note of a deferred give-up");
            None
        });
        if let Some(why) = noted {
            let failed = Attempt { number: why.attempt, ..attempt };
            let noted = GiveUp::Noted { reason: why.reason, error: &why.error };
            return give_up(shared, message, stream_sequence, Some(&job), failed, noted).await;
        }
    }
    if attempt.number > attempt.max {
        return give_up(shared, message, stream_sequence, Some(&job), attempt, GiveUp::NeverReportedBack).await;
    }

    let started = Instant::now();
    let policy = shared.task.policy();
    let progress = Progress { message, every: shared.settings.ack_wait / 3 };
    let result = run_attempt(&shared.task, job.clone(), attempt, Some(progress)).await;
    // A slot bounds running handlers and the window permit held jobs. Settling is one server
    // round trip that needs no CPU, so the next job may start (and be pulled) while this one's
    // ack is confirmed.
    drop(slot);
    let took = started.elapsed();
    shared.pace.record(took);
    shared.series.duration.observe(took.as_secs_f64());
    if result.is_err() {
        shared.series.failed.inc();
    }

    match policy.settle(&result, attempt) {
        Settlement::Ack => {
            if let Err(error) = shared.acks.ack(message).await {
                // The work is done; if the ack was lost the job runs again, which handlers
                // tolerate (they are idempotent).
                tracing::warn!(%error, "ack not confirmed by the server; the job may be delivered again");
            }
            shared.series.processed.inc();
            tracing::info!(attempt = %attempt, elapsed_ms = started.elapsed().as_millis() as u64, "job succeeded");
            Outcome::Succeeded
        }
        Settlement::RetryAfter(delay) => {
            let error = result.as_ref().err().map(ToString::to_string).unwrap_or_default();
            tracing::warn!(attempt = %attempt, retry_in_ms = delay.as_millis() as u64, error, "attempt failed; will retry");
            nak(message, delay).await;
            shared.series.retried.inc();
            Outcome::Retrying
        }
        Settlement::GiveUp(why) => give_up(shared, message, stream_sequence, Some(&job), attempt, why).await,
    }
}

/// Where a running attempt reports that it is still alive: an in-progress ack every `every`.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    pub message: &'a jetstream::Message,
    pub every: Duration,
}

/// Run one attempt of `task` on `job` as the worker does: a panic or the policy's timeout is a
/// retryable failure, and while it runs `progress` (if any) keeps its message from redelivery.
pub async fn run_attempt<T: Task>(
    task: &T,
    job: T::Job,
    attempt: Attempt,
    progress: Option<Progress<'_>>,
) -> Result<(), TaskError> {
    let timeout = task.policy().timeout;
    let handler = task.handle(job, attempt).instrument(Span::current());
    // The handler borrows the task, so it runs in place rather than on a spawned task, and a
    // panic is caught here instead of by the runtime.
    let guarded = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(handler));
    tokio::pin!(guarded);
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let beat = progress.map_or(timeout, |progress| progress.every);
    let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + beat, beat);
    loop {
        tokio::select! {
            // The handler first: a job done at its first poll never registers its timers.
            biased;
            finished = &mut guarded => {
                return finished.unwrap_or_else(|panic| {
                    Err(TaskError::Retryable(anyhow::anyhow!("handler panicked: {}", panic_message(&panic))))
                });
            }
            () = &mut deadline => {
                return Err(TaskError::Retryable(anyhow::anyhow!("handler timed out after {timeout:?}")));
            }
            _ = heartbeat.tick(), if progress.is_some() => {
                if let Some(Progress { message, .. }) = progress
                    && let Err(error) = Box::pin(message.ack_with(AckKind::Progress)).await
                {
                    tracing::warn!(%error, "heartbeat (in-progress ack) failed");
                }
            }
        }
    }
}

/// Run the hook, store the dead letter, then terminate. Any failure before the terminate naks
/// the message instead, so the give-up is retried and the job is never dropped.
///
/// Boxed: giving up is rare, and its future (the hook, the dead-letter publish) would otherwise
/// be most of the size of every job's future — allocated, and moved into its task, per job.
fn give_up<'a, T: Task>(
    shared: &'a Shared<T>,
    message: &'a jetstream::Message,
    stream_sequence: u64,
    job: Option<&'a T::Job>,
    attempt: Attempt,
    why: GiveUp<'a>,
) -> futures::future::BoxFuture<'a, Outcome> {
    Box::pin(give_up_unboxed(shared, message, stream_sequence, job, attempt, why))
}

async fn give_up_unboxed<T: Task>(
    shared: &Shared<T>,
    message: &jetstream::Message,
    stream_sequence: u64,
    job: Option<&T::Job>,
    attempt: Attempt,
    why: GiveUp<'_>,
) -> Outcome {
    let (reason, error) = (why.reason(), why.to_string());
    let error = error.as_str();
    if let Some(job) = job
        && let Err(hook_error) = shared.task.on_exhausted(job, why, attempt).await
    {
        tracing::error!(
            error = format!("{hook_error:#}"),
            "on_exhausted hook failed; the job will be given up again later"
        );
        return defer_give_up(shared, message, stream_sequence, reason, attempt, error).await;
    }
    if let Err(store_error) = shared.dead_letters.record(message, stream_sequence, reason, attempt.number, error).await
    {
        tracing::error!(error = %store_error, "dead letter not stored; the job will be given up again later");
        return defer_give_up(shared, message, stream_sequence, reason, attempt, error).await;
    }
    if let Err(term_error) = message.ack_with(AckKind::Term).await {
        // The dead letter is stored; a redelivery would be given up again and de-duplicated.
        tracing::warn!(error = %term_error, "terminate not delivered");
    }
    shared.series.dead_lettered.inc();
    tracing::error!(%reason, attempt = %attempt, error, "job given up and dead-lettered");
    Outcome::DeadLettered(reason)
}

/// Leave the give-up to the job's next delivery: note why, then nak. If the note cannot be
/// stored either, that delivery gives up as if the attempt had never reported back.
async fn defer_give_up<T: Task>(
    shared: &Shared<T>,
    message: &jetstream::Message,
    stream_sequence: u64,
    reason: Reason,
    attempt: Attempt,
    error: &str,
) -> Outcome {
    let why = DeferredGiveUp { reason, attempt: attempt.number, error: error.to_owned() };
    let subject = <T::Job as proto::Job>::SUBJECT;
    if let Err(note_error) = shared.dead_letters.defer(subject, stream_sequence, &why).await {
        tracing::warn!(error = %note_error, "the reason of the deferred give-up was not noted");
    }
    nak(message, shared.task.policy().retry.delay(attempt.number)).await;
    Outcome::GiveUpDeferred
}

async fn nak(message: &jetstream::Message, delay: Duration) {
    // Boxed as the other rare paths (see `give_up`).
    if let Err(error) = Box::pin(message.ack_with(AckKind::Nak(Some(delay)))).await {
        tracing::warn!(%error, "nak not delivered; the job comes back after the ack wait instead");
    }
}

fn panic_message(panic: &Box<dyn Any + Send>) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("non-string panic payload")
}
