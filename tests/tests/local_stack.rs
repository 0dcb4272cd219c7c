//! The harness itself, against the real services `make test` starts: migrations apply (also
//! from several replicas at once) and give the documented schema; a job published through the
//! runtime's helper is stored in JetStream and reads back intact; the binaries start against
//! the stack and stop cleanly on SIGTERM.

use std::process::Stdio;
use std::time::Duration;

use proto::{ExtractJob, Job};
use testkit::{NatsServer, TestDatabase, wait_until};
use worker_runtime::{database::MIGRATOR, provision, publish::Publisher};

#[tokio::test]
async fn migrations_apply_once_from_concurrent_replicas_and_give_the_schema() {
    let db = TestDatabase::create().await;
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let pool = db.pool.clone();
            tokio::spawn(async move { MIGRATOR.run(&pool).await })
        })
        .collect();
    for run in runs {
        run.await.expect("migration task").expect("migration succeeds on every replica");
    }
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations").fetch_one(&db.pool).await.unwrap();
    assert_eq!(applied, MIGRATOR.iter().count() as i64);

    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations' ORDER BY 1",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    for table in [
        "attachment",
        "extraction_result",
        "friend",
        "friend_alias",
        "friend_riot_id",
        "match",
        "match_team_member",
        "session",
    ] {
        assert!(tables.iter().any(|t| t == table), "table {table} missing from {tables:?}");
    }

    let index: String =
        sqlx::query_scalar("SELECT indexdef FROM pg_indexes WHERE indexname = 'session_confirmed_starts_at_idx'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(index.contains("(starts_at)") && index.contains("WHERE (status = 'CONFIRMED'::text)"), "{index}");
}

#[tokio::test]
async fn schema_rejects_what_the_app_must_never_store() {
    let db = TestDatabase::migrated(&MIGRATOR).await;
    let bad_status =
        sqlx::query("INSERT INTO session (id, status, starts_at) VALUES (gen_random_uuid(), 'PLAYING', now())")
            .execute(&db.pool)
            .await;
    assert!(bad_status.unwrap_err().to_string().contains("session_status_check"));

    let session = uuid::Uuid::new_v4();
    sqlx::query("INSERT INTO session (id, status, starts_at) VALUES ($1, 'CONFIRMED', now())")
        .bind(session)
        .execute(&db.pool)
        .await
        .unwrap();
    let friend = uuid::Uuid::new_v4();
    sqlx::query("INSERT INTO friend (id, name) VALUES ($1, 'Faker')").bind(friend).execute(&db.pool).await.unwrap();
    let game = uuid::Uuid::new_v4();
    sqlx::query("INSERT INTO match (id, session_id, seq_no) VALUES ($1, $2, 1)")
        .bind(game)
        .bind(session)
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO match_team_member (match_id, friend_id, team) VALUES ($1, $2, 'A')")
        .bind(game)
        .bind(friend)
        .execute(&db.pool)
        .await
        .unwrap();
    let twice = sqlx::query("INSERT INTO match_team_member (match_id, friend_id, team) VALUES ($1, $2, 'B')")
        .bind(game)
        .bind(friend)
        .execute(&db.pool)
        .await;
    assert!(twice.is_err(), "a friend plays on one team per match");

    // An attachment's match must belong to the attachment's session.
    let other_session = uuid::Uuid::new_v4();
    sqlx::query("INSERT INTO session (id, starts_at) VALUES ($1, now())")
        .bind(other_session)
        .execute(&db.pool)
        .await
        .unwrap();
    let cross = sqlx::query(
        "INSERT INTO attachment (id, session_id, match_id, kind, s3_key, content_type, size_bytes) VALUES (gen_random_uuid(), $1, $2, 'LOL_RESULT_SCREEN', 'attachments/x.png', 'image/png', 10)",
    )
    .bind(other_session)
    .bind(game)
    .execute(&db.pool)
    .await;
    assert!(cross.is_err(), "attachment pointing at another session's match was accepted");

    let attachment = uuid::Uuid::new_v4();
    sqlx::query(
        "INSERT INTO attachment (id, session_id, match_id, kind, s3_key, content_type, size_bytes) VALUES ($1, $2, $3, 'LOL_RESULT_SCREEN', 'attachments/y.png', 'image/png', 10)",
    )
    .bind(attachment)
    .bind(session)
    .bind(game)
    .execute(&db.pool)
    .await
    .expect("attachment in its own session's match");
    let done_without_result = sqlx::query("INSERT INTO extraction_result (attachment_id, status) VALUES ($1, 'DONE')")
        .bind(attachment)
        .execute(&db.pool)
        .await;
    assert!(done_without_result.is_err(), "a DONE extraction needs its result");

    // Deleting the match keeps the upload in its session and forgets only the match.
    sqlx::query("DELETE FROM match WHERE id = $1").bind(game).execute(&db.pool).await.unwrap();
    let (kept_session, kept_match): (uuid::Uuid, Option<uuid::Uuid>) =
        sqlx::query_as("SELECT session_id, match_id FROM attachment WHERE id = $1")
            .bind(attachment)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!((kept_session, kept_match), (session, None));
}

