//! The extract worker's database side against a real Postgres: the OCR input built from the
//! tables, every way an `extract` job can point at nothing, and the one-row-per-attachment
//! result.

use extract_worker::ocr_input;
use extract_worker::result_store::{self, FailureRecorded};
use proto::ExtractJob;
use sqlx::PgPool;
use testkit::TestDatabase;
use uuid::Uuid;
use worker_runtime::database::MIGRATOR;
use worker_runtime::{Classify, Failure};

struct Seeded {
    pool: PgPool,
    match_id: Uuid,
    attachment_id: Uuid,
    team_a: Vec<Uuid>,
    team_b: Vec<Uuid>,
    outsider: Uuid,
}

async fn friend(pool: &PgPool, name: &str, riot_id: Option<(&str, &str)>, alias: Option<&str>) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query("INSERT INTO friend (id, name) VALUES ($1, $2)").bind(id).bind(name).execute(pool).await.unwrap();
    if let Some((game_name, tag)) = riot_id {
        sqlx::query("INSERT INTO friend_riot_id (friend_id, game_name, tag_line) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(game_name)
            .bind(tag)
            .execute(pool)
            .await
            .unwrap();
    }
    if let Some(alias) = alias {
        sqlx::query("INSERT INTO friend_alias (friend_id, name) VALUES ($1, $2)")
            .bind(id)
            .bind(alias)
            .execute(pool)
            .await
            .unwrap();
    }
    id
}

async fn seed() -> Seeded {
    let db = TestDatabase::migrated(&MIGRATOR).await;
    let pool = db.pool;
    let outsider = friend(&pool, "Decoy", Some(("Faker2", "KR1")), None).await;
    let mut team_a = Vec::new();
    let mut team_b = Vec::new();
    for n in 0..5 {
        team_a.push(friend(&pool, &format!("a{n}"), Some((&format!("Alpha{n}"), "KR1")), None).await);
        team_b.push(
            friend(&pool, &format!("b{n}"), Some((&format!("사랑해{n}"), "한국")), Some(&format!("옛이름{n}"))).await,
        );
    }
    let session = Uuid::new_v4();
    sqlx::query("INSERT INTO session (id, status, starts_at) VALUES ($1, 'CONFIRMED', now())")
        .bind(session)
        .execute(&pool)
        .await
        .unwrap();
    let match_id = Uuid::new_v4();
    sqlx::query("INSERT INTO match (id, session_id, seq_no) VALUES ($1, $2, 1)")
        .bind(match_id)
        .bind(session)
        .execute(&pool)
        .await
        .unwrap();
    for (team, ids) in [("A", &team_a), ("B", &team_b)] {
        for id in ids {
            sqlx::query("INSERT INTO match_team_member (match_id, friend_id, team) VALUES ($1, $2, $3)")
                .bind(match_id)
                .bind(id)
                .bind(team)
                .execute(&pool)
                .await
                .unwrap();
        }
    }
    let attachment_id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO attachment (id, session_id, match_id, kind, s3_key, content_type, size_bytes)
         VALUES ($1, $2, $3, 'LOL_RESULT_SCREEN', 'attachments/m1/scoreboard.png', 'image/png', 123456)",
    )
    .bind(attachment_id)
    .bind(session)
    .bind(match_id)
    .execute(&pool)
    .await
    .unwrap();
    Seeded { pool, match_id, attachment_id, team_a, team_b, outsider }
}

#[tokio::test]
async fn input_carries_teams_and_a_dictionary_with_the_players_first() {
    let seeded = seed().await;
    let job = ExtractJob { attachment_id: seeded.attachment_id, match_id: seeded.match_id };
    let input = ocr_input::build(&seeded.pool, &job, "attachments", "ap-northeast-2").await.expect("input");

    assert_eq!(input.job_id, seeded.attachment_id);
    assert_eq!(input.s3.key, "attachments/m1/scoreboard.png");
    let mut team_a = seeded.team_a.clone();
    team_a.sort();
    assert_eq!(input.teams.team_a.friend_ids(), team_a);
    assert_eq!(input.teams.team_b.friend_ids().len(), 5);
    assert_eq!(input.friend_dictionary.len(), 11);
    assert_eq!(input.friend_dictionary.last().unwrap().friend_id, seeded.outsider, "outsiders come last");
    let hangul = input.friend_dictionary.iter().find(|f| f.friend_id == seeded.team_b[0]).unwrap();
    assert_eq!(hangul.primary[0].to_string(), "사랑해0#한국");
    assert_eq!(hangul.secondary, ["옛이름0"]);
    // What the worker builds is exactly the lol-ocr contract.
    let reparsed: proto::OcrJobInput = proto::decode(&proto::encode(&input)).expect("valid by the schema");
    assert_eq!(reparsed, input);
}

