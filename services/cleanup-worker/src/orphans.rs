//! Keys the cleanup worker gave up on, kept in `orphaned_s3_object` so no object is forgotten,
//! and the sweep that tries them again — through the same key guard as a job: the table can be
//! written by anything (a bug, a manual insert, another tool), and a row is no permission.

use std::collections::HashSet;

use sqlx::PgPool;

use crate::batch_delete::{self, FailedKey, MAX_KEYS_PER_REQUEST};
use crate::key_guard::{AllowedKey, KeyGuard, KeyRejected};

/// Record (or re-record) failed keys: `attempts` adds the passes just made.
pub async fn record(pool: &PgPool, bucket: &str, failed: &[FailedKey], attempts: u32) -> Result<(), sqlx::Error> {
    let keys: Vec<&str> = failed.iter().map(|f| f.key.as_str()).collect();
    let errors: Vec<&str> = failed.iter().map(|f| f.error.as_str()).collect();
    sqlx::query(
        "INSERT INTO orphaned_s3_object (bucket, key, last_error, attempts)
         SELECT $1, key, error, $4 FROM UNNEST($2::text[], $3::text[]) AS t(key, error)
         ON CONFLICT (bucket, key) DO UPDATE
            SET last_error = excluded.last_error,
                attempts = orphaned_s3_object.attempts + excluded.attempts,
                last_seen_at = now()",
    )
    .bind(bucket)
    .bind(&keys)
    .bind(&errors)
    .bind(attempts as i32)
    .execute(pool)
    .await?;
    Ok(())
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    pub tried: usize,
    pub deleted: usize,
    pub still_failing: usize,
    /// Stored keys the guard refuses: not deleted, their rows left as they are.
    pub refused: Vec<KeyRejected>,
}

/// Try every orphan of `bucket` the guard allows once more (one pass; the next sweep is the
/// next retry), delete the rows of the keys that went, and bump the others.
pub async fn sweep(
    pool: &PgPool,
    client: &aws_sdk_s3::Client,
    bucket: &str,
    guard: &KeyGuard,
) -> Result<SweepReport, sqlx::Error> {
    let mut report = SweepReport::default();
    let mut after = String::new();
    loop {
        let stored: Vec<String> = sqlx::query_scalar(
            "SELECT key FROM orphaned_s3_object WHERE bucket = $1 AND key > $2 ORDER BY key LIMIT $3",
        )
        .bind(bucket)
        .bind(&after)
        .bind(MAX_KEYS_PER_REQUEST as i64)
        .fetch_all(pool)
        .await?;
        let Some(last) = stored.last() else { break };
        after = last.clone();
        let mut keys: Vec<AllowedKey> = Vec::with_capacity(stored.len());
        for key in &stored {
            match guard.check(key) {
                Ok(allowed) => keys.push(allowed),
                Err(refused) => {
                    tracing::warn!(bucket, error = %refused, "orphan outside the allowed prefixes left alone");
                    report.refused.push(refused);
                }
            }
        }
        let outcome = batch_delete::delete_once(client, bucket, &keys).await;
        let failed: HashSet<&str> = outcome.failed.iter().map(|f| f.key.as_str()).collect();
        let deleted: Vec<&str> = keys.iter().map(AllowedKey::as_str).filter(|k| !failed.contains(k)).collect();
        sqlx::query("DELETE FROM orphaned_s3_object WHERE bucket = $1 AND key = ANY($2)")
            .bind(bucket)
            .bind(&deleted)
            .execute(pool)
            .await?;
        if !outcome.failed.is_empty() {
            record(pool, bucket, &outcome.failed, 1).await?;
        }
        report.tried += keys.len();
        report.deleted += deleted.len();
        report.still_failing += outcome.failed.len();
    }
    Ok(report)
}
