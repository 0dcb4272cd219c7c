//! `extract-worker`: will consume `extract` jobs once the OCR pipeline exists (see the README's
//! status). Today it connects, migrates, provisions the streams and waits for SIGTERM, and its
//! `dlq` subcommands work on `extract` dead letters like the other workers'.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use proto::Job;
use worker_runtime::config::{DatabaseConfig, NatsConfig};
use worker_runtime::{cli::DlqCommand, database, provision, service, shutdown::Shutdown, telemetry};

#[derive(Debug, Parser)]
#[command(name = "extract-worker", version, about = "Reads post-game scoreboard screenshots (subject extract)")]
struct Cli {
    #[command(flatten)]
    nats: NatsConfig,
    #[command(flatten)]
    database: DatabaseConfig,
    #[command(flatten)]
    telemetry: telemetry::TelemetryConfig,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Connect, migrate and provision, then wait for SIGTERM (the default).
    Run,
    /// Dead letters of `extract` jobs.
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _telemetry = telemetry::init(&cli.telemetry, "extract-worker");
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => {
            let shutdown = Shutdown::on_signals().context("installing signal handlers")?;
            let (client, js) = service::connect_nats(&cli.nats, "extract-worker").await?;
            provision::ensure_all_streams(&js, cli.nats.jetstream_replicas).await?;
            let _pool = database::connect_and_migrate(&cli.database).await.context("connecting to the database")?;
            tracing::info!(
                "connected; extract jobs are not consumed until the OCR pipeline lands; waiting for SIGTERM"
            );
            shutdown.cancelled().await;
            client.flush().await?;
            tracing::info!("stopped cleanly");
            Ok(())
        }
        Command::Dlq { command } => {
            worker_runtime::cli::run_dlq(&cli.nats, "extract-worker", proto::ExtractJob::SUBJECT, command).await
        }
    }
}
