//! The shared runtime of the game-night workers: everything that touches JetStream lives here,
//! so a service is a typed [`Task`] (payload, handler, failure classification, policy) plus its
//! configuration.
//!
//! | module | guarantee |
//! |---|---|
//! | [`provision`] | streams and durable consumers exist with the documented settings; drift is reconciled |
//! | [`ack`] | a job counts as done once the server has recorded its ack; jobs finishing together share one confirmation |
//! | [`worker`] | at most `WORKER_CONCURRENCY` handlers running, jobs pulled only when a slot is free |
//! | [`retry_policy`] | retryable failures come back after an exponential, jittered delay |
//! | [`dead_letter`] | a terminated message is first copied, with why, to the dead-letter stream |
//! | [`shutdown`] | SIGTERM stops pulling and lets in-flight jobs finish; a second signal exits |
//! | [`publish`] | one job per `Nats-Msg-Id`, trace context in the headers, publish acknowledged |
//! | [`telemetry`] | logs with trace ids; spans continue the producer's trace |
//! | [`health`] | `/healthz`, `/readyz`, `/metrics` |
//! | [`service`] | a service as an [`App`](service::App) run until a shutdown (SIGTERM in `main`, the test's in-process); a worker's wiring: serve health, consume, drain |
//! | [`cli`] | the `run` / `dlq list` / `dlq replay` subcommands every worker binary has |
//! | [`config`], [`database`], [`s3`] | environment configuration, the pool and embedded migrations, the S3 client |

pub mod ack;
pub mod cli;
pub mod config;
pub mod database;
pub mod dead_letter;
pub mod health;
pub mod metrics;
mod prefetch;
pub mod provision;
pub mod publish;
pub mod retry_policy;
pub mod s3;
pub mod service;
pub mod shutdown;
pub mod task;
pub mod telemetry;
mod trace_headers;
pub mod worker;

pub use task::{Attempt, Classify, Failure, GiveUp, Settlement, Task, TaskError, TaskPolicy};
pub use trace_headers::{continue_trace_http, inject_current_http, trace_id};
