//! `/metrics` of `lol-ocr serve`: requests by HTTP status, their latency, and how busy the pool
//! is (read at each scrape, so the gauges are never stale).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    pub status: u16,
}

pub struct ServeMetrics {
    registry: Registry,
    pub requests: Family<StatusLabel, Counter>,
    pub duration: Histogram,
    pub reading: Gauge,
    pub queued: Gauge,
    pub ready: Gauge,
}

/// Every status the API answers, so each series exists (at 0) before its first request and a
/// rate over it is defined from the start.
const STATUSES: [u16; 7] = [200, 400, 413, 422, 500, 503, 504];

impl Default for ServeMetrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("lol_ocr");
        let requests = Family::<StatusLabel, Counter>::default();
        for status in STATUSES {
            let _ = requests.get_or_create(&StatusLabel { status });
        }
        let duration = Histogram::new([0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0, 60.0]);
        let (reading, queued, ready) = (Gauge::default(), Gauge::default(), Gauge::default());
        registry.register("requests", "POST /v1/extract requests answered, by HTTP status", requests.clone());
        registry.register("request_duration_seconds", "POST /v1/extract time to answer", duration.clone());
        registry.register("in_flight", "Readings running now", reading.clone());
        registry.register("queue_depth", "Requests admitted and waiting for a reader", queued.clone());
        registry.register("ready", "1 once the models have loaded", ready.clone());
        ServeMetrics { registry, requests, duration, reading, queued, ready }
    }
}

impl ServeMetrics {
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}
