//! `scheduler`: publishes the daily auto-done tick and consumes ticks (the default), or runs an
//! operator command.

use clap::{Parser, Subcommand};
use proto::Job;
use scheduler::app::{self, App, Config};
use worker_runtime::cli::WorkerCommand;
use worker_runtime::telemetry::{self, TelemetryConfig};

#[derive(Debug, Parser)]
#[command(
    name = app::NAME,
    version,
    about = "Publishes the daily auto-done tick and closes sessions played more than 3 days ago"
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
    /// Publish a tick for the current second now (for operators and `make demo`).
    TickNow,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _telemetry = telemetry::init(&cli.telemetry, app::NAME);
    match cli.command.unwrap_or(Command::Worker(WorkerCommand::Run)) {
        Command::Worker(command) => {
            command.run(&cli.config.nats, app::NAME, proto::AutoDoneTick::SUBJECT, App::build(&cli.config)).await
        }
        Command::TickNow => {
            let app::PublishedNow { second, published } = app::tick_now(&cli.config).await?;
            let duplicate = if published.duplicate { " (duplicate)" } else { "" };
            println!(
                "auto-done tick for {second} stored as #{}{duplicate}, trace {}",
                published.sequence, published.trace_id
            );
            Ok(())
        }
    }
}
