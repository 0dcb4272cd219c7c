//! The sweep for uploads whose extract job fell through, run by two scheduler replicas every
//! second as the `lol_scheduler` role: each fallen-through upload is enqueued once, ever, and
//! nothing else is. The replicas run in-process (`testkit::harness::RunningApp`); outcomes are
//! read from the outbox and `/metrics`.

use std::time::Duration;

use scheduler::app::{App, Config};
use sqlx::PgPool;
use testkit::harness::{self, RunningApp};
use testkit::{NatsServer, TestDatabase, wait_until};
use uuid::Uuid;
use worker_runtime::database::MIGRATOR;

/// A scheduler replica in-process, as its NATS user and database role, sweeping every second.
async fn start_scheduler(nats: &NatsServer, db: &TestDatabase) -> (RunningApp, u16) {
    let port = testkit::free_port();
    let (url, password, database) = (nats.url(), nats.password("scheduler"), db.login_url("lol_scheduler").await);
    let health_addr = format!("127.0.0.1:{port}");
    let config: Config = harness::config(&[
        ("nats-url", &url),
        ("nats-user", "scheduler"),
        ("nats-password", &password),
        ("database-url", &database),
        ("database-migrate", "false"),
        ("sweep-cron", "* * * * * *"),
        ("sweep-after-minutes", "15"),
        ("health-addr", &health_addr),
    ]);
    let app = RunningApp::start(App::build(&config).await.expect("build the scheduler"));
    testkit::wait_ready(port, "scheduler").await;
    (app, port)
}

/// An attachment of `kind` uploaded `minutes_ago` to a new match.
async fn upload(pool: &PgPool, kind: &str, minutes_ago: i32) -> Uuid {
    let (session, game, attachment) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    sqlx::query("INSERT INTO session (id, starts_at) VALUES ($1, now())").bind(session).execute(pool).await.unwrap();
    sqlx::query("INSERT INTO match (id, session_id, seq_no) VALUES ($1, $2, 1)")
        .bind(game)
        .bind(session)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO attachment (id, session_id, match_id, kind, s3_key, content_type, size_bytes, created_at)
         VALUES ($1, $2, $3, $4, 'attachments/' || $1 || '.png', 'image/png', 1, now() - make_interval(mins => $5))",
    )
    .bind(attachment)
    .bind(session)
    .bind(game)
    .bind(kind)
    .bind(minutes_ago)
    .execute(pool)
    .await
    .unwrap();
    attachment
}

#[tokio::test]
async fn the_sweep_enqueues_each_fallen_through_upload_once_and_nothing_else() {
    let nats = NatsServer::start_with_auth().await;
    let db = TestDatabase::migrated(&MIGRATOR).await;
    let fallen_through = upload(&db.pool, "LOL_RESULT_SCREEN", 60).await;
    let extracted = upload(&db.pool, "LOL_RESULT_SCREEN", 60).await;
    sqlx::query("INSERT INTO extraction_result (attachment_id, status, attempts) VALUES ($1, 'PENDING', 1)")
        .bind(extracted)
        .execute(&db.pool)
        .await
        .unwrap();
    let _just_uploaded = upload(&db.pool, "LOL_RESULT_SCREEN", 1).await;
    let _photo = upload(&db.pool, "PHOTO", 60).await;

    let (first, one) = start_scheduler(&nats, &db).await;
    let (second, two) = start_scheduler(&nats, &db).await;
    wait_until("three sweeps in each replica", Duration::from_secs(30), || async {
        testkit::metric(one, "worker_extract_sweeps_total").await >= 3.0
            && testkit::metric(two, "worker_extract_sweeps_total").await >= 3.0
    })
    .await;

    let enqueued: Vec<(String, serde_json::Value)> =
        sqlx::query_as("SELECT message_id, payload FROM jobs.outbox").fetch_all(&db.pool).await.unwrap();
    assert_eq!(enqueued.len(), 1, "one job, for the one fallen-through upload: {enqueued:?}");
    assert_eq!(enqueued[0].0, format!("sweep:extract:{fallen_through}"));
    let job: proto::ExtractJob = proto::decode(enqueued[0].1.to_string().as_bytes()).expect("a valid extract job");
    assert_eq!(job.attachment_id, fallen_through);
    let counted = testkit::metric(one, "worker_extract_sweep_enqueued_total").await
        + testkit::metric(two, "worker_extract_sweep_enqueued_total").await;
    assert_eq!(counted, 1.0, "the replicas counted one enqueue between them");
    assert_eq!(nats.permission_violations(), Vec::<String>::new());
    first.stop().await;
    second.stop().await;
}
