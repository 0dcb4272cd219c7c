//! The scheduler as a value: its configuration, built into an [`App`] that publishes ticks on
//! its cron, sweeps for fallen-through uploads and consumes ticks until its shutdown; and the
//! operator's `tick-now`.

use std::time::Duration;

use anyhow::Context as _;
use chrono::SubsecRound;
use clap::Args;
use sqlx::PgPool;
use worker_runtime::config::{DatabaseConfig, NatsConfig, WorkerConfig};
use worker_runtime::publish::Publisher;
use worker_runtime::service::{self, WorkerService, connect_nats};
use worker_runtime::shutdown::Shutdown;
use worker_runtime::{TaskPolicy, provision};

use crate::auto_done::AutoDoneTask;
use crate::schedule::{self, Schedule};
use crate::sweep::{self, SweepMetrics};
use crate::tick;

pub const NAME: &str = "scheduler";
const DEFAULT_HEALTH_PORT: u16 = 9183;

/// Everything the scheduler reads from its environment (see the README's table).
#[derive(Debug, Args)]
pub struct Config {
    #[command(flatten)]
    pub nats: NatsConfig,
    #[command(flatten)]
    pub database: DatabaseConfig,
    #[command(flatten)]
    pub worker: WorkerConfig,
    /// When ticks are due: six cron fields, seconds first, in UTC (default 19:00 UTC = 04:00 KST).
    #[arg(long, env = "AUTO_DONE_CRON", default_value = schedule::DEFAULT_CRON)]
    pub cron: String,
    /// At start, publish the latest scheduled tick if it is at most this many hours old and was
    /// never processed (the scheduler was down when it was due).
    #[arg(long, env = "AUTO_DONE_BACKFILL_HOURS", default_value_t = 24)]
    pub backfill_hours: u32,
    /// When to sweep for uploads without an extraction: six cron fields, seconds first, UTC.
    #[arg(long, env = "EXTRACT_SWEEP_CRON", default_value = sweep::DEFAULT_CRON)]
    pub sweep_cron: String,
    /// Minutes after its upload that a scoreboard without an extraction row counts as fallen through.
    #[arg(long, env = "EXTRACT_SWEEP_AFTER_MINUTES", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..))]
    pub sweep_after_minutes: u64,
}

pub struct App {
    service: WorkerService,
    pool: PgPool,
    publisher: Publisher,
    schedule: Schedule,
    sweep_schedule: Schedule,
    backfill: chrono::Duration,
    sweep_after: Duration,
    worker: WorkerConfig,
}

impl App {
    pub async fn build(config: &Config) -> anyhow::Result<App> {
        let schedule = Schedule::parse(&config.cron).context("AUTO_DONE_CRON")?;
        let sweep_schedule = Schedule::parse(&config.sweep_cron).context("EXTRACT_SWEEP_CRON")?;
        let (service, pool) = WorkerService::connect(NAME, DEFAULT_HEALTH_PORT, &config.nats, &config.database).await?;
        ensure_tick_stream(&service.js, &config.nats).await?;
        let publisher = Publisher::new(service.js.clone());
        Ok(App {
            service,
            pool,
            publisher,
            schedule,
            sweep_schedule,
            backfill: chrono::Duration::hours(i64::from(config.backfill_hours)),
            sweep_after: Duration::from_secs(config.sweep_after_minutes.saturating_mul(60)),
            worker: config.worker.clone(),
        })
    }
}

impl service::App for App {
    /// Backfill a missed tick, start both crons, and consume ticks until `shutdown`.
    async fn run_until(self, shutdown: Shutdown) -> anyhow::Result<()> {
        tick::backfill(&self.publisher, &self.pool, &self.schedule, self.backfill).await.context("backfill")?;
        let mut cron = tick::start_cron(self.schedule, self.publisher).await.context("starting the schedule")?;
        let sweep_metrics = SweepMetrics::default();
        let mut sweep_cron =
            sweep::start_cron(self.sweep_schedule, self.pool.clone(), self.sweep_after, sweep_metrics.clone())
                .await
                .context("starting the sweep")?;
        let task = AutoDoneTask {
            pool: self.pool,
            policy: TaskPolicy {
                max_attempts: 3,
                timeout: Duration::from_secs(300),
                retry: self.worker.retry_policy(),
            },
            sessions_closed: Default::default(),
        };
        let register = |registry: &mut _| sweep_metrics.register(registry);
        let result = self.service.run_until(task, &self.worker, shutdown, register).await;
        cron.shutdown().await.context("stopping the schedule")?;
        sweep_cron.shutdown().await.context("stopping the sweep")?;
        result
    }
}

/// A tick published for the current second.
pub struct PublishedNow {
    pub second: chrono::DateTime<chrono::Utc>,
    pub published: worker_runtime::publish::Published,
}

/// Publish a tick for the current second (for operators and `make demo`).
pub async fn tick_now(config: &Config) -> anyhow::Result<PublishedNow> {
    let (nats, js) = connect_nats(&config.nats, NAME).await?;
    ensure_tick_stream(&js, &config.nats).await?;
    let second = chrono::Utc::now().trunc_subsecs(0);
    let published = tick::publish(&Publisher::new(js), second).await?;
    nats.flush().await?;
    Ok(PublishedNow { second, published })
}

/// Make sure the tick stream exists. Only that stream: the scheduler's NATS user may not create
/// the others.
async fn ensure_tick_stream(js: &async_nats::jetstream::Context, config: &NatsConfig) -> anyhow::Result<()> {
    let tick_stream = provision::job_stream_config::<proto::AutoDoneTick>(config.jetstream_replicas);
    provision::ensure_stream(js, tick_stream).await?;
    Ok(())
}
