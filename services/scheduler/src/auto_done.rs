//! Consuming a tick: CONFIRMED sessions that started more than 3 days ago become DONE.

use chrono::{DateTime, Utc};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;
use proto::AutoDoneTick;
use sqlx::{PgConnection, PgPool};
use worker_runtime::{Attempt, Task, TaskError, TaskPolicy};

/// The one UPDATE. Served by the partial index `session_confirmed_starts_at_idx`; uses the
/// database's clock so replicas with skewed clocks agree. SCHEDULED sessions never match.
pub const CLOSE_DUE_SESSIONS: &str = "UPDATE session SET status = 'DONE', updated_at = now() \
     WHERE status = 'CONFIRMED' AND starts_at < now() - interval '3 days'";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickOutcome {
    Transitioned(u64),
    /// This scheduled time was processed before (a duplicate or replayed tick): nothing changed.
    AlreadyProcessed,
}

/// Close the due sessions on `connection` (inside the caller's transaction).
pub async fn close_due_sessions(connection: &mut PgConnection) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(CLOSE_DUE_SESSIONS).execute(connection).await?.rows_affected())
}

/// Record the tick and close the due sessions in one transaction: either both happen or
/// neither, so a tick is never half-processed and never processed twice.
#[tracing::instrument(
    name = "db close due sessions",
    skip(pool),
    fields(db.system = "postgresql", sessions.transitioned = tracing::field::Empty)
)]
pub async fn process_tick(pool: &PgPool, scheduled_at: DateTime<Utc>) -> Result<TickOutcome, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // A concurrent duplicate waits here on the primary key until the first commits.
    let claimed = sqlx::query(
        "INSERT INTO auto_done_tick (scheduled_at, sessions_transitioned) VALUES ($1, 0) ON CONFLICT (scheduled_at) DO NOTHING",
    )
    .bind(scheduled_at)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if claimed == 0 {
        tx.rollback().await?;
        return Ok(TickOutcome::AlreadyProcessed);
    }
    let transitioned = close_due_sessions(&mut tx).await?;
    tracing::Span::current().record("sessions.transitioned", transitioned);
    sqlx::query("UPDATE auto_done_tick SET sessions_transitioned = $2 WHERE scheduled_at = $1")
        .bind(scheduled_at)
        .bind(i32::try_from(transitioned).unwrap_or(i32::MAX))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(TickOutcome::Transitioned(transitioned))
}

pub async fn tick_processed(pool: &PgPool, scheduled_at: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM auto_done_tick WHERE scheduled_at = $1)")
        .bind(scheduled_at)
        .fetch_one(pool)
        .await
}

pub struct AutoDoneTask {
    pub pool: PgPool,
    pub policy: TaskPolicy,
    /// Sessions moved to DONE (`worker_auto_done_sessions_closed_total`).
    pub sessions_closed: Counter,
}

impl Task for AutoDoneTask {
    type Job = AutoDoneTick;
    const CONSUMER: &'static str = "auto_done";

    fn policy(&self) -> TaskPolicy {
        self.policy
    }

    fn register_metrics(&self, registry: &mut Registry) {
        registry.register(
            "auto_done_sessions_closed",
            "Sessions moved to DONE by auto-done ticks",
            self.sessions_closed.clone(),
        );
    }

    async fn handle(&self, tick: AutoDoneTick, _attempt: Attempt) -> Result<(), TaskError> {
        let scheduled_at = tick.scheduled_at_utc();
        match process_tick(&self.pool, scheduled_at).await? {
            TickOutcome::Transitioned(count) => {
                self.sessions_closed.inc_by(count);
                tracing::info!(%scheduled_at, sessions = count, "auto-done: transitioned {count} sessions");
            }
            TickOutcome::AlreadyProcessed => {
                tracing::info!(%scheduled_at, "auto-done: tick already processed; nothing to do");
            }
        }
        Ok(())
    }
}
