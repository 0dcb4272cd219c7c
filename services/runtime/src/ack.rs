//! Confirmed acks, coalesced: a job counts as done once the server has recorded its ack (the
//! meaning of async-nats's `double_ack`), without the server answering every ack.
//!
//! The server answers an ack sent as a request once it has applied it, and a consumer applies
//! the acks that reach it in the order they arrive (one queue per consumer, filled in the order a
//! connection's messages are read). So when several jobs of one consumer finish together, all
//! their acks but the last go plainly and the last as a request: its reply says every ack before
//! it on the connection was applied too. That is one reply for the server to route per batch
//! instead of one per job — the reply is most of what a confirmed ack costs the server over a
//! plain one.
//!
//! Batches form by themselves: one confirmation is in flight at a time, and the acks of jobs
//! that finish meanwhile make up the next batch. A lone job's ack is confirmed at once, as
//! before; under load a batch holds what finished in one round trip. Jobs never wait for a
//! batch to fill, and a job's slot is free before its ack is sent.
//!
//! If the client reconnected while a batch was in flight, its plain acks may have gone down with
//! the old connection: the whole batch counts as unconfirmed.

use std::sync::atomic::Ordering;
use std::time::Duration;

use async_nats::Subject;
use async_nats::jetstream::{self, AckKind};
use tokio::sync::{mpsc, oneshot};

/// How long to wait for the server to confirm an ack (async-nats's JetStream default).
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(5);
/// Most acks one reply confirms; beyond it, acks wait for the next batch.
const MAX_BATCH: usize = 256;

/// Why an ack is not known to be recorded. The job may then be delivered again after the ack
/// wait; handlers are idempotent.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AckError {
    #[error("not a JetStream message: no reply subject to ack")]
    NoReplySubject,
    #[error("ack not sent: {0}")]
    NotSent(String),
    #[error("the server did not confirm the ack: {0}")]
    NotConfirmed(String),
    #[error("the connection was re-established while the ack was in flight")]
    Reconnected,
    #[error("the worker's ack sender has stopped")]
    Stopped,
}

/// Acknowledge `message` and wait until the server has recorded the ack. A request on the
/// client's one shared reply subscription: async-nats's `double_ack` subscribes to a new inbox
/// for every ack instead (a SUB and an UNSUB the server must apply besides the ack itself).
pub async fn confirm_one(client: &async_nats::Client, message: &jetstream::Message) -> Result<(), AckError> {
    let reply = message.reply.clone().ok_or(AckError::NoReplySubject)?;
    request_ack(client, reply).await
}

async fn request_ack(client: &async_nats::Client, reply: Subject) -> Result<(), AckError> {
    let request = async_nats::Request::new().payload(AckKind::Ack.into()).timeout(Some(CONFIRM_TIMEOUT));
    client.send_request(reply, request).await.map_err(|error| AckError::NotConfirmed(error.to_string()))?;
    Ok(())
}

/// The confirmed acks of one consumer's deliveries (one per worker: the ordering argument holds
/// within a consumer only).
#[derive(Debug, Clone)]
pub struct ConfirmedAcks {
    queue: mpsc::UnboundedSender<Waiting>,
}

#[derive(Debug)]
struct Waiting {
    reply: Subject,
    confirmed: oneshot::Sender<Result<(), AckError>>,
}

impl ConfirmedAcks {
    /// Start sending acks on `client`; the sender stops once every handle is dropped and the
    /// acks already given to it are confirmed.
    pub fn start(client: async_nats::Client) -> Self {
        let (queue, acks) = mpsc::unbounded_channel();
        tokio::spawn(send_in_batches(client, acks));
        ConfirmedAcks { queue }
    }

    /// Acknowledge `message`: the ack is queued at the call, in call order, and the future
    /// resolves once the server has recorded it.
    pub fn ack(&self, message: &jetstream::Message) -> impl Future<Output = Result<(), AckError>> + use<> {
        let queued = message.reply.clone().ok_or(AckError::NoReplySubject).and_then(|reply| {
            let (confirmed, confirmation) = oneshot::channel();
            self.queue.send(Waiting { reply, confirmed }).map_err(|_| AckError::Stopped)?;
            Ok(confirmation)
        });
        async move { queued?.await.unwrap_or(Err(AckError::Stopped)) }
    }
}

/// Confirm one batch at a time, gathering the next while the current one is in flight.
async fn send_in_batches(client: async_nats::Client, mut acks: mpsc::UnboundedReceiver<Waiting>) {
    let mut next = Vec::new();
    let mut open = true;
    loop {
        if next.is_empty() {
            if !open || acks.recv_many(&mut next, MAX_BATCH).await == 0 {
                return;
            }
            continue;
        }
        let confirming = confirm_batch(&client, std::mem::take(&mut next));
        tokio::pin!(confirming);
        loop {
            let room = MAX_BATCH - next.len();
            tokio::select! {
                () = &mut confirming => break,
                received = acks.recv_many(&mut next, room), if open && room > 0 => {
                    open = received > 0;
                }
            }
        }
    }
}

/// Send the batch's acks in order, the last as a request, and tell every job the outcome.
async fn confirm_batch(client: &async_nats::Client, batch: Vec<Waiting>) {
    let connects = || client.statistics().connects.load(Ordering::Relaxed);
    let connection = connects();
    let mut outcome = send_batch(client, &batch).await;
    if outcome.is_ok() && connects() != connection {
        outcome = Err(AckError::Reconnected);
    }
    for waiting in batch {
        // A job whose task was aborted (shutdown past its grace) no longer listens.
        let _ = waiting.confirmed.send(outcome.clone());
    }
}

async fn send_batch(client: &async_nats::Client, batch: &[Waiting]) -> Result<(), AckError> {
    let Some((last, earlier)) = batch.split_last() else {
        return Ok(());
    };
    for waiting in earlier {
        client
            .publish(waiting.reply.clone(), AckKind::Ack.into())
            .await
            .map_err(|error| AckError::NotSent(error.to_string()))?;
    }
    request_ack(client, last.reply.clone()).await
}
