//! `/healthz` (the process is up), `/readyz` (consuming: streams and consumer provisioned, NATS
//! connected and, where the service uses one, the database answers within 2 s) and `/metrics`
//! (Prometheus text).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::{Router, extract::State, http::StatusCode, routing::get};

use crate::metrics::Metrics;
use crate::shutdown::Shutdown;

#[derive(Clone)]
struct Probe {
    nats: async_nats::Client,
    database: Option<sqlx::PgPool>,
    metrics: Arc<Metrics>,
}

/// Serve the endpoints on `addr` on a task of their own until `shutdown`. A failure (the port
/// taken) is logged and leaves the service running: its jobs matter more than its probes.
pub fn spawn(
    addr: SocketAddr,
    nats: async_nats::Client,
    database: Option<sqlx::PgPool>,
    metrics: Arc<Metrics>,
    shutdown: Shutdown,
) {
    tokio::spawn(async move {
        if let Err(error) = serve(addr, nats, database, metrics, shutdown).await {
            tracing::error!(%error, %addr, "health endpoint failed");
        }
    });
}

/// Serve the endpoints on `addr` until `shutdown`.
pub async fn serve(
    addr: SocketAddr,
    nats: async_nats::Client,
    database: Option<sqlx::PgPool>,
    metrics: Arc<Metrics>,
    shutdown: Shutdown,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(exposition))
        .with_state(Probe { nats, database, metrics });
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "health and metrics endpoints listening");
    axum::serve(listener, app).with_graceful_shutdown(async move { shutdown.cancelled().await }).await
}

async fn ready(State(probe): State<Probe>) -> (StatusCode, String) {
    match readiness(&probe).await {
        Ok(()) => (StatusCode::OK, "ready\n".to_owned()),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")),
    }
}

/// The exposition, with `worker_ready` as of this scrape: an alert can then tell "up but not
/// ready" (database gone, provisioning failed) from "down".
async fn exposition(State(probe): State<Probe>) -> String {
    probe.metrics.ready.set(i64::from(readiness(&probe).await.is_ok()));
    probe.metrics.encode()
}

/// Ready, or why not.
async fn readiness(probe: &Probe) -> Result<(), String> {
    if !probe.metrics.consuming.load(std::sync::atomic::Ordering::Relaxed) {
        return Err("worker: not consuming (provisioning, or stopped)".to_owned());
    }
    if probe.nats.connection_state() != async_nats::connection::State::Connected {
        return Err("nats: not connected".to_owned());
    }
    if let Some(pool) = &probe.database {
        let ping = tokio::time::timeout(Duration::from_secs(2), sqlx::query("SELECT 1").execute(pool)).await;
        match ping {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => return Err(format!("database: {error}")),
            Err(_) => return Err("database: no answer within 2s".to_owned()),
        }
    }
    Ok(())
}
