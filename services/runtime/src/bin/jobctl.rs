//! `jobctl`: the operator's and the demo's handle on the job system.
//!
//! ```text
//! jobctl migrate                                      apply database migrations
//! jobctl provision                                    create/reconcile every stream
//! jobctl publish extract --attachment-id U --match-id U [--message-id ID]
//! jobctl publish cleanup KEY... [--message-id ID]
//! jobctl publish auto-done --scheduled-at 2026-11-26T19:00:00Z
//! jobctl peek SUBJECT                                 show the jobs waiting on a subject
//! ```
//! Publishing goes through the runtime's publish helper, exactly as the API should.

use anyhow::Context as _;
use async_nats::jetstream;
use clap::{Parser, Subcommand};
use uuid::Uuid;
use worker_runtime::config::{DatabaseConfig, NatsConfig};
use worker_runtime::publish::{Published, Publisher};
use worker_runtime::{database, provision, service, telemetry};

#[derive(Debug, Parser)]
#[command(name = "jobctl", version, about = "Operate the game-night job system: migrate, provision, publish, peek")]
struct Cli {
    #[command(flatten)]
    nats: NatsConfig,
    #[command(flatten)]
    database: DatabaseConfig,
    #[command(flatten)]
    telemetry: telemetry::TelemetryConfig,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply pending database migrations.
    Migrate,
    /// Create or reconcile every stream.
    Provision,
    /// Publish one job and print where it was stored.
    Publish {
        #[command(subcommand)]
        job: JobArgs,
        /// De-duplication key (Nats-Msg-Id); a random one by default.
        #[arg(long, global = true)]
        message_id: Option<String>,
    },
    /// Print the jobs stored on a subject and not yet consumed.
    Peek { subject: String },
}

#[derive(Debug, Subcommand)]
enum JobArgs {
    Extract {
        #[arg(long)]
        attachment_id: Uuid,
        #[arg(long)]
        match_id: Uuid,
    },
    Cleanup {
        #[arg(required = true)]
        keys: Vec<String>,
    },
    AutoDone {
        #[arg(long)]
        scheduled_at: chrono::DateTime<chrono::FixedOffset>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _telemetry = telemetry::init(&cli.telemetry, "jobctl");
    match cli.command {
        Command::Migrate => {
            // Always applies, whatever DATABASE_MIGRATE says: this is the migration role's command.
            let pool = database::connect(&cli.database).await.context("connecting to the database")?;
            database::MIGRATOR.run(&pool).await.context("migrating the database")?;
            println!("migrations applied");
        }
        Command::Provision => {
            let (_, js) = service::connect_nats(&cli.nats, "jobctl").await?;
            provision::ensure_all_streams(&js, cli.nats.jetstream_replicas).await?;
            println!("streams ready");
        }
        Command::Publish { job, message_id } => {
            // No provisioning here: the API's NATS user may publish jobs and nothing else. The
            // workers (or `jobctl provision`) create the streams.
            let (client, js) = service::connect_nats(&cli.nats, "jobctl").await?;
            let publisher = Publisher::new(js);
            let message_id = message_id.unwrap_or_else(|| Uuid::new_v4().to_string());
            let published = match job {
                JobArgs::Extract { attachment_id, match_id } => {
                    publisher.publish(&proto::ExtractJob { attachment_id, match_id }, &message_id).await?
                }
                JobArgs::Cleanup { keys } => {
                    let s3_keys = keys.try_into().map_err(|e: proto::Invalid| anyhow::anyhow!("s3Keys: {e}"))?;
                    publisher.publish(&proto::CleanupJob { s3_keys }, &message_id).await?
                }
                JobArgs::AutoDone { scheduled_at } => {
                    let tick = proto::AutoDoneTick { scheduled_at };
                    publisher.publish(&tick, &tick.message_id()).await?
                }
            };
            client.flush().await?;
            let Published { stream, sequence, duplicate, trace_id } = published;
            println!(
                "stored in {stream} as #{sequence}{}, trace {trace_id}",
                if duplicate { " (duplicate: already queued)" } else { "" }
            );
        }
        Command::Peek { subject } => {
            let (_, js) = service::connect_nats(&cli.nats, "jobctl").await?;
            peek(&js, &subject).await?;
        }
    }
    Ok(())
}

async fn peek(js: &jetstream::Context, subject: &str) -> anyhow::Result<()> {
    let mut stream = js
        .get_stream(provision::job_stream_name(subject))
        .await
        .with_context(|| format!("no stream for subject {subject}"))?;
    let state = stream.info().await?.state.clone();
    println!("{}: {} job(s) waiting", provision::job_stream_name(subject), state.messages);
    if state.messages == 0 {
        return Ok(());
    }
    for sequence in state.first_sequence..=state.last_sequence {
        let Ok(message) = stream.get_raw_message(sequence).await else {
            continue;
        };
        let header = |name: &str| message.headers.get(name).map(|v| v.as_str().to_owned()).unwrap_or_default();
        println!(
            "  #{sequence} {} msg-id={} traceparent={}\n      {}",
            message.time.format("%H:%M:%S%.3f"),
            header("Nats-Msg-Id"),
            header("traceparent"),
            String::from_utf8_lossy(&message.payload)
        );
    }
    Ok(())
}
