//! The `extraction_result` row of an attachment: one per attachment (upsert by
//! `attachment_id`), so redeliveries and duplicates leave one row, and extracting the same
//! attachment again overwrites it.

use sqlx::PgPool;
use uuid::Uuid;

/// An attempt began: the row exists (PENDING) and counts the attempt.
pub async fn attempt_started(pool: &PgPool, attachment_id: Uuid, attempt: u32) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO extraction_result (attachment_id, status, attempts) VALUES ($1, 'PENDING', $2)
         ON CONFLICT (attachment_id) DO UPDATE
            SET status = 'PENDING', attempts = $2, error = NULL, updated_at = now(), completed_at = NULL",
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
                updated_at = now(), completed_at = now()",
    )
    .bind(attachment_id)
    .bind(model)
    .bind(result)
    .bind(attempt as i32)
    .execute(pool)
    .await?;
    Ok(())
}

/// The job was given up on: FAILED with a human-readable reason. Idempotent, as the runtime's
/// `on_exhausted` hook must be.
pub async fn failed(pool: &PgPool, attachment_id: Uuid, error: &str, attempts: u32) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO extraction_result (attachment_id, status, error, attempts, completed_at)
         SELECT $1, 'FAILED', $2, $3, now() WHERE EXISTS (SELECT 1 FROM attachment WHERE id = $1)
         ON CONFLICT (attachment_id) DO UPDATE
            SET status = 'FAILED', error = $2, attempts = GREATEST(extraction_result.attempts, $3),
                updated_at = now(), completed_at = now()",
    )
    .bind(attachment_id)
    .bind(error)
    .bind(attempts as i32)
    .execute(pool)
    .await?;
    Ok(())
}
