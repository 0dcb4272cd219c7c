//! The auto-done scheduler.
//!
//! - [`schedule`]: the cron expression and "which scheduled time is this?".
//! - [`tick`]: publishing one tick per scheduled time — from the cron, from the start-up
//!   backfill, or from `scheduler tick-now`.
//! - [`auto_done`]: consuming a tick — the one UPDATE that closes due sessions, recorded with the
//!   tick in one transaction so a duplicate changes nothing.
//! - [`sweep`]: on its own cron, an `extract` job through the outbox for each upload whose job
//!   fell through.
//! - [`app`]: the scheduler's configuration and its [`App`](app::App), run by `main` until
//!   SIGTERM and by tests in-process; `tick-now`.
//!
//! Every replica runs both halves. The cron fires in each replica; the ticks carry the same
//! `Nats-Msg-Id` (`auto_done:<scheduled time>`), so JetStream stores one, and one replica's
//! consumer processes it. Running the tick consumer in the scheduler binary keeps the deployment
//! to three binaries; it is cheap (one UPDATE a day) and shares the scheduler's database access.

pub mod app;
pub mod auto_done;
pub mod schedule;
pub mod sweep;
pub mod tick;
