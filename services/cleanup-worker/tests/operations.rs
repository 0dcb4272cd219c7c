//! The `cleanup-worker` binary as an operator meets it: health and metrics endpoints, and dead
//! letters listed and replayed after fixing the cause (here: an allowed prefix was missing).

use std::process::Stdio;
use std::time::Duration;

use testkit::{NatsServer, TestBucket, TestDatabase, http_get, wait_ready, wait_until};
use tokio::process::{Child, Command};
use worker_runtime::publish::Publisher;

fn command(nats: &NatsServer, db: &TestDatabase, bucket: &TestBucket, prefixes: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cleanup-worker"));
    command
        .env("NATS_URL", nats.url())
        .env("DATABASE_URL", &db.url)
        .envs(bucket.env())
        .env("CLEANUP_ALLOWED_PREFIXES", prefixes)
        .kill_on_drop(true);
    command
}

/// A cleanup worker taking one job at a time, so its dead letters are stored in the order the
/// jobs were published.
fn worker(nats: &NatsServer, db: &TestDatabase, bucket: &TestBucket, prefixes: &str, port: u16) -> Child {
    command(nats, db, bucket, prefixes)
        .env("HEALTH_ADDR", format!("127.0.0.1:{port}"))
        .env("WORKER_CONCURRENCY", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn cleanup-worker")
}

async fn dlq(nats: &NatsServer, db: &TestDatabase, bucket: &TestBucket, args: &[&str]) -> String {
    let output = command(nats, db, bucket, "attachments/").arg("dlq").args(args).output().await.expect("run dlq");
    assert!(output.status.success(), "dlq {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

async fn stop(mut child: Child) {
    testkit::signal(&child, "TERM");
    assert!(child.wait().await.unwrap().success());
}

#[tokio::test]
async fn dead_letter_is_listed_then_replayed_after_the_fix() {
    let nats = NatsServer::start().await;
    let db = TestDatabase::create().await;
    let bucket = TestBucket::create().await;
    let keys = vec!["attachments/a.png".to_owned(), "exports/2026.csv".to_owned()];
    for key in &keys {
        bucket.put(key, b"x".to_vec()).await;
    }

    let port = testkit::free_port();
    let strict = worker(&nats, &db, &bucket, "attachments/", port);
    wait_ready(port, "cleanup-worker").await;
    assert_eq!(http_get(port, "/healthz").await.map(|(status, _)| status), Some(200));
    let js = async_nats::jetstream::new(nats.client().await);
    let job = proto::CleanupJob { s3_keys: keys.clone().try_into().unwrap() };
    Publisher::new(js).publish(&job, "exports-1").await.unwrap();

    wait_until("the job to be dead-lettered", Duration::from_secs(30), || async {
        dlq(&nats, &db, &bucket, &["list"]).await.contains("1 dead letter(s)")
    })
    .await;
    let listing = dlq(&nats, &db, &bucket, &["list"]).await;
    assert!(listing.contains("permanent") && listing.contains("exports/2026.csv"), "{listing}");
    let (_, metrics) = http_get(port, "/metrics").await.expect("metrics");
    assert!(metrics.contains(r#"worker_jobs_dead_lettered_total{task="cleanup"} 1"#), "{metrics}");
    assert_eq!(bucket.keys().await.len(), 2, "nothing deleted");
    stop(strict).await;

    // The operator allows exports/ and replays the job.
    let port = testkit::free_port();
    let fixed = worker(&nats, &db, &bucket, "attachments/,exports/", port);
    wait_ready(port, "cleanup-worker with the fix").await;
    let replayed = dlq(&nats, &db, &bucket, &["replay", "1"]).await;
    assert!(replayed.contains("replayed dead letter 1"), "{replayed}");
    wait_until("the replayed job to delete both objects", Duration::from_secs(30), || async {
        bucket.keys().await.is_empty()
    })
    .await;
    assert!(dlq(&nats, &db, &bucket, &["list"]).await.contains("0 dead letter(s)"));
    // Counted once its ack is confirmed, just after the deletes.
    wait_until("the replayed job to be counted", Duration::from_secs(10), || async {
        let (_, metrics) = http_get(port, "/metrics").await.expect("metrics");
        metrics.contains(r#"worker_jobs_processed_total{task="cleanup"} 1"#)
    })
    .await;
    stop(fixed).await;
}

#[tokio::test]
async fn dead_letters_full_of_control_characters_reach_no_terminal_and_keep_their_bytes() {
    use base64::Engine as _;
    let nats = NatsServer::start().await;
    let db = TestDatabase::create().await;
    let bucket = TestBucket::create().await;
    let port = testkit::free_port();
    let child = worker(&nats, &db, &bucket, "attachments/", port);
    wait_ready(port, "cleanup-worker").await;
    // Raw escape sequences (set the window title, clear the screen, move up and erase a line)
    // in a payload that is no JSON, and the same decoded from JSON escapes into a key that the
    // refusal's message quotes.
    let raw: &[u8] = b"\x1b]0;owned\x07\x1b[2J\x1b[1A\x1b[2K{\"s3Keys\": \xff}";
    let quoted: &[u8] = br#"{"s3Keys": ["\u001b]0;owned\u0007\u001b[2J\u001b[1A\u001b[2K"]}"#;
    let js = async_nats::jetstream::new(nats.client().await);
    for payload in [raw, quoted] {
        js.publish("cleanup", payload.to_vec().into()).await.unwrap().await.unwrap();
    }
    wait_until("both to be dead-lettered", Duration::from_secs(30), || async {
        dlq(&nats, &db, &bucket, &["list"]).await.contains("2 dead letter(s)")
    })
    .await;

    let listing = dlq(&nats, &db, &bucket, &["list"]).await;
    assert!(!listing.contains(['\x1b', '\x07', '\u{9b}']), "a control character reached the terminal: {listing:?}");
    assert!(listing.matches("\\u{1b}").count() >= 8, "escapes are shown, not dropped: {listing}");

    let json = dlq(&nats, &db, &bucket, &["list", "--json"]).await;
    assert!(!json.contains(['\x1b', '\x07']), "{json:?}");
    let letters: Vec<serde_json::Value> =
        json.lines().map(|line| serde_json::from_str(line).expect("a JSON line")).collect();
    let payloads: Vec<Vec<u8>> = letters
        .iter()
        .map(|letter| {
            base64::engine::general_purpose::STANDARD.decode(letter["payloadBase64"].as_str().unwrap()).unwrap()
        })
        .collect();
    assert_eq!(payloads, [raw.to_vec(), quoted.to_vec()], "the exact bytes, in order");
    assert!(letters[0]["payload"].is_null(), "not UTF-8, so no text form");
    assert_eq!(letters[1]["payload"].as_str().map(str::as_bytes), Some(quoted));
    assert!(letters.iter().all(|l| l["reason"].is_string() && l["id"].is_u64() && l["error"].is_string()));
    stop(child).await;
}

#[tokio::test]
async fn readyz_reports_a_database_that_is_gone() {
    let nats = NatsServer::start().await;
    let db = TestDatabase::create().await;
    let bucket = TestBucket::create().await;
    let port = testkit::free_port();
    let running = worker(&nats, &db, &bucket, "attachments/", port);
    wait_ready(port, "cleanup-worker").await;
    // Drop the worker's database out from under it: readiness must say so.
    sqlx::query(&format!("DROP DATABASE {} WITH (FORCE)", db.name)).execute(&admin_pool().await).await.unwrap();
    wait_until("/readyz to report the database", Duration::from_secs(30), || async {
        matches!(http_get(port, "/readyz").await, Some((503, body)) if body.contains("database"))
    })
    .await;
    assert_eq!(http_get(port, "/healthz").await.map(|(status, _)| status), Some(200), "alive, just not ready");
    stop(running).await;
}

async fn admin_pool() -> sqlx::PgPool {
    let url: sqlx::postgres::PgConnectOptions = std::env::var("DATABASE_URL").expect("DATABASE_URL").parse().unwrap();
    sqlx::PgPool::connect_with(url.database("postgres")).await.unwrap()
}
