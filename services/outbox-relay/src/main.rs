//! `outbox-relay`: publishes the jobs enqueued with `jobs.enqueue` until SIGTERM.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use outbox_relay::{Relay, RelaySettings, metrics::RelayMetrics, relay};
use worker_runtime::config::{self, DatabaseConfig, NatsConfig};
use worker_runtime::metrics::Metrics;
use worker_runtime::retry_policy::RetryPolicy;
use worker_runtime::service::connect_nats;
use worker_runtime::shutdown::Shutdown;
use worker_runtime::{database, health, telemetry};

const DEFAULT_HEALTH_PORT: u16 = 9184;

#[derive(Debug, Parser)]
#[command(
    name = "outbox-relay",
    version,
    about = "Publishes jobs enqueued in the API's transactions (jobs.enqueue) to JetStream, once each"
)]
struct Cli {
    #[command(flatten)]
    nats: NatsConfig,
    #[command(flatten)]
    database: DatabaseConfig,
    #[command(flatten)]
    telemetry: telemetry::TelemetryConfig,
    /// Outbox rows claimed and published per transaction.
    #[arg(long, env = "RELAY_BATCH_SIZE", default_value_t = 500, value_parser = clap::value_parser!(u16).range(1..=10_000))]
    batch_size: u16,
    /// Longest wait, in milliseconds, between two looks at the outbox when no notification comes.
    #[arg(long, env = "RELAY_POLL_INTERVAL_MS", default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    poll_interval_ms: u64,
    /// Seconds a row's publish may wait for JetStream's ack before it is retried.
    #[arg(long, env = "RELAY_PUBLISH_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=60))]
    publish_timeout_secs: u64,
    /// Delay before a failed row's first retry; it doubles per failure, with jitter.
    #[arg(long, env = "RELAY_RETRY_BASE_DELAY_MS", default_value_t = 500)]
    retry_base_delay_ms: u64,
    /// Longest delay between two publishes of a failing row.
    #[arg(long, env = "RELAY_RETRY_MAX_DELAY_MS", default_value_t = 30_000)]
    retry_max_delay_ms: u64,
    /// Hours published rows are kept before they are deleted.
    #[arg(long, env = "RELAY_RETENTION_HOURS", default_value_t = 24)]
    retention_hours: u64,
    /// Address of the /healthz, /readyz and /metrics endpoints; empty disables them.
    #[arg(long, env = "HEALTH_ADDR")]
    health_addr: Option<String>,
}

impl Cli {
    fn settings(&self) -> RelaySettings {
        RelaySettings {
            batch_size: usize::from(self.batch_size),
            poll_interval: Duration::from_millis(self.poll_interval_ms),
            publish_timeout: Duration::from_secs(self.publish_timeout_secs),
            retry: RetryPolicy::new(
                Duration::from_millis(self.retry_base_delay_ms),
                Duration::from_millis(self.retry_max_delay_ms),
            ),
            retention: Duration::from_secs(self.retention_hours.saturating_mul(3600)),
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _telemetry = telemetry::init(&cli.telemetry, "outbox-relay");
    let shutdown = Shutdown::on_signals().context("installing signal handlers")?;
    let (nats, js) = connect_nats(&cli.nats, "outbox-relay").await?;
    let settings = relay::session_settings();
    let settings: Vec<(&str, &str)> = settings.iter().map(|(name, value)| (*name, value.as_str())).collect();
    let pool =
        database::connect_and_migrate_with(&cli.database, &settings).await.context("connecting to the database")?;

    let relay_metrics = Arc::new(RelayMetrics::default());
    let mut metrics = Metrics::default();
    relay_metrics.register(metrics.registry_mut());
    let metrics = Arc::new(metrics);
    if let Some(addr) = config::health_addr(cli.health_addr.as_deref(), DEFAULT_HEALTH_PORT).context("HEALTH_ADDR")? {
        let (nats, pool, metrics, shutdown) = (nats.clone(), pool.clone(), metrics.clone(), shutdown.clone());
        tokio::spawn(async move {
            if let Err(error) = health::serve(addr, nats, Some(pool), metrics, shutdown).await {
                tracing::error!(%error, %addr, "health endpoint failed");
            }
        });
    }

    let relay = Relay { pool, nats: nats.clone(), js, settings: cli.settings(), metrics: relay_metrics };
    relay.check_duplicate_windows().await?;
    tracing::info!(longest_unmarked = ?relay.settings.longest_unmarked(), "relaying the outbox");
    metrics.consuming.store(true, std::sync::atomic::Ordering::Relaxed);
    relay.run(shutdown).await?;
    nats.flush().await.context("flushing the last publishes")?;
    Ok(())
}
