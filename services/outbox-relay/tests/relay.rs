//! The outbox end to end on real services: `jobs.enqueue` in a Postgres transaction, the
//! `outbox-relay` binary (as its own NATS user and database role), and what lands in the
//! JetStream stream. Outcomes are read from the stream, the outbox rows and `/metrics`.

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;

use async_nats::jetstream;
use sqlx::{Connection as _, PgPool};
use testkit::{NatsServer, TestDatabase, wait_until};
use tokio::process::{Child, Command};
use worker_runtime::database::MIGRATOR;
use worker_runtime::provision;

const EXTRACT: &str =
    r#"{"attachmentId": "6f9619ff-8b86-4d01-b42d-00c04fc964ff", "matchId": "0b3f2c1e-2a4d-4e6f-8a1b-9c0d1e2f3a4b"}"#;

/// `outbox-relay` as NATS user `outbox-relay` and role `lol_outbox_relay`, ready; its health port.
async fn start_relay(nats: &NatsServer, db: &TestDatabase, env: &[(&str, &str)]) -> (Child, u16) {
    let mut command = Command::new(testkit::binary("outbox-relay"));
    command
        .envs(nats.env_for("outbox-relay"))
        .env("DATABASE_URL", db.login_url("lol_outbox_relay").await)
        .env("DATABASE_MIGRATE", "false")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    testkit::start_ready(command, "outbox-relay").await
}

async fn provisioned(nats: &NatsServer) -> jetstream::Context {
    let js = jetstream::new(nats.client().await);
    provision::ensure_all_streams(&js, 1).await.expect("provision the streams as admin");
    js
}

async fn stored(js: &jetstream::Context, stream: &str) -> u64 {
    js.get_stream(stream).await.expect("the stream").info().await.expect("stream info").state.messages
}

/// The `Nats-Msg-Id` of every message in `stream`, in order.
async fn message_ids(js: &jetstream::Context, stream: &str) -> Vec<String> {
    let stream = js.get_stream(stream).await.expect("the stream");
    let last = stream.get_info().await.expect("stream info").state.last_sequence;
    let mut ids = Vec::new();
    for sequence in 1..=last {
        let message = stream.direct_get(sequence).await.expect("a stored message");
        ids.push(message.headers.get("Nats-Msg-Id").expect("a message id").to_string());
    }
    ids
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[tokio::test]
async fn a_job_exists_exactly_when_its_transaction_commits() {
    let nats = NatsServer::start_with_auth().await;
    let js = provisioned(&nats).await;
    let db = TestDatabase::migrated(&MIGRATOR).await;
    let (_relay, _) = start_relay(&nats, &db, &[]).await;
    let api = sqlx::PgPool::connect(&db.login_url("lol_api").await).await.expect("connect as lol_api");

    let mut rolled_back = api.begin().await.unwrap();
    sqlx::query("SELECT jobs.enqueue('extract', $1::jsonb, 'rolled-back')")
        .bind(EXTRACT)
        .execute(&mut *rolled_back)
        .await
        .unwrap();
    rolled_back.rollback().await.unwrap();
    let mut committed = api.begin().await.unwrap();
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    sqlx::query("SELECT jobs.enqueue('extract', $1::jsonb, 'committed', $2)")
        .bind(EXTRACT)
        .bind(traceparent)
        .execute(&mut *committed)
        .await
        .unwrap();
    committed.commit().await.unwrap();

    wait_until("the committed job in the stream", Duration::from_secs(10), || async {
        stored(&js, "JOBS_EXTRACT").await >= 1
    })
    .await;
    wait_until("its row marked published", Duration::from_secs(10), || async {
        count(&db.pool, "SELECT count(*) FROM jobs.outbox WHERE status = 'PUBLISHED'").await == 1
    })
    .await;
    assert_eq!(message_ids(&js, "JOBS_EXTRACT").await, ["committed"], "only the committed job, once");
    assert_eq!(count(&db.pool, "SELECT count(*) FROM jobs.outbox").await, 1, "the rolled-back enqueue left no row");
    let stream = js.get_stream("JOBS_EXTRACT").await.unwrap();
    let message = stream.direct_get(1).await.unwrap();
    let published = message.headers.get("traceparent").expect("a traceparent").to_string();
    assert!(
        published.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
        "the job continues the API's trace: {published}"
    );
    let job: proto::ExtractJob = proto::decode(&message.payload).expect("a valid extract job");
    assert_eq!(job.attachment_id.to_string(), "6f9619ff-8b86-4d01-b42d-00c04fc964ff");
    assert_eq!(nats.permission_violations(), Vec::<String>::new(), "the relay needed more than its grants");
}

#[tokio::test]
async fn enqueue_refuses_what_no_worker_could_take_and_the_api_reaches_nothing_else() {
    let db = TestDatabase::migrated(&MIGRATOR).await;
    let api = sqlx::PgPool::connect(&db.login_url("lol_api").await).await.expect("connect as lol_api");
    let refusal = |sql: &'static str| {
        let api = api.clone();
        async move {
            match sqlx::query(sql).execute(&api).await {
                Err(sqlx::Error::Database(error)) => {
                    (error.code().unwrap_or_default().to_string(), error.message().to_owned())
                }
                other => panic!("{sql} was not refused: {other:?}"),
            }
        }
    };
    let (code, message) = refusal("SELECT jobs.enqueue('auto_done', '{}')").await;
    assert_eq!((code.as_str(), message.as_str()), ("22023", "jobs.enqueue: unknown subject 'auto_done'"));
    let (code, message) = refusal("SELECT jobs.enqueue('extract', jsonb_build_object('x', repeat('a', 1100)))").await;
    assert_eq!(code, "54000");
    assert!(message.contains("over the subject's limit of 1024 bytes"), "{message}");
    let (_, message) = refusal("SELECT jobs.enqueue('cleanup', '[\"attachments/a.png\"]')").await;
    assert!(message.contains("must be a JSON object, not array"), "{message}");
    let (_, message) = refusal("SELECT jobs.enqueue('cleanup', '{}', 'two words')").await;
    assert!(message.contains("message_id"), "{message}");
    let (_, message) = refusal("SELECT jobs.enqueue('cleanup', '{}', NULL, 'not-a-traceparent')").await;
    assert!(message.contains("not a W3C traceparent"), "{message}");

    // Nothing of the job machinery but the function.
    for sql in [
        "SELECT count(*) FROM jobs.outbox",
        "INSERT INTO jobs.outbox (subject, payload) VALUES ('extract', '{}')",
        "UPDATE jobs.outbox SET status = 'PUBLISHED'",
        "INSERT INTO jobs.subject VALUES ('anything', 1)",
        "SELECT jobs.sweep_unextracted('1 minute')",
    ] {
        let (code, _) = refusal(sql).await;
        assert_eq!(code, "42501", "{sql}: not a privilege refusal");
    }
    assert_eq!(count(&db.pool, "SELECT count(*) FROM jobs.outbox").await, 0, "a refused enqueue wrote nothing");
}

