//! The cleanup worker as a value: its configuration, built into an [`App`] that consumes
//! `cleanup` jobs until its shutdown, and the orphan sweep operators run.

use anyhow::Context as _;
use clap::Args;
use worker_runtime::config::{DatabaseConfig, NatsConfig, WorkerConfig};
use worker_runtime::service::{self, WorkerService};
use worker_runtime::shutdown::Shutdown;
use worker_runtime::{database, s3};

use crate::key_guard::KeyGuard;
use crate::orphans::{self, SweepReport};
use crate::task::CleanupTask;

pub const NAME: &str = "cleanup-worker";
const DEFAULT_HEALTH_PORT: u16 = 9182;

/// Everything the worker reads from its environment (see the README's table).
#[derive(Debug, Args)]
pub struct Config {
    #[command(flatten)]
    pub nats: NatsConfig,
    #[command(flatten)]
    pub database: DatabaseConfig,
    #[command(flatten)]
    pub worker: WorkerConfig,
    #[command(flatten)]
    pub s3: s3::S3Config,
    /// Key prefixes a job may delete under, comma-separated; each must end with '/'.
    #[arg(long, env = "CLEANUP_ALLOWED_PREFIXES", value_delimiter = ',', default_value = "attachments/")]
    pub allowed_prefixes: Vec<String>,
    /// Passes over failing keys within one job before they are recorded as orphans.
    #[arg(long, env = "CLEANUP_DELETE_PASSES", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=10))]
    pub delete_passes: u32,
}

impl Config {
    fn guard(&self) -> anyhow::Result<KeyGuard> {
        KeyGuard::new(&self.allowed_prefixes).context("CLEANUP_ALLOWED_PREFIXES")
    }
}

pub struct App {
    service: WorkerService,
    task: CleanupTask,
    worker: WorkerConfig,
}

impl App {
    pub async fn build(config: &Config) -> anyhow::Result<App> {
        let guard = config.guard()?;
        let (service, pool) = WorkerService::connect(NAME, DEFAULT_HEALTH_PORT, &config.nats, &config.database).await?;
        let task = CleanupTask {
            s3: s3::client(&config.s3).await,
            bucket: config.s3.s3_bucket.clone(),
            pool,
            guard,
            delete_passes: config.delete_passes,
            retry: config.worker.retry_policy(),
            orphaned_keys: Default::default(),
        };
        Ok(App { service, task, worker: config.worker.clone() })
    }
}

impl service::App for App {
    async fn run_until(self, shutdown: Shutdown) -> anyhow::Result<()> {
        self.service.run_until(self.task, &self.worker, shutdown, |_| {}).await
    }
}

/// Try the recorded orphans again, through the same key guard as the jobs.
pub async fn sweep_orphans(config: &Config) -> anyhow::Result<SweepReport> {
    let guard = config.guard()?;
    let pool = database::connect_and_migrate(&config.database).await.context("connecting to the database")?;
    let client = s3::client(&config.s3).await;
    Ok(orphans::sweep(&pool, &client, &config.s3.s3_bucket, &guard).await?)
}
