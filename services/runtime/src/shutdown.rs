//! Graceful shutdown as a value passed to everything that runs until the process stops.
//!
//! The first SIGTERM or SIGINT cancels the [`Shutdown`] token: workers stop pulling and let their
//! in-flight jobs finish within the grace period. A second signal means the operator is done
//! waiting: the process exits at once with status 130, and unfinished jobs are redelivered by
//! JetStream after their ack wait, as after a crash. Nothing acknowledged is lost either way.

use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

/// Cloneable handle: `cancelled().await` resolves once shutdown has begun.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
}

impl Shutdown {
    pub fn new() -> Self {
        Self::default()
    }

    /// A shutdown that begins on the first SIGTERM/SIGINT and exits the process on the second.
    pub fn on_signals() -> std::io::Result<Self> {
        let shutdown = Shutdown::new();
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        let token = shutdown.token.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = interrupt.recv() => {}
            }
            tracing::info!("shutdown requested: no new jobs; waiting for in-flight jobs (signal again to exit now)");
            token.cancel();
            tokio::select! {
                _ = terminate.recv() => {}
                _ = interrupt.recv() => {}
            }
            tracing::warn!("second signal: exiting now; unfinished jobs will be redelivered");
            std::process::exit(130);
        });
        Ok(shutdown)
    }

    /// Begin shutdown from inside the process (tests, fatal errors).
    pub fn trigger(&self) {
        self.token.cancel();
    }

    pub fn is_shutdown(&self) -> bool {
        self.token.is_cancelled()
    }

    pub async fn cancelled(&self) {
        self.token.cancelled().await
    }
}
