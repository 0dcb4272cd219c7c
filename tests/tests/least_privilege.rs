//! Least privilege, on the shipped NATS authorization (`deploy/nats/nats-server.conf`) and the
//! services' database roles (`migrations/*_service_roles.sql`): every service does its whole job
//! as its own NATS user and Postgres role, and anything beyond that is refused.

use std::process::Stdio;
use std::time::Duration;

use async_nats::jetstream;
use proto::{CleanupJob, ExtractJob, Job};
use sqlx::PgPool;
use testkit::{NatsServer, TestBucket, TestDatabase, wait_until};
use tokio::process::{Child, Command};
use uuid::Uuid;
use worker_runtime::database::MIGRATOR;
use worker_runtime::provision;
use worker_runtime::publish::Publisher;

const INSUFFICIENT_PRIVILEGE: &str = "42501";

#[tokio::test]
async fn clients_without_valid_credentials_are_refused() {
    let nats = NatsServer::start_with_auth().await;
    assert!(async_nats::connect(nats.url()).await.is_err(), "a client without credentials was let in");
    let wrong = async_nats::ConnectOptions::with_user_and_password("api".into(), "not-the-password".into());
    assert!(wrong.connect(nats.url()).await.is_err(), "a wrong password was accepted");
    assert!(nats.client_as("api").await.is_ok(), "the right password was refused");
}

/// Stored messages in `stream`, read as the admin.
async fn stored(nats: &NatsServer, stream: &str) -> u64 {
    let js = jetstream::new(nats.client().await);
    js.get_stream(stream).await.expect("the stream exists").info().await.expect("stream info").state.messages
}

#[tokio::test]
async fn a_service_may_publish_only_its_own_subjects() {
    let nats = NatsServer::start_with_auth().await;
    provision::ensure_all_streams(&jetstream::new(nats.client().await), 1).await.expect("provision as admin");

    let extract_worker = nats.client_as("extract-worker").await.expect("connect as extract-worker");
    let cleanup_job = proto::encode(&CleanupJob { s3_keys: vec!["attachments/x.png".to_owned()].try_into().unwrap() });
    extract_worker.publish(CleanupJob::SUBJECT, cleanup_job.into()).await.unwrap();
    extract_worker.publish("dead_letter.cleanup", "{}".into()).await.unwrap();
    extract_worker.flush().await.unwrap();

    let api = nats.client_as("api").await.expect("connect as api");
    api.publish("auto_done", "{}".into()).await.unwrap();
    // Reading jobs is the workers' business, and so is every JetStream API call.
    let _peeking = api.subscribe(ExtractJob::SUBJECT).await.unwrap();
    api.publish("$JS.API.STREAM.DELETE.JOBS_EXTRACT", "".into()).await.unwrap();
    api.flush().await.unwrap();

    let expected = [
        ("extract-worker", "Publish", "cleanup"),
        ("extract-worker", "Publish", "dead_letter.cleanup"),
        ("api", "Publish", "auto_done"),
        ("api", "Subscription", "extract"),
        ("api", "Publish", "$JS.API.STREAM.DELETE.JOBS_EXTRACT"),
    ];
    wait_until("the server to refuse all five", Duration::from_secs(10), || async {
        nats.permission_violations().len() >= expected.len()
    })
    .await;
    let violations = nats.permission_violations();
    for (user, kind, subject) in expected {
        assert!(
            violations.iter().any(|line| line.contains(&format!("{kind} Violation"))
                && line.contains(&format!("user:{user}\""))
                && line.contains(&format!("Subject \"{subject}\""))),
            "no refusal of {user}'s {kind} on {subject} in {violations:#?}"
        );
    }
    for stream in ["JOBS_CLEANUP", "JOBS_AUTO_DONE", "DEAD_LETTERS", "JOBS_EXTRACT"] {
        assert_eq!(stored(&nats, stream).await, 0, "{stream} received a refused message");
    }
    assert!(jetstream::new(nats.client().await).get_stream("JOBS_EXTRACT").await.is_ok(), "the stream was deleted");
}

