//! The extract worker as a value: its configuration, built into an [`App`] that consumes
//! `extract` jobs until its shutdown. `main` runs it until SIGTERM; tests run it in-process.

use anyhow::Context as _;
use clap::Args;
use ocr_service::pool::OcrPool;
use sqlx::PgPool;
use worker_runtime::config::{DatabaseConfig, NatsConfig, WorkerConfig};
use worker_runtime::s3;
use worker_runtime::service::{self, WorkerService};
use worker_runtime::shutdown::Shutdown;

use crate::ocr_http::HttpReader;
use crate::reader::{ExtractionConfig, ExtractionMode, OcrReader};
use crate::task::{self, ExtractTask};

pub const NAME: &str = "extract-worker";
const DEFAULT_HEALTH_PORT: u16 = 9181;

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
    #[command(flatten)]
    pub extraction: ExtractionConfig,
    #[command(flatten)]
    pub ppocr: ocr_service::ModelArgs,
}

/// Connected, migrated and loaded: nothing left that can fail for lack of configuration.
pub struct App {
    service: WorkerService,
    task: ExtractTask,
    worker: WorkerConfig,
}

impl App {
    pub async fn build(config: &Config) -> anyhow::Result<App> {
        let (service, pool) = WorkerService::connect(NAME, DEFAULT_HEALTH_PORT, &config.nats, &config.database).await?;
        let task = task(config, pool).await?;
        Ok(App { service, task, worker: config.worker.clone() })
    }
}

/// The `extract` handler as `config` describes it, on `pool`: the reader started (the models
/// loaded, or the OCR servers' client made) and the S3 client.
pub async fn task(config: &Config, pool: PgPool) -> anyhow::Result<ExtractTask> {
    Ok(ExtractTask {
        pool,
        s3: s3::client(&config.s3).await,
        bucket: config.s3.s3_bucket.clone(),
        region: config.s3.aws_region.clone(),
        ocr: reader(config)?,
        retry: config.worker.retry_policy(),
        metrics: Default::default(),
    })
}

impl service::App for App {
    async fn run_until(self, shutdown: Shutdown) -> anyhow::Result<()> {
        self.service.run_until(self.task, &self.worker, shutdown, |_| {}).await
    }
}

fn reader(config: &Config) -> anyhow::Result<OcrReader> {
    match config.extraction.extraction_mode {
        ExtractionMode::Inprocess => {
            // One OCR engine per job in flight: readings never queue behind each other.
            let models = config.ppocr.load().context("loading the PP-OCR models")?;
            let threads = usize::from(config.worker.worker_concurrency);
            Ok(OcrReader::InProcess(OcrPool::new(threads, 0, models).context("starting Tesseract")?))
        }
        ExtractionMode::Http => {
            anyhow::ensure!(!config.extraction.ocr_url.is_empty(), "EXTRACTION_MODE=http needs OCR_URL");
            let http = HttpReader::new(config.extraction.ocr_url.clone(), task::TIMEOUT).context("the HTTP client")?;
            Ok(OcrReader::Http(http))
        }
    }
}
