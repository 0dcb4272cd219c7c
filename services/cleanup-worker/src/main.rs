//! `cleanup-worker`: consumes `cleanup` jobs (the default), or runs an operator command.

use clap::{Parser, Subcommand};
use cleanup_worker::app::{self, App, Config};
use proto::Job;
use worker_runtime::cli::{WorkerCommand, for_terminal};
use worker_runtime::telemetry::{self, TelemetryConfig};

#[derive(Debug, Parser)]
#[command(
    name = app::NAME,
    version,
    about = "Deletes S3 objects named by `cleanup` jobs, in batches; records what would not go"
)]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(flatten)]
    telemetry: TelemetryConfig,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    #[command(flatten)]
    Worker(WorkerCommand),
    /// Try the recorded orphans again; remove the ones that are deleted.
    SweepOrphans,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _telemetry = telemetry::init(&cli.telemetry, app::NAME);
    match cli.command.unwrap_or(Command::Worker(WorkerCommand::Run)) {
        Command::Worker(command) => {
            command.run(&cli.config.nats, app::NAME, proto::CleanupJob::SUBJECT, App::build(&cli.config)).await
        }
        Command::SweepOrphans => {
            let report = app::sweep_orphans(&cli.config).await?;
            println!(
                "sweep-orphans: {} tried, {} deleted, {} still failing, {} refused by CLEANUP_ALLOWED_PREFIXES (bucket {})",
                report.tried,
                report.deleted,
                report.still_failing,
                report.refused.len(),
                cli.config.s3.s3_bucket
            );
            for refused in &report.refused {
                println!("  left alone: {}", for_terminal(&refused.to_string()));
            }
            Ok(())
        }
    }
}
