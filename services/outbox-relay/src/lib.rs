//! `outbox-relay`: the half of the transactional outbox that runs beside the workers.
//!
//! The API enqueues a job with `SELECT jobs.enqueue(subject, payload, …)` inside the transaction
//! that writes its own rows (migration `*_job_outbox.sql`), so the job exists if and only if the
//! transaction committed. The relay then moves committed rows to JetStream:
//!
//! 1. claim a batch of due `PENDING` rows with `FOR UPDATE SKIP LOCKED` (any number of relays
//!    share the table, each row is claimed by one of them at a time);
//! 2. publish each with `Nats-Msg-Id` (the caller's id, else `outbox:<id>`) in the trace of the
//!    row's `traceparent`, and wait for the PubAck;
//! 3. in the same transaction, mark the acknowledged rows `PUBLISHED`, push failed ones back with
//!    a backoff, and mark payloads outside the contract `REJECTED`; commit.
//!
//! A relay that dies between 2 and 3 leaves its rows `PENDING` (its transaction rolls back) and
//! they are published again; JetStream's duplicate window drops the second copy, provided the
//! window is longer than a row can wait between its publish and its mark. [`RelaySettings::
//! longest_unmarked`] bounds that wait and the relay refuses to start on a stream whose window
//! is shorter.
//!
//! It wakes on `NOTIFY jobs_outbox` (sent at commit by `jobs.enqueue`) and polls as a fallback,
//! for notifications lost while its listening connection was down.
//!
//! [`app`] holds the relay's configuration and its [`App`](app::App), run by `main` until
//! SIGTERM and by tests in-process.

pub mod app;
pub mod metrics;
pub mod outbox;
pub mod relay;

pub use relay::{Relay, RelaySettings};
