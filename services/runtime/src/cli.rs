//! Operator subcommands every worker binary shares: `dlq list` and `dlq replay`.

use std::io::Write;

use clap::Subcommand;

use crate::config::NatsConfig;
use crate::dead_letter::DeadLetters;
use crate::service::connect_nats;

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// Print this task's dead letters, oldest first: id, time, reason, attempts, error, payload.
    List,
    /// Publish dead letters to their subject again (as new jobs) and delete them.
    Replay {
        /// The dead letter's id (first column of `dlq list`).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<u64>,
        /// Replay every dead letter of this task.
        #[arg(long)]
        all: bool,
    },
}

/// Run a `dlq` subcommand for the dead letters of `subject`, as `client_name`.
pub async fn run_dlq(nats: &NatsConfig, client_name: &str, subject: &str, command: DlqCommand) -> anyhow::Result<()> {
    let (_, js) = connect_nats(nats, client_name).await?;
    let dead_letters = DeadLetters::new(js);
    let mut out = std::io::stdout().lock();
    match command {
        DlqCommand::List => {
            let letters = dead_letters.list(subject).await?;
            writeln!(
                out,
                "{:>6}  {:<20}  {:<11}  {:>8}  error / payload",
                "id", "stored at (UTC)", "reason", "attempts"
            )?;
            for letter in &letters {
                writeln!(
                    out,
                    "{:>6}  {:<20}  {:<11}  {:>8}  {}\n{:>52}{}",
                    letter.id,
                    letter.stored_at.format("%Y-%m-%d %H:%M:%S"),
                    letter.reason,
                    letter.attempts,
                    letter.error,
                    "",
                    String::from_utf8_lossy(&letter.payload),
                )?;
            }
            writeln!(out, "{} dead letter(s) for {subject}", letters.len())?;
        }
        DlqCommand::Replay { id: Some(id), .. } => {
            let sequence = dead_letters.replay(subject, id).await?;
            writeln!(out, "replayed dead letter {id} as job {sequence} on {subject}")?;
        }
        DlqCommand::Replay { id: None, .. } => {
            let letters = dead_letters.list(subject).await?;
            for letter in &letters {
                let sequence = dead_letters.replay(subject, letter.id).await?;
                writeln!(out, "replayed dead letter {} as job {sequence} on {subject}", letter.id)?;
            }
            writeln!(out, "{} dead letter(s) replayed", letters.len())?;
        }
    }
    Ok(())
}
