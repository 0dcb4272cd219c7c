//! The extract worker, run in-process as its binary runs it (`App::build` then `run_until`), on
//! the real stack: nats-server, Postgres, an S3 API server and Tesseract. Each test seeds a match
//! from a committed fixture's job input, uploads the screenshot, publishes `extract` as the API
//! would, and reads `extraction_result`, the dead letters and the worker's own counters.

use std::time::Duration;

use extract_worker::app::{App, Config};
use proto::{ExtractJob, Job};
use sqlx::PgPool;
use testkit::endscreen::{self, SeededMatch};
use testkit::harness::{self, RunningApp};
use testkit::{NatsServer, OcrServer, PostgresServer, TestBucket, TestDatabase, http_get, wait_until};
use uuid::Uuid;
use worker_runtime::dead_letter::DeadLetters;
use worker_runtime::publish::Publisher;

const FIXTURE: &str = "es1-0002";

fn screenshot() -> Vec<u8> {
    std::fs::read(endscreen::fixture(&format!("{FIXTURE}.jpg"))).expect("fixture screenshot")
}

struct Worker {
    app: RunningApp,
    port: u16,
}

impl Worker {
    /// Start a worker and wait until it is ready. Retries are 100 ms apart so tests see all
    /// three attempts quickly.
    async fn start(nats: &NatsServer, database_url: &str, s3_endpoint: &str, bucket: &str) -> Worker {
        Worker::start_with(nats, database_url, s3_endpoint, bucket, &[]).await
    }

    /// … with `flags` (`("retry-base-delay-ms", "1000")` for `RETRY_BASE_DELAY_MS=1000`) after
    /// the test defaults.
    async fn start_with(
        nats: &NatsServer,
        database_url: &str,
        s3_endpoint: &str,
        bucket: &str,
        flags: &[(&str, &str)],
    ) -> Worker {
        let port = testkit::free_port();
        let (nats_url, health_addr) = (nats.url(), format!("127.0.0.1:{port}"));
        let mut all = vec![
            ("nats-url", nats_url.as_str()),
            ("database-url", database_url),
            ("s3-endpoint", s3_endpoint),
            ("s3-bucket", bucket),
            ("s3-timeout-ms", "2000"),
            ("retry-base-delay-ms", "100"),
            ("retry-max-delay-ms", "400"),
            ("health-addr", health_addr.as_str()),
        ];
        all.retain(|(name, _)| !flags.iter().any(|(given, _)| given == name));
        all.extend_from_slice(flags);
        let config: Config = harness::config(&all);
        let app = App::build(&config).await.expect("build the extract worker");
        let app = RunningApp::start(app);
        testkit::wait_ready(port, "extract-worker").await;
        Worker { app, port }
    }

    /// The sum of the worker's series `name` on its `/metrics`.
    async fn metric(&self, name: &str) -> u64 {
        let Some((200, body)) = http_get(self.port, "/metrics").await else { return 0 };
        body.lines()
            .filter(|line| line.starts_with(name))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64
    }

    async fn stop(self) {
        self.app.stop().await;
    }
}

/// A match from the fixture's job input, its screenshot at `key` (uploaded when `image` is set).
async fn seed(pool: &PgPool, bucket: &TestBucket, key: &str, image: Option<Vec<u8>>) -> SeededMatch {
    let input = endscreen::fixture_input(&endscreen::fixture(&format!("{FIXTURE}.json")));
    if let Some(image) = image {
        bucket.put(key, image).await;
    }
    endscreen::seed(pool, &input, key).await.expect("seed the match")
}

async fn publish(nats: &NatsServer, seeded: SeededMatch, message_id: &str) {
    let publisher = Publisher::new(async_nats::jetstream::new(nats.client().await));
    let job = ExtractJob { attachment_id: seeded.attachment_id, match_id: seeded.match_id };
    publisher.publish(&job, message_id).await.expect("publish extract");
}

#[derive(Debug, sqlx::FromRow)]
struct ResultRow {
    attempts: i32,
    error: Option<String>,
    model: Option<String>,
    result: Option<serde_json::Value>,
}

async fn result_row(pool: &PgPool, attachment_id: Uuid) -> Option<ResultRow> {
    sqlx::query_as("SELECT attempts, error, model, result FROM extraction_result WHERE attachment_id = $1")
        .bind(attachment_id)
        .fetch_optional(pool)
        .await
        .expect("read extraction_result")
}

