//! Logging and tracing for every binary, set up once at start.
//!
//! Spans are OpenTelemetry spans (via `tracing-opentelemetry`), so they carry real trace and span
//! ids that travel in NATS headers; every log line inside a job's span carries its `trace_id`.
//! `LOG_FORMAT=json` gives one JSON object per line for log shippers.

use clap::{Args, ValueEnum};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::{EnvFilter, layer::SubscriberExt, util::SubscriberInitExt};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct TelemetryConfig {
    /// `text` for people, `json` for log shippers. Verbosity comes from RUST_LOG.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// Keeps the tracer provider alive; dropping it flushes and shuts tracing down.
pub struct Telemetry {
    provider: SdkTracerProvider,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Err(error) = self.provider.shutdown() {
            eprintln!("telemetry shutdown: {error}");
        }
    }
}

/// Log filter when RUST_LOG is unset: our own info lines, only warnings from the NATS client.
const DEFAULT_FILTER: &str = "info,async_nats=warn";

/// Install the global subscriber. Call once, first thing in `main`.
pub fn init(config: &TelemetryConfig, service_name: &'static str) -> Telemetry {
    let provider = SdkTracerProvider::builder().build();
    let tracer = provider.tracer(service_name);
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let otel = tracing_opentelemetry::layer().with_tracer(tracer);
    let registry = tracing_subscriber::registry().with(filter).with(otel);
    // Logs go to stderr: stdout belongs to commands' own output (`dlq list`, JSON results).
    match config.log_format {
        LogFormat::Text => registry.with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr)).init(),
        LogFormat::Json => registry.with(tracing_subscriber::fmt::layer().json().with_writer(std::io::stderr)).init(),
    }
    Telemetry { provider }
}
