//! The cleanup worker against a real S3 API server (moto), Postgres and nats-server.

use std::time::Duration;

use cleanup_worker::{key_guard::KeyGuard, orphans, task::CleanupTask};
use proto::{CleanupJob, S3KeyList};
use sqlx::PgPool;
use testkit::{NatsServer, S3Server, TestBucket, TestDatabase, wait_until};
use worker_runtime::database::MIGRATOR;
use worker_runtime::dead_letter::{DeadLetters, Reason};
use worker_runtime::metrics::Metrics;
use worker_runtime::publish::Publisher;
use worker_runtime::retry_policy::RetryPolicy;
use worker_runtime::shutdown::Shutdown;
use worker_runtime::worker::{self, WorkerSettings};

async fn database() -> PgPool {
    let db = TestDatabase::migrated(&MIGRATOR).await;
    db.pool
}

fn task(bucket: &TestBucket, pool: PgPool) -> CleanupTask {
    CleanupTask {
        s3: bucket.client.clone(),
        bucket: bucket.name.clone(),
        pool,
        guard: guard(),
        delete_passes: 3,
        retry: RetryPolicy::new(Duration::from_millis(50), Duration::from_millis(200)),
        orphaned_keys: Default::default(),
    }
}

fn guard() -> KeyGuard {
    KeyGuard::new(&["attachments/".to_owned()]).unwrap()
}

fn job(keys: &[String]) -> CleanupJob {
    CleanupJob { s3_keys: S3KeyList::try_from(keys.to_vec()).expect("valid key list") }
}

async fn orphan_rows(pool: &PgPool) -> Vec<(String, i32)> {
    sqlx::query_as("SELECT key, attempts FROM orphaned_s3_object ORDER BY key").fetch_all(pool).await.unwrap()
}

#[tokio::test]
async fn twenty_five_hundred_keys_go_in_three_requests() {
    let bucket = TestBucket::create().await;
    let keys: Vec<String> = (0..2_500).map(|n| format!("attachments/s/{n:05}.png")).collect();
    bucket.put_many(&keys, 16).await;
    let pool = database().await;

    let report = task(&bucket, pool.clone()).run(&job(&keys)).await.expect("cleanup succeeds");
    assert_eq!((report.requests, report.deleted, report.failed.len()), (3, 2_500, 0));
    assert!(bucket.keys().await.is_empty(), "every object deleted");
    assert!(orphan_rows(&pool).await.is_empty());
}

#[tokio::test]
async fn keys_already_gone_count_as_deleted() {
    let bucket = TestBucket::create().await;
    let keys = vec!["attachments/never-uploaded.png".to_owned(), "attachments/also-missing.jpg".to_owned()];
    let report = task(&bucket, database().await).run(&job(&keys)).await.expect("cleanup succeeds");
    assert_eq!((report.deleted, report.failed.len(), report.passes), (2, 0, 1));
}

