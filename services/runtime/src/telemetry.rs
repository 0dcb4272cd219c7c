//! Logging and tracing for every binary, set up once at start.
//!
//! Spans are OpenTelemetry spans (via `tracing-opentelemetry`), so they carry real trace and span
//! ids that travel in NATS headers; every log line inside a job's span carries its `trace_id`.
//! `LOG_FORMAT=json` gives one JSON object per line for log shippers.
//!
//! With `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans are also exported over OTLP/HTTP (protobuf) to
//! `<endpoint>/v1/traces`, in batches from a background thread, and the worker metrics to
//! `<endpoint>/v1/metrics` every `OTEL_METRIC_EXPORT_INTERVAL` ms (default 60 s); both are
//! flushed when [`Telemetry`] is dropped at the end of `main`. Unset, nothing is exported and nothing waits for a collector.
//! The other standard `OTEL_EXPORTER_OTLP_*` variables (headers, timeout, compression) are read
//! by the exporter itself.

use clap::{Args, ValueEnum};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;
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

    /// OTLP/HTTP collector base URL (e.g. http://127.0.0.1:4318); unset = no export.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otel_exporter_otlp_endpoint: Option<String>,

    /// `service.name` of the exported spans; defaults to the binary's name.
    #[arg(long, env = "OTEL_SERVICE_NAME")]
    pub otel_service_name: Option<String>,
}

/// Keeps the providers alive; dropping it flushes and shuts tracing and metrics down.
pub struct Telemetry {
    provider: SdkTracerProvider,
    meters: Option<SdkMeterProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Err(error) = self.provider.shutdown() {
            eprintln!("telemetry shutdown: {error}");
        }
        if let Some(Err(error)) = self.meters.as_ref().map(SdkMeterProvider::shutdown) {
            eprintln!("metrics shutdown: {error}");
        }
    }
}

/// Log filter when RUST_LOG is unset: our own info lines, only warnings from the NATS client.
const DEFAULT_FILTER: &str = "info,async_nats=warn";

/// Install the global subscriber. Call once, first thing in `main`.
pub fn init(config: &TelemetryConfig, service_name: &'static str) -> Telemetry {
    let name = config.otel_service_name.clone().unwrap_or_else(|| service_name.to_owned());
    let resource = Resource::builder().with_service_name(name).build();
    let mut builder = SdkTracerProvider::builder().with_resource(resource.clone());
    let mut meters = None;
    // A collector that is down or misconfigured must not stop a worker: the exporters' errors
    // are logged by the SDK and the data dropped.
    if let Some(endpoint) = config.otel_exporter_otlp_endpoint.as_deref() {
        match exporters(endpoint) {
            Ok((spans, metrics)) => {
                builder = builder.with_batch_exporter(spans);
                let reader = opentelemetry_sdk::metrics::PeriodicReader::builder(metrics).build();
                let provider = SdkMeterProvider::builder().with_reader(reader).with_resource(resource).build();
                opentelemetry::global::set_meter_provider(provider.clone());
                meters = Some(provider);
            }
            Err(error) => eprintln!("OTLP export disabled: {error}"),
        }
    }
    let provider = builder.build();
    let tracer = provider.tracer(service_name);
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let otel = tracing_opentelemetry::layer().with_tracer(tracer);
    let registry = tracing_subscriber::registry().with(filter).with(otel);
    // Logs go to stderr: stdout belongs to commands' own output (`dlq list`, JSON results).
    match config.log_format {
        LogFormat::Text => registry.with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr)).init(),
        LogFormat::Json => registry.with(tracing_subscriber::fmt::layer().json().with_writer(std::io::stderr)).init(),
    }
    Telemetry { provider, meters }
}

type Exporters = (opentelemetry_otlp::SpanExporter, opentelemetry_otlp::MetricExporter);

fn exporters(endpoint: &str) -> Result<Exporters, opentelemetry_otlp::ExporterBuildError> {
    // The base URL's per-signal paths, as the OTLP specification defines for this variable.
    let base = endpoint.trim_end_matches('/');
    let spans = opentelemetry_otlp::SpanExporter::builder().with_http().with_endpoint(format!("{base}/v1/traces"));
    let metrics = opentelemetry_otlp::MetricExporter::builder().with_http().with_endpoint(format!("{base}/v1/metrics"));
    Ok((spans.build()?, metrics.build()?))
}
