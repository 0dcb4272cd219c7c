//! Publishing ticks: one per scheduled time, however many replicas fire.

use std::sync::Arc;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use proto::AutoDoneTick;
use sqlx::PgPool;
use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};
use worker_runtime::publish::{PublishError, Published, Publisher};

use crate::auto_done;
use crate::schedule::Schedule;

/// Publish the tick for `scheduled_at` with its de-duplication id `auto_done:<UTC time>`.
pub async fn publish(publisher: &Publisher, scheduled_at: DateTime<Utc>) -> Result<Published, PublishError> {
    let tick = AutoDoneTick { scheduled_at: scheduled_at.fixed_offset() };
    let published = publisher.publish(&tick, &tick.message_id()).await?;
    tracing::info!(
        scheduled_at = %scheduled_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        duplicate = published.duplicate,
        "auto-done tick published"
    );
    Ok(published)
}

/// At start-up: if the latest scheduled time within `window` has no processed tick (the
/// scheduler was down then), publish it now. Returns the time backfilled, if any.
pub async fn backfill(
    publisher: &Publisher,
    pool: &PgPool,
    schedule: &Schedule,
    window: Duration,
) -> anyhow::Result<Option<DateTime<Utc>>> {
    let Some(due) = schedule.backfill_candidate(Utc::now(), window) else { return Ok(None) };
    if auto_done::tick_processed(pool, due).await? {
        return Ok(None);
    }
    tracing::info!(scheduled_at = %due, "backfilling a tick missed while no scheduler was running");
    publish(publisher, due).await?;
    Ok(Some(due))
}

/// Start the cron: at each scheduled time, publish that time's tick. Publishing failures are
/// logged; the next start's backfill covers a tick that could not be published.
pub async fn start_cron(schedule: Schedule, publisher: Publisher) -> Result<JobScheduler, JobSchedulerError> {
    let scheduler = JobScheduler::new().await?;
    let schedule = Arc::new(schedule);
    let expression = schedule.expression().to_owned();
    let job = Job::new_async(expression.as_str(), move |_id, _lock| {
        let (schedule, publisher) = (schedule.clone(), publisher.clone());
        Box::pin(async move {
            let Some(scheduled_at) = schedule.latest_at_or_before(Utc::now()) else { return };
            if let Err(error) = publish(&publisher, scheduled_at).await {
                tracing::error!(%error, %scheduled_at, "auto-done tick not published; backfill at next start will retry it");
            }
        })
    })?;
    scheduler.add(job).await?;
    scheduler.start().await?;
    tracing::info!(cron = %expression, "auto-done schedule started (UTC)");
    Ok(scheduler)
}
