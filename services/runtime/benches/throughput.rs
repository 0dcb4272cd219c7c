//! No-op jobs through this runtime on a real nats-server: the Rust side of
//! `scripts/bench-runtime.sh` (which runs Graphile Worker the same way and prints both).
//!
//!     cargo bench -p worker-runtime --bench throughput
//!
//! For each durability setting (JetStream's default fsync every 2 minutes, and
//! `sync_interval: always`): enqueue rate (one awaited publish at a time, and 256 in flight),
//! drain rate at concurrency 1, 8 and 64 (confirmed acks) with the default prefetch window
//! (= concurrency, widening for short jobs up to `WORKER_PREFETCH_MAX`'s default), a fixed one
//! (= concurrency, the default before the window followed the jobs' pace) and a wide fixed one
//! (500, as batched Graphile Worker's local queue), and add→start latency over 1,000 sequential
//! jobs. With the default window it also reports the CPU time per job of the nats-server and of
//! this process (Linux `/proc`), and it drains the same queue without the runtime: one loop over
//! the consumer's message stream, acking plainly, then confirming each ack (256 in flight), then
//! confirming acks together as the runtime does — the server's rate when nothing but the acks
//! stands between it and the queue. One JSON object
//! per measurement on stdout. With `BENCH_DRAINS_ONLY=1`, only the default window's drains on a
//! default-sync server, after an unreported warm-up drain: the script runs them again between
//! Graphile Worker's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use futures::{FutureExt, StreamExt};
use proto::ExtractJob;
use testkit::NatsServer;
use tokio::sync::mpsc;
use worker_runtime::ack;
use worker_runtime::metrics::Metrics;
use worker_runtime::publish::Publisher;
use worker_runtime::retry_policy::RetryPolicy;
use worker_runtime::shutdown::Shutdown;
use worker_runtime::worker::{self, WorkerSettings};
use worker_runtime::{Attempt, Task, TaskError, TaskPolicy, provision};

const DEFAULT_SYNC: &str = "worker-runtime (JetStream, default sync)";
/// The wide window, as Graphile Worker's batched `localQueue` (500 jobs).
const WIDE_PREFETCH: usize = 500;
/// The drain before the repeated ones, not reported.
const WARM_UP_JOBS: usize = 2_000;
/// How far the default window widens for short jobs.
const DEFAULT_MAX: usize = worker_runtime::config::DEFAULT_PREFETCH_MAX as usize;

fn count(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[derive(Clone)]
struct NoopTask {
    started: Option<mpsc::UnboundedSender<Instant>>,
}

impl Task for NoopTask {
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
        if let Some(started) = &self.started {
            let _ = started.send(Instant::now());
        }
        Ok(())
    }
}

fn job() -> ExtractJob {
    ExtractJob { attachment_id: uuid::Uuid::new_v4(), match_id: uuid::Uuid::new_v4() }
}

fn report(system: &str, metric: &str, value: serde_json::Value, unit: &str) {
    println!("{}", serde_json::json!({ "system": system, "mode": "", "metric": metric, "value": value, "unit": unit }));
}

struct Running {
    shutdown: Shutdown,
    metrics: Arc<Metrics>,
    handle: tokio::task::JoinHandle<()>,
}

/// A window of `prefetch` jobs beyond the running ones, widening up to `prefetch_max`.
fn start(task: NoopTask, js: &jetstream::Context, concurrency: usize, prefetch: (usize, usize)) -> Running {
    let shutdown = Shutdown::new();
    let metrics = Arc::new(Metrics::default());
    let settings = WorkerSettings {
        concurrency,
        prefetch: prefetch.0,
        prefetch_max: prefetch.1,
        ack_wait: Duration::from_secs(30),
        shutdown_grace: Duration::from_secs(10),
    };
    let (js, stop, m) = (js.clone(), shutdown.clone(), metrics.clone());
    let handle = tokio::spawn(async move { worker::run(task, js, 1, settings, m, stop).await.expect("worker") });
    Running { shutdown, metrics, handle }
}

async fn fill(js: &jetstream::Context, jobs: usize) {
    let payloads: Vec<_> = (0..jobs).map(|_| proto::encode(&job())).collect();
    futures::stream::iter(payloads)
        .map(|payload| async move { js.publish("extract", payload.into()).await.expect("publish").await.expect("ack") })
        .buffer_unordered(256)
        .collect::<Vec<_>>()
        .await;
}

