//! `lol-ocr serve`: the reader as an HTTP service (`proto/openapi/lol-ocr.yaml`), so OCR replicas
//! scale apart from the extract workers and other callers use the same reader without NATS.
//!
//! The port answers at once; the models load in the background and `/readyz` turns 200 when
//! they have. Readings run on the shared [`OcrPool`]: `OCR_CONCURRENCY` at once and
//! `OCR_QUEUE_DEPTH` more admitted; past that a request is answered `503` before its body is
//! read, so memory stays bounded however many callers there are. SIGTERM stops accepting
//! connections and lets the requests in flight finish.

mod metrics;
mod routes;

use std::future::IntoFuture as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use ocr_service::pool::OcrPool;
use worker_runtime::shutdown::Shutdown;
use worker_runtime::telemetry;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address of the API, `/healthz`, `/readyz` and `/metrics`.
    #[arg(long, env = "OCR_LISTEN_ADDR", default_value = "0.0.0.0:8090")]
    listen: SocketAddr,
    /// Readings at once (one thread and one Tesseract engine each); default: the machine's cores.
    #[arg(long, env = "OCR_CONCURRENCY")]
    concurrency: Option<usize>,
    /// Requests admitted to wait beyond those being read; past it the answer is `503`.
    /// Default: twice the concurrency.
    #[arg(long, env = "OCR_QUEUE_DEPTH")]
    queue_depth: Option<usize>,
    /// A request not answered within this (waiting, upload and reading) gets `504`.
    #[arg(long, env = "OCR_REQUEST_TIMEOUT_MS", default_value_t = 30_000)]
    request_timeout_ms: u64,
    /// Largest request body; a larger one gets `413`. Default: the image limit and 1 MiB for
    /// the job input.
    #[arg(long, env = "OCR_MAX_BODY_BYTES", default_value_t = ocr::decode::MAX_BYTES + 1024 * 1024)]
    max_body_bytes: usize,
    #[command(flatten)]
    ppocr: ocr_service::ModelArgs,
    #[command(flatten)]
    telemetry: telemetry::TelemetryConfig,
}

/// What every request shares.
pub struct Server {
    /// Set once the models have loaded.
    pool: OnceLock<OcrPool>,
    timeout: Duration,
    metrics: metrics::ServeMetrics,
}

pub fn run(args: ServeArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("lol-ocr serve: starting the Tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let _telemetry = telemetry::init(&args.telemetry, "lol-ocr");
        match serve(args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                tracing::error!("lol-ocr serve: {error:#}");
                ExitCode::FAILURE
            }
        }
    })
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let concurrency = args.concurrency.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let queue_depth = args.queue_depth.unwrap_or(2 * concurrency);
    let server = Arc::new(Server {
        pool: OnceLock::new(),
        timeout: Duration::from_millis(args.request_timeout_ms),
        metrics: metrics::ServeMetrics::default(),
    });
    let shutdown = Shutdown::on_signals()?;
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    tracing::info!(addr = %args.listen, concurrency, queue_depth, "lol-ocr serve: listening; loading the models");

    // A model or Tesseract that cannot start stops the server: never ready is worse than gone.
    let loading = {
        let server = Arc::clone(&server);
        let ppocr = args.ppocr.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let models = ppocr.load()?;
            let pool = OcrPool::new(concurrency, queue_depth, models)?;
            let _ = server.pool.set(pool);
            tracing::info!("lol-ocr serve: models loaded, ready");
            Ok(())
        })
    };
    let app = routes::router(server, args.max_body_bytes);
    let serving =
        axum::serve(listener, app).with_graceful_shutdown(async move { shutdown.cancelled().await }).into_future();
    tokio::pin!(serving);
    tokio::select! {
        served = &mut serving => return Ok(served?),
        loaded = loading => loaded.context("loading the models panicked")??,
    }
    Ok(serving.await?)
}
