//! The `extract` handler alone, one attempt at a time through `testkit::harness::work`: what the
//! worker would do with each kind of job (ack, retry after a delay, dead-letter with a reason),
//! and the `extraction_result` row each leaves, on Postgres, an S3 API server and Tesseract.
//! No NATS: the settlement is the runtime's own rule, tested against a real stream in
//! `services/runtime/tests/outcomes.rs`.

use std::time::Duration;

use extract_worker::app::{self, Config};
use extract_worker::task::ExtractTask;
use testkit::endscreen::{self, SeededMatch};
use testkit::harness::{self, Outcome};
use testkit::{TestBucket, TestDatabase};
use uuid::Uuid;
use worker_runtime::TaskError;
use worker_runtime::database::MIGRATOR;
use worker_runtime::dead_letter::Reason;

const FIXTURE: &str = "es1-0002";

async fn task(db: &TestDatabase, s3_endpoint: &str, bucket: &str) -> ExtractTask {
    let flags = [
        ("s3-endpoint", s3_endpoint),
        ("s3-bucket", bucket),
        ("s3-timeout-ms", "2000"),
        ("retry-base-delay-ms", "100"),
        ("retry-max-delay-ms", "400"),
        ("worker-concurrency", "1"),
    ];
    let config: Config = harness::config(&flags);
    app::task(&config, db.pool.clone()).await.expect("the extract task")
}

async fn seed(db: &TestDatabase, bucket: &TestBucket, key: &str, image: Option<Vec<u8>>) -> proto::ExtractJob {
    let input = endscreen::fixture_input(&endscreen::fixture(&format!("{FIXTURE}.json")));
    if let Some(image) = image {
        bucket.put(key, image).await;
    }
    let SeededMatch { attachment_id, match_id } = endscreen::seed(&db.pool, &input, key).await.expect("seed");
    proto::ExtractJob { attachment_id, match_id }
}

fn screenshot() -> Vec<u8> {
    std::fs::read(endscreen::fixture(&format!("{FIXTURE}.jpg"))).expect("fixture screenshot")
}

async fn status_and_attempts(db: &TestDatabase, attachment_id: Uuid) -> Option<(String, i32)> {
    sqlx::query_as("SELECT status, attempts FROM extraction_result WHERE attachment_id = $1")
        .bind(attachment_id)
        .fetch_optional(&db.pool)
        .await
        .expect("read extraction_result")
}

#[tokio::test]
async fn a_readable_screenshot_is_acknowledged_and_stored_done() {
    let (db, bucket) = (TestDatabase::migrated(&MIGRATOR).await, TestBucket::create().await);
    let task = task(&db, &bucket.endpoint, &bucket.name).await;
    let job = seed(&db, &bucket, "attachments/m1/scoreboard.jpg", Some(screenshot())).await;

    let outcome = harness::work(&task, job.clone(), 1).await;
    assert!(matches!(outcome, Outcome::Succeeded), "{outcome:?}");
    assert_eq!(status_and_attempts(&db, job.attachment_id).await, Some(("DONE".to_owned(), 1)));
}

#[tokio::test]
async fn a_missing_object_is_dead_lettered_as_permanent_on_its_first_attempt() {
    let (db, bucket) = (TestDatabase::migrated(&MIGRATOR).await, TestBucket::create().await);
    let task = task(&db, &bucket.endpoint, &bucket.name).await;
    let job = seed(&db, &bucket, "attachments/m1/never-uploaded.jpg", None).await;

    match harness::work(&task, job.clone(), 1).await {
        Outcome::DeadLettered { reason: Reason::Permanent, error } => {
            assert!(error.contains("does not exist"), "the dead letter names the cause: {error}");
        }
        other => panic!("expected a permanent dead letter, got {other:?}"),
    }
    assert_eq!(status_and_attempts(&db, job.attachment_id).await, Some(("FAILED".to_owned(), 1)));
}

#[tokio::test]
async fn a_job_naming_another_match_is_refused_without_a_row() {
    let (db, bucket) = (TestDatabase::migrated(&MIGRATOR).await, TestBucket::create().await);
    let task = task(&db, &bucket.endpoint, &bucket.name).await;
    let job = seed(&db, &bucket, "attachments/m1/scoreboard.jpg", Some(screenshot())).await;
    let mistaken = proto::ExtractJob { match_id: Uuid::new_v4(), ..job.clone() };

    let outcome = harness::work(&task, mistaken, 1).await;
    assert_eq!(outcome.dead_letter_reason(), Some(Reason::Permanent), "{outcome:?}");
    assert_eq!(status_and_attempts(&db, job.attachment_id).await, None, "a refused job writes no reading");
}

#[tokio::test]
async fn an_unreachable_s3_is_retried_with_backoff_then_exhausted_on_the_last_attempt() {
    let (db, bucket) = (TestDatabase::migrated(&MIGRATOR).await, TestBucket::create().await);
    // Nothing listens on this port: every download fails as a network error.
    let nowhere = format!("http://127.0.0.1:{}", testkit::free_port());
    let task = task(&db, &nowhere, &bucket.name).await;
    let job = seed(&db, &bucket, "attachments/m1/scoreboard.jpg", None).await;

    for attempt in 1..=2 {
        match harness::work(&task, job.clone(), attempt).await {
            Outcome::Retrying { delay, error: TaskError::Retryable(cause) } => {
                assert!(delay <= Duration::from_millis(400), "within RETRY_MAX_DELAY_MS: {delay:?}");
                assert!(format!("{cause:#}").contains("downloading s3://"), "{cause:#}");
            }
            other => panic!("attempt {attempt}: expected a retry, got {other:?}"),
        }
        assert_eq!(status_and_attempts(&db, job.attachment_id).await, Some(("PENDING".to_owned(), attempt as i32)));
    }
    let last = harness::work(&task, job.clone(), 3).await;
    assert_eq!(last.dead_letter_reason(), Some(Reason::Exhausted), "{last:?}");
    assert_eq!(status_and_attempts(&db, job.attachment_id).await, Some(("FAILED".to_owned(), 3)));
}
