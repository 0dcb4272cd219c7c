//! The pull window: jobs requested from the server before a slot is free for them, so a freed
//! slot starts the next job at once instead of waiting one pull round trip.
//!
//! A process may hold `concurrency + prefetch` jobs: running, delivered and waiting here, or
//! asked for by the one pull request it keeps open. Every held job has a permit of the
//! [`Window`]; a pull asks for exactly as many jobs as there are free permits, and a job gives its
//! permit back when its handler returns. So the bound is exact whatever the server delivers, and
//! a crashed process strands at most that many jobs for one ack wait.
//!
//! Jobs waiting here are kept alive with in-progress acks like running ones (they would
//! otherwise be redelivered elsewhere while still held), and on shutdown they are given back
//! with a nak rather than left for the ack wait.

use std::collections::VecDeque;
use std::sync::Arc;
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
    delivered: VecDeque<Held>,
    pull: Option<OpenPull>,
    retry_at: Option<Instant>,
}

impl Window {
    /// A window of `size` jobs (concurrency + prefetch) on `consumer`.
    pub fn new(consumer: PullConsumer, size: usize) -> Self {
        Window {
            consumer,
            permits: Arc::new(Semaphore::new(size)),
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
        let mut awaiting = Vec::new();
        while let Ok(permit) = self.permits.clone().try_acquire_owned() {
            awaiting.push(permit);
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
        match pull.messages.next().await {
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
