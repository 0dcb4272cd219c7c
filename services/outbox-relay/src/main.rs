//! `outbox-relay`: publishes the jobs enqueued with `jobs.enqueue` until SIGTERM.

use clap::Parser;
use outbox_relay::app::{self, App, Config};
use worker_runtime::service::run_until_signalled;
use worker_runtime::telemetry::{self, TelemetryConfig};

#[derive(Debug, Parser)]
#[command(
    name = app::NAME,
    version,
    about = "Publishes jobs enqueued in the API's transactions (jobs.enqueue) to JetStream, once each"
)]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(flatten)]
    telemetry: TelemetryConfig,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _telemetry = telemetry::init(&cli.telemetry, app::NAME);
    run_until_signalled(App::build(&cli.config).await?).await
}
