//! The `jobs.outbox` table, as the relay reads and writes it. Every statement here runs in the
//! claiming transaction, so a claim, its publishes' outcomes and the marks commit together.

use std::time::Duration;

use sqlx::{PgConnection, PgPool};

/// `NOTIFY` channel of `jobs.enqueue`.
pub const CHANNEL: &str = "jobs_outbox";

/// A claimed row, locked by the claiming transaction until it commits or rolls back.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingRow {
    pub id: i64,
    pub subject: String,
    /// The payload as jsonb renders it; re-encoded compactly once it passed the contract.
    pub payload: String,
    message_id: Option<String>,
    pub traceparent: Option<String>,
    /// Failed publish attempts before this one.
    pub attempts: i32,
}

impl PendingRow {
    /// The de-duplication key: the caller's, else one derived from the row.
    pub fn message_id(&self) -> String {
        self.message_id.clone().unwrap_or_else(|| format!("outbox:{}", self.id))
    }
}

/// Lock up to `limit` due rows, oldest first, skipping rows another relay holds.
pub async fn claim(tx: &mut PgConnection, limit: i64) -> Result<Vec<PendingRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, subject, payload::text AS payload, message_id, traceparent, attempts
         FROM jobs.outbox
         WHERE status = 'PENDING' AND next_attempt_at <= now()
         ORDER BY id
         LIMIT $1
         FOR UPDATE SKIP LOCKED",
    )
    .bind(limit)
    .fetch_all(&mut *tx)
    .await
}

/// What became of a claimed batch, to be written before the claim commits.
#[derive(Debug, Default)]
pub struct Settled {
    /// `(row, stream sequence)` of rows JetStream acknowledged.
    pub published: Vec<(i64, i64)>,
    /// `(row, delay, error)` of rows to publish again after `delay`.
    pub retry: Vec<(i64, Duration, String)>,
    /// `(row, error)` of rows whose payload no retry can fix.
    pub rejected: Vec<(i64, String)>,
}

pub async fn settle(tx: &mut PgConnection, settled: &Settled) -> Result<(), sqlx::Error> {
    if !settled.published.is_empty() {
        let (ids, sequences): (Vec<i64>, Vec<i64>) = settled.published.iter().copied().unzip();
        sqlx::query(
            "UPDATE jobs.outbox AS o
             SET status = 'PUBLISHED', published_at = now(), stream_sequence = p.sequence, last_error = NULL
             FROM unnest($1::bigint[], $2::bigint[]) AS p(id, sequence)
             WHERE o.id = p.id",
        )
        .bind(ids)
        .bind(sequences)
        .execute(&mut *tx)
        .await?;
    }
    if !settled.retry.is_empty() {
        let ids: Vec<i64> = settled.retry.iter().map(|(id, _, _)| *id).collect();
        let delays: Vec<f64> = settled.retry.iter().map(|(_, delay, _)| delay.as_secs_f64()).collect();
        let errors: Vec<&str> = settled.retry.iter().map(|(_, _, error)| error.as_str()).collect();
        sqlx::query(
            "UPDATE jobs.outbox AS o
             SET attempts = o.attempts + 1, next_attempt_at = now() + make_interval(secs => r.delay),
                 last_error = r.error
             FROM unnest($1::bigint[], $2::float8[], $3::text[]) AS r(id, delay, error)
             WHERE o.id = r.id",
        )
        .bind(ids)
        .bind(delays)
        .bind(errors)
        .execute(&mut *tx)
        .await?;
    }
    if !settled.rejected.is_empty() {
        let (ids, errors): (Vec<i64>, Vec<&str>) =
            settled.rejected.iter().map(|(id, error)| (*id, error.as_str())).unzip();
        sqlx::query(
            "UPDATE jobs.outbox AS o SET status = 'REJECTED', last_error = r.error
             FROM unnest($1::bigint[], $2::text[]) AS r(id, error)
             WHERE o.id = r.id",
        )
        .bind(ids)
        .bind(errors)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Rows waiting to be published, and the age of the oldest in seconds (0 when none).
pub async fn backlog(pool: &PgPool) -> Result<(i64, f64), sqlx::Error> {
    sqlx::query_as(
        "SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at))::float8, 0)
         FROM jobs.outbox WHERE status = 'PENDING'",
    )
    .fetch_one(pool)
    .await
}

/// Delete up to `limit` rows published more than `retention` ago; returns how many went.
pub async fn prune(pool: &PgPool, retention: Duration, limit: i64) -> Result<u64, sqlx::Error> {
    let deleted = sqlx::query(
        "DELETE FROM jobs.outbox WHERE id IN (
             SELECT id FROM jobs.outbox
             WHERE status = 'PUBLISHED' AND published_at < now() - make_interval(secs => $1)
             LIMIT $2)",
    )
    .bind(retention.as_secs_f64())
    .bind(limit)
    .execute(pool)
    .await?;
    Ok(deleted.rows_affected())
}
