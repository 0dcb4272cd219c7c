//! Jobs through the outbox on real services: the outbox side of `scripts/bench-runtime.sh`,
//! printed beside Graphile Worker's `add_job` in the same run.
//!
//!     DATABASE_URL=… cargo bench -p outbox-relay --bench outbox
//!
//! - enqueue→start: `SELECT jobs.enqueue(…)` committed on its own, one at a time, until a no-op
//!   handler of the runtime (concurrency 1) starts it: the NOTIFY, the relay's claim, publish and
//!   PubAck, the delivery. p50/p99 over `BENCH_LATENCY_JOBS` (1,000).
//! - relayed: `BENCH_JOBS` (20,000) rows committed before one relay starts (default settings),
//!   until it has published and marked them all.
//!
//! One JSON object per measurement on stdout, like the other half of the script.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use outbox_relay::{Relay, RelaySettings, metrics::RelayMetrics, relay};
use proto::ExtractJob;
use sqlx::PgPool;
use testkit::{NatsServer, TestDatabase};
use tokio::sync::mpsc;
use worker_runtime::metrics::Metrics;
use worker_runtime::retry_policy::RetryPolicy;
use worker_runtime::shutdown::Shutdown;
use worker_runtime::worker::{self, WorkerSettings};
use worker_runtime::{Attempt, Task, TaskError, TaskPolicy, database::MIGRATOR, provision};

const SYSTEM: &str = "outbox (jobs.enqueue → outbox-relay → runtime)";

fn count(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn report(metric: &str, value: serde_json::Value, unit: &str) {
    println!("{}", serde_json::json!({ "system": SYSTEM, "mode": "", "metric": metric, "value": value, "unit": unit }));
}

/// Tells the bench the instant each job's handler began.
struct StartSignal(mpsc::UnboundedSender<Instant>);

impl Task for StartSignal {
    type Job = ExtractJob;
    const CONSUMER: &'static str = "extract";

    fn policy(&self) -> TaskPolicy {
        TaskPolicy {
            max_attempts: 3,
            timeout: Duration::from_secs(60),
            retry: RetryPolicy::new(Duration::from_secs(1), Duration::from_secs(10)),
        }
    }

    async fn handle(&self, _job: ExtractJob, _attempt: Attempt) -> Result<(), TaskError> {
        let _ = self.0.send(Instant::now());
        Ok(())
    }
}

/// A relay with the binary's default settings, on a pool with the binary's session settings.
async fn start_relay(
    db: &TestDatabase,
    nats: &NatsServer,
) -> (Shutdown, Arc<RelayMetrics>, tokio::task::JoinHandle<()>) {
    let settings = relay::session_settings();
    let options: sqlx::postgres::PgConnectOptions = db.url.parse().expect("a Postgres URL");
    let pool = PgPool::connect_with(options.options(settings.iter().map(|(k, v)| (*k, v.as_str()))))
        .await
        .expect("the relay's pool");
    let client = nats.client().await;
    let metrics = Arc::new(RelayMetrics::default());
    let relay = Relay {
        pool,
        nats: client.clone(),
        js: jetstream::new(client),
        settings: RelaySettings {
            batch_size: 500,
            poll_interval: Duration::from_secs(1),
            publish_timeout: Duration::from_secs(10),
            retry: RetryPolicy::new(Duration::from_millis(500), Duration::from_secs(30)),
            retention: Duration::from_secs(24 * 3600),
        },
        metrics: metrics.clone(),
    };
    let shutdown = Shutdown::new();
    let stop = shutdown.clone();
    (shutdown, metrics, tokio::spawn(async move { relay.run(stop).await.expect("the relay runs") }))
}

async fn enqueue_to_start(db: &TestDatabase, nats: &NatsServer) {
    let js = jetstream::new(nats.client().await);
    let (started_tx, mut started_rx) = mpsc::unbounded_channel();
    let worker_stop = Shutdown::new();
    let settings = WorkerSettings {
        concurrency: 1,
        prefetch: 1,
        prefetch_max: usize::from(worker_runtime::config::DEFAULT_PREFETCH_MAX),
        ack_wait: Duration::from_secs(30),
        shutdown_grace: Duration::from_secs(10),
    };
    let (stop, metrics) = (worker_stop.clone(), Arc::new(Metrics::default()));
    let consuming = metrics.clone();
    let worker = tokio::spawn(async move {
        worker::run(StartSignal(started_tx), js, 1, settings, metrics, stop).await.expect("worker")
    });
    while !consuming.consuming.load(std::sync::atomic::Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (relay_stop, _, relay) = start_relay(db, nats).await;

    let mut samples = Vec::new();
    for _ in 0..count("BENCH_LATENCY_JOBS", 1_000) {
        let job = serde_json::json!({ "attachmentId": uuid::Uuid::new_v4(), "matchId": uuid::Uuid::new_v4() });
        let t0 = Instant::now();
        sqlx::query("SELECT jobs.enqueue('extract', $1)").bind(job).execute(&db.pool).await.expect("enqueue");
        let began = started_rx.recv().await.expect("the job starts");
        samples.push((began - t0).as_secs_f64() * 1000.0);
    }
    samples.sort_by(f64::total_cmp);
    let pick = |q: f64| samples[((q * samples.len() as f64) as usize).min(samples.len() - 1)];
    report("add→start", serde_json::json!({ "p50": pick(0.5), "p99": pick(0.99) }), "ms");
    relay_stop.trigger();
    relay.await.expect("the relay stops");
    worker_stop.trigger();
    worker.await.expect("the worker stops");
}

async fn relayed(db: &TestDatabase, nats: &NatsServer) {
    let jobs = count("BENCH_JOBS", 20_000);
    sqlx::query(
        "SELECT jobs.enqueue('cleanup', jsonb_build_object('s3Keys', jsonb_build_array('attachments/' || n || '.png')))
         FROM generate_series(1, $1) AS n",
    )
    .bind(i32::try_from(jobs).expect("a sensible BENCH_JOBS"))
    .execute(&db.pool)
    .await
    .expect("enqueue the backlog");
    let started = Instant::now();
    let (stop, metrics, relay) = start_relay(db, nats).await;
    while (metrics.published.get() as usize) < jobs {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    report("relayed by one relay", (jobs as f64 / seconds).into(), "jobs/s");
    stop.trigger();
    relay.await.expect("the relay stops");
}

#[tokio::main]
async fn main() {
    let nats = NatsServer::start().await;
    provision::ensure_all_streams(&jetstream::new(nats.client().await), 1).await.expect("provision");
    let db = TestDatabase::migrated(&MIGRATOR).await;
    enqueue_to_start(&db, &nats).await;
    relayed(&db, &nats).await;
}