#[tokio::test]
async fn published_job_is_stored_once_and_reads_back() {
    let nats = NatsServer::start().await;
    let js = async_nats::jetstream::new(nats.client().await);
    provision::ensure_all_streams(&js, 1).await.expect("provisioning");
    // Provisioning twice (a second replica starting) changes nothing: the server's settings, as
    // it reports them, are what every start wants.
    provision::ensure_all_streams(&js, 1).await.expect("provisioning is idempotent");
    for wanted in [
        provision::job_stream_config::<ExtractJob>(1),
        provision::job_stream_config::<proto::CleanupJob>(1),
        provision::job_stream_config::<proto::AutoDoneTick>(1),
        provision::dead_letter_stream_config(1),
    ] {
        let actual = js.get_stream(&wanted.name).await.unwrap().get_info().await.unwrap().config;
        let drift = provision::drift(&actual, &wanted).expect("nothing immutable differs");
        assert!(drift.is_empty(), "{} would be reconciled on every start: {drift:?}", wanted.name);
    }

    let job = ExtractJob { attachment_id: uuid::Uuid::new_v4(), match_id: uuid::Uuid::new_v4() };
    let publisher = Publisher::new(js.clone());
    let first = publisher.publish(&job, "harness-1").await.expect("publish");
    let again = publisher.publish(&job, "harness-1").await.expect("publish again");
    assert!(!first.duplicate);
    assert!(again.duplicate, "same Nats-Msg-Id inside the window must be de-duplicated");
    assert_eq!(first.sequence, again.sequence);

    let stream = js.get_stream(provision::job_stream_name(ExtractJob::SUBJECT)).await.unwrap();
    let stored = stream.get_raw_message(first.sequence).await.expect("stored message");
    assert_eq!(stored.headers.get("Nats-Msg-Id").map(|v| v.as_str()), Some("harness-1"));
    let decoded: ExtractJob = proto::decode(&stored.payload).expect("stored payload honours the contract");
    assert_eq!(decoded, job);
    let state = stream.get_info().await.unwrap().state;
    assert_eq!(state.messages, 1);
}

#[tokio::test]
async fn binaries_start_against_the_stack_and_stop_cleanly_on_sigterm() {
    for name in ["extract-worker", "cleanup-worker", "scheduler"] {
        // A fresh server and database each, so "streams provisioned and schema migrated" proves
        // that this binary is up (its signal handlers are installed before it connects).
        let nats = NatsServer::start().await;
        let db = TestDatabase::create().await;
        let mut child = tokio::process::Command::new(testkit::binary(name))
            .env("NATS_URL", nats.url())
            .env("DATABASE_URL", &db.url)
            .env("HEALTH_ADDR", "")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn the binary");
        // Started = it has provisioned its streams and migrated the database.
        let js = async_nats::jetstream::new(nats.client().await);
        wait_until(&format!("{name} to provision and migrate"), Duration::from_secs(30), || {
            let (js, pool) = (js.clone(), db.pool.clone());
            async move {
                let streams = js.get_stream("DEAD_LETTERS").await.is_ok();
                let migrated = sqlx::query("SELECT 1 FROM _sqlx_migrations").fetch_optional(&pool).await.is_ok();
                streams && migrated
            }
        })
        .await;
        testkit::signal(&child, "TERM");
        let status = tokio::time::timeout(Duration::from_secs(15), child.wait())
            .await
            .unwrap_or_else(|_| panic!("{name} did not exit within 15 s of SIGTERM"))
            .expect("wait for the binary");
        assert!(status.success(), "{name} exited with {status}");
    }
}