async fn wait_for_status(pool: &PgPool, attachment_id: Uuid, status: &str, timeout: Duration) -> ResultRow {
    endscreen::wait_for_status(pool, attachment_id, status, timeout).await;
    result_row(pool, attachment_id).await.expect("the row")
}

async fn dead_letters(nats: &NatsServer) -> usize {
    let letters = DeadLetters::new(async_nats::jetstream::new(nats.client().await));
    letters.list(ExtractJob::SUBJECT).await.expect("list dead letters").len()
}

#[tokio::test]
async fn a_screenshot_is_read_and_stored_and_a_rerun_overwrites_it() {
    let (nats, db, bucket) = (NatsServer::start().await, TestDatabase::create().await, TestBucket::create().await);
    let worker = Worker::start(&nats, &db.url, &bucket.endpoint, &bucket.name).await;
    let seeded = seed(&db.pool, &bucket, "attachments/m1/scoreboard.jpg", Some(screenshot())).await;

    publish(&nats, seeded, "first").await;
    let row = wait_for_status(&db.pool, seeded.attachment_id, "DONE", Duration::from_secs(60)).await;
    assert_eq!(row.attempts, 1);
    assert!(row.model.as_deref().is_some_and(|m| m.contains("tesseract")), "{:?}", row.model);
    let result = row.result.expect("the result JSON");
    // The stored JSON is the lol-ocr output contract, so the app and the CLI read the same thing.
    let output: proto::OcrJobOutput = proto::decode(&serde_json::to_vec(&result).unwrap()).expect("valid output");
    let proto::OcrJobOutput::Done(reading) = output else { panic!("stored a failure as DONE") };
    assert_eq!(reading.winner_side, Some(proto::Side::Blue), "the fixture's title is VICTORY");
    assert_eq!(reading.team_a_side, Some(proto::Side::Red), "team A sat in TEAM 2 in this fixture");
    assert!(reading.timings.contains_key("download"));

    // Published again (a new message id: the user asked for a re-run) → read again, one row.
    sqlx::query("UPDATE extraction_result SET model = 'an earlier model' WHERE attachment_id = $1")
        .bind(seeded.attachment_id)
        .execute(&db.pool)
        .await
        .unwrap();
    publish(&nats, seeded, "second").await;
    wait_until("the re-run to store its result", Duration::from_secs(60), || async {
        result_row(&db.pool, seeded.attachment_id)
            .await
            .is_some_and(|row| row.model.is_some_and(|m| m.contains("tesseract")))
    })
    .await;
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM extraction_result").fetch_one(&db.pool).await.unwrap();
    assert_eq!(rows, 1);
    // Both counters move after the row is written (a job counts as processed once its ack is
    // confirmed): awaited, then checked for exactly two.
    let counted = || async {
        (
            worker.metric("worker_jobs_processed_total").await,
            worker.metric("worker_extract_results_total{outcome=\"done\"}").await,
        )
    };
    wait_until("both runs counted", Duration::from_secs(10), || async {
        let (processed, done) = counted().await;
        processed >= 2 && done >= 2
    })
    .await;
    assert_eq!(counted().await, (2, 2));
    worker.stop().await;
}

#[tokio::test]
async fn a_screenshot_of_other_teams_is_stored_with_its_conflicts_and_no_side() {
    let (nats, db, bucket) = (NatsServer::start().await, TestDatabase::create().await, TestBucket::create().await);
    let worker = Worker::start(&nats, &db.url, &bucket.endpoint, &bucket.name).await;
    // The app recorded the teams of another match of the night: one player of A and one of B
    // exchanged, so the board contradicts them.
    let label: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(endscreen::fixture(&format!("{FIXTURE}.json"))).unwrap())
            .unwrap();
    let exchanged = ocr::roster_variants::alter(&label, ocr::roster_variants::Variant::OneSwap, &[]);
    let key = "attachments/m1/other-match.jpg";
    bucket.put(key, screenshot()).await;
    let seeded = endscreen::seed(&db.pool, &exchanged.input, key).await.expect("seed the match");

    publish(&nats, seeded, "exchanged").await;
    let row = wait_for_status(&db.pool, seeded.attachment_id, "DONE", Duration::from_secs(60)).await;
    let result = row.result.expect("the result JSON");
    let output: proto::OcrJobOutput = proto::decode(&serde_json::to_vec(&result).unwrap()).expect("valid output");
    let proto::OcrJobOutput::Done(reading) = output else { panic!("stored a failure as DONE") };
    assert_eq!(reading.team_a_side, None, "no side is asserted against the recorded teams");
    let mut listed: Vec<Uuid> = reading.roster_conflicts.iter().map(|c| c.friend_id).collect();
    let mut moved = exchanged.moved.clone();
    listed.sort();
    moved.sort();
    assert_eq!(listed, moved, "both exchanged players are listed");
    let codes: Vec<proto::WarningCode> = reading.warnings.iter().map(|w| w.code).collect();
    assert_eq!(codes, vec![proto::WarningCode::BoardContradictsTeams]);
    assert_eq!(reading.winner_side, Some(proto::Side::Blue), "the winner does not depend on the teams");
    worker.stop().await;
}

