//! The sweep for uploads whose `extract` job fell through (an API path that published directly
//! and lost the publish, or died before it): on its own cron, scoreboard attachments older than
//! `EXTRACT_SWEEP_AFTER_MINUTES` that have no extraction row get an `extract` job through the
//! outbox, each at most once ever (`jobs.sweep_unextracted` in the outbox migration).

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;
use sqlx::PgPool;
use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};

use crate::schedule::Schedule;

pub const DEFAULT_CRON: &str = "0 */10 * * * *";
/// At most this many uploads enqueued per sweep; the next sweep goes on.
const MAX_PER_SWEEP: i32 = 1000;

#[derive(Debug, Default, Clone)]
pub struct SweepMetrics {
    /// Sweeps that ran to the end.
    pub sweeps: Counter,
    /// Uploads given an `extract` job by a sweep.
    pub enqueued: Counter,
}

impl SweepMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register("extract_sweeps", "Sweeps for uploads without an extraction that ran", self.sweeps.clone());
        registry.register(
            "extract_sweep_enqueued",
            "Uploads without an extraction that a sweep gave an extract job",
            self.enqueued.clone(),
        );
    }
}

/// One sweep: enqueue `extract` for the uploads older than `after` without an extraction row.
/// Returns how many were enqueued.
pub async fn sweep(pool: &PgPool, after: Duration) -> Result<u64, sqlx::Error> {
    let enqueued: i32 = sqlx::query_scalar("SELECT jobs.sweep_unextracted(make_interval(secs => $1), $2)")
        .bind(after.as_secs_f64())
        .bind(MAX_PER_SWEEP)
        .fetch_one(pool)
        .await?;
    Ok(u64::try_from(enqueued).unwrap_or(0))
}

/// Start the sweep's cron. A failed sweep is logged; the next one covers it.
pub async fn start_cron(
    schedule: Schedule,
    pool: PgPool,
    after: Duration,
    metrics: SweepMetrics,
) -> Result<JobScheduler, JobSchedulerError> {
    let scheduler = JobScheduler::new().await?;
    let expression = schedule.expression().to_owned();
    let shared = Arc::new((pool, metrics));
    let job = Job::new_async(expression.as_str(), move |_id, _lock| {
        let shared = shared.clone();
        Box::pin(async move {
            let (pool, metrics) = &*shared;
            match sweep(pool, after).await {
                Ok(enqueued) => {
                    metrics.sweeps.inc();
                    metrics.enqueued.inc_by(enqueued);
                    if enqueued > 0 {
                        tracing::warn!(enqueued, "sweep: uploads without an extraction were given an extract job");
                    } else {
                        tracing::debug!("sweep: every upload has its extraction");
                    }
                }
                Err(error) => tracing::error!(%error, "sweep for uploads without an extraction failed"),
            }
        })
    })?;
    scheduler.add(job).await?;
    scheduler.start().await?;
    tracing::info!(cron = %expression, after = ?after, "extract sweep started (UTC)");
    Ok(scheduler)
}
