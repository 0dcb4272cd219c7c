//! `extract-worker`: consumes `extract` jobs (the default), or lists and replays their dead
//! letters.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use extract_worker::ocr_http::HttpReader;
use extract_worker::reader::{ExtractionConfig, ExtractionMode, OcrReader};
use extract_worker::task::{self, ExtractTask};
use ocr_service::pool::OcrPool;
use proto::Job;
use worker_runtime::config::{DatabaseConfig, NatsConfig, WorkerConfig};
use worker_runtime::service::{WorkerService, connect_nats};
use worker_runtime::{cli::DlqCommand, database, s3, telemetry};

#[derive(Debug, Parser)]
#[command(name = "extract-worker", version, about = "Reads post-game scoreboard screenshots (subject extract)")]
struct Cli {
    #[command(flatten)]
    nats: NatsConfig,
    #[command(flatten)]
    database: DatabaseConfig,
    #[command(flatten)]
    worker: WorkerConfig,
    #[command(flatten)]
    s3: s3::S3Config,
    #[command(flatten)]
    telemetry: telemetry::TelemetryConfig,
    #[command(flatten)]
    extraction: ExtractionConfig,
    #[command(flatten)]
    ppocr: ocr_service::ModelArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Consume `extract` jobs until SIGTERM (the default).
    Run,
    /// Dead letters of `extract` jobs.
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut cli = Cli::parse();
    let _telemetry = telemetry::init(&cli.telemetry, "extract-worker");
    match cli.command.take().unwrap_or(Command::Run) {
        Command::Run => {
            let ocr = reader(&cli)?;
            let (nats, js) = connect_nats(&cli.nats, "extract-worker").await?;
            let pool = database::connect_and_migrate(&cli.database).await.context("connecting to the database")?;
            let task = ExtractTask {
                pool: pool.clone(),
                s3: s3::client(&cli.s3).await,
                bucket: cli.s3.s3_bucket.clone(),
                region: cli.s3.aws_region.clone(),
                ocr,
                retry: cli.worker.retry_policy(),
                metrics: Default::default(),
            };
            let service = WorkerService {
                name: "extract-worker",
                default_health_port: 9181,
                nats,
                js,
                database: Some(pool),
                replicas: cli.nats.jetstream_replicas,
            };
            service.run(task, &cli.worker).await
        }
        Command::Dlq { command } => {
            worker_runtime::cli::run_dlq(&cli.nats, "extract-worker", proto::ExtractJob::SUBJECT, command).await
        }
    }
}

fn reader(cli: &Cli) -> anyhow::Result<OcrReader> {
    match cli.extraction.extraction_mode {
        ExtractionMode::Inprocess => {
            // One OCR engine per job in flight: readings never queue behind each other.
            let models = cli.ppocr.load().context("loading the PP-OCR models")?;
            let threads = usize::from(cli.worker.worker_concurrency);
            Ok(OcrReader::InProcess(OcrPool::new(threads, 0, models).context("starting Tesseract")?))
        }
        ExtractionMode::Http => {
            anyhow::ensure!(!cli.extraction.ocr_url.is_empty(), "EXTRACTION_MODE=http needs OCR_URL");
            let http = HttpReader::new(cli.extraction.ocr_url.clone(), task::TIMEOUT).context("the HTTP client")?;
            Ok(OcrReader::Http(http))
        }
    }
}
