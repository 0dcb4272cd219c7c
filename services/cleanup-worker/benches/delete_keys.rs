//! Keys deleted per second by the cleanup worker's batched `DeleteObjects`.
//!
//!     S3_ENDPOINT=http://127.0.0.1:19000 cargo bench -p cleanup-worker --bench delete_keys
//!
//! Uploads BENCH_KEYS (default 10,000) small objects to a fresh bucket on that S3 API server,
//! then times one cleanup of all of them (10 requests of 1,000 keys).

use std::time::{Duration, Instant};

use cleanup_worker::batch_delete;
use cleanup_worker::key_guard::KeyGuard;
use worker_runtime::retry_policy::RetryPolicy;

#[tokio::main]
async fn main() {
    let endpoint = std::env::var("S3_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:19000".to_owned());
    let count: usize = std::env::var("BENCH_KEYS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let bucket = testkit::TestBucket::create_on(&endpoint).await;
    let keys: Vec<String> = (0..count).map(|n| format!("attachments/bench/{n:06}.png")).collect();
    let started = Instant::now();
    bucket.put_many(&keys, 32).await;
    println!("uploaded {count} objects in {:.1} s", started.elapsed().as_secs_f64());

    let guard = KeyGuard::new(&["attachments/".to_owned()]).expect("prefix");
    let allowed = guard.check_all(&keys).expect("keys under the prefix");
    let retry = RetryPolicy::new(Duration::from_millis(100), Duration::from_secs(1));
    let started = Instant::now();
    let report = batch_delete::delete_keys(&bucket.client, &bucket.name, &allowed, 3, retry).await;
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(report.deleted, count, "{report:?}");
    println!(
        "deleted {count} keys in {} DeleteObjects requests, {seconds:.2} s: {:.0} keys/s",
        report.requests,
        count as f64 / seconds
    );
}