/// Start a worker, wait until it has acknowledged `jobs` jobs, stop it; the time taken.
async fn consume(js: &jetstream::Context, concurrency: usize, prefetch: (usize, usize), jobs: usize) -> Duration {
    let started = Instant::now();
    let running = start(NoopTask { started: None }, js, concurrency, prefetch);
    let processed = running.metrics.series("extract").processed;
    while (processed.get() as usize) < jobs {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let elapsed = started.elapsed();
    running.shutdown.trigger();
    running.handle.await.expect("worker stops");
    elapsed
}

/// CPU seconds (user + system) `pid` has used so far; `None` where `/proc` cannot say.
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and
    // 13th, in clock ticks of 1/100 s (USER_HZ, fixed for /proc on Linux).
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    Some((fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?) / 100.0)
}

/// CPU time of the server and of this process over `run`, in microseconds per job.
async fn cpu_per_job<F: Future<Output = Duration>>(
    nats: &NatsServer,
    jobs: usize,
    run: F,
) -> (Duration, Option<(f64, f64)>) {
    let server = nats.pid().map(|pid| pid.to_string()).unwrap_or_default();
    let before = cpu_seconds(&server).zip(cpu_seconds("self"));
    let took = run.await;
    let after = cpu_seconds(&server).zip(cpu_seconds("self"));
    let per_job =
        |(s0, w0): (f64, f64), (s1, w1): (f64, f64)| ((s1 - s0) * 1e6 / jobs as f64, (w1 - w0) * 1e6 / jobs as f64);
    (took, before.zip(after).map(|(before, after)| per_job(before, after)))
}

/// How the raw drain acknowledges.
#[derive(Clone, Copy)]
enum Acks {
    Plain,
    /// Each ack a request the server answers ([`ack::confirm_one`]), 256 in flight.
    ConfirmedEach,
    /// As the runtime sends them: jobs finishing together share one confirmation.
    ConfirmedTogether,
}

/// Drain `jobs` without the runtime: one loop over the consumer's message stream (batches of
/// 500), acking as `acks` says.
async fn drain_raw(js: &jetstream::Context, jobs: usize, acks: Acks) -> Duration {
    let started = Instant::now();
    let stream = js.get_stream(provision::job_stream_name("extract")).await.expect("job stream");
    let consumer = provision::ensure_consumer(&stream, provision::consumer_config("extract", Duration::from_secs(30)))
        .await
        .expect("consumer");
    let mut messages = consumer.stream().max_messages_per_batch(500).messages().await.expect("pull stream");
    let client = js.client();
    let together = ack::ConfirmedAcks::start(client.clone());
    let mut confirmations = futures::stream::FuturesUnordered::new();
    for _ in 0..jobs {
        let message = messages.next().await.expect("a job").expect("a delivery");
        match acks {
            Acks::Plain => message.ack().await.expect("ack"),
            Acks::ConfirmedEach => {
                let client = client.clone();
                confirmations
                    .push(async move { ack::confirm_one(&client, &message).await.expect("ack confirmed") }.boxed())
            }
            Acks::ConfirmedTogether => {
                // Queued now, in delivery order, as the worker queues a finished job's ack.
                let confirmed = together.ack(&message);
                confirmations.push(async move { confirmed.await.expect("ack confirmed") }.boxed())
            }
        }
        while confirmations.len() > 256 {
            confirmations.next().await;
        }
    }
    while confirmations.next().await.is_some() {}
    started.elapsed()
}

/// Fill the queue with `jobs`, drain it at `concurrency` with the `prefetch` window named `window`
/// ("" for the default one) and report the rate; for the default window, the CPU per job too.
async fn drain(
    system: &str,
    nats: &NatsServer,
    js: &jetstream::Context,
    concurrency: usize,
    (prefetch, window): ((usize, usize), &str),
    jobs: usize,
) {
    fill(js, jobs).await;
    let (took, cpu) = cpu_per_job(nats, jobs, consume(js, concurrency, prefetch, jobs)).await;
    let metric = format!("drain c={concurrency}{window}");
    report(system, &metric, (jobs as f64 / took.as_secs_f64()).into(), "jobs/s");
    if let (Some((server, worker)), "") = (cpu, window) {
        report(system, &format!("{metric}: nats-server CPU per job"), server.into(), "µs");
        report(system, &format!("{metric}: worker CPU per job"), worker.into(), "µs");
    }
}