#[tokio::test]
async fn jobs_pointing_at_nothing_are_permanent_failures() {
    let seeded = seed().await;
    let missing = ExtractJob { attachment_id: Uuid::new_v4(), match_id: seeded.match_id };
    let error = ocr_input::build(&seeded.pool, &missing, "b", "r").await.expect_err("no such attachment");
    assert!(matches!(error, ocr_input::InputError::AttachmentMissing(_)) && (error.failure() == Failure::Permanent));

    let other_match = ExtractJob { attachment_id: seeded.attachment_id, match_id: Uuid::new_v4() };
    let error = ocr_input::build(&seeded.pool, &other_match, "b", "r").await.expect_err("wrong match");
    assert!(
        matches!(error, ocr_input::InputError::OtherMatch { .. }) && (error.failure() == Failure::Permanent),
        "{error}"
    );

    sqlx::query("UPDATE attachment SET kind = 'PHOTO' WHERE id = $1")
        .bind(seeded.attachment_id)
        .execute(&seeded.pool)
        .await
        .unwrap();
    let photo = ExtractJob { attachment_id: seeded.attachment_id, match_id: seeded.match_id };
    let error = ocr_input::build(&seeded.pool, &photo, "b", "r").await.expect_err("a photo");
    assert!(error.to_string().contains("PHOTO") && (error.failure() == Failure::Permanent), "{error}");
}

#[tokio::test]
async fn a_closed_pool_is_a_retryable_failure() {
    let seeded = seed().await;
    seeded.pool.close().await;
    let job = ExtractJob { attachment_id: seeded.attachment_id, match_id: seeded.match_id };
    let error = ocr_input::build(&seeded.pool, &job, "b", "r").await.expect_err("pool closed");
    assert!(error.failure() == Failure::Retryable, "{error}");
}

#[derive(Debug, PartialEq, sqlx::FromRow)]
struct StoredRow {
    status: String,
    attempts: i32,
    result: Option<serde_json::Value>,
    error: Option<String>,
    last_error: Option<String>,
}

