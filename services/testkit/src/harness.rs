//! Services and tasks run inside the test process, in the spirit of River's `rivertest`.
//!
//! - [`work`]: one attempt of a task's handler on one job, settled by the runtime's own rule
//!   ([`TaskPolicy::settle`](worker_runtime::TaskPolicy::settle)), with the task's give-up hook run as the worker would: the test
//!   gets a typed [`Outcome`] instead of reading a log.
//! - [`RunningApp`]: a whole service ([`App`]) built from its configuration and run on this
//!   test's runtime against the test stack, stopped by the test as SIGTERM would stop it.
//! - [`config`]: a service's configuration from flags, with its documented defaults.

use std::time::Duration;

use tokio::task::JoinHandle;
use worker_runtime::dead_letter::Reason;
use worker_runtime::service::App;
use worker_runtime::shutdown::Shutdown;
use worker_runtime::worker::run_attempt;
use worker_runtime::{Attempt, Settlement, Task, TaskError};

/// What the worker would do with a delivery after this attempt.
#[derive(Debug)]
pub enum Outcome {
    Succeeded,
    /// A retryable failure with attempts left: redelivered after `delay`.
    Retrying {
        delay: Duration,
        error: TaskError,
    },
    /// Given up on: the hook ran and the dead letter would store this reason and error.
    DeadLettered {
        reason: Reason,
        error: String,
    },
    /// Given up on, but the hook failed: the worker would retry the give-up on the next delivery.
    GiveUpDeferred {
        reason: Reason,
        error: String,
        hook_error: anyhow::Error,
    },
}

impl Outcome {
    /// The reason the job was dead-lettered with, if it was.
    pub fn dead_letter_reason(&self) -> Option<Reason> {
        match self {
            Outcome::DeadLettered { reason, .. } => Some(*reason),
            _ => None,
        }
    }
}

/// Run attempt `number` (1 = the first delivery) of `task` on `job`: the handler with the
/// policy's timeout, then the settlement and, on a give-up, the `on_exhausted` hook.
pub async fn work<T: Task>(task: &T, job: T::Job, number: u32) -> Outcome {
    let policy = task.policy();
    let attempt = Attempt { number, max: policy.max_attempts };
    let result = run_attempt(task, job.clone(), attempt, None).await;
    let why = match policy.settle(&result, attempt) {
        Settlement::Ack => return Outcome::Succeeded,
        Settlement::RetryAfter(delay) => {
            let error = result.expect_err("a retry follows a failure");
            return Outcome::Retrying { delay, error };
        }
        Settlement::GiveUp(why) => why,
    };
    let (reason, error) = (why.reason(), why.to_string());
    match task.on_exhausted(&job, why, attempt).await {
        Ok(()) => Outcome::DeadLettered { reason, error },
        Err(hook_error) => Outcome::GiveUpDeferred { reason, error, hook_error },
    }
}

/// A service running on the test's tokio runtime until [`RunningApp::stop`].
pub struct RunningApp {
    shutdown: Shutdown,
    running: JoinHandle<anyhow::Result<()>>,
}

impl RunningApp {
    pub fn start(app: impl App) -> RunningApp {
        let shutdown = Shutdown::new();
        let running = tokio::spawn(app.run_until(shutdown.clone()));
        RunningApp { shutdown, running }
    }

    /// Stop as on SIGTERM: no new jobs, in-flight ones finish. Panics if the service failed.
    pub async fn stop(self) {
        self.shutdown.trigger();
        match self.running.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => panic!("the service failed: {error:#}"),
            Err(panicked) => panic!("the service panicked: {panicked}"),
        }
    }
}

/// A service's configuration `C` from `flags` (`("nats-url", url)` for `--nats-url url`), every
/// other setting at its default. Settings not given fall back to the environment, as in the
/// binary, so the test stack's variables apply.
pub fn config<C: clap::Args + clap::FromArgMatches>(flags: &[(&str, &str)]) -> C {
    let command = C::augment_args(clap::Command::new("test-service").no_binary_name(true));
    let args = flags.iter().flat_map(|(name, value)| [format!("--{name}"), (*value).to_owned()]);
    let matches = command.try_get_matches_from(args).unwrap_or_else(|e| panic!("test configuration: {e}"));
    C::from_arg_matches(&matches).unwrap_or_else(|e| panic!("test configuration: {e}"))
}
