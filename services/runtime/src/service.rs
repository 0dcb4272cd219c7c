//! Wiring shared by the worker binaries: connect, serve health, consume until a signal.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream;

use crate::config::{DatabaseConfig, NatsConfig, WorkerConfig};
use crate::metrics::Metrics;
use crate::shutdown::Shutdown;
use crate::task::Task;
use crate::worker::{self, WorkerSettings};

/// Connect to NATS. Fails within 5 s if no server answers; once connected the client reconnects
/// forever, and the worker's pulls resume when it is back.
pub async fn connect_nats(
    config: &NatsConfig,
    client_name: &str,
) -> anyhow::Result<(async_nats::Client, jetstream::Context)> {
    let mut options = async_nats::ConnectOptions::new();
    if let Some((user, password)) = config.credentials()? {
        options = options.user_and_password(user, password);
    }
    let client = options
        .name(client_name)
        .custom_inbox_prefix(config.inbox_prefix())
        .connection_timeout(Duration::from_secs(5))
        .event_callback(|event| async move {
            match event {
                async_nats::Event::Disconnected => {
                    tracing::warn!("NATS connection lost; reconnecting")
                }
                async_nats::Event::Connected => tracing::debug!("NATS connected"),
                // A permissions violation arrives this way: the publish itself does not fail.
                async_nats::Event::ServerError(error) => tracing::error!(%error, "NATS server refused an operation"),
                other => tracing::debug!(%other, "NATS event"),
            }
        })
        .connect(config.servers())
        .await
        .with_context(|| format!("connecting to NATS at {}", config.nats_url))?;
    let js = jetstream::new(client.clone());
    Ok((client, js))
}

/// A service built from its configuration, ready to run: `main` runs it until SIGTERM
/// ([`run_until_signalled`]), a test runs it in-process until the test stops it.
pub trait App: Send + 'static {
    fn run_until(self, shutdown: Shutdown) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// Run `app` until the first SIGTERM or SIGINT, then let it drain (a second signal exits).
pub async fn run_until_signalled(app: impl App) -> anyhow::Result<()> {
    app.run_until(Shutdown::on_signals().context("installing signal handlers")?).await
}

/// Everything a worker binary needs beyond its task.
pub struct WorkerService {
    pub name: &'static str,
    pub default_health_port: u16,
    pub nats: async_nats::Client,
    pub js: jetstream::Context,
    pub database: Option<sqlx::PgPool>,
    pub replicas: usize,
}

impl WorkerService {
    /// Connect to NATS as `name` and to the database (migrating it if configured): what every
    /// consuming service does before it builds its task. Returns the service and its pool.
    pub async fn connect(
        name: &'static str,
        default_health_port: u16,
        nats: &NatsConfig,
        database: &DatabaseConfig,
    ) -> anyhow::Result<(WorkerService, sqlx::PgPool)> {
        let (client, js) = connect_nats(nats, name).await?;
        let pool = crate::database::connect_and_migrate(database).await.context("connecting to the database")?;
        let service = WorkerService {
            name,
            default_health_port,
            nats: client,
            js,
            database: Some(pool.clone()),
            replicas: nats.jetstream_replicas,
        };
        Ok((service, pool))
    }

    /// Serve `/healthz`, `/readyz` and `/metrics`, consume with `task` until `shutdown`, then
    /// drain and return. `register` adds the metrics of what the service runs beside its task
    /// (the scheduler's sweep).
    pub async fn run_until<T: Task>(
        self,
        task: T,
        config: &WorkerConfig,
        shutdown: Shutdown,
        register: impl FnOnce(&mut prometheus_client::registry::Registry),
    ) -> anyhow::Result<()> {
        let mut metrics = Metrics::default();
        task.register_metrics(metrics.registry_mut());
        register(metrics.registry_mut());
        let metrics = Arc::new(metrics);
        let _otlp_metrics = metrics.observe_for_opentelemetry(<T::Job as proto::Job>::SUBJECT);
        if let Some(addr) = config.health_addr(self.default_health_port).context("HEALTH_ADDR")? {
            crate::health::spawn(addr, self.nats.clone(), self.database.clone(), metrics.clone(), shutdown.clone());
        }
        let settings = WorkerSettings {
            concurrency: usize::from(config.worker_concurrency),
            prefetch: config.prefetch(),
            prefetch_max: config.prefetch_max(),
            ack_wait: config.ack_wait(),
            shutdown_grace: config.shutdown_grace(),
        };
        worker::run(task, self.js, self.replicas, settings, metrics, shutdown).await?;
        // Settle acks still in the client's write buffer before the process exits.
        self.nats.flush().await.context("flushing the last acks")?;
        tracing::info!(service = self.name, "stopped cleanly");
        Ok(())
    }
}
