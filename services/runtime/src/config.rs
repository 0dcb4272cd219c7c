//! Configuration shared by every binary, from environment variables (or the matching flags).
//! Defaults point at the local stack started by `scripts/stack.sh up`. The README's
//! configuration table lists the same variables; a test keeps the two in step.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;

use crate::retry_policy::RetryPolicy;

#[derive(Debug, Clone, Args)]
pub struct NatsConfig {
    /// NATS server URL(s), comma-separated for a cluster.
    #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:14222")]
    pub nats_url: String,

    /// Replicas of each stream: 1 on a single server, 3 on a cluster.
    #[arg(long, env = "JETSTREAM_REPLICAS", default_value_t = 1)]
    pub jetstream_replicas: usize,

    /// NATS user to authenticate as (each service has its own; see deploy/nats/nats-server.conf).
    /// Unset: connect without credentials.
    #[arg(long, env = "NATS_USER")]
    pub nats_user: Option<String>,

    /// Password of `NATS_USER`.
    #[arg(long, env = "NATS_PASSWORD", hide_env_values = true, conflicts_with = "nats_password_file")]
    pub nats_password: Option<String>,

    /// File holding the password of `NATS_USER` (a mounted secret), instead of `NATS_PASSWORD`.
    #[arg(long, env = "NATS_PASSWORD_FILE")]
    pub nats_password_file: Option<std::path::PathBuf>,
}

impl NatsConfig {
    /// The servers of `NATS_URL`, one per comma-separated URL.
    pub fn servers(&self) -> Vec<&str> {
        self.nats_url.split(',').map(str::trim).filter(|url| !url.is_empty()).collect()
    }

    /// `(user, password)` when `NATS_USER` is set. The password file is read here, at connect
    /// time, so a rotated secret is picked up by the next start.
    pub fn credentials(&self) -> anyhow::Result<Option<(String, String)>> {
        let Some(user) = self.nats_user.clone() else {
            return Ok(None);
        };
        let password = match (&self.nats_password, &self.nats_password_file) {
            (Some(password), _) => password.clone(),
            (None, Some(path)) => std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("NATS_PASSWORD_FILE {}: {e}", path.display()))?
                .trim_end_matches(['\n', '\r'])
                .to_owned(),
            (None, None) => {
                anyhow::bail!("NATS_USER is {user} but neither NATS_PASSWORD nor NATS_PASSWORD_FILE is set")
            }
        };
        Ok(Some((user, password)))
    }

    /// The client's inbox prefix: per user, so the server can let each user subscribe to its own
    /// replies only (`_INBOX_<user>.>`) instead of everybody's (`_INBOX.>`).
    pub fn inbox_prefix(&self) -> String {
        match &self.nats_user {
            Some(user) => format!("_INBOX_{user}"),
            None => "_INBOX".to_owned(),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseConfig {
    /// PostgreSQL URL of the application database.
    #[arg(
        long,
        env = "DATABASE_URL",
        hide_env_values = true,
        default_value = "postgres://postgres@127.0.0.1:15432/lol"
    )]
    pub database_url: String,

    /// Connections in this process's pool.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 5)]
    pub database_max_connections: u32,

    /// Apply pending migrations at start. Set `false` where the service's database role may not
    /// change the schema: it then only checks that every migration it knows is applied.
    #[arg(long, env = "DATABASE_MIGRATE", default_value_t = true, action = clap::ArgAction::Set)]
    pub database_migrate: bool,
}

/// `WORKER_PREFETCH_MAX` when unset.
pub const DEFAULT_PREFETCH_MAX: u16 = 256;

#[derive(Debug, Clone, Args)]
pub struct WorkerConfig {
    /// Jobs in flight at once in this process.
    #[arg(long, env = "WORKER_CONCURRENCY", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub worker_concurrency: u16,

    /// Jobs held beyond the running ones, delivered and ready for the next free slot (0–1024);
    /// unset: as many as `WORKER_CONCURRENCY`.
    #[arg(long, env = "WORKER_PREFETCH", value_parser = clap::value_parser!(u16).range(0..=1024))]
    pub worker_prefetch: Option<u16>,

    /// Most jobs held beyond the running ones when jobs are short: the window widens up to this
    /// while the held jobs are less than about 5 ms of work (0–1024; at most `WORKER_PREFETCH`
    /// keeps the window fixed).
    #[arg(long, env = "WORKER_PREFETCH_MAX", default_value_t = DEFAULT_PREFETCH_MAX, value_parser = clap::value_parser!(u16).range(0..=1024))]
    pub worker_prefetch_max: u16,

    /// Seconds in-flight jobs get to finish after SIGTERM before they are left for redelivery.
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    pub shutdown_grace_secs: u64,

    /// Seconds without an ack or heartbeat after which JetStream redelivers a job (so, after a
    /// crash, the delay before another replica takes it over).
    #[arg(long, env = "ACK_WAIT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub ack_wait_secs: u64,

    /// Delay before the first retry; it doubles per attempt, with jitter.
    #[arg(long, env = "RETRY_BASE_DELAY_MS", default_value_t = 5_000)]
    pub retry_base_delay_ms: u64,

    /// Longest delay between two attempts.
    #[arg(long, env = "RETRY_MAX_DELAY_MS", default_value_t = 300_000)]
    pub retry_max_delay_ms: u64,

    /// Address of the /healthz, /readyz and /metrics endpoints; empty disables them.
    #[arg(long, env = "HEALTH_ADDR")]
    pub health_addr: Option<String>,
}

impl WorkerConfig {
    pub fn prefetch(&self) -> usize {
        usize::from(self.worker_prefetch.unwrap_or(self.worker_concurrency))
    }

    /// The widest window for short jobs (one at or below [`prefetch`](Self::prefetch) keeps the
    /// window fixed).
    pub fn prefetch_max(&self) -> usize {
        usize::from(self.worker_prefetch_max)
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }

    pub fn ack_wait(&self) -> Duration {
        Duration::from_secs(self.ack_wait_secs)
    }

    /// The backoff of `RETRY_BASE_DELAY_MS` and `RETRY_MAX_DELAY_MS`.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy::new(
            Duration::from_millis(self.retry_base_delay_ms),
            Duration::from_millis(self.retry_max_delay_ms),
        )
    }

    /// The health address to bind: `HEALTH_ADDR`, else the binary's own default port on
    /// loopback, so the three binaries can run side by side on one machine.
    pub fn health_addr(&self, default_port: u16) -> Result<Option<SocketAddr>, std::net::AddrParseError> {
        health_addr(self.health_addr.as_deref(), default_port)
    }
}

/// `HEALTH_ADDR` as every binary reads it: empty disables the endpoints, unset means the
/// binary's own default port on loopback.
pub fn health_addr(value: Option<&str>, default_port: u16) -> Result<Option<SocketAddr>, std::net::AddrParseError> {
    match value {
        Some("") => Ok(None),
        Some(addr) => addr.parse().map(Some),
        None => Ok(Some(SocketAddr::from(([127, 0, 0, 1], default_port)))),
    }
}
