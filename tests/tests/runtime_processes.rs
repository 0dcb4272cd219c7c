//! The runtime's guarantees across real processes (`probe-worker`), a real nats-server and a real
//! Postgres recording every run: a job survives its worker's `kill -9`, replicas share a queue
//! without losing a job, and SIGTERM drains without losing or repeating one.

use std::collections::{HashMap, HashSet};
use std::process::Stdio;
use std::time::Duration;

use proto::ExtractJob;
use sqlx::PgPool;
use testkit::{NatsServer, TestDatabase, wait_until};
use tokio::process::{Child, Command};
use worker_runtime::{provision, publish::Publisher};

async fn setup() -> (NatsServer, TestDatabase, Publisher) {
    let nats = NatsServer::start().await;
    let db = TestDatabase::create().await;
    sqlx::query(
        "CREATE TABLE probe_run (job_id uuid NOT NULL, pid int NOT NULL, attempt int NOT NULL, event text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let js = async_nats::jetstream::new(nats.client().await);
    provision::ensure_all_streams(&js, 1).await.unwrap();
    (nats, db, Publisher::new(js))
}

fn probe_worker(nats: &NatsServer, db: &TestDatabase, sleep_ms: u64, concurrency: u16, ack_wait_secs: u64) -> Child {
    probe_worker_with_health(nats, db, sleep_ms, concurrency, ack_wait_secs, "")
}

/// A probe worker whose `/readyz` answers on `health_addr` (empty: no endpoint).
fn probe_worker_with_health(
    nats: &NatsServer,
    db: &TestDatabase,
    sleep_ms: u64,
    concurrency: u16,
    ack_wait_secs: u64,
    health_addr: &str,
) -> Child {
    Command::new(env!("CARGO_BIN_EXE_probe-worker"))
        .env("NATS_URL", nats.url())
        .env("PROBE_DATABASE_URL", &db.url)
        .env("PROBE_SLEEP_MS", sleep_ms.to_string())
        .env("WORKER_CONCURRENCY", concurrency.to_string())
        .env("ACK_WAIT_SECS", ack_wait_secs.to_string())
        .env("RETRY_BASE_DELAY_MS", "100")
        .env("HEALTH_ADDR", health_addr)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn probe-worker")
}

fn job() -> ExtractJob {
    ExtractJob { attachment_id: uuid::Uuid::new_v4(), match_id: uuid::Uuid::new_v4() }
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[tokio::test]
async fn a_job_whose_worker_is_killed_is_completed_by_another() {
    let (nats, db, publisher) = setup().await;
    // ack wait 2 s: a dead worker's job comes back after about 2 s.
    let mut doomed = probe_worker(&nats, &db, 5_000, 1, 2);
    let victim = job();
    publisher.publish(&victim, "victim").await.unwrap();
    wait_until("the first worker to start the job", Duration::from_secs(30), || async {
        count(&db.pool, "SELECT count(*) FROM probe_run WHERE event = 'started'").await == 1
    })
    .await;
    let doomed_pid = doomed.id().expect("running") as i32;
    testkit::signal(&doomed, "KILL");
    doomed.wait().await.unwrap();

    let _rescuer = probe_worker(&nats, &db, 0, 1, 2);
    wait_until("another worker to complete it", Duration::from_secs(30), || async {
        count(&db.pool, "SELECT count(*) FROM probe_run WHERE event = 'completed'").await == 1
    })
    .await;
    let (completed_by, attempt): (i32, i32) =
        sqlx::query_as("SELECT pid, attempt FROM probe_run WHERE event = 'completed'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_ne!(completed_by, doomed_pid);
    assert_eq!(attempt, 2, "the redelivery counts as the second attempt");
}

#[tokio::test]
async fn two_processes_share_a_thousand_jobs_and_lose_none() {
    let (nats, db, publisher) = setup().await;
    let ports = [testkit::free_port(), testkit::free_port()];
    let mut workers = ports.map(|port| probe_worker_with_health(&nats, &db, 2, 4, 30, &format!("127.0.0.1:{port}")));
    // Both consuming before the first job exists, so neither gets a head start.
    for port in ports {
        testkit::wait_ready(port, "probe-worker").await;
    }
    let jobs: Vec<ExtractJob> = (0..1_000).map(|_| job()).collect();
    for (n, job) in jobs.iter().enumerate() {
        publisher.publish(job, &format!("share-{n}")).await.unwrap();
    }
    wait_until("all 1,000 jobs completed", Duration::from_secs(120), || async {
        count(&db.pool, "SELECT count(DISTINCT job_id) FROM probe_run WHERE event = 'completed'").await == 1_000
    })
    .await;
    let rows: Vec<(uuid::Uuid, i32)> = sqlx::query_as("SELECT job_id, pid FROM probe_run WHERE event = 'completed'")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    let published: HashSet<_> = jobs.iter().map(|j| j.attachment_id).collect();
    let completed: HashSet<_> = rows.iter().map(|(id, _)| *id).collect();
    assert_eq!(completed, published, "every published job, and nothing else, completed");
    let mut per_process: HashMap<i32, usize> = HashMap::new();
    for (_, pid) in &rows {
        *per_process.entry(*pid).or_default() += 1;
    }
    let ran_twice = rows.len() - completed.len();
    println!("1,000 jobs over 2 processes: {per_process:?}; {ran_twice} ran twice");
    assert_eq!(per_process.len(), 2, "both processes took work: {per_process:?}");
    assert!(per_process.values().all(|&n| n >= 200), "work shared unevenly: {per_process:?}");
    assert_eq!(ran_twice, 0, "no crash, no timeout: nothing should run twice");
    for worker in &mut workers {
        testkit::signal(worker, "TERM");
        assert!(worker.wait().await.unwrap().success());
    }
}

#[tokio::test]
async fn sigterm_drains_in_flight_jobs_and_exits_zero() {
    let (nats, db, publisher) = setup().await;
    let mut worker = probe_worker(&nats, &db, 1_000, 2, 30);
    for n in 0..6 {
        publisher.publish(&job(), &format!("term-{n}")).await.unwrap();
    }
    wait_until("two jobs in flight", Duration::from_secs(30), || async {
        count(&db.pool, "SELECT count(*) FROM probe_run WHERE event = 'started'").await == 2
    })
    .await;
    testkit::signal(&worker, "TERM");
    let status =
        tokio::time::timeout(Duration::from_secs(20), worker.wait()).await.expect("exits within the grace").unwrap();
    assert!(status.success(), "exit status {status}");
    assert_eq!(
        count(&db.pool, "SELECT count(*) FROM probe_run WHERE event = 'completed'").await,
        2,
        "in-flight jobs finished"
    );

    let _next = probe_worker(&nats, &db, 0, 2, 30);
    wait_until("the other four", Duration::from_secs(30), || async {
        count(&db.pool, "SELECT count(DISTINCT job_id) FROM probe_run WHERE event = 'completed'").await == 6
    })
    .await;
    assert_eq!(
        count(&db.pool, "SELECT count(*) FROM probe_run WHERE event = 'completed'").await,
        6,
        "the drained jobs were acknowledged, so none ran again"
    );
}
