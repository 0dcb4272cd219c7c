//! The auto-done UPDATE and the tick's once-only processing, against a real Postgres.

use scheduler::auto_done::{CLOSE_DUE_SESSIONS, TickOutcome, close_due_sessions, process_tick};
use sqlx::{PgPool, Postgres, Transaction};
use testkit::TestDatabase;
use uuid::Uuid;
use worker_runtime::database::MIGRATOR;

async fn database() -> PgPool {
    let db = TestDatabase::migrated(&MIGRATOR).await;
    db.pool
}

/// Insert a session whose `starts_at` is the SQL expression `starts_at` (evaluated in `tx`).
async fn session(tx: &mut Transaction<'_, Postgres>, status: &str, starts_at: &str) -> Uuid {
    let id = Uuid::new_v4();
    sqlx::query(&format!("INSERT INTO session (id, status, starts_at) VALUES ($1, $2, {starts_at})"))
        .bind(id)
        .bind(status)
        .execute(&mut **tx)
        .await
        .unwrap();
    id
}

async fn status(tx: &mut Transaction<'_, Postgres>, id: Uuid) -> String {
    sqlx::query_scalar("SELECT status FROM session WHERE id = $1").bind(id).fetch_one(&mut **tx).await.unwrap()
}

#[tokio::test]
async fn boundaries_statuses_and_time_zones() {
    let pool = database().await;
    // One transaction: now() is the same instant for the inserts and the UPDATE, so "exactly
    // 3 days" is exact.
    let mut tx = pool.begin().await.unwrap();
    let exactly = session(&mut tx, "CONFIRMED", "now() - interval '3 days'").await;
    let second_more = session(&mut tx, "CONFIRMED", "now() - interval '3 days 1 second'").await;
    let second_less = session(&mut tx, "CONFIRMED", "now() - interval '3 days' + interval '1 second'").await;
    let old_scheduled = session(&mut tx, "SCHEDULED", "now() - interval '30 days'").await;
    let old_done = session(&mut tx, "DONE", "now() - interval '30 days'").await;
    // Written in Korean time: 3 days and 1 hour ago as an instant, whatever the offset says.
    let kst = session(
        &mut tx,
        "CONFIRMED",
        "(to_char((now() - interval '3 days 1 hour') AT TIME ZONE 'Asia/Seoul', 'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '+09:00')::timestamptz",
    )
    .await;
    // Written in New York time, 2 days ago: not due.
    let new_york = session(
        &mut tx,
        "CONFIRMED",
        "(to_char((now() - interval '2 days') AT TIME ZONE 'America/New_York', 'YYYY-MM-DD\"T\"HH24:MI:SS.US') || to_char(now() AT TIME ZONE 'America/New_York' - now() AT TIME ZONE 'UTC', 'HH24:MI'))::timestamptz",
    )
    .await;
    let done_updated_before: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT updated_at FROM session WHERE id = $1")
            .bind(old_done)
            .fetch_one(&mut *tx)
            .await
            .unwrap();

    let transitioned = close_due_sessions(&mut tx).await.unwrap();
    assert_eq!(transitioned, 2);
    assert_eq!(status(&mut tx, exactly).await, "CONFIRMED", "exactly 3 days is not older than 3 days");
    assert_eq!(status(&mut tx, second_more).await, "DONE");
    assert_eq!(status(&mut tx, second_less).await, "CONFIRMED");
    assert_eq!(status(&mut tx, old_scheduled).await, "SCHEDULED", "SCHEDULED is never touched");
    assert_eq!(status(&mut tx, old_done).await, "DONE");
    assert_eq!(status(&mut tx, kst).await, "DONE");
    assert_eq!(status(&mut tx, new_york).await, "CONFIRMED");
    let done_updated_after: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT updated_at FROM session WHERE id = $1")
            .bind(old_done)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_eq!(done_updated_before, done_updated_after, "DONE rows are not rewritten");
    tx.rollback().await.unwrap();
}

#[tokio::test]
async fn a_duplicate_tick_changes_nothing() {
    let pool = database().await;
    let scheduled_at: chrono::DateTime<chrono::Utc> = "2026-11-26T19:00:00Z".parse().unwrap();
    let mut tx = pool.begin().await.unwrap();
    session(&mut tx, "CONFIRMED", "now() - interval '5 days'").await;
    tx.commit().await.unwrap();
    assert_eq!(process_tick(&pool, scheduled_at).await.unwrap(), TickOutcome::Transitioned(1));

    // A session that becomes due later is left for the next scheduled time, not the replay.
    let mut tx = pool.begin().await.unwrap();
    let later = session(&mut tx, "CONFIRMED", "now() - interval '4 days'").await;
    tx.commit().await.unwrap();
    assert_eq!(process_tick(&pool, scheduled_at).await.unwrap(), TickOutcome::AlreadyProcessed);
    let mut tx = pool.begin().await.unwrap();
    assert_eq!(status(&mut tx, later).await, "CONFIRMED");
    let recorded: i32 = sqlx::query_scalar("SELECT sessions_transitioned FROM auto_done_tick WHERE scheduled_at = $1")
        .bind(scheduled_at)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(recorded, 1);
}

#[tokio::test]
async fn concurrent_duplicates_transition_once() {
    let pool = database().await;
    let mut tx = pool.begin().await.unwrap();
    for _ in 0..50 {
        session(&mut tx, "CONFIRMED", "now() - interval '7 days'").await;
    }
    tx.commit().await.unwrap();
    let scheduled_at = chrono::Utc::now();
    let runs: Vec<_> = (0..4).map(|_| tokio::spawn(process_tick_owned(pool.clone(), scheduled_at))).collect();
    let mut outcomes = Vec::new();
    for run in runs {
        outcomes.push(run.await.unwrap());
    }
    outcomes.sort_by_key(|o| matches!(o, TickOutcome::AlreadyProcessed));
    assert_eq!(outcomes[0], TickOutcome::Transitioned(50));
    assert!(outcomes[1..].iter().all(|o| *o == TickOutcome::AlreadyProcessed), "{outcomes:?}");
}

async fn process_tick_owned(pool: PgPool, at: chrono::DateTime<chrono::Utc>) -> TickOutcome {
    process_tick(&pool, at).await.unwrap()
}

#[tokio::test]
async fn the_update_is_served_by_the_partial_index() {
    let pool = database().await;
    sqlx::query(
        "INSERT INTO session (id, status, starts_at)
         SELECT gen_random_uuid(), CASE WHEN n % 50 = 0 THEN 'CONFIRMED' ELSE 'DONE' END, now() - (n % 400) * interval '1 hour'
         FROM generate_series(1, 20000) AS n",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("ANALYZE session").execute(&pool).await.unwrap();
    let plan: Vec<String> =
        sqlx::query_scalar(&format!("EXPLAIN {CLOSE_DUE_SESSIONS}")).fetch_all(&pool).await.unwrap();
    let plan = plan.join("\n");
    assert!(plan.contains("session_confirmed_starts_at_idx"), "plan does not use the partial index:\n{plan}");
    println!("{plan}");
}
