//! `extract-worker`: consumes `extract` jobs (the default), or lists and replays their dead
//! letters.

use clap::Parser;
use extract_worker::app::{self, App, Config};
use proto::Job;
use worker_runtime::cli::WorkerCommand;
use worker_runtime::telemetry::{self, TelemetryConfig};

#[derive(Debug, Parser)]
#[command(name = app::NAME, version, about = "Reads post-game scoreboard screenshots (subject extract)")]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(flatten)]
    telemetry: TelemetryConfig,
    #[command(subcommand)]
    command: Option<WorkerCommand>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _telemetry = telemetry::init(&cli.telemetry, app::NAME);
    let command = cli.command.unwrap_or_default();
    command.run(&cli.config.nats, app::NAME, proto::ExtractJob::SUBJECT, App::build(&cli.config)).await
}
