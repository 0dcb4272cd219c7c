//! The scheduler binary against a real nats-server and Postgres: replicas publish one tick per
//! scheduled time and transition once; a scheduler that was down backfills the missed tick;
//! `tick-now` works for operators.

use std::process::Stdio;
use std::time::Duration;

use chrono::{Timelike, Utc};
use sqlx::PgPool;
use testkit::{NatsServer, TestDatabase, wait_ready, wait_until};
use tokio::process::{Child, Command};
use worker_runtime::database::MIGRATOR;

struct Stack {
    nats: NatsServer,
    db: TestDatabase,
}

async fn stack_with_due_sessions(due: usize) -> Stack {
    let nats = NatsServer::start().await;
    let db = TestDatabase::migrated(&MIGRATOR).await;
    for _ in 0..due {
        sqlx::query("INSERT INTO session (id, status, starts_at) VALUES (gen_random_uuid(), 'CONFIRMED', now() - interval '5 days')")
            .execute(&db.pool)
            .await
            .unwrap();
    }
    Stack { nats, db }
}

fn scheduler(stack: &Stack, cron: &str, backfill_hours: u32, health_port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_scheduler"))
        .env("NATS_URL", stack.nats.url())
        .env("DATABASE_URL", &stack.db.url)
        .env("AUTO_DONE_CRON", cron)
        .env("AUTO_DONE_BACKFILL_HOURS", backfill_hours.to_string())
        .env("HEALTH_ADDR", format!("127.0.0.1:{health_port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn scheduler")
}

async fn stop(mut child: Child) {
    testkit::signal(&child, "TERM");
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait()).await.expect("stops").unwrap();
    assert!(status.success(), "scheduler exited with {status}");
}

async fn ticks(pool: &PgPool) -> Vec<(chrono::DateTime<Utc>, i32)> {
    sqlx::query_as("SELECT scheduled_at, sessions_transitioned FROM auto_done_tick ORDER BY scheduled_at")
        .fetch_all(pool)
        .await
        .unwrap()
}

/// (ticks ever stored, ticks still waiting) in the auto_done stream.
async fn stream_counts(nats: &NatsServer) -> (u64, u64) {
    let js = async_nats::jetstream::new(nats.client().await);
    let state = js.get_stream("JOBS_AUTO_DONE").await.unwrap().get_info().await.unwrap().state;
    (state.last_sequence, state.messages)
}

#[tokio::test]
async fn two_replicas_store_one_tick_per_scheduled_time_and_transition_once() {
    let stack = stack_with_due_sessions(5).await;
    let (port_a, port_b) = (testkit::free_port(), testkit::free_port());
    // Every 2 seconds, no backfill: each replica fires for every scheduled time.
    let a = scheduler(&stack, "*/2 * * * * *", 0, port_a);
    let b = scheduler(&stack, "*/2 * * * * *", 0, port_b);
    wait_ready(port_a, "replica a").await;
    wait_ready(port_b, "replica b").await;
    wait_until("three processed ticks", Duration::from_secs(30), || async { ticks(&stack.db.pool).await.len() >= 3 })
        .await;
    stop(a).await;
    stop(b).await;

    let rows = ticks(&stack.db.pool).await;
    let (stored, waiting) = stream_counts(&stack.nats).await;
    assert_eq!(stored, rows.len() as u64 + waiting, "one stored tick per scheduled time, not one per replica");
    assert_eq!(rows.iter().map(|(_, n)| *n).sum::<i32>(), 5, "the due sessions were transitioned once");
    assert_eq!(rows.iter().filter(|(_, n)| *n == 5).count(), 1);
}

#[tokio::test]
async fn a_scheduler_that_was_down_backfills_the_missed_tick_once() {
    let stack = stack_with_due_sessions(3).await;
    // Daily, at a minute that passed an hour ago.
    let missed = (Utc::now() - chrono::Duration::hours(1)).with_second(0).unwrap().with_nanosecond(0).unwrap();
    let cron = format!("0 {} {} * * *", missed.minute(), missed.hour());

    let port = testkit::free_port();
    let first = scheduler(&stack, &cron, 24, port);
    wait_until("the backfilled tick", Duration::from_secs(30), || async { !ticks(&stack.db.pool).await.is_empty() })
        .await;
    stop(first).await;
    assert_eq!(ticks(&stack.db.pool).await, [(missed, 3)]);

    // Started again: the tick is processed, so nothing is published.
    let (stored_before, _) = stream_counts(&stack.nats).await;
    let port = testkit::free_port();
    let second = scheduler(&stack, &cron, 24, port);
    wait_ready(port, "the restarted scheduler").await;
    stop(second).await;
    assert_eq!(stream_counts(&stack.nats).await.0, stored_before, "a processed tick is not backfilled again");
    assert_eq!(ticks(&stack.db.pool).await.len(), 1);
}

#[tokio::test]
async fn tick_now_closes_due_sessions_immediately() {
    let stack = stack_with_due_sessions(2).await;
    let port = testkit::free_port();
    // A yearly schedule with no backfill: only the operator's tick runs.
    let running = scheduler(&stack, "0 0 0 1 1 *", 0, port);
    wait_ready(port, "scheduler").await;
    let output = Command::new(env!("CARGO_BIN_EXE_scheduler"))
        .arg("tick-now")
        .env("NATS_URL", stack.nats.url())
        .env("DATABASE_URL", &stack.db.url)
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("auto-done tick for"));
    wait_until("the tick to be processed", Duration::from_secs(30), || async {
        ticks(&stack.db.pool).await.iter().any(|(_, n)| *n == 2)
    })
    .await;
    stop(running).await;
}
