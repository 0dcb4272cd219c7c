//! The pull window: jobs requested from the server before a slot is free for them, so a freed
//! slot starts the next job at once instead of waiting one pull round trip.
//!
//! A process may hold `concurrency + prefetch` jobs: running, delivered and waiting here, or
//! asked for by the one pull request it keeps open. Every held job has a permit of the
//! [`Window`]; a pull asks for exactly as many jobs as there are free permits, and a job gives its
//! permit back when its handler returns. So the bound is exact whatever the server delivers, and
//! a crashed process strands at most that many jobs for one ack wait.
//!
//! **The window follows the jobs' length.** `prefetch` is `WORKER_PREFETCH` for jobs of a few
//! milliseconds or more (an OCR job: the window stays as configured, so replicas share a burst
//! evenly), and widens up to `WORKER_PREFETCH_MAX` for jobs short enough that the held ones are
//! still less than [`HELD_WORK`] of work ([`Pace`]). A window of one or two jobs costs a pull
//! round trip per job, which is most of a no-op job's time; a few milliseconds of waiting work
//! held by one replica is no unfairness to the others.
//!
//! Jobs waiting here are kept alive with in-progress acks like running ones (they would
//! otherwise be redelivered elsewhere while still held), and on shutdown they are given back
//! with a nak rather than left for the ack wait.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_nats::jetstream::consumer::{PullConsumer, pull::Batch};
use async_nats::jetstream::{self, AckKind};
use futures::{FutureExt, StreamExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// How long one pull request waits for jobs before it is renewed.
const PULL_EXPIRES: Duration = Duration::from_secs(5);
/// Pause after a failed pull (server restarting, connection lost) before the next one.
const PULL_RETRY_DELAY: Duration = Duration::from_millis(500);
/// How much work the jobs waiting in a widened window may add up to.
const HELD_WORK: Duration = Duration::from_millis(5);
/// Weight of the newest run in the running mean of handler times.
const PACE_WEIGHT: f64 = 1.0 / 16.0;

/// The running mean of how long the handler takes, kept by the jobs and read by the window.
#[derive(Debug, Default)]
pub(crate) struct Pace {
    /// Seconds as `f64` bits; 0 until the first job finished.
    mean_seconds: AtomicU64,
}

impl Pace {
    pub fn record(&self, took: Duration) {
        let took = took.as_secs_f64().max(1e-7);
        // Two jobs finishing at once may each overwrite the other's update: one sample lost.
        let mean = match f64::from_bits(self.mean_seconds.load(Ordering::Relaxed)) {
            0.0 => took,
            mean => mean + PACE_WEIGHT * (took - mean),
        };
        self.mean_seconds.store(mean.to_bits(), Ordering::Relaxed);
    }

    /// Jobs to hold beyond the running ones: `floor`, or more, up to `ceiling`, while
    /// `concurrency` slots would work them off within [`HELD_WORK`]. A ceiling at or below the
    /// floor keeps the window at the floor (the one place that rule lives).
    pub fn prefetch(&self, concurrency: usize, floor: usize, ceiling: usize) -> usize {
        let mean = f64::from_bits(self.mean_seconds.load(Ordering::Relaxed));
        if mean <= 0.0 || ceiling <= floor {
            return floor;
        }
        let fits = HELD_WORK.as_secs_f64() / mean * concurrency as f64;
        (fits.min(ceiling as f64) as usize).clamp(floor, ceiling)
    }
}

/// A delivered job and the window permit it holds until its handler returns.
pub(crate) struct Held {
    pub message: jetstream::Message,
    pub permit: OwnedSemaphorePermit,
}

/// The open pull request: its messages, and one permit per job it may still deliver.
struct OpenPull {
    messages: Batch,
    awaiting: Vec<OwnedSemaphorePermit>,
}

pub(crate) struct Window {
    consumer: PullConsumer,
    permits: Arc<Semaphore>,
    concurrency: usize,
    /// `WORKER_PREFETCH` and `WORKER_PREFETCH_MAX`.
    prefetch: (usize, usize),
    pace: Arc<Pace>,
    /// Permits the window has now (free or held).
    size: usize,
    /// Permits to retire as they come free, after the window narrowed.
    surplus: usize,
    delivered: VecDeque<Held>,
    pull: Option<OpenPull>,
    retry_at: Option<Instant>,
}

impl Window {
    /// A window of `concurrency` + `prefetch.0` jobs on `consumer`, widened up to
    /// `concurrency` + `prefetch.1` as `pace` says the jobs are short.
    pub fn new(consumer: PullConsumer, concurrency: usize, prefetch: (usize, usize), pace: Arc<Pace>) -> Self {
        let size = concurrency + prefetch.0;
        Window {
            consumer,
            permits: Arc::new(Semaphore::new(size)),
            concurrency,
            prefetch,
            pace,
            size,
            surplus: 0,
            delivered: VecDeque::new(),
            pull: None,
            retry_at: None,
        }
    }

    /// The oldest delivered job not yet started, if any.
    pub fn take(&mut self) -> Option<Held> {
        self.delivered.pop_front()
    }

    pub fn has_delivered(&self) -> bool {
        !self.delivered.is_empty()
    }

    /// Open a pull for every free permit, unless one is open or a failed pull's pause is not
    /// over. Not cancel-safe (a request sent and then dropped strands its jobs until the ack
    /// wait): the worker awaits it outside its `select!`.
    pub async fn pull(&mut self) {
        if self.pull.is_some() || self.retry_at.is_some_and(|at| at > Instant::now()) {
            return;
        }
        self.retry_at = None;
        self.follow_pace();
        let mut awaiting = Vec::new();
        while let Ok(permit) = self.permits.clone().try_acquire_owned() {
            if self.surplus > 0 {
                permit.forget();
                self.surplus -= 1;
                self.size -= 1;
            } else {
                awaiting.push(permit);
            }
        }
        if awaiting.is_empty() {
            return;
        }
        match self.consumer.batch().max_messages(awaiting.len()).expires(PULL_EXPIRES).messages().await {
            Ok(messages) => self.pull = Some(OpenPull { messages, awaiting }),
            Err(error) => {
                tracing::warn!(%error, "pull request failed; retrying");
                self.retry_at = Some(Instant::now() + PULL_RETRY_DELAY);
            }
        }
    }

    /// Widen or narrow the window to what the jobs' pace asks for; a narrower window retires
    /// permits only as held jobs give them back.
    fn follow_pace(&mut self) {
        let wanted = self.concurrency + self.pace.prefetch(self.concurrency, self.prefetch.0, self.prefetch.1);
        let current = self.size - self.surplus;
        if wanted > current {
            let revived = self.surplus.min(wanted - current);
            self.surplus -= revived;
            let added = wanted - current - revived;
            self.permits.add_permits(added);
            self.size += added;
        } else {
            self.surplus += current - wanted;
        }
    }

    /// Wait until [`pull`](Self::pull) has something to do or a job is delivered (see
    /// [`take`](Self::take)): a message arrives, the open pull ends (its unfilled permits go back
    /// with it), a permit comes free while no pull is open, or a failed pull's pause ends.
    /// Cancel-safe.
    pub async fn changed(&mut self) {
        let Some(pull) = self.pull.as_mut() else {
            match self.retry_at {
                Some(retry_at) => tokio::time::sleep_until(retry_at).await,
                None => {
                    drop(self.permits.clone().acquire_owned().await.expect("the window's semaphore is never closed"))
                }
            }
            return;
        };
        let next = pull.messages.next().await;
        self.receive(next);
        // What else has already arrived is taken too: a burst costs the worker one turn.
        while let Some(pull) = self.pull.as_mut()
            && let Some(next) = pull.messages.next().now_or_never()
        {
            self.receive(next);
        }
    }

    /// Take what the open pull yielded: a job, the pull's end, or its failure.
    fn receive(&mut self, next: Option<Result<jetstream::Message, async_nats::Error>>) {
        let Some(pull) = self.pull.as_mut() else { return };
        match next {
            Some(Ok(message)) => {
                let permit = pull.awaiting.pop().expect("a pull never delivers more than it asked for");
                self.delivered.push_back(Held { message, permit });
                if pull.awaiting.is_empty() {
                    self.pull = None;
                }
            }
            Some(Err(error)) => {
                tracing::warn!(%error, "pull interrupted; retrying");
                self.pull = None;
                self.retry_at = Some(Instant::now() + PULL_RETRY_DELAY);
            }
            None => self.pull = None,
        }
    }

    /// In-progress acks for the jobs waiting here, sent with the running jobs' heartbeats.
    pub async fn heartbeat(&self) {
        for held in &self.delivered {
            if let Err(error) = held.message.ack_with(AckKind::Progress).await {
                tracing::warn!(%error, "heartbeat of a prefetched job failed");
            }
        }
    }

    /// Stop pulling and give back every job delivered but not started, including those already
    /// received for the open pull; the number given back. A job the server sends after this
    /// comes back after the ack wait.
    pub async fn give_back(&mut self) -> usize {
        if let Some(mut pull) = self.pull.take() {
            while let Some(Some(Ok(message))) = pull.messages.next().now_or_never() {
                let permit = pull.awaiting.pop().expect("a pull never delivers more than it asked for");
                self.delivered.push_back(Held { message, permit });
            }
        }
        let returned = self.delivered.len();
        for held in self.delivered.drain(..) {
            if let Err(error) = held.message.ack_with(AckKind::Nak(None)).await {
                tracing::warn!(%error, "nak of a prefetched job not delivered; it comes back after the ack wait");
            }
        }
        returned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_widens_for_short_jobs_only() {
        let pace = Pace::default();
        assert_eq!(pace.prefetch(2, 2, 256), 2, "nothing measured yet: the configured window");
        pace.record(Duration::from_millis(500));
        assert_eq!(pace.prefetch(2, 2, 256), 2, "an OCR job: as configured");
        let short = Pace::default();
        short.record(Duration::from_micros(100));
        // 5 ms of work at two slots is a hundred 100 µs jobs.
        assert_eq!(short.prefetch(2, 2, 256), 100);
        short.record(Duration::from_micros(100));
        assert_eq!(short.prefetch(2, 2, 64), 64, "never past the ceiling");
        assert_eq!(short.prefetch(2, 2, 2), 2, "a ceiling at the floor keeps the window fixed");
    }

    #[test]
    fn the_pace_follows_a_change_in_the_jobs() {
        let pace = Pace::default();
        pace.record(Duration::from_micros(10));
        assert_eq!(pace.prefetch(1, 1, 256), 256);
        for _ in 0..64 {
            pace.record(Duration::from_millis(200));
        }
        assert_eq!(pace.prefetch(1, 1, 256), 1, "long jobs again: back to the configured window");
    }
}
