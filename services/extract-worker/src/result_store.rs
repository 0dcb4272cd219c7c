//! The `extraction_result` row of an attachment: one per attachment (upsert by
//! `attachment_id`), so redeliveries and duplicates leave one row, and extracting the same
//! attachment again overwrites it — with a reading only. A re-read that fails keeps an earlier
//! DONE reading and records why beside it (`last_error`, `last_error_at`); a job refused for what
//! it says (another match's id, an attachment that is not a scoreboard) writes nothing at all.

use proto::ExtractJob;
use sqlx::PgPool;
use uuid::Uuid;

/// An attempt began: the row exists and counts the attempt. A DONE row stays DONE (with its
/// reading) until a new reading replaces it.
pub async fn attempt_started(pool: &PgPool, attachment_id: Uuid, attempt: u32) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO extraction_result (attachment_id, status, attempts) VALUES ($1, 'PENDING', $2)
         ON CONFLICT (attachment_id) DO UPDATE
            SET status = CASE WHEN extraction_result.status = 'DONE' THEN 'DONE' ELSE 'PENDING' END,
                attempts = $2, error = NULL, updated_at = now(),
                completed_at = CASE WHEN extraction_result.status = 'DONE' THEN extraction_result.completed_at END",
    )
    .bind(attachment_id)
    .bind(attempt as i32)
    .execute(pool)
    .await?;
    Ok(())
}

/// The reading is stored: DONE with the model and the whole `lol-ocr` output.
pub async fn done(
    pool: &PgPool,
    attachment_id: Uuid,
    model: &str,
    result: &serde_json::Value,
    attempt: u32,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO extraction_result (attachment_id, status, model, result, attempts, completed_at)
         VALUES ($1, 'DONE', $2, $3, $4, now())
         ON CONFLICT (attachment_id) DO UPDATE
            SET status = 'DONE', model = $2, result = $3, error = NULL, attempts = $4,
                last_error = NULL, last_error_at = NULL, updated_at = now(), completed_at = now()",
    )
    .bind(attachment_id)
    .bind(model)
    .bind(result)
    .bind(attempt as i32)
    .execute(pool)
    .await?;
    Ok(())
}

/// What [`failed`] did to the attachment's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureRecorded {
    /// The row is FAILED with the reason.
    Failed,
    /// The row keeps its earlier reading (DONE); the reason is its `last_error`.
    BesideEarlierReading,
    /// Nothing written: the job does not name a scoreboard of its match (or the attachment is
    /// gone), so it may not touch the attachment's result.
    Refused,
}

/// The job was given up on. Idempotent, as the runtime's `on_exhausted` hook must be. Only a
/// job valid for its attachment (a scoreboard of that very match) writes; see [`FailureRecorded`].
pub async fn failed(
    pool: &PgPool,
    job: &ExtractJob,
    error: &str,
    attempts: u32,
) -> Result<FailureRecorded, sqlx::Error> {
    let status: Option<String> = sqlx::query_scalar(
        "INSERT INTO extraction_result (attachment_id, status, error, last_error, last_error_at, attempts, completed_at)
         SELECT $1, 'FAILED', $3, $3, now(), $4, now()
         WHERE EXISTS (SELECT 1 FROM attachment WHERE id = $1 AND match_id = $2 AND kind = 'LOL_RESULT_SCREEN')
         ON CONFLICT (attachment_id) DO UPDATE
            SET status = CASE WHEN extraction_result.status = 'DONE' THEN 'DONE' ELSE 'FAILED' END,
                error = CASE WHEN extraction_result.status = 'DONE' THEN NULL ELSE $3 END,
                last_error = $3, last_error_at = now(),
                attempts = GREATEST(extraction_result.attempts, $4), updated_at = now(),
                completed_at = CASE WHEN extraction_result.status = 'DONE' THEN extraction_result.completed_at
                                    ELSE now() END
         RETURNING status",
    )
    .bind(job.attachment_id)
    .bind(job.match_id)
    .bind(error)
    .bind(attempts as i32)
    .fetch_optional(pool)
    .await?;
    Ok(match status.as_deref() {
        None => FailureRecorded::Refused,
        Some("DONE") => FailureRecorded::BesideEarlierReading,
        Some(_) => FailureRecorded::Failed,
    })
}
