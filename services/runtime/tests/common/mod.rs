//! A scriptable task and helpers for the runtime's tests against a real nats-server.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream;
use proto::ExtractJob;
use worker_runtime::metrics::Metrics;
use worker_runtime::retry_policy::RetryPolicy;
use worker_runtime::shutdown::Shutdown;
use worker_runtime::worker::{self, WorkerSettings};
use worker_runtime::{Attempt, GiveUp, Task, TaskError, TaskPolicy};

/// What the scripted handler does on a given attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Succeed,
    FailRetryable,
    FailPermanent,
    Panic,
    Sleep(Duration),
    /// The first `n` calls of the task succeed at once, later ones sleep.
    SleepAfterFirst(usize, Duration),
}

#[derive(Debug, Clone)]
pub struct Call {
    pub attempt: u32,
    /// Trace id of the span the handler ran in.
    pub trace_id: String,
    pub at: Instant,
}

/// Records every handler call and hook call; behaves per attempt as `script` says (the last
/// step repeats). The hook fails its first `hook_failures` calls.
#[derive(Clone)]
pub struct ScriptedTask {
    pub script: Vec<Step>,
    pub policy: TaskPolicy,
    pub calls: Arc<Mutex<Vec<Call>>>,
    pub completed: Arc<Mutex<Vec<ExtractJob>>>,
    pub exhausted: Arc<Mutex<Vec<(ExtractJob, String)>>>,
    pub hook_failures: Arc<std::sync::atomic::AtomicU32>,
}

impl ScriptedTask {
    pub fn new(script: Vec<Step>) -> Self {
        ScriptedTask {
            script,
            policy: TaskPolicy {
                max_attempts: 3,
                timeout: Duration::from_secs(10),
                retry: RetryPolicy::new(Duration::from_millis(200), Duration::from_secs(2)),
            },
            calls: Arc::default(),
            completed: Arc::default(),
            exhausted: Arc::default(),
            hook_failures: Arc::default(),
        }
    }

    /// The same task with a hook that fails its first `failures` calls.
    pub fn with_failing_hook(self, failures: u32) -> Self {
        self.hook_failures.store(failures, std::sync::atomic::Ordering::SeqCst);
        self
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    pub fn completed(&self) -> usize {
        self.completed.lock().unwrap().len()
    }

    pub fn exhausted(&self) -> Vec<(ExtractJob, String)> {
        self.exhausted.lock().unwrap().clone()
    }
}

impl Task for ScriptedTask {
    type Job = ExtractJob;
    const CONSUMER: &'static str = "extract";

    fn policy(&self) -> TaskPolicy {
        self.policy
    }

    async fn handle(&self, job: ExtractJob, attempt: Attempt) -> Result<(), TaskError> {
        self.calls.lock().unwrap().push(Call {
            attempt: attempt.number,
            trace_id: worker_runtime::trace_id(&tracing::Span::current()),
            at: Instant::now(),
        });
        let step = self.script[(attempt.number as usize - 1).min(self.script.len() - 1)];
        match step {
            Step::Succeed => {}
            Step::FailRetryable => {
                return Err(TaskError::retryable(anyhow::anyhow!("database unreachable (scripted)")));
            }
            Step::FailPermanent => {
                return Err(TaskError::permanent(anyhow::anyhow!("attachment missing (scripted)")));
            }
            Step::Panic => panic!("scripted panic in the handler"),
            Step::Sleep(duration) => tokio::time::sleep(duration).await,
            Step::SleepAfterFirst(n, duration) => {
                if self.calls.lock().unwrap().len() > n {
                    tokio::time::sleep(duration).await;
                }
            }
        }
        self.completed.lock().unwrap().push(job);
        Ok(())
    }

    async fn on_exhausted(&self, job: &ExtractJob, why: GiveUp<'_>, _attempt: Attempt) -> anyhow::Result<()> {
        self.exhausted.lock().unwrap().push((job.clone(), why.to_string()));
        let failing = self.hook_failures.fetch_update(
            std::sync::atomic::Ordering::SeqCst,
            std::sync::atomic::Ordering::SeqCst,
            |left| left.checked_sub(1),
        );
        match failing {
            Ok(_) => Err(anyhow::anyhow!("results table unreachable (scripted hook failure)")),
            Err(_) => Ok(()),
        }
    }
}

pub struct RunningWorker {
    pub shutdown: Shutdown,
    pub metrics: Arc<Metrics>,
    pub handle: tokio::task::JoinHandle<()>,
}

impl RunningWorker {
    /// Trigger shutdown and wait for the worker to drain and return.
    pub async fn stop(self) {
        self.shutdown.trigger();
        self.handle.await.expect("worker task");
    }
}

pub fn settings(concurrency: usize) -> WorkerSettings {
    WorkerSettings {
        concurrency,
        prefetch: concurrency,
        prefetch_max: usize::from(worker_runtime::config::DEFAULT_PREFETCH_MAX),
        ack_wait: Duration::from_secs(2),
        shutdown_grace: Duration::from_secs(10),
    }
}

/// Run `task` in this process against `js` until stopped.
pub fn spawn_worker<T: Task + Clone>(task: &T, js: &jetstream::Context, settings: WorkerSettings) -> RunningWorker {
    let shutdown = Shutdown::new();
    let metrics = Arc::new(Metrics::default());
    let (task, js, stop, m) = (task.clone(), js.clone(), shutdown.clone(), metrics.clone());
    let handle = tokio::spawn(async move {
        worker::run(task, js, 1, settings, m, stop).await.expect("worker runs");
    });
    RunningWorker { shutdown, metrics, handle }
}

/// Tracing as the binaries set it up, so spans carry trace context (and logs show in failures).
pub fn init_telemetry() {
    static TELEMETRY: std::sync::OnceLock<worker_runtime::telemetry::Telemetry> = std::sync::OnceLock::new();
    TELEMETRY.get_or_init(|| {
        let config = worker_runtime::telemetry::TelemetryConfig {
            log_format: worker_runtime::telemetry::LogFormat::Text,
            otel_exporter_otlp_endpoint: None,
            otel_service_name: None,
        };
        worker_runtime::telemetry::init(&config, "runtime-tests")
    });
}

pub fn job() -> ExtractJob {
    ExtractJob { attachment_id: uuid::Uuid::new_v4(), match_id: uuid::Uuid::new_v4() }
}

/// Waiting and not-yet-acknowledged counts of the task's consumer; `None` until the worker has
/// created it.
pub async fn consumer_state(js: &jetstream::Context) -> Option<(u64, usize)> {
    let stream = js.get_stream("JOBS_EXTRACT").await.expect("stream");
    let mut consumer: jetstream::consumer::PullConsumer = stream.get_consumer("extract").await.ok()?;
    let info = consumer.info().await.expect("consumer info");
    Some((info.num_pending, info.num_ack_pending))
}

/// Messages left in the work-queue stream (acked and terminated ones are removed).
pub async fn stored_jobs(js: &jetstream::Context) -> u64 {
    js.get_stream("JOBS_EXTRACT").await.expect("stream").get_info().await.expect("info").state.messages
}
