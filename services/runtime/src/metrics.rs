//! Prometheus metrics of the worker, served on `/metrics` by [`crate::health`], and the same
//! numbers over OTLP when an exporter is configured ([`Metrics::observe_for_opentelemetry`]).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TaskLabel {
    pub task: String,
}

/// Counters and histograms per task (`task` label = the job subject).
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Jobs acknowledged as done.
    pub processed: Family<TaskLabel, Counter>,
    /// Failed attempts, whatever followed (retry or dead letter).
    pub failed: Family<TaskLabel, Counter>,
    /// Attempts negatively acknowledged to be tried again.
    pub retried: Family<TaskLabel, Counter>,
    /// Jobs given up on and copied to the dead-letter stream.
    pub dead_lettered: Family<TaskLabel, Counter>,
    /// Handler run time per attempt, seconds.
    pub duration: Family<TaskLabel, Histogram>,
    /// Jobs waiting in the consumer, as last reported by the server.
    pub pending: Family<TaskLabel, Gauge>,
    /// 1 when `/readyz` would answer ready, checked at each scrape; 0 otherwise.
    pub ready: Gauge,
    /// The worker loop has provisioned its stream and consumer and is pulling; `/readyz` says
    /// ready only then, so whoever waits for readiness can publish at once.
    pub consuming: std::sync::atomic::AtomicBool,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("worker");
        let processed = Family::<TaskLabel, Counter>::default();
        let failed = Family::<TaskLabel, Counter>::default();
        let retried = Family::<TaskLabel, Counter>::default();
        let dead_lettered = Family::<TaskLabel, Counter>::default();
        let duration = Family::<TaskLabel, Histogram>::new_with_constructor(|| {
            Histogram::new([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0])
        });
        let pending = Family::<TaskLabel, Gauge>::default();
        let ready = Gauge::default();
        registry.register("jobs_processed", "Jobs completed and acknowledged", processed.clone());
        registry.register("jobs_failed", "Failed attempts (retried or not)", failed.clone());
        registry.register("jobs_retried", "Attempts scheduled for a retry", retried.clone());
        registry.register("jobs_dead_lettered", "Jobs given up on and dead-lettered", dead_lettered.clone());
        registry.register("job_duration_seconds", "Handler run time per attempt", duration.clone());
        registry.register("consumer_pending_jobs", "Jobs waiting in the durable consumer", pending.clone());
        registry.register("ready", "1 when the worker is ready (as /readyz), checked at each scrape", ready.clone());
        Metrics {
            registry,
            processed,
            failed,
            retried,
            dead_lettered,
            duration,
            pending,
            ready,
            consuming: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

/// One task's series of the [`Metrics`] families, looked up once: a job updates them without
/// hashing its label and locking the family's map on every event.
#[derive(Debug, Clone)]
pub struct TaskSeries {
    pub processed: Counter,
    pub failed: Counter,
    pub retried: Counter,
    pub dead_lettered: Counter,
    pub duration: Histogram,
    pub pending: Gauge,
}

impl Metrics {
    /// The series of `task`, exported from this call on. Counters start at 0 rather than at the
    /// first event: a `rate` or `increase` (the dead-letter alert) sees the first event only if
    /// it saw the counter before it.
    pub fn series(&self, task: &str) -> TaskSeries {
        let label = TaskLabel { task: task.to_owned() };
        TaskSeries {
            processed: self.processed.get_or_create(&label).clone(),
            failed: self.failed.get_or_create(&label).clone(),
            retried: self.retried.get_or_create(&label).clone(),
            dead_lettered: self.dead_lettered.get_or_create(&label).clone(),
            duration: self.duration.get_or_create(&label).clone(),
            pending: self.pending.get_or_create(&label).clone(),
        }
    }

    /// Where a task registers its own metrics (under the same `worker_` prefix), before the
    /// worker starts.
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// Keeps the OpenTelemetry instruments of [`Metrics::observe_for_opentelemetry`] registered.
pub struct OpenTelemetryInstruments {
    _counters: Vec<opentelemetry::metrics::ObservableCounter<u64>>,
    _pending: opentelemetry::metrics::ObservableGauge<i64>,
}

impl Metrics {
    /// Register the counters and the pending gauge of `task` as observable instruments on the
    /// global meter. They read the task's [`TaskSeries`] at each export, so `/metrics` and OTLP
    /// never disagree. Without an exporting meter provider (`OTEL_EXPORTER_OTLP_ENDPOINT` unset)
    /// the global meter is a no-op. Durations stay on `/metrics` (the histogram has no
    /// observable counterpart).
    pub fn observe_for_opentelemetry(&self, task: &str) -> OpenTelemetryInstruments {
        let meter = opentelemetry::global::meter("worker-runtime");
        let series = self.series(task);
        let attributes = [opentelemetry::KeyValue::new("task", task.to_owned())];
        type Pick = fn(&TaskSeries) -> &Counter;
        let counters: [(&'static str, &'static str, Pick); 4] = [
            ("worker.jobs.processed", "Jobs completed and acknowledged", |s| &s.processed),
            ("worker.jobs.failed", "Failed attempts (retried or not)", |s| &s.failed),
            ("worker.jobs.retried", "Attempts scheduled for a retry", |s| &s.retried),
            ("worker.jobs.dead_lettered", "Jobs given up on and dead-lettered", |s| &s.dead_lettered),
        ];
        let counters = counters
            .into_iter()
            .map(|(name, description, pick)| {
                let (counter, attributes) = (pick(&series).clone(), attributes.clone());
                meter
                    .u64_observable_counter(name)
                    .with_description(description)
                    .with_callback(move |observer| observer.observe(counter.get(), &attributes))
                    .build()
            })
            .collect();
        let pending = meter
            .i64_observable_gauge("worker.consumer.pending_jobs")
            .with_description("Jobs waiting in the durable consumer")
            .with_callback(move |observer| observer.observe(series.pending.get(), &attributes))
            .build();
        OpenTelemetryInstruments { _counters: counters, _pending: pending }
    }
}
