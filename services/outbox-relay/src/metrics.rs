//! The relay's metrics, on the same `/metrics` as every service (names `worker_outbox_*`).

use std::sync::atomic::AtomicU64;

use prometheus_client::metrics::{counter::Counter, gauge::Gauge};
use prometheus_client::registry::Registry;

#[derive(Debug, Default)]
pub struct RelayMetrics {
    /// Rows waiting to be published, refreshed every few seconds.
    pub pending: Gauge,
    /// Age of the oldest waiting row, seconds: what an alert on a stuck relay watches.
    pub oldest_pending_age: Gauge<f64, AtomicU64>,
    /// Rows JetStream acknowledged.
    pub published: Counter,
    /// Of those, rows the stream already held (published before an interrupted mark).
    pub duplicates: Counter,
    /// Publish attempts that failed and were pushed back.
    pub failures: Counter,
    /// Rows whose payload does not pass its contract; they are never published.
    pub rejected: Counter,
}

impl RelayMetrics {
    pub fn register(&self, registry: &mut Registry) {
        let outbox = registry.sub_registry_with_prefix("outbox");
        outbox.register("pending_rows", "Outbox rows waiting to be published", self.pending.clone());
        outbox.register(
            "oldest_pending_age_seconds",
            "Age of the oldest outbox row waiting to be published",
            self.oldest_pending_age.clone(),
        );
        outbox.register("published", "Outbox rows published and acknowledged by JetStream", self.published.clone());
        outbox.register(
            "duplicates",
            "Published rows JetStream already held (an earlier publish was not marked)",
            self.duplicates.clone(),
        );
        outbox.register(
            "publish_failures",
            "Outbox publish attempts that failed and wait for a retry",
            self.failures.clone(),
        );
        outbox.register("rejected", "Outbox rows whose payload does not pass its contract", self.rejected.clone());
    }
}
