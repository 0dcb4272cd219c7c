//! `cleanup-worker`: consumes `cleanup` jobs (the default), or runs an operator command.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use cleanup_worker::{key_guard::KeyGuard, orphans, task::CleanupTask};
use proto::Job;
use worker_runtime::config::{DatabaseConfig, NatsConfig, WorkerConfig};
use worker_runtime::service::{WorkerService, connect_nats};
use worker_runtime::{cli::DlqCommand, database, s3, telemetry};

#[derive(Debug, Parser)]
#[command(
    name = "cleanup-worker",
    version,
    about = "Deletes S3 objects named by `cleanup` jobs, in batches; records what would not go"
)]
struct Cli {
    #[command(flatten)]
    nats: NatsConfig,
    #[command(flatten)]
    database: DatabaseConfig,
    #[command(flatten)]
    worker: WorkerConfig,
    #[command(flatten)]
    s3: s3::S3Config,
    #[command(flatten)]
    telemetry: telemetry::TelemetryConfig,
    /// Key prefixes a job may delete under, comma-separated; each must end with '/'.
    #[arg(long, env = "CLEANUP_ALLOWED_PREFIXES", value_delimiter = ',', default_value = "attachments/")]
    allowed_prefixes: Vec<String>,
    /// Passes over failing keys within one job before they are recorded as orphans.
    #[arg(long, env = "CLEANUP_DELETE_PASSES", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=10))]
    delete_passes: u32,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Consume `cleanup` jobs until SIGTERM (the default).
    Run,
    /// Try the recorded orphans again; remove the ones that are deleted.
    SweepOrphans,
    /// Dead letters of `cleanup` jobs.
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _telemetry = telemetry::init(&cli.telemetry, "cleanup-worker");
    let guard = KeyGuard::new(&cli.allowed_prefixes).context("CLEANUP_ALLOWED_PREFIXES")?;
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => {
            let (nats, js) = connect_nats(&cli.nats, "cleanup-worker").await?;
            let pool = database::connect_and_migrate(&cli.database).await.context("connecting to the database")?;
            let task = CleanupTask {
                s3: s3::client(&cli.s3).await,
                bucket: cli.s3.s3_bucket.clone(),
                pool: pool.clone(),
                guard,
                delete_passes: cli.delete_passes,
                retry: cli.worker.retry_policy(),
                orphaned_keys: Default::default(),
            };
            let service = WorkerService {
                name: "cleanup-worker",
                default_health_port: 9182,
                nats,
                js,
                database: Some(pool),
                replicas: cli.nats.jetstream_replicas,
            };
            service.run(task, &cli.worker).await
        }
        Command::SweepOrphans => {
            let pool = database::connect_and_migrate(&cli.database).await.context("connecting to the database")?;
            let client = s3::client(&cli.s3).await;
            let report = orphans::sweep(&pool, &client, &cli.s3.s3_bucket, &guard).await?;
            println!(
                "sweep-orphans: {} tried, {} deleted, {} still failing, {} refused by CLEANUP_ALLOWED_PREFIXES (bucket {})",
                report.tried,
                report.deleted,
                report.still_failing,
                report.refused.len(),
                cli.s3.s3_bucket
            );
            for refused in &report.refused {
                println!("  left alone: {}", worker_runtime::cli::for_terminal(&refused.to_string()));
            }
            Ok(())
        }
        Command::Dlq { command } => {
            worker_runtime::cli::run_dlq(&cli.nats, "cleanup-worker", proto::CleanupJob::SUBJECT, command).await
        }
    }
}
