//! A match as the app records it, seeded from a labelled capture's job input: its friends (Riot
//! IDs and aliases), a session, the match with teams A and B, and the screenshot's attachment.
//! Only the job input is used — never the capture's expected answers.

use std::time::Duration;

use proto::OcrJobInput;
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Debug, Clone, Copy)]
pub struct SeededMatch {
    pub attachment_id: Uuid,
    pub match_id: Uuid,
}

/// A committed capture or its label under `ocr/tests/fixtures/` (`es1-0002.jpg`, `es1-0002.json`).
pub fn fixture(name: &str) -> std::path::PathBuf {
    crate::repo_root().join("ocr/tests/fixtures").join(name)
}

/// Read the `input` of a labelled capture's JSON (`ocr/tests/fixtures/*.json`,
/// `../shared/endscreens/public/*.json`).
pub fn fixture_input(path: &std::path::Path) -> OcrJobInput {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let document: serde_json::Value = serde_json::from_str(&text).expect("the fixture is JSON");
    serde_json::from_value(document["input"].clone()).expect("the fixture's input follows the contract")
}

/// Wait until the attachment's `extraction_result` has `status` (`DONE`, `FAILED`).
pub async fn wait_for_status(pool: &PgPool, attachment_id: Uuid, status: &str, timeout: Duration) {
    crate::wait_until(&format!("extraction_result {status}"), timeout, || async {
        sqlx::query_scalar::<_, String>("SELECT status FROM extraction_result WHERE attachment_id = $1")
            .bind(attachment_id)
            .fetch_optional(pool)
            .await
            .expect("read extraction_result")
            .is_some_and(|found| found == status)
    })
    .await;
}

/// Insert the input's friends (once per database) and a new session, match and attachment whose
/// object is `s3_key`.
pub async fn seed(pool: &PgPool, input: &OcrJobInput, s3_key: &str) -> Result<SeededMatch, sqlx::Error> {
    let recorded = seed_match(pool, input).await?;
    let attachment_id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO attachment (id, session_id, match_id, kind, s3_key, content_type, size_bytes)
         VALUES ($1, $2, $3, 'LOL_RESULT_SCREEN', $4, 'image/png', 0)",
    )
    .bind(attachment_id)
    .bind(recorded.session_id)
    .bind(recorded.match_id)
    .bind(s3_key)
    .execute(pool)
    .await?;
    Ok(SeededMatch { attachment_id, match_id: recorded.match_id })
}

/// A match recorded before its scoreboard is uploaded.
#[derive(Debug, Clone, Copy)]
pub struct RecordedMatch {
    pub session_id: Uuid,
    pub match_id: Uuid,
}

/// Insert the input's friends (once per database) and a new session and match with its teams.
pub async fn seed_match(pool: &PgPool, input: &OcrJobInput) -> Result<RecordedMatch, sqlx::Error> {
    let mut tx = pool.begin().await?;
    for friend in &input.friend_dictionary {
        let name = friend.primary.first().map(|id| id.game_name().to_owned()).unwrap_or_else(|| "guest".to_owned());
        sqlx::query("INSERT INTO friend (id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(friend.friend_id)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        for riot_id in &friend.primary {
            sqlx::query("INSERT INTO friend_riot_id (friend_id, game_name, tag_line) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                .bind(friend.friend_id)
                .bind(riot_id.game_name())
                .bind(riot_id.tag_line())
                .execute(&mut *tx)
                .await?;
        }
        for alias in &friend.secondary {
            sqlx::query("INSERT INTO friend_alias (friend_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(friend.friend_id)
                .bind(alias)
                .execute(&mut *tx)
                .await?;
        }
    }
    let session_id = Uuid::new_v4();
    sqlx::query("INSERT INTO session (id, status, starts_at) VALUES ($1, 'CONFIRMED', now())")
        .bind(session_id)
        .execute(&mut *tx)
        .await?;
    let match_id = Uuid::new_v4();
    sqlx::query("INSERT INTO match (id, session_id, seq_no) VALUES ($1, $2, 1)")
        .bind(match_id)
        .bind(session_id)
        .execute(&mut *tx)
        .await?;
    for (team, ids) in [("A", input.teams.team_a.friend_ids()), ("B", input.teams.team_b.friend_ids())] {
        for friend_id in ids {
            sqlx::query("INSERT INTO match_team_member (match_id, friend_id, team) VALUES ($1, $2, $3)")
                .bind(match_id)
                .bind(*friend_id)
                .bind(team)
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await?;
    Ok(RecordedMatch { session_id, match_id })
}
