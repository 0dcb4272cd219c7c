//! `scheduler`: publishes the daily auto-done tick and consumes ticks (the default), or runs an
//! operator command.

use std::time::Duration;

use anyhow::Context as _;
use chrono::SubsecRound;
use clap::{Parser, Subcommand};
use proto::Job;
use scheduler::sweep::{self, SweepMetrics};
use scheduler::{auto_done::AutoDoneTask, schedule::Schedule, tick};
use worker_runtime::config::{DatabaseConfig, NatsConfig, WorkerConfig};
use worker_runtime::publish::Publisher;
use worker_runtime::service::{WorkerService, connect_nats};
use worker_runtime::{TaskPolicy, cli::DlqCommand, database, provision, telemetry};

#[derive(Debug, Parser)]
#[command(
    name = "scheduler",
    version,
    about = "Publishes the daily auto-done tick and closes sessions played more than 3 days ago"
)]
struct Cli {
    #[command(flatten)]
    nats: NatsConfig,
    #[command(flatten)]
    database: DatabaseConfig,
    #[command(flatten)]
    worker: WorkerConfig,
    #[command(flatten)]
    telemetry: telemetry::TelemetryConfig,
    /// When ticks are due: six cron fields, seconds first, in UTC (default 19:00 UTC = 04:00 KST).
    #[arg(long, env = "AUTO_DONE_CRON", default_value = scheduler::schedule::DEFAULT_CRON)]
    cron: String,
    /// At start, publish the latest scheduled tick if it is at most this many hours old and was
    /// never processed (the scheduler was down when it was due).
    #[arg(long, env = "AUTO_DONE_BACKFILL_HOURS", default_value_t = 24)]
    backfill_hours: u32,
    /// When to sweep for uploads without an extraction: six cron fields, seconds first, UTC.
    #[arg(long, env = "EXTRACT_SWEEP_CRON", default_value = scheduler::sweep::DEFAULT_CRON)]
    sweep_cron: String,
    /// Minutes after its upload that a scoreboard without an extraction row counts as fallen through.
    #[arg(long, env = "EXTRACT_SWEEP_AFTER_MINUTES", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..))]
    sweep_after_minutes: u64,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the schedule and consume ticks until SIGTERM (the default).
    Run,
    /// Publish a tick for the current second now (for operators and `make demo`).
    TickNow,
    /// Dead letters of `auto_done` ticks.
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _telemetry = telemetry::init(&cli.telemetry, "scheduler");
    match cli.command {
        None | Some(Command::Run) => run(&cli).await,
        Some(Command::TickNow) => tick_now(&cli).await,
        Some(Command::Dlq { command }) => {
            worker_runtime::cli::run_dlq(&cli.nats, "scheduler", proto::AutoDoneTick::SUBJECT, command).await
        }
    }
}

/// Backfill, start the cron, and consume ticks until SIGTERM.
async fn run(cli: &Cli) -> anyhow::Result<()> {
    let schedule = Schedule::parse(&cli.cron).context("AUTO_DONE_CRON")?;
    let sweep_schedule = Schedule::parse(&cli.sweep_cron).context("EXTRACT_SWEEP_CRON")?;
    let (nats, js) = connect_nats(&cli.nats, "scheduler").await?;
    let pool = database::connect_and_migrate(&cli.database).await.context("connecting to the database")?;
    // Only the tick stream: the scheduler's NATS user may not create the others.
    let tick_stream = provision::job_stream_config::<proto::AutoDoneTick>(cli.nats.jetstream_replicas);
    provision::ensure_stream(&js, tick_stream).await?;
    let publisher = Publisher::new(js.clone());
    let window = chrono::Duration::hours(i64::from(cli.backfill_hours));
    tick::backfill(&publisher, &pool, &schedule, window).await.context("backfill")?;
    let mut cron = tick::start_cron(schedule, publisher).await.context("starting the schedule")?;
    let sweep_metrics = SweepMetrics::default();
    let sweep_after = Duration::from_secs(cli.sweep_after_minutes.saturating_mul(60));
    let mut sweep_cron = sweep::start_cron(sweep_schedule, pool.clone(), sweep_after, sweep_metrics.clone())
        .await
        .context("starting the sweep")?;
    let task = AutoDoneTask {
        pool: pool.clone(),
        policy: TaskPolicy { max_attempts: 3, timeout: Duration::from_secs(300), retry: cli.worker.retry_policy() },
        sessions_closed: Default::default(),
    };
    let service = WorkerService {
        name: "scheduler",
        default_health_port: 9183,
        nats,
        js,
        database: Some(pool),
        replicas: cli.nats.jetstream_replicas,
    };
    let result = service.run_with_metrics(task, &cli.worker, |registry| sweep_metrics.register(registry)).await;
    cron.shutdown().await.context("stopping the schedule")?;
    sweep_cron.shutdown().await.context("stopping the sweep")?;
    result
}

/// Publish a tick for the current second.
async fn tick_now(cli: &Cli) -> anyhow::Result<()> {
    let (nats, js) = connect_nats(&cli.nats, "scheduler").await?;
    let tick_stream = provision::job_stream_config::<proto::AutoDoneTick>(cli.nats.jetstream_replicas);
    provision::ensure_stream(&js, tick_stream).await?;
    let second = chrono::Utc::now().trunc_subsecs(0);
    let published = tick::publish(&Publisher::new(js), second).await?;
    nats.flush().await?;
    let duplicate = if published.duplicate { " (duplicate)" } else { "" };
    println!("auto-done tick for {second} stored as #{}{duplicate}, trace {}", published.sequence, published.trace_id);
    Ok(())
}