#[tokio::test]
async fn a_job_naming_another_match_is_dead_lettered_and_leaves_the_reading_as_it_was() {
    let (nats, db, bucket) = (NatsServer::start().await, TestDatabase::create().await, TestBucket::create().await);
    let worker = Worker::start(&nats, &db.url, &bucket.endpoint, &bucket.name).await;
    let seeded = seed(&db.pool, &bucket, "attachments/m1/kept.jpg", Some(screenshot())).await;
    publish(&nats, seeded, "good").await;
    let good = wait_for_status(&db.pool, seeded.attachment_id, "DONE", Duration::from_secs(60)).await;

    // The same attachment with another match's id: refused for what it says.
    let mistaken = SeededMatch { match_id: Uuid::new_v4(), ..seeded };
    publish(&nats, mistaken, "mistaken").await;
    wait_until("the mistaken job's dead letter", Duration::from_secs(30), || async { dead_letters(&nats).await == 1 })
        .await;
    let after = result_row(&db.pool, seeded.attachment_id).await.expect("the row");
    assert_eq!((after.attempts, &after.error, &after.result), (good.attempts, &good.error, &good.result));
    let status: String = sqlx::query_scalar("SELECT status FROM extraction_result WHERE attachment_id = $1")
        .bind(seeded.attachment_id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(status, "DONE");
    worker.stop().await;
}

#[tokio::test]
async fn a_missing_object_and_a_corrupt_image_fail_at_once_with_their_reason() {
    let (nats, db, bucket) = (NatsServer::start().await, TestDatabase::create().await, TestBucket::create().await);
    let worker = Worker::start(&nats, &db.url, &bucket.endpoint, &bucket.name).await;
    let missing = seed(&db.pool, &bucket, "attachments/m1/never-uploaded.jpg", None).await;
    let mut truncated = screenshot();
    truncated.truncate(truncated.len() / 3);
    let corrupt = seed(&db.pool, &bucket, "attachments/m2/truncated.jpg", Some(truncated)).await;

    publish(&nats, missing, "missing").await;
    publish(&nats, corrupt, "corrupt").await;
    let row = wait_for_status(&db.pool, missing.attachment_id, "FAILED", Duration::from_secs(30)).await;
    assert_eq!(row.attempts, 1, "permanent: no retries");
    assert!(row.error.as_deref().is_some_and(|e| e.contains("does not exist")), "{:?}", row.error);
    let row = wait_for_status(&db.pool, corrupt.attachment_id, "FAILED", Duration::from_secs(30)).await;
    assert_eq!(row.attempts, 1);
    assert!(row.error.as_deref().is_some_and(|e| e.starts_with("NOT_AN_IMAGE")), "{:?}", row.error);
    wait_until("two dead letters", Duration::from_secs(10), || async { dead_letters(&nats).await == 2 }).await;
    assert_eq!(worker.metric("worker_jobs_retried_total").await, 0);
    worker.stop().await;
}

#[tokio::test]
async fn an_unreachable_s3_is_retried_then_failed_exactly_once_and_dead_lettered() {
    let (nats, db, bucket) = (NatsServer::start().await, TestDatabase::create().await, TestBucket::create().await);
    // Nothing listens on this port: every download fails as a network error (retryable).
    let nowhere = format!("http://127.0.0.1:{}", testkit::free_port());
    let worker = Worker::start(&nats, &db.url, &nowhere, &bucket.name).await;
    let seeded = seed(&db.pool, &bucket, "attachments/m1/scoreboard.jpg", Some(screenshot())).await;

    publish(&nats, seeded, "unreachable").await;
    let row = wait_for_status(&db.pool, seeded.attachment_id, "FAILED", Duration::from_secs(60)).await;
    assert_eq!(row.attempts, 3);
    assert!(row.error.as_deref().is_some_and(|e| e.contains("downloading s3://")), "{:?}", row.error);
    wait_until("the dead letter", Duration::from_secs(10), || async { dead_letters(&nats).await == 1 }).await;
    assert_eq!(worker.metric("worker_jobs_retried_total").await, 2);
    let recorded = worker.metric("worker_extract_results_total{outcome=\"failed\"}").await;
    assert_eq!(recorded, 1, "the hook recorded the failure once");
    worker.stop().await;
}

#[tokio::test]
async fn a_job_waits_out_a_database_outage_and_is_done_once_it_is_back() {
    let postgres = PostgresServer::start();
    let pool = PgPool::connect(&postgres.url()).await.expect("connect to the private Postgres");
    worker_runtime::database::MIGRATOR.run(&pool).await.unwrap();
    let (nats, bucket) = (NatsServer::start().await, TestBucket::create().await);
    // Retries a second apart: the database is back before the last attempt.
    let slower_retries = [("retry-base-delay-ms", "1000"), ("retry-max-delay-ms", "4000")];
    let worker = Worker::start_with(&nats, &postgres.url(), &bucket.endpoint, &bucket.name, &slower_retries).await;
    let seeded = seed(&pool, &bucket, "attachments/m1/scoreboard.jpg", Some(screenshot())).await;
    pool.close().await;

    postgres.stop();
    publish(&nats, seeded, "outage").await;
    wait_until("an attempt to fail on the database", Duration::from_secs(30), || async {
        worker.metric("worker_jobs_retried_total").await >= 1
    })
    .await;
    postgres.resume();

    let pool = PgPool::connect(&postgres.url()).await.unwrap();
    let row = wait_for_status(&pool, seeded.attachment_id, "DONE", Duration::from_secs(60)).await;
    assert!((2..=3).contains(&row.attempts), "done on a retry, not the first attempt: {}", row.attempts);
    assert_eq!(dead_letters(&nats).await, 0);
    worker.stop().await;
}

#[tokio::test]
async fn two_workers_share_twenty_jobs_and_each_is_done_once() {
    let (nats, db, bucket) = (NatsServer::start().await, TestDatabase::create().await, TestBucket::create().await);
    let workers = [
        Worker::start(&nats, &db.url, &bucket.endpoint, &bucket.name).await,
        Worker::start(&nats, &db.url, &bucket.endpoint, &bucket.name).await,
    ];
    let image = screenshot();
    let mut seeded = Vec::new();
    for n in 0..20 {
        seeded.push(seed(&db.pool, &bucket, &format!("attachments/m{n}/scoreboard.jpg"), Some(image.clone())).await);
    }
    for (n, job) in seeded.iter().enumerate() {
        publish(&nats, *job, &format!("job-{n}")).await;
    }

    wait_until("20 DONE rows", Duration::from_secs(180), || async {
        let done: i64 = sqlx::query_scalar("SELECT count(*) FROM extraction_result WHERE status = 'DONE'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        done == 20
    })
    .await;
    let attempts: Vec<i32> =
        sqlx::query_scalar("SELECT attempts FROM extraction_result").fetch_all(&db.pool).await.unwrap();
    assert_eq!(attempts, vec![1; 20], "every job done on its first attempt");
    // A job counts as processed once its ack is confirmed, just after its row is written.
    let completed = || async {
        let mut completed = Vec::new();
        for worker in &workers {
            completed.push(worker.metric("worker_jobs_processed_total").await);
        }
        completed
    };
    wait_until("every job counted", Duration::from_secs(10), || async { completed().await.iter().sum::<u64>() >= 20 })
        .await;
    let completed = completed().await;
    assert_eq!(completed.iter().sum::<u64>(), 20, "each job completed once: {completed:?}");
    assert!(completed.iter().all(|&n| n > 0), "both workers took jobs: {completed:?}");
    for worker in workers {
        worker.stop().await;
    }
}

/// `lol-ocr serve`'s count of answers with `status`.
async fn served(server: &OcrServer, status: u16) -> u64 {
    let metrics = http_get(server.port(), "/metrics").await.expect("/metrics").1;
    let series = format!("lol_ocr_requests_total{{status=\"{status}\"}} ");
    metrics.lines().find_map(|line| line.strip_prefix(&series)?.parse().ok()).unwrap_or(0)
}

#[tokio::test]
async fn in_http_mode_the_reading_comes_from_lol_ocr_serve_past_a_server_that_is_down() {
    let (nats, db, bucket) = (NatsServer::start().await, TestDatabase::create().await, TestBucket::create().await);
    let server = OcrServer::start(&[]).await;
    // The first URL has nothing listening: the worker goes on to the next.
    let urls = format!("http://127.0.0.1:{},{}", testkit::free_port(), server.url());
    let env = [("extraction-mode", "http"), ("ocr-url", urls.as_str())];
    let worker = Worker::start_with(&nats, &db.url, &bucket.endpoint, &bucket.name, &env).await;
    for n in 0..2 {
        let seeded = seed(&db.pool, &bucket, &format!("attachments/m{n}/scoreboard.jpg"), Some(screenshot())).await;
        publish(&nats, seeded, &format!("job-{n}")).await;
        let row = wait_for_status(&db.pool, seeded.attachment_id, "DONE", Duration::from_secs(60)).await;
        assert_eq!(row.attempts, 1, "a server that is down is skipped within the attempt");
        let output: proto::OcrJobOutput = proto::decode(&serde_json::to_vec(&row.result.unwrap()).unwrap()).unwrap();
        let proto::OcrJobOutput::Done(reading) = output else { panic!("stored a failure as DONE") };
        assert_eq!((reading.winner_side, reading.team_a_side), (Some(proto::Side::Blue), Some(proto::Side::Red)));
    }
    assert_eq!(served(&server, 200).await, 2, "both readings came from the server");
    worker.stop().await;
}

#[tokio::test]
async fn in_http_mode_a_permanent_answer_of_the_server_fails_the_job_at_once() {
    let (nats, db, bucket) = (NatsServer::start().await, TestDatabase::create().await, TestBucket::create().await);
    let server = OcrServer::start(&[]).await;
    let url = server.url();
    let env = [("extraction-mode", "http"), ("ocr-url", url.as_str())];
    let worker = Worker::start_with(&nats, &db.url, &bucket.endpoint, &bucket.name, &env).await;
    let seeded = seed(&db.pool, &bucket, "attachments/m1/report.txt", Some(b"not a screenshot".to_vec())).await;
    publish(&nats, seeded, "not-an-image").await;
    let row = wait_for_status(&db.pool, seeded.attachment_id, "FAILED", Duration::from_secs(60)).await;
    assert_eq!(row.attempts, 1, "422 is permanent: no retry");
    assert!(row.error.as_deref().is_some_and(|e| e.contains("NOT_AN_IMAGE")), "{:?}", row.error);
    assert_eq!(served(&server, 422).await, 1);
    worker.stop().await;
}

#[tokio::test]
async fn in_http_mode_an_ocr_server_killed_mid_job_is_retried_and_done_once_it_is_back() {
    let (nats, db, bucket) = (NatsServer::start().await, TestDatabase::create().await, TestBucket::create().await);
    let server = OcrServer::start(&[]).await;
    let (port, url) = (server.port(), server.url());
    // Retries 2–4 s, then 4–8 s apart: time for the server to come back before the last attempt.
    let env = [
        ("extraction-mode", "http"),
        ("ocr-url", url.as_str()),
        ("retry-base-delay-ms", "4000"),
        ("retry-max-delay-ms", "8000"),
    ];
    let worker = Worker::start_with(&nats, &db.url, &bucket.endpoint, &bucket.name, &env).await;
    let seeded = seed(&db.pool, &bucket, "attachments/m1/scoreboard.jpg", Some(screenshot())).await;
    publish(&nats, seeded, "killed-mid-job").await;

    wait_until("the server to be reading the job", Duration::from_secs(30), || async {
        http_get(port, "/metrics").await.is_some_and(|(_, m)| m.contains("lol_ocr_in_flight 1\n"))
    })
    .await;
    let killed = server.kill().await;
    wait_until("the attempt to fail and be retried", Duration::from_secs(30), || async {
        worker.metric("worker_jobs_retried_total").await >= 1
    })
    .await;
    let server = killed.restart(&[]).await;
    let row = wait_for_status(&db.pool, seeded.attachment_id, "DONE", Duration::from_secs(60)).await;
    assert!(row.attempts >= 2, "done on a later attempt: {}", row.attempts);
    assert_eq!(served(&server, 200).await, 1, "the restarted server gave the reading");
    assert_eq!(dead_letters(&nats).await, 0);
    worker.stop().await;
}