#[tokio::test]
async fn a_key_outside_the_prefix_deletes_nothing_and_is_dead_lettered() {
    let bucket = TestBucket::create().await;
    let keys = vec!["attachments/a.png".to_owned(), "backups/database.dump".to_owned()];
    for key in &keys {
        bucket.put(key, b"x".to_vec()).await;
    }
    let nats = NatsServer::start().await;
    let js = async_nats::jetstream::new(nats.client().await);
    worker_runtime::provision::ensure_all_streams(&js, 1).await.unwrap();
    let shutdown = Shutdown::new();
    let settings = WorkerSettings {
        concurrency: 2,
        prefetch: 2,
        prefetch_max: usize::from(worker_runtime::config::DEFAULT_PREFETCH_MAX),
        ack_wait: Duration::from_secs(5),
        shutdown_grace: Duration::from_secs(5),
    };
    let metrics = std::sync::Arc::new(Metrics::default());
    let worker =
        tokio::spawn(worker::run(task(&bucket, database().await), js.clone(), 1, settings, metrics, shutdown.clone()));

    Publisher::new(js.clone()).publish(&job(&keys), "hostile-1").await.unwrap();
    let dead_letters = DeadLetters::new(js.clone());
    wait_until("the dead letter", Duration::from_secs(30), || async {
        dead_letters.list("cleanup").await.unwrap().len() == 1
    })
    .await;
    let letter = &dead_letters.list("cleanup").await.unwrap()[0];
    assert_eq!((letter.reason, letter.attempts), (Some(Reason::Permanent), 1));
    assert!(letter.error.contains("backups/database.dump"), "{}", letter.error);
    let mut left = bucket.keys().await;
    left.sort();
    assert_eq!(left, ["attachments/a.png", "backups/database.dump"], "nothing deleted");
    shutdown.trigger();
    worker.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_refused_job_of_the_largest_allowed_size_is_still_dead_lettered() {
    use proto::Job as _;
    // Keys of 1,000 characters up to just under the subject's limit (room for the publish
    // headers); the first is outside the prefixes, so the whole job is refused. Its dead letter
    // adds headers (reason, error) to a payload this size, and must still be stored.
    let target = CleanupJob::MAX_PAYLOAD_BYTES - 512;
    let mut keys = vec![format!("backups/{}", "x".repeat(992))];
    // `{"s3Keys":[…]}` is 13 bytes around the keys; each key adds its quotes and a comma.
    let mut size = 13 + 1_002;
    while size + 1_003 <= target {
        keys.push(format!("attachments/big/{:05}/{}", keys.len(), "y".repeat(978)));
        size += 1_003;
    }
    let size = proto::encode(&job(&keys)).len();
    assert!(size > target - 1_100 && size <= target, "{size} bytes");
    let nats = NatsServer::start().await;
    let js = async_nats::jetstream::new(nats.client().await);
    worker_runtime::provision::ensure_all_streams(&js, 1).await.unwrap();
    let bucket = TestBucket::create().await;
    let shutdown = Shutdown::new();
    let settings = WorkerSettings {
        concurrency: 1,
        prefetch: 1,
        prefetch_max: usize::from(worker_runtime::config::DEFAULT_PREFETCH_MAX),
        ack_wait: Duration::from_secs(5),
        shutdown_grace: Duration::from_secs(5),
    };
    let metrics = std::sync::Arc::new(Metrics::default());
    let worker =
        tokio::spawn(worker::run(task(&bucket, database().await), js.clone(), 1, settings, metrics, shutdown.clone()));

    Publisher::new(js.clone()).publish(&job(&keys), "largest").await.expect("a job at the limit is accepted");
    let dead_letters = DeadLetters::new(js.clone());
    wait_until("the dead letter of the largest job", Duration::from_secs(30), || async {
        dead_letters.list("cleanup").await.unwrap().len() == 1
    })
    .await;
    assert_eq!(dead_letters.list("cleanup").await.unwrap()[0].payload.len(), size, "stored whole");
    shutdown.trigger();
    worker.await.unwrap().unwrap();
}

#[tokio::test]
async fn stopped_s3_leaves_orphans_that_a_sweep_removes_once_it_is_back() {
    let mut server = S3Server::start().await;
    let bucket = TestBucket::create_on(&server.endpoint()).await;
    let keys: Vec<String> = (0..12).map(|n| format!("attachments/o/{n}.png")).collect();
    let pool = database().await;
    let mut cleanup = task(&bucket, pool.clone());
    // Fail fast while the server is down: one SDK attempt with a short timeout.
    cleanup.s3 = short_timeout_client(&server.endpoint());
    server.stop();

    let report = cleanup.run(&job(&keys)).await.expect("orphans recorded, job done");
    assert_eq!((report.deleted, report.failed.len(), report.passes), (0, 12, 3), "three passes, then give up");
    let rows = orphan_rows(&pool).await;
    assert_eq!(rows.len(), 12);
    assert!(rows.iter().all(|(_, attempts)| *attempts == 3), "{rows:?}");

    // Back up (moto keeps objects in memory: put them back as they were before the outage).
    server.restart().await;
    bucket.client.create_bucket().bucket(&bucket.name).send().await.unwrap();
    bucket.put_many(&keys, 4).await;
    let swept = orphans::sweep(&pool, &bucket.client, &bucket.name, &guard()).await.expect("sweep");
    assert_eq!((swept.tried, swept.deleted, swept.still_failing, swept.refused.len()), (12, 12, 0, 0));
    assert!(orphan_rows(&pool).await.is_empty());
    assert!(bucket.keys().await.is_empty(), "the sweep really deleted them");
}

#[tokio::test]
async fn the_sweep_deletes_no_stored_key_outside_the_allowed_prefixes() {
    let bucket = TestBucket::create().await;
    let pool = database().await;
    // Rows written by something other than the worker: a manual insert, a bug, another tool.
    let stored = ["attachments/gone.png", "exports/2026.csv", "attachments/../secrets/key.pem", "/attachments/x"];
    for key in stored {
        bucket.put(key, b"x".to_vec()).await;
        sqlx::query("INSERT INTO orphaned_s3_object (bucket, key, last_error, attempts) VALUES ($1, $2, 'manual', 1)")
            .bind(&bucket.name)
            .bind(key)
            .execute(&pool)
            .await
            .unwrap();
    }
    let swept = orphans::sweep(&pool, &bucket.client, &bucket.name, &guard()).await.expect("sweep");
    assert_eq!((swept.tried, swept.deleted, swept.refused.len()), (1, 1, 3), "{swept:?}");
    let mut left = bucket.keys().await;
    left.sort();
    assert_eq!(
        left,
        ["/attachments/x", "attachments/../secrets/key.pem", "exports/2026.csv"],
        "only the allowed key went"
    );
    let rows: Vec<String> = orphan_rows(&pool).await.into_iter().map(|(key, _)| key).collect();
    assert_eq!(rows.len(), 3, "the refused rows stay for a person to look at: {rows:?}");
}

fn short_timeout_client(endpoint: &str) -> aws_sdk_s3::Client {
    let config = testkit::s3_client_for(endpoint)
        .config()
        .to_builder()
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
        .timeout_config(
            aws_sdk_s3::config::timeout::TimeoutConfig::builder()
                .operation_attempt_timeout(Duration::from_millis(500))
                .build(),
        )
        .build();
    aws_sdk_s3::Client::from_conf(config)
}