/// The byte limits in `jobs.subject` are the contracts' limits.
#[tokio::test]
async fn the_outbox_subjects_are_the_api_subjects_with_their_contract_limits() {
    use proto::Job as _;
    let db = TestDatabase::migrated(&MIGRATOR).await;
    let subjects: Vec<(String, i32)> = sqlx::query_as("SELECT name, max_payload_bytes FROM jobs.subject ORDER BY name")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    let expected = [
        (proto::CleanupJob::SUBJECT.to_owned(), proto::CleanupJob::MAX_PAYLOAD_BYTES as i32),
        (proto::ExtractJob::SUBJECT.to_owned(), proto::ExtractJob::MAX_PAYLOAD_BYTES as i32),
    ];
    assert_eq!(subjects, expected);
}

#[tokio::test]
async fn a_row_outside_the_contract_is_rejected_not_published_nor_retried() {
    let nats = NatsServer::start_with_auth().await;
    let js = provisioned(&nats).await;
    let db = TestDatabase::migrated(&MIGRATOR).await;
    let (_relay, port) = start_relay(&nats, &db, &[]).await;
    sqlx::query("SELECT jobs.enqueue('extract', '{\"attachmentId\": \"not-a-uuid\", \"matchId\": \"0b3f2c1e-2a4d-4e6f-8a1b-9c0d1e2f3a4b\"}', 'bad')").execute(&db.pool).await.unwrap();
    sqlx::query("SELECT jobs.enqueue('extract', $1::jsonb, 'good')").bind(EXTRACT).execute(&db.pool).await.unwrap();
    wait_until("both rows settled", Duration::from_secs(10), || async {
        count(&db.pool, "SELECT count(*) FROM jobs.outbox WHERE status <> 'PENDING'").await == 2
    })
    .await;
    let (status, error): (String, String) =
        sqlx::query_as("SELECT status, last_error FROM jobs.outbox WHERE message_id = 'bad'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(status, "REJECTED");
    assert!(error.contains("attachmentId"), "the reason names the field: {error}");
    assert_eq!(message_ids(&js, "JOBS_EXTRACT").await, ["good"]);
    assert_eq!(testkit::metric(port, "worker_outbox_rejected_total").await, 1.0);
}

#[tokio::test]
async fn a_thousand_jobs_enqueued_while_nats_is_down_are_all_published_once_when_it_is_back() {
    let mut nats = NatsServer::start_with_auth().await;
    provisioned(&nats).await;
    let db = TestDatabase::migrated(&MIGRATOR).await;
    let (_relay, port) =
        start_relay(&nats, &db, &[("RELAY_RETRY_BASE_DELAY_MS", "200"), ("RELAY_RETRY_MAX_DELAY_MS", "2000")]).await;

    nats.kill();
    let outage = tokio::time::Instant::now();
    for batch in 0..10 {
        let mut tx = db.pool.begin().await.unwrap();
        sqlx::query(
            "SELECT jobs.enqueue('cleanup', jsonb_build_object('s3Keys', jsonb_build_array('attachments/' || n || '.png')))
             FROM generate_series($1::int, $1::int + 99) AS n",
        )
        .bind(batch * 100)
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    wait_until("the backlog gauge to show the waiting rows", Duration::from_secs(15), || async {
        testkit::metric(port, "worker_outbox_pending_rows").await == 1000.0
    })
    .await;
    tokio::time::sleep_until(outage + Duration::from_secs(30)).await; // the outage itself, not a synchronisation
    assert_eq!(count(&db.pool, "SELECT count(*) FROM jobs.outbox WHERE status = 'PENDING'").await, 1000);
    assert!(testkit::metric(port, "worker_outbox_oldest_pending_age_seconds").await > 0.0);
    nats.restart().await;

    let js = jetstream::new(nats.client().await);
    wait_until("every row marked published", Duration::from_secs(60), || async {
        count(&db.pool, "SELECT count(*) FROM jobs.outbox WHERE status = 'PUBLISHED'").await == 1000
    })
    .await;
    let ids = message_ids(&js, "JOBS_CLEANUP").await;
    let distinct: BTreeSet<&String> = ids.iter().collect();
    assert_eq!((ids.len(), distinct.len()), (1000, 1000), "each job once in the stream");
    let rows: BTreeSet<String> = sqlx::query_scalar("SELECT 'outbox:' || id FROM jobs.outbox")
        .fetch_all(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(
        distinct.into_iter().cloned().collect::<BTreeSet<_>>(),
        rows,
        "the stream holds exactly the outbox's jobs"
    );
    wait_until("the backlog gauge back at zero", Duration::from_secs(15), || async {
        testkit::metric(port, "worker_outbox_pending_rows").await == 0.0
    })
    .await;
}

/// The relay publishes, then cannot mark (a lock the test holds), and is killed right there:
/// the next relay publishes the row again, JetStream recognises the copy, and the row is marked.
#[tokio::test]
async fn a_relay_killed_between_publish_and_mark_leaves_the_job_once_in_the_stream() {
    let nats = NatsServer::start_with_auth().await;
    let js = provisioned(&nats).await;
    let db = TestDatabase::migrated(&MIGRATOR).await;
    sqlx::query("SELECT jobs.enqueue('extract', $1::jsonb)").bind(EXTRACT).execute(&db.pool).await.unwrap();

    // SHARE mode lets the relay claim (FOR UPDATE takes ROW SHARE) but not mark (UPDATE needs
    // ROW EXCLUSIVE).
    let mut blocker = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let mut blocking = blocker.begin().await.unwrap();
    sqlx::query("LOCK TABLE jobs.outbox IN SHARE MODE").execute(&mut *blocking).await.unwrap();
    let (mut first, _) = start_relay(&nats, &db, &[]).await;
    wait_until("the job published", Duration::from_secs(10), || async { stored(&js, "JOBS_EXTRACT").await == 1 }).await;
    wait_until("the relay's mark waiting on the lock", Duration::from_secs(5), || async {
        count(
            &db.pool,
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND usename = 'lol_outbox_relay' AND wait_event_type = 'Lock'",
        )
        .await
            == 1
    })
    .await;
    testkit::signal(&first, "KILL");
    first.wait().await.unwrap();
    blocking.rollback().await.unwrap();
    assert_eq!(count(&db.pool, "SELECT count(*) FROM jobs.outbox WHERE status = 'PENDING'").await, 1, "not marked");

    let (_second, port) = start_relay(&nats, &db, &[]).await;
    wait_until("the row marked published", Duration::from_secs(15), || async {
        count(&db.pool, "SELECT count(*) FROM jobs.outbox WHERE status = 'PUBLISHED'").await == 1
    })
    .await;
    assert_eq!(message_ids(&js, "JOBS_EXTRACT").await, ["outbox:1"], "one copy in the stream");
    assert_eq!(
        testkit::metric(port, "worker_outbox_duplicates_total").await,
        1.0,
        "the second publish was a recognised copy"
    );
    assert_eq!(
        count(&db.pool, "SELECT stream_sequence FROM jobs.outbox").await,
        1,
        "marked with the first copy's sequence"
    );
}

#[tokio::test]
async fn two_relays_publish_ten_thousand_rows_each_once() {
    let nats = NatsServer::start_with_auth().await;
    let js = provisioned(&nats).await;
    let db = TestDatabase::migrated(&MIGRATOR).await;
    let small_batches = [("RELAY_BATCH_SIZE", "100")];
    let (_one, one) = start_relay(&nats, &db, &small_batches).await;
    let (_two, two) = start_relay(&nats, &db, &small_batches).await;
    sqlx::query(
        "SELECT jobs.enqueue('cleanup', jsonb_build_object('s3Keys', jsonb_build_array('attachments/' || n || '.png')))
         FROM generate_series(1, 10000) AS n",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    wait_until("every row marked published", Duration::from_secs(120), || async {
        count(&db.pool, "SELECT count(*) FROM jobs.outbox WHERE status = 'PUBLISHED'").await == 10_000
    })
    .await;
    assert_eq!(stored(&js, "JOBS_CLEANUP").await, 10_000);
    let published = [
        testkit::metric(one, "worker_outbox_published_total").await,
        testkit::metric(two, "worker_outbox_published_total").await,
    ];
    assert_eq!(published[0] + published[1], 10_000.0, "no row published twice: {published:?}");
    assert!(published.iter().all(|&n| n > 0.0), "both relays took rows: {published:?}");
    for port in [one, two] {
        assert_eq!(testkit::metric(port, "worker_outbox_duplicates_total").await, 0.0);
    }
}

/// A stream that would keep a second publish of a row as a second job stops the relay at start,
/// with a message that says what to change.
#[tokio::test]
async fn a_relay_refuses_a_stream_whose_duplicate_window_is_too_short() {
    let nats = NatsServer::start_with_auth().await;
    let js = jetstream::new(nats.client().await);
    let mut short = provision::job_stream_config::<proto::ExtractJob>(1);
    short.duplicate_window = Duration::from_secs(30);
    js.create_stream(short).await.expect("create the stream as admin");
    let db = TestDatabase::migrated(&MIGRATOR).await;
    let output = Command::new(testkit::binary("outbox-relay"))
        .envs(nats.env_for("outbox-relay"))
        .env("DATABASE_URL", db.login_url("lol_outbox_relay").await)
        .env("DATABASE_MIGRATE", "false")
        .env("HEALTH_ADDR", "")
        .output()
        .await
        .expect("run outbox-relay");
    assert!(!output.status.success(), "the relay ran on a 30 s duplicate window");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("stream JOBS_EXTRACT drops duplicates for 30s, shorter than the 61s"),
        "the refusal names the stream and both durations: {stderr}"
    );
}

#[tokio::test]
async fn sigterm_stops_a_relay_cleanly_and_the_next_one_goes_on() {
    let nats = NatsServer::start_with_auth().await;
    let js = provisioned(&nats).await;
    let db = TestDatabase::migrated(&MIGRATOR).await;
    let (mut first, _) = start_relay(&nats, &db, &[]).await;
    sqlx::query("SELECT jobs.enqueue('extract', $1::jsonb, 'before')").bind(EXTRACT).execute(&db.pool).await.unwrap();
    wait_until("the first job published", Duration::from_secs(10), || async {
        count(&db.pool, "SELECT count(*) FROM jobs.outbox WHERE status = 'PUBLISHED'").await == 1
    })
    .await;
    testkit::signal(&first, "TERM");
    assert!(first.wait().await.unwrap().success(), "exit 0 after SIGTERM");

    sqlx::query("SELECT jobs.enqueue('extract', $1::jsonb, 'after')").bind(EXTRACT).execute(&db.pool).await.unwrap();
    let (_second, _) = start_relay(&nats, &db, &[]).await;
    wait_until("the second job published", Duration::from_secs(10), || async {
        count(&db.pool, "SELECT count(*) FROM jobs.outbox WHERE status = 'PUBLISHED'").await == 2
    })
    .await;
    assert_eq!(message_ids(&js, "JOBS_EXTRACT").await, ["before", "after"]);
}