async fn stored(pool: &PgPool) -> Vec<StoredRow> {
    sqlx::query_as("SELECT status, attempts, result, error, last_error FROM extraction_result")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn one_row_per_attachment_through_reruns_and_failures() {
    let seeded = seed().await;
    let (pool, id) = (&seeded.pool, seeded.attachment_id);
    let job = ExtractJob { attachment_id: id, match_id: seeded.match_id };
    let status = || async { stored(pool).await.into_iter().map(|r| (r.status, r.attempts)).collect::<Vec<_>>() };

    result_store::attempt_started(pool, id, 1).await.unwrap();
    assert_eq!(status().await, [("PENDING".to_owned(), 1)]);
    assert_eq!(
        result_store::failed(pool, &job, "image is not a scoreboard", 3).await.unwrap(),
        FailureRecorded::Failed
    );
    assert_eq!(
        result_store::failed(pool, &job, "image is not a scoreboard", 3).await.unwrap(),
        FailureRecorded::Failed
    );
    assert_eq!(status().await, [("FAILED".to_owned(), 3)]);
    // Published again: read this time, the failure overwritten.
    result_store::attempt_started(pool, id, 1).await.unwrap();
    result_store::done(pool, id, "tesseract", &serde_json::json!({"status": "done"}), 1).await.unwrap();
    let rows = stored(pool).await;
    assert_eq!((rows.len(), rows[0].status.as_str(), rows[0].error.as_deref()), (1, "DONE", None));
    // The hook for an attachment that never existed writes nothing (and does not fail).
    let nothing = ExtractJob { attachment_id: Uuid::new_v4(), match_id: seeded.match_id };
    assert_eq!(result_store::failed(pool, &nothing, "attachment missing", 1).await.unwrap(), FailureRecorded::Refused);
    assert_eq!(stored(pool).await.len(), 1);
}

#[tokio::test]
async fn a_job_refused_for_what_it_says_leaves_a_good_result_as_it_was() {
    let seeded = seed().await;
    let (pool, id) = (&seeded.pool, seeded.attachment_id);
    result_store::attempt_started(pool, id, 1).await.unwrap();
    result_store::done(pool, id, "tesseract", &serde_json::json!({"status": "done", "winnerSide": "blue"}), 1)
        .await
        .unwrap();
    let before = stored(pool).await;
    // Another match's id: an API bug, a replay, an operator's typo.
    let other_match = ExtractJob { attachment_id: id, match_id: Uuid::new_v4() };
    let error = ocr_input::build(pool, &other_match, "b", "r").await.expect_err("refused").to_string();
    assert_eq!(result_store::failed(pool, &other_match, &error, 1).await.unwrap(), FailureRecorded::Refused);
    assert_eq!(stored(pool).await, before, "the DONE reading is untouched");
    // The attachment is no scoreboard any more (re-filed as a photo): refused as well.
    sqlx::query("UPDATE attachment SET kind = 'PHOTO' WHERE id = $1").bind(id).execute(pool).await.unwrap();
    let photo = ExtractJob { attachment_id: id, match_id: seeded.match_id };
    assert_eq!(result_store::failed(pool, &photo, "a PHOTO", 1).await.unwrap(), FailureRecorded::Refused);
    assert_eq!(stored(pool).await, before);
    // The match was deleted (the attachment stays in its session, without a match).
    sqlx::query("UPDATE attachment SET kind = 'LOL_RESULT_SCREEN' WHERE id = $1").bind(id).execute(pool).await.unwrap();
    sqlx::query("DELETE FROM match WHERE id = $1").bind(seeded.match_id).execute(pool).await.unwrap();
    assert_eq!(result_store::failed(pool, &photo, "no such match", 1).await.unwrap(), FailureRecorded::Refused);
    assert_eq!(stored(pool).await, before);
}

#[tokio::test]
async fn a_valid_reread_that_fails_keeps_the_earlier_reading_and_says_why() {
    let seeded = seed().await;
    let (pool, id) = (&seeded.pool, seeded.attachment_id);
    let job = ExtractJob { attachment_id: id, match_id: seeded.match_id };
    let reading = serde_json::json!({"status": "done", "winnerSide": "blue"});
    result_store::attempt_started(pool, id, 1).await.unwrap();
    result_store::done(pool, id, "tesseract", &reading, 1).await.unwrap();

    // A re-read starts: the row stays DONE with its reading while it runs…
    result_store::attempt_started(pool, id, 1).await.unwrap();
    assert_eq!(stored(pool).await[0].status, "DONE");
    // …and fails for good: still DONE, the reading kept, the failure beside it.
    let recorded = result_store::failed(pool, &job, "DOWNLOAD_FAILED: timed out", 3).await.unwrap();
    assert_eq!(recorded, FailureRecorded::BesideEarlierReading);
    let row = &stored(pool).await[0];
    assert_eq!((row.status.as_str(), row.result.as_ref(), row.error.as_deref()), ("DONE", Some(&reading), None));
    assert_eq!(row.last_error.as_deref(), Some("DOWNLOAD_FAILED: timed out"));
    let completed: bool =
        sqlx::query_scalar("SELECT completed_at IS NOT NULL AND last_error_at IS NOT NULL FROM extraction_result")
            .fetch_one(pool)
            .await
            .unwrap();
    assert!(completed);

    // A later re-read that succeeds replaces the reading and clears the failure.
    let newer = serde_json::json!({"status": "done", "winnerSide": "red"});
    result_store::done(pool, id, "tesseract", &newer, 1).await.unwrap();
    let row = &stored(pool).await[0];
    assert_eq!((row.result.as_ref(), row.last_error.as_deref()), (Some(&newer), None));
}