/// Start `binary` as NATS user `user` with `DATABASE_URL` = `database_url` and no right to migrate.
async fn start_as(binary: &str, user: &str, nats: &NatsServer, database_url: &str, bucket: &TestBucket) -> Child {
    let mut command = Command::new(testkit::binary(binary));
    command
        .envs(nats.env_for(user))
        .env("DATABASE_URL", database_url)
        .env("DATABASE_MIGRATE", "false")
        .envs(bucket.env())
        .env("OMP_THREAD_LIMIT", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    testkit::start_ready(command, binary).await.0
}

async fn scalar(pool: &PgPool, sql: &str) -> String {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[tokio::test]
async fn every_service_does_its_job_as_its_own_user_and_role() {
    let nats = NatsServer::start_with_auth().await;
    let db = TestDatabase::migrated(&MIGRATOR).await;
    let bucket = TestBucket::create().await;

    let _cleanup =
        start_as("cleanup-worker", "cleanup-worker", &nats, &db.login_url("lol_cleanup_worker").await, &bucket).await;
    let _extract =
        start_as("extract-worker", "extract-worker", &nats, &db.login_url("lol_extract_worker").await, &bucket).await;
    let scheduler_url = db.login_url("lol_scheduler").await;
    let _scheduler = start_as("scheduler", "scheduler", &nats, &scheduler_url, &bucket).await;

    let api = Publisher::new(jetstream::new(nats.client_as("api").await.expect("connect as api")));

    // cleanup: the objects go.
    let keys = vec!["attachments/a.png".to_owned(), "attachments/b.png".to_owned()];
    bucket.put_many(&keys, 2).await;
    api.publish(&CleanupJob { s3_keys: keys.try_into().unwrap() }, "cleanup-1").await.expect("api publishes cleanup");
    wait_until("the objects to be deleted", Duration::from_secs(30), || async { bucket.keys().await.is_empty() }).await;

    // extract: a screenshot that is not in S3 fails for good, which writes FAILED and a dead letter.
    let input = testkit::endscreen::fixture_input(&testkit::endscreen::fixture("es1-0002.json"));
    let seeded = testkit::endscreen::seed(&db.pool, &input, "attachments/missing.png").await.expect("seed");
    let job = ExtractJob { attachment_id: seeded.attachment_id, match_id: seeded.match_id };
    api.publish(&job, "extract-1").await.expect("api publishes extract");
    testkit::endscreen::wait_for_status(&db.pool, seeded.attachment_id, "FAILED", Duration::from_secs(30)).await;
    wait_until("the dead letter", Duration::from_secs(10), || async { stored(&nats, "DEAD_LETTERS").await == 1 }).await;

    // scheduler: a tick (published as the scheduler) closes a due CONFIRMED session.
    let session = Uuid::new_v4();
    sqlx::query("INSERT INTO session (id, status, starts_at) VALUES ($1, 'CONFIRMED', now() - interval '4 days')")
        .bind(session)
        .execute(&db.pool)
        .await
        .unwrap();
    // This time the password comes from a file, as from a mounted secret.
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), format!("{}\n", nats.password("scheduler"))).unwrap();
    let tick = Command::new(testkit::binary("scheduler"))
        .arg("tick-now")
        .env("NATS_URL", nats.url())
        .env("NATS_USER", "scheduler")
        .env("NATS_PASSWORD_FILE", secret.path())
        .env("DATABASE_URL", &scheduler_url)
        .output()
        .await
        .expect("run scheduler tick-now");
    assert!(tick.status.success(), "tick-now: {}", String::from_utf8_lossy(&tick.stderr));
    let status_sql = format!("SELECT status FROM session WHERE id = '{session}'");
    wait_until("the session to be DONE", Duration::from_secs(30), || async {
        scalar(&db.pool, &status_sql).await == "DONE"
    })
    .await;

    assert_eq!(nats.permission_violations(), Vec::<String>::new(), "a service needed more than its grants");
}

#[tokio::test]
async fn service_roles_cannot_reach_beyond_their_tables() {
    let db = TestDatabase::migrated(&MIGRATOR).await;
    let as_role = |role: &'static str| {
        let db = &db;
        async move { PgPool::connect(&db.login_url(role).await).await.expect("log in as the service role") }
    };
    let attempts = [
        ("lol_extract_worker", "UPDATE session SET status = 'DONE'"),
        ("lol_extract_worker", "DELETE FROM attachment"),
        ("lol_cleanup_worker", "SELECT count(*) FROM friend"),
        ("lol_scheduler", "SELECT count(*) FROM extraction_result"),
        ("lol_scheduler", "DELETE FROM session"),
        ("lol_scheduler", "CREATE TABLE intruder (id int)"),
        ("lol_scheduler", "SELECT count(*) FROM jobs.outbox"),
        ("lol_outbox_relay", "SELECT count(*) FROM attachment"),
        ("lol_outbox_relay", "INSERT INTO jobs.outbox (subject, payload) VALUES ('extract', '{}')"),
        ("lol_outbox_relay", "SELECT jobs.enqueue('extract', '{}')"),
    ];
    for (role, sql) in attempts {
        let error = sqlx::query(sql).execute(&as_role(role).await).await.expect_err(&format!("{role} may {sql}"));
        let code = error.as_database_error().and_then(|e| e.code()).map(|c| c.into_owned());
        assert_eq!(code.as_deref(), Some(INSUFFICIENT_PRIVILEGE), "{role}: {sql}: {error}");
    }
    // What they are for still works.
    sqlx::query("SELECT count(*) FROM extraction_result").execute(&as_role("lol_extract_worker").await).await.unwrap();
    sqlx::query("UPDATE session SET status = status WHERE false")
        .execute(&as_role("lol_scheduler").await)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_service_that_may_not_migrate_refuses_an_old_schema() {
    let nats = NatsServer::start().await;
    let db = TestDatabase::create().await;
    let output = Command::new(testkit::binary("cleanup-worker"))
        .env("NATS_URL", nats.url())
        .env("DATABASE_URL", &db.url)
        .env("DATABASE_MIGRATE", "false")
        .env("HEALTH_ADDR", "")
        .output()
        .await
        .expect("run cleanup-worker");
    assert!(!output.status.success(), "started on an empty database");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("lacks migration") && stderr.contains("jobctl migrate"), "unclear error: {stderr}");
    let tables: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(tables, 0, "it changed the schema anyway");
}
