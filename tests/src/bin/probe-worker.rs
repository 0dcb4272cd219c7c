//! `probe-worker`: a real worker process (the runtime's full wiring: signals, health, consumer)
//! whose handler only sleeps `PROBE_SLEEP_MS` and, if `PROBE_DATABASE_URL` is set, records each
//! start and completion in the `probe_run` table. The runtime's process-level tests (kill -9,
//! replicas sharing a queue, SIGTERM) and its benchmark drive it. Consumes `extract` jobs.

use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use sqlx::PgPool;
use worker_runtime::config::{NatsConfig, WorkerConfig};
use worker_runtime::service::{WorkerService, connect_nats};
use worker_runtime::shutdown::Shutdown;
use worker_runtime::{Attempt, Task, TaskError, TaskPolicy, telemetry};

#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    nats: NatsConfig,
    #[command(flatten)]
    worker: WorkerConfig,
    #[command(flatten)]
    telemetry: telemetry::TelemetryConfig,
    /// How long each job takes.
    #[arg(long, env = "PROBE_SLEEP_MS", default_value_t = 0)]
    sleep_ms: u64,
    /// Where to record runs (table `probe_run`, created by the caller); none = record nothing.
    #[arg(long, env = "PROBE_DATABASE_URL")]
    database_url: Option<String>,
}

struct ProbeTask {
    pool: Option<PgPool>,
    sleep: Duration,
    policy: TaskPolicy,
}

impl ProbeTask {
    async fn record(&self, job: &proto::ExtractJob, attempt: Attempt, event: &str) -> Result<(), TaskError> {
        let Some(pool) = &self.pool else {
            return Ok(());
        };
        sqlx::query("INSERT INTO probe_run (job_id, pid, attempt, event) VALUES ($1, $2, $3, $4)")
            .bind(job.attachment_id)
            .bind(std::process::id() as i32)
            .bind(attempt.number as i32)
            .bind(event)
            .execute(pool)
            .await
            .map_err(TaskError::retryable)?;
        Ok(())
    }
}

impl Task for ProbeTask {
    type Job = proto::ExtractJob;
    const CONSUMER: &'static str = "extract";

    fn policy(&self) -> TaskPolicy {
        self.policy
    }

    async fn handle(&self, job: proto::ExtractJob, attempt: Attempt) -> Result<(), TaskError> {
        self.record(&job, attempt, "started").await?;
        if !self.sleep.is_zero() {
            tokio::time::sleep(self.sleep).await;
        }
        self.record(&job, attempt, "completed").await
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _telemetry = telemetry::init(&cli.telemetry, "probe-worker");
    let (nats, js) = connect_nats(&cli.nats, "probe-worker").await?;
    let pool = match &cli.database_url {
        Some(url) => Some(PgPool::connect(url).await.context("connecting to PROBE_DATABASE_URL")?),
        None => None,
    };
    let task = ProbeTask {
        pool: pool.clone(),
        sleep: Duration::from_millis(cli.sleep_ms),
        policy: TaskPolicy { max_attempts: 3, timeout: Duration::from_secs(60), retry: cli.worker.retry_policy() },
    };
    let service = WorkerService {
        name: "probe-worker",
        default_health_port: 9190,
        nats,
        js,
        database: pool,
        replicas: cli.nats.jetstream_replicas,
    };
    let shutdown = Shutdown::on_signals().context("installing signal handlers")?;
    service.run_until(task, &cli.worker, shutdown, |_| {}).await
}
