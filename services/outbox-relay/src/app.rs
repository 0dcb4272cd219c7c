//! The relay as a value: its configuration, built into an [`App`] that relays the outbox until
//! its shutdown. `main` runs it until SIGTERM; tests run it in-process.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use worker_runtime::config::{self, DatabaseConfig, NatsConfig};
use worker_runtime::metrics::Metrics;
use worker_runtime::retry_policy::RetryPolicy;
use worker_runtime::service::{self, connect_nats};
use worker_runtime::shutdown::Shutdown;
use worker_runtime::{database, health};

use crate::metrics::RelayMetrics;
use crate::relay::{self, Relay, RelaySettings};

pub const NAME: &str = "outbox-relay";
const DEFAULT_HEALTH_PORT: u16 = 9184;

/// Everything the relay reads from its environment (see the README's table).
#[derive(Debug, Args)]
pub struct Config {
    #[command(flatten)]
    pub nats: NatsConfig,
    #[command(flatten)]
    pub database: DatabaseConfig,
    /// Outbox rows claimed and published per transaction.
    #[arg(long, env = "RELAY_BATCH_SIZE", default_value_t = 500, value_parser = clap::value_parser!(u16).range(1..=10_000))]
    pub batch_size: u16,
    /// Longest wait, in milliseconds, between two looks at the outbox when no notification comes.
    #[arg(long, env = "RELAY_POLL_INTERVAL_MS", default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub poll_interval_ms: u64,
    /// Seconds a row's publish may wait for JetStream's ack before it is retried.
    #[arg(long, env = "RELAY_PUBLISH_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub publish_timeout_secs: u64,
    /// Delay before a failed row's first retry; it doubles per failure, with jitter.
    #[arg(long, env = "RELAY_RETRY_BASE_DELAY_MS", default_value_t = 500)]
    pub retry_base_delay_ms: u64,
    /// Longest delay between two publishes of a failing row.
    #[arg(long, env = "RELAY_RETRY_MAX_DELAY_MS", default_value_t = 30_000)]
    pub retry_max_delay_ms: u64,
    /// Hours published rows are kept before they are deleted.
    #[arg(long, env = "RELAY_RETENTION_HOURS", default_value_t = 24)]
    pub retention_hours: u64,
    /// Address of the /healthz, /readyz and /metrics endpoints; empty disables them.
    #[arg(long, env = "HEALTH_ADDR")]
    pub health_addr: Option<String>,
}

impl Config {
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

/// Connected, migrated, and checked against the streams' duplicate windows.
pub struct App {
    relay: Relay,
    metrics: Arc<Metrics>,
    health_addr: Option<std::net::SocketAddr>,
}

impl App {
    pub async fn build(config: &Config) -> anyhow::Result<App> {
        let health_addr =
            config::health_addr(config.health_addr.as_deref(), DEFAULT_HEALTH_PORT).context("HEALTH_ADDR")?;
        let (nats, js) = connect_nats(&config.nats, NAME).await?;
        let settings = relay::session_settings();
        let settings: Vec<(&str, &str)> = settings.iter().map(|(name, value)| (*name, value.as_str())).collect();
        let pool = database::connect_and_migrate_with(&config.database, &settings)
            .await
            .context("connecting to the database")?;
        let relay_metrics = Arc::new(RelayMetrics::default());
        let mut metrics = Metrics::default();
        relay_metrics.register(metrics.registry_mut());
        let relay = Relay { pool, nats, js, settings: config.settings(), metrics: relay_metrics };
        relay.check_duplicate_windows().await?;
        Ok(App { relay, metrics: Arc::new(metrics), health_addr })
    }
}

impl service::App for App {
    async fn run_until(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let App { relay, metrics, health_addr } = self;
        if let Some(addr) = health_addr {
            let database = Some(relay.pool.clone());
            health::spawn(addr, relay.nats.clone(), database, metrics.clone(), shutdown.clone());
        }
        tracing::info!(longest_unmarked = ?relay.settings.longest_unmarked(), "relaying the outbox");
        metrics.consuming.store(true, std::sync::atomic::Ordering::Relaxed);
        let nats = relay.nats.clone();
        relay.run(shutdown).await?;
        nats.flush().await.context("flushing the last publishes")?;
        Ok(())
    }
}
