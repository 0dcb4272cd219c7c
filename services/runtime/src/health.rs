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
        .route("/metrics", get(|State(probe): State<Probe>| async move { probe.metrics.encode() }))
        .with_state(Probe { nats, database, metrics });
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "health and metrics endpoints listening");
    axum::serve(listener, app).with_graceful_shutdown(async move { shutdown.cancelled().await }).await
}

async fn ready(State(probe): State<Probe>) -> (StatusCode, String) {
    if !probe.metrics.consuming.load(std::sync::atomic::Ordering::Relaxed) {
        return (StatusCode::SERVICE_UNAVAILABLE, "worker: not consuming (provisioning, or stopped)\n".to_owned());
    }
    if probe.nats.connection_state() != async_nats::connection::State::Connected {
        return (StatusCode::SERVICE_UNAVAILABLE, "nats: not connected\n".to_owned());
    }
    if let Some(pool) = &probe.database {
        let ping = tokio::time::timeout(Duration::from_secs(2), sqlx::query("SELECT 1").execute(pool)).await;
        match ping {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                return (StatusCode::SERVICE_UNAVAILABLE, format!("database: {error}\n"));
            }
            Err(_) => {
                return (StatusCode::SERVICE_UNAVAILABLE, "database: no answer within 2s\n".to_owned());
            }
        }
    }
    (StatusCode::OK, "ready\n".to_owned())
}
