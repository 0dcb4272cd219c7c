//! Real services for tests, started the way production runs them.
//!
//! - [`NatsServer`]: a private `nats-server -js` per test (its own port and store), so tests can
//!   stop, restart or kill it without disturbing each other.
//! - [`TestDatabase`]: a fresh database per test on the Postgres cluster of `make test`
//!   (`DATABASE_URL`), so tests run in parallel on isolated data.
//! - [`TestBucket`]: a fresh bucket per test on the S3 API server of `make test` (`S3_ENDPOINT`).
//! - [`NatsCluster`]: three (or more) routed nats-servers, for tests that kill nodes.
//! - [`PostgresServer`]: a private Postgres cluster, for tests that stop the database.
//! - [`OtlpCollector`]: a real OpenTelemetry collector that records the spans it receives.
//! - [`PrometheusServer`]: a real Prometheus scraping given ports with the shipped alert rules.
//! - [`endscreen`]: a match seeded from a labelled capture's job input.
//! - [`OcrServer`]: `lol-ocr serve` on a free port, and its `POST /v1/extract`.
//! - [`harness`]: a task's handler on one job with a typed [`Outcome`](harness::Outcome), and a
//!   whole service run in-process ([`RunningApp`](harness::RunningApp)).
//!
//! `make test` (scripts/test.sh) installs and starts Postgres and the S3 API server and exports
//! their addresses; nats-server is found through `NATS_SERVER_BIN` or `PATH`.

mod collector;
mod database;
pub mod endscreen;
pub mod harness;
mod nats;
mod ocr_server;
mod png_bomb;
mod ports;
mod postgres;
mod prometheus;
mod s3;

pub use collector::OtlpCollector;
pub use database::TestDatabase;
pub use nats::{NatsCluster, NatsServer};
pub use ocr_server::{KilledOcrServer, OcrServer, Reply};
pub use png_bomb::png_bomb;
pub use ports::{PortHold, free_port};
pub use postgres::PostgresServer;
pub use prometheus::PrometheusServer;
pub use s3::{S3Server, TestBucket, client_for as s3_client_for};

use std::time::Duration;

/// Poll `condition` every 20 ms until it holds; panic with `what` after `timeout`. For waiting on
/// real effects (a row written, a process gone) without guessing a sleep.
pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if condition().await {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the tests through `make test`, which starts the services and exports it")
    })
}

/// The repository's root directory (for shipped files such as `deploy/nats/nats-server.conf`).
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Path of a workspace binary (`cargo nextest run --workspace` builds them all beside the tests).
pub fn binary(name: &str) -> std::path::PathBuf {
    let test_exe = std::env::current_exe().expect("path of the running test");
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let profile_dir = test_exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>");
    let path = profile_dir.join(name);
    assert!(path.exists(), "{} not built: run `cargo build --workspace --bins` (make test does)", path.display());
    path
}

/// Send a signal (`TERM`, `INT`, `KILL`, `STOP`, `CONT`) to a child process.
pub fn signal(child: &tokio::process::Child, name: &str) {
    let pid = child.id().expect("the child is still running");
    let status =
        std::process::Command::new("kill").arg(format!("-{name}")).arg(pid.to_string()).status().expect("run kill");
    assert!(status.success(), "kill -{name} {pid} failed");
}

/// `GET http://127.0.0.1:{port}{path}` → (status, body), or `None` if nothing answers. HTTP/1.0
/// by hand: the health endpoints are all a test needs to reach.
pub async fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes()).await.ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default();
    Some((status, body))
}

/// The value of the unlabelled series `name` (e.g. `worker_outbox_published_total`) on the
/// `/metrics` of the service whose health port is `port`; panics if it is not exported.
pub async fn metric(port: u16, name: &str) -> f64 {
    let (_, body) = http_get(port, "/metrics").await.unwrap_or_else(|| panic!("nothing answers /metrics on {port}"));
    body.lines()
        .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no {name} in {body}"))
        .parse()
        .unwrap_or_else(|e| panic!("{name} is not a number: {e}"))
}

/// Spawn a service with its health endpoint on a free port (`HEALTH_ADDR`), killed when dropped,
/// and wait until its `/readyz` answers. The caller sets the rest of the environment and where
/// the output goes. Returns the child and the port.
pub async fn start_ready(mut command: tokio::process::Command, what: &str) -> (tokio::process::Child, u16) {
    let port = free_port();
    let child = command
        .env("HEALTH_ADDR", format!("127.0.0.1:{port}"))
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {what}: {e}"));
    wait_ready(port, what).await;
    (child, port)
}

/// The trace id a publisher prints at the end of its line, `…, trace <32 hex digits>`
/// (`jobctl publish`, `scheduler tick-now`, the Node.js example).
pub fn printed_trace_id(stdout: &[u8]) -> String {
    let printed = String::from_utf8_lossy(stdout);
    let trace_id = printed.split("trace ").nth(1).unwrap_or_else(|| panic!("no trace id in {printed:?}")).trim();
    assert_eq!(trace_id.len(), 32, "a W3C trace id: {trace_id:?}");
    trace_id.to_owned()
}

/// Wait until the child's `/readyz` on `port` answers 200.
pub async fn wait_ready(port: u16, what: &str) {
    wait_until(&format!("{what} to be ready"), Duration::from_secs(60), || async {
        matches!(http_get(port, "/readyz").await, Some((200, _)))
    })
    .await;
}
