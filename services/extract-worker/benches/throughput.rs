//! Screenshots per minute through the whole extract path — publish → Postgres → S3 → OCR →
//! `extraction_result` — with one and two worker processes, and where the time goes.
//!
//!     make stack-up && eval "$(scripts/stack.sh env)"
//!     cargo bench -p extract-worker --bench throughput
//!
//! Each run gets a private nats-server, a fresh database and bucket on the local stack, and
//! BENCH_JOBS (default 60) jobs over the four committed fixture captures; the workers are the
//! release `extract-worker` binary with `OMP_THREAD_LIMIT=1` and `LOG_FORMAT=json`, and the split
//! comes from their `lol_endscreen_extract: completed` lines.

use std::process::Stdio;
use std::time::{Duration, Instant};

use proto::ExtractJob;
use testkit::{NatsServer, TestBucket, TestDatabase, wait_ready, wait_until};
use tokio::process::{Child, Command};
use worker_runtime::database::MIGRATOR;
use worker_runtime::publish::Publisher;

const FIXTURES: [&str; 4] = ["es1-0002.jpg", "es1-0006.png", "es1-0010.png", "es1-0015.jpg"];

struct Run {
    processes: usize,
    concurrency: usize,
}

#[tokio::main]
async fn main() {
    let jobs: usize = std::env::var("BENCH_JOBS").ok().and_then(|v| v.parse().ok()).unwrap_or(60);
    println!(
        "| worker processes × WORKER_CONCURRENCY | jobs | screenshots/min | download p50 | OCR p50 | database p50 | in the worker p50 |"
    );
    println!("|---|---|---|---|---|---|---|");
    for run in [
        Run { processes: 1, concurrency: 1 },
        Run { processes: 2, concurrency: 1 },
        Run { processes: 1, concurrency: 2 },
    ] {
        measure(&run, jobs).await;
    }
}

async fn measure(run: &Run, jobs: usize) {
    let nats = NatsServer::start().await;
    let db = TestDatabase::migrated(&MIGRATOR).await;
    let bucket = TestBucket::create().await;
    let logs = tempfile::tempdir().expect("a log directory");

    let mut seeded = Vec::with_capacity(jobs);
    for n in 0..jobs {
        let name = FIXTURES[n % FIXTURES.len()];
        let stem = name.split('.').next().expect("a file stem");
        let key = format!("attachments/bench/{n:04}-{name}");
        bucket.put(&key, std::fs::read(testkit::endscreen::fixture(name)).expect("fixture")).await;
        let input = testkit::endscreen::fixture_input(&testkit::endscreen::fixture(&format!("{stem}.json")));
        seeded.push(testkit::endscreen::seed(&db.pool, &input, &key).await.expect("seed"));
    }

    let mut workers: Vec<Child> = Vec::new();
    for n in 0..run.processes {
        let port = testkit::free_port();
        let log = std::fs::File::create(logs.path().join(format!("worker-{n}.log"))).expect("log file");
        workers.push(
            Command::new(env!("CARGO_BIN_EXE_extract-worker"))
                .env("NATS_URL", nats.url())
                .env("DATABASE_URL", &db.url)
                .env("S3_ENDPOINT", &bucket.endpoint)
                .env("S3_BUCKET", &bucket.name)
                .env("HEALTH_ADDR", format!("127.0.0.1:{port}"))
                .env("WORKER_CONCURRENCY", run.concurrency.to_string())
                .env("OMP_THREAD_LIMIT", "1")
                .env("LOG_FORMAT", "json")
                .stdout(Stdio::null())
                .stderr(log)
                .kill_on_drop(true)
                .spawn()
                .expect("spawn extract-worker"),
        );
        wait_ready(port, "extract-worker").await;
    }

    let publisher = Publisher::new(async_nats::jetstream::new(nats.client().await));
    let started = Instant::now();
    for (n, job) in seeded.iter().enumerate() {
        let job = ExtractJob { attachment_id: job.attachment_id, match_id: job.match_id };
        publisher.publish(&job, &format!("bench-{n}")).await.expect("publish");
    }
    wait_until("every job DONE", Duration::from_secs(600), || async {
        let done: i64 = sqlx::query_scalar("SELECT count(*) FROM extraction_result WHERE status = 'DONE'")
            .fetch_one(&db.pool)
            .await
            .expect("count");
        done == jobs as i64
    })
    .await;
    let elapsed = started.elapsed();
    for worker in &workers {
        testkit::signal(worker, "TERM");
    }
    for mut worker in workers {
        worker.wait().await.expect("worker exits");
    }

    let mut split: [Vec<f64>; 3] = Default::default();
    for n in 0..run.processes {
        let log = std::fs::read_to_string(logs.path().join(format!("worker-{n}.log"))).expect("log");
        for line in log.lines().filter(|l| l.contains("lol_endscreen_extract: completed")) {
            let event: serde_json::Value = serde_json::from_str(line).expect("a JSON log line");
            for (values, field) in split.iter_mut().zip(["download_ms", "ocr_ms", "db_ms"]) {
                values.push(event["fields"][field].as_f64().expect("timing field"));
            }
        }
    }
    let per_job: Vec<f64> = sqlx::query_scalar(
        "SELECT (extract(epoch FROM completed_at - created_at) * 1000)::float8 FROM extraction_result",
    )
    .fetch_all(&db.pool)
    .await
    .expect("job times");
    println!(
        "| {} × {} | {jobs} | {:.0} | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} ms |",
        run.processes,
        run.concurrency,
        jobs as f64 / elapsed.as_secs_f64() * 60.0,
        median(&split[0]),
        median(&split[1]),
        median(&split[2]),
        median(&per_job),
    );
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}
