//! The subcommands every worker binary shares: `run` (the default) and `dlq list` / `dlq replay`.
//! A binary with commands of its own flattens [`WorkerCommand`] into its enum.

use std::future::Future;
use std::io::Write;

use clap::Subcommand;

use crate::config::NatsConfig;
use crate::dead_letter::{DeadLetter, DeadLetters, Reason};
use crate::service::{App, connect_nats, run_until_signalled};

#[derive(Debug, Default, Subcommand)]
pub enum WorkerCommand {
    /// Consume this worker's jobs until SIGTERM (the default).
    #[default]
    Run,
    /// This worker's dead letters.
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
}

impl WorkerCommand {
    /// Run the command: `run` builds the app (only then: `dlq` needs no database or S3) and runs
    /// it until SIGTERM; `dlq` acts on the dead letters of `subject` as `client_name`.
    pub async fn run<A: App>(
        self,
        nats: &NatsConfig,
        client_name: &str,
        subject: &str,
        build: impl Future<Output = anyhow::Result<A>>,
    ) -> anyhow::Result<()> {
        match self {
            WorkerCommand::Run => run_until_signalled(build.await?).await,
            WorkerCommand::Dlq { command } => run_dlq(nats, client_name, subject, command).await,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// Print this task's dead letters, oldest first: id, time, reason, attempts, error, payload.
    /// Control characters are shown escaped (`\u{1b}`), never sent to the terminal.
    List {
        /// One JSON object per line instead, for scripts: the exact payload as base64 (and as
        /// text when it is UTF-8).
        #[arg(long)]
        json: bool,
    },
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
async fn run_dlq(nats: &NatsConfig, client_name: &str, subject: &str, command: DlqCommand) -> anyhow::Result<()> {
    let (_, js) = connect_nats(nats, client_name).await?;
    let dead_letters = DeadLetters::new(js);
    let mut out = std::io::stdout().lock();
    match command {
        DlqCommand::List { json: true } => {
            for letter in dead_letters.list(subject).await? {
                writeln!(out, "{}", as_json(&letter))?;
            }
        }
        DlqCommand::List { json: false } => {
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
                    letter.reason.map_or("unknown", Reason::as_str),
                    letter.attempts,
                    for_terminal(&letter.error),
                    "",
                    for_terminal(&String::from_utf8_lossy(&letter.payload)),
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

/// `text` with every control character (C0, DEL, C1) and every bidirectional-override character
/// written as `\u{…}`: a hostile payload must not move an operator's cursor, hide lines, set the
/// window title or reorder what they read. Written here rather than taken from a crate: the
/// ANSI-stripping crates delete what they find, and the operator should see that it was there.
pub fn for_terminal(text: &str) -> String {
    let mut shown = String::with_capacity(text.len());
    for c in text.chars() {
        let bidi = matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if c.is_control() || bidi {
            shown.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            shown.push(c);
        }
    }
    shown
}

/// One dead letter as a JSON object: serde_json escapes control characters in strings, and the
/// payload's exact bytes are in `payloadBase64`.
fn as_json(letter: &DeadLetter) -> serde_json::Value {
    use base64::Engine as _;
    serde_json::json!({
        "id": letter.id,
        "storedAt": letter.stored_at.to_rfc3339(),
        "subject": letter.original_subject,
        "reason": letter.reason.map(Reason::as_str),
        "attempts": letter.attempts,
        "error": letter.error,
        "payload": std::str::from_utf8(&letter.payload).ok(),
        "payloadBase64": base64::engine::general_purpose::STANDARD.encode(&letter.payload),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidi_characters_are_shown_escaped() {
        let hostile = "ok\u{1b}]0;pwned\u{7}\u{1b}[2Jnext\nline\u{202e}txt.exe\u{9b}";
        let shown = for_terminal(hostile);
        assert_eq!(shown, "ok\\u{1b}]0;pwned\\u{7}\\u{1b}[2Jnext\\u{a}line\\u{202e}txt.exe\\u{9b}");
        assert!(!shown.chars().any(|c| c.is_control()));
        assert_eq!(for_terminal("헤 윰 {\"s3Keys\": []}"), "헤 윰 {\"s3Keys\": []}", "ordinary text is left alone");
    }
}