async fn bench(system: &str, nats: &NatsServer) {
    let js = jetstream::new(nats.client().await);
    provision::ensure_all_streams(&js, 1).await.expect("provision");
    let publisher = Publisher::new(js.clone());

    let enqueue_jobs = count("BENCH_ENQUEUE_JOBS", 5_000);
    let started = Instant::now();
    for n in 0..enqueue_jobs {
        publisher.publish(&job(), &format!("enqueue-{n}")).await.expect("publish");
    }
    report(system, "enqueue", (enqueue_jobs as f64 / started.elapsed().as_secs_f64()).into(), "jobs/s");
    consume(&js, 8, (8, DEFAULT_MAX), enqueue_jobs).await;

    let jobs = count("BENCH_JOBS", 20_000);
    let started = Instant::now();
    fill(&js, jobs).await;
    report(system, "enqueue (256 in flight)", (jobs as f64 / started.elapsed().as_secs_f64()).into(), "jobs/s");
    consume(&js, 8, (8, DEFAULT_MAX), jobs).await;

    for concurrency in [1, 8, 64] {
        let windows = [
            ((concurrency, DEFAULT_MAX), ""),
            ((concurrency, concurrency), ", fixed window"),
            ((WIDE_PREFETCH, WIDE_PREFETCH), ", prefetch 500"),
        ];
        for (prefetch, window) in windows {
            drain(system, nats, &js, concurrency, (prefetch, window), jobs).await;
        }
    }
    let modes = [
        (Acks::Plain, "plain acks"),
        (Acks::ConfirmedEach, "each ack confirmed"),
        (Acks::ConfirmedTogether, "acks confirmed together"),
    ];
    for (mode, acks) in modes {
        fill(&js, jobs).await;
        let (took, cpu) = cpu_per_job(nats, jobs, drain_raw(&js, jobs, mode)).await;
        let metric = format!("drain without the runtime, {acks}");
        report(system, &metric, (jobs as f64 / took.as_secs_f64()).into(), "jobs/s");
        if let Some((server, _)) = cpu {
            report(system, &format!("{metric}: nats-server CPU per job"), server.into(), "µs");
        }
    }

    let (started_tx, mut started_rx) = mpsc::unbounded_channel();
    let running = start(NoopTask { started: Some(started_tx) }, &js, 1, (1, DEFAULT_MAX));
    let mut samples = Vec::new();
    for n in 0..count("BENCH_LATENCY_JOBS", 1_000) {
        let t0 = Instant::now();
        publisher.publish(&job(), &format!("latency-{n}")).await.expect("publish");
        let began = started_rx.recv().await.expect("the job starts");
        samples.push((began - t0).as_secs_f64() * 1000.0);
    }
    running.shutdown.trigger();
    running.handle.await.expect("worker stops");
    samples.sort_by(f64::total_cmp);
    let pick = |q: f64| samples[((q * samples.len() as f64) as usize).min(samples.len() - 1)];
    report(system, "add→start", serde_json::json!({ "p50": pick(0.5), "p99": pick(0.99) }), "ms");
}

#[tokio::main]
async fn main() {
    let default_sync = NatsServer::start().await;
    if std::env::var("BENCH_DRAINS_ONLY").is_ok_and(|only| only == "1") {
        // The drains issue 15 compares with Graphile Worker's, run again between its own.
        let js = jetstream::new(default_sync.client().await);
        provision::ensure_all_streams(&js, 1).await.expect("provision");
        // Unreported, as Graphile Worker's side warms up before its repeated drains (Node's JIT
        // needs it more than this process does; a fresh nats-server too has caches to fill).
        fill(&js, WARM_UP_JOBS).await;
        consume(&js, 8, (8, DEFAULT_MAX), WARM_UP_JOBS).await;
        for concurrency in [1, 8, 64] {
            let window = ((concurrency, DEFAULT_MAX), "");
            drain(DEFAULT_SYNC, &default_sync, &js, concurrency, window, count("BENCH_JOBS", 20_000)).await;
        }
        return;
    }
    bench(DEFAULT_SYNC, &default_sync).await;
    drop(default_sync);
    let always = NatsServer::start_syncing_always().await;
    bench("worker-runtime (JetStream, sync always)", &always).await;
}
