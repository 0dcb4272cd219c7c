//! `scheduler`: Publishes the daily auto-done tick and closes old sessions (subject auto_done).

use anyhow::Context as _;
use clap::Parser;
use worker_runtime::config::{DatabaseConfig, NatsConfig};
use worker_runtime::{database, provision, service, shutdown::Shutdown, telemetry};

#[derive(Debug, Parser)]
#[command(
    name = "scheduler",
    version,
    about = "Publishes the daily auto-done tick and closes old sessions (subject auto_done)"
)]
struct Cli {
    #[command(flatten)]
    nats: NatsConfig,
    #[command(flatten)]
    database: DatabaseConfig,
    #[command(flatten)]
    telemetry: telemetry::TelemetryConfig,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _telemetry = telemetry::init(&cli.telemetry, "scheduler");
    let shutdown = Shutdown::on_signals().context("installing signal handlers")?;
    let (client, js) = service::connect_nats(&cli.nats, "scheduler").await?;
    provision::ensure_all_streams(&js, cli.nats.jetstream_replicas).await?;
    let _pool = database::connect_and_migrate(&cli.database).await.context("connecting to the database")?;
    tracing::info!("connected; waiting for SIGTERM");
    shutdown.cancelled().await;
    client.flush().await?;
    tracing::info!("stopped cleanly");
    Ok(())
}
