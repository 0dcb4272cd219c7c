//! The dead-letter stream: where a job goes when the runtime gives up on it, so that giving up
//! never means losing it.
//!
//! Before a message is terminated it is copied to `dead_letter.<subject>` in the `DEAD_LETTERS`
//! stream: the original payload and headers (trace context included), plus
//! `Dead-Letter-Reason` (`exhausted`, `permanent`, `undecodable`), `Dead-Letter-Attempts`,
//! `Dead-Letter-Error`, `Dead-Letter-Subject`, `Dead-Letter-Stream-Sequence` and
//! `Dead-Letter-Msg-Id` (the original `Nats-Msg-Id`). Only after JetStream acknowledged that copy
//! is the original terminated; if the copy fails, the original is retried instead.
//!
//! A dead letter's id is its sequence in `DEAD_LETTERS`. `replay` republishes it to its original
//! subject (as a new job with a fresh de-duplication key) and then deletes it.
//!
//! A give-up that could not finish (the task's hook or the copy failed) is retried on the job's
//! next delivery, which runs no attempt. So that it records the real last failure, not "never
//! reported back", the runtime first notes why it gave up in `dead_letter.<subject>.deferred.<stream
//! sequence>` ([`DeadLetters::defer`]), read back on that delivery ([`DeadLetters::deferred`]).
//! These notes are not dead letters: `list` and `replay` never see them, and they expire with
//! the stream.

use std::fmt;

use async_nats::{HeaderMap, jetstream};
use bytes::Bytes;
use chrono::{DateTime, Utc};

use crate::provision::{DEAD_LETTER_STREAM, DEAD_LETTER_SUBJECT_PREFIX};

const REASON: &str = "Dead-Letter-Reason";
const ATTEMPTS: &str = "Dead-Letter-Attempts";
const ERROR: &str = "Dead-Letter-Error";
const SUBJECT: &str = "Dead-Letter-Subject";
const STREAM_SEQUENCE: &str = "Dead-Letter-Stream-Sequence";
const ORIGINAL_MSG_ID: &str = "Dead-Letter-Msg-Id";
/// Header values are one line; long errors are cut so a dead letter stays readable.
const MAX_ERROR_CHARS: usize = 2_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Every attempt failed with a retryable error.
    Exhausted,
    /// The handler said it can never succeed.
    Permanent,
    /// The payload is not a valid message of the subject's contract.
    Undecodable,
}

impl Reason {
    pub fn parse(text: &str) -> Option<Reason> {
        [Reason::Exhausted, Reason::Permanent, Reason::Undecodable].into_iter().find(|r| r.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Exhausted => "exhausted",
            Reason::Permanent => "permanent",
            Reason::Undecodable => "undecodable",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an unfinished give-up gave up: the typed reason, the attempt that failed and its error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeferredGiveUp {
    pub reason: Reason,
    pub attempt: u32,
    pub error: String,
}

/// One stored dead letter.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// Sequence in the `DEAD_LETTERS` stream; the id `dlq replay` takes.
    pub id: u64,
    pub stored_at: DateTime<Utc>,
    pub original_subject: String,
    /// `None` only for a letter whose reason header is missing or unknown to this version.
    pub reason: Option<Reason>,
    pub attempts: u32,
    pub error: String,
    pub payload: Bytes,
    pub headers: HeaderMap,
}

#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    #[error("storing the dead letter: {0}")]
    Store(#[source] jetstream::context::PublishError),
    #[error("reading dead letters: {0}")]
    Read(#[source] async_nats::Error),
    #[error("dead letter {id} does not exist (or belongs to another subject)")]
    NotFound { id: u64 },
    #[error("replaying dead letter {id}: {source}")]
    Replay {
        id: u64,
        #[source]
        source: jetstream::context::PublishError,
    },
    #[error("deleting replayed dead letter {id}: {source}")]
    Delete {
        id: u64,
        #[source]
        source: async_nats::Error,
    },
}

#[derive(Debug, Clone)]
pub struct DeadLetters {
    js: jetstream::Context,
}

impl DeadLetters {
    pub fn new(js: jetstream::Context) -> Self {
        DeadLetters { js }
    }

    /// Copy `message` into the dead-letter stream and wait for JetStream to store it.
    /// Recording the same delivery twice (a retried give-up) stores it once.
    pub async fn record(
        &self,
        message: &jetstream::Message,
        stream_sequence: u64,
        reason: Reason,
        attempts: u32,
        error: &str,
    ) -> Result<(), DeadLetterError> {
        let mut headers = HeaderMap::new();
        if let Some(original) = &message.headers {
            for (name, values) in original.iter() {
                let name: &str = name.as_ref();
                if name.eq_ignore_ascii_case("Nats-Msg-Id") {
                    continue;
                }
                for value in values {
                    headers.append(name, value.as_str());
                }
            }
            if let Some(id) = original.get("Nats-Msg-Id") {
                headers.insert(ORIGINAL_MSG_ID, id.as_str());
            }
        }
        let subject = message.subject.to_string();
        headers.insert(REASON, reason.as_str());
        headers.insert(ATTEMPTS, attempts.to_string().as_str());
        headers.insert(ERROR, one_line(error).as_str());
        headers.insert(SUBJECT, subject.as_str());
        headers.insert(STREAM_SEQUENCE, stream_sequence.to_string().as_str());
        headers.insert("Nats-Msg-Id", format!("dead_letter:{subject}:{stream_sequence}").as_str());
        self.store(format!("{DEAD_LETTER_SUBJECT_PREFIX}.{subject}"), headers, message.payload.clone()).await
    }

    /// Note why the delivery at `stream_sequence` of `subject` was given up on, before the
    /// give-up is retried on its next delivery. Noting twice stores one note.
    pub async fn defer(
        &self,
        subject: &str,
        stream_sequence: u64,
        why: &DeferredGiveUp,
    ) -> Result<(), DeadLetterError> {
        let mut headers = HeaderMap::new();
        headers.insert(REASON, why.reason.as_str());
        headers.insert(ATTEMPTS, why.attempt.to_string().as_str());
        headers.insert(ERROR, one_line(&why.error).as_str());
        headers.insert("Nats-Msg-Id", format!("deferred:{subject}:{stream_sequence}").as_str());
        self.store(deferred_subject(subject, stream_sequence), headers, Bytes::new()).await
    }

    /// Publish to the dead-letter stream and wait until JetStream has stored it.
    async fn store(&self, subject: String, headers: HeaderMap, payload: Bytes) -> Result<(), DeadLetterError> {
        self.js
            .publish_with_headers(subject, headers, payload)
            .await
            .map_err(DeadLetterError::Store)?
            .await
            .map_err(DeadLetterError::Store)?;
        Ok(())
    }

    /// The note [`DeadLetters::defer`] left for this delivery, if any.
    pub async fn deferred(
        &self,
        subject: &str,
        stream_sequence: u64,
    ) -> Result<Option<DeferredGiveUp>, DeadLetterError> {
        // No stream info call: a worker may only direct-get its own notes.
        let stream =
            self.js.get_stream_no_info(DEAD_LETTER_STREAM).await.map_err(|e| DeadLetterError::Read(e.into()))?;
        let note = match stream.direct_get_last_for_subject(deferred_subject(subject, stream_sequence)).await {
            Ok(note) => note,
            Err(error) if error.kind() == jetstream::stream::DirectGetErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(DeadLetterError::Read(error.into())),
        };
        let header = |name: &str| note.headers.get(name).map(|v| v.as_str().to_owned()).unwrap_or_default();
        Ok(Reason::parse(&header(REASON)).map(|reason| DeferredGiveUp {
            reason,
            attempt: header(ATTEMPTS).parse().unwrap_or(0),
            error: header(ERROR),
        }))
    }

    /// Dead letters of jobs from `subject`, oldest first.
    pub async fn list(&self, subject: &str) -> Result<Vec<DeadLetter>, DeadLetterError> {
        let stream = self.stream().await?;
        let filter = format!("{DEAD_LETTER_SUBJECT_PREFIX}.{subject}");
        let mut letters = Vec::new();
        let mut next = 0;
        loop {
            let found = stream.raw_message_builder().sequence(next).next_by_subject(filter.clone()).send().await;
            match found {
                Ok(message) => {
                    next = message.sequence + 1;
                    letters.push(parse(message));
                }
                Err(error) if error.kind() == jetstream::stream::RawMessageErrorKind::NoMessageFound => {
                    break;
                }
                Err(error) => return Err(DeadLetterError::Read(error.into())),
            }
        }
        Ok(letters)
    }

    /// Publish dead letter `id` to its original subject again, then delete it.
    pub async fn replay(&self, subject: &str, id: u64) -> Result<u64, DeadLetterError> {
        let stream = self.stream().await?;
        let message = match stream.get_raw_message(id).await {
            Ok(message) if message.subject.as_str() == format!("{DEAD_LETTER_SUBJECT_PREFIX}.{subject}") => message,
            Ok(_) => return Err(DeadLetterError::NotFound { id }),
            Err(error) if error.kind() == jetstream::stream::RawMessageErrorKind::NoMessageFound => {
                return Err(DeadLetterError::NotFound { id });
            }
            Err(error) => return Err(DeadLetterError::Read(error.into())),
        };
        let letter = parse(message);
        let mut headers = HeaderMap::new();
        for name in ["traceparent", "tracestate"] {
            if let Some(value) = letter.headers.get(name) {
                headers.insert(name, value.as_str());
            }
        }
        // A fresh key: the original's may still be inside the de-duplication window.
        headers.insert("Nats-Msg-Id", format!("replay:{DEAD_LETTER_STREAM}:{id}").as_str());
        let ack = self
            .js
            .publish_with_headers(letter.original_subject.clone(), headers, letter.payload.clone())
            .await
            .map_err(|source| DeadLetterError::Replay { id, source })?
            .await
            .map_err(|source| DeadLetterError::Replay { id, source })?;
        stream.delete_message(id).await.map_err(|e| DeadLetterError::Delete { id, source: e.into() })?;
        Ok(ack.sequence)
    }

    async fn stream(&self) -> Result<jetstream::stream::Stream, DeadLetterError> {
        self.js.get_stream(DEAD_LETTER_STREAM).await.map_err(|e| DeadLetterError::Read(e.into()))
    }
}

fn deferred_subject(subject: &str, stream_sequence: u64) -> String {
    format!("{DEAD_LETTER_SUBJECT_PREFIX}.{subject}.deferred.{stream_sequence}")
}

fn parse(message: jetstream::message::StreamMessage) -> DeadLetter {
    let header = |name: &str| message.headers.get(name).map(|v| v.as_str().to_owned()).unwrap_or_default();
    let original_subject = match header(SUBJECT) {
        subject if subject.is_empty() => {
            message.subject.trim_start_matches(&format!("{DEAD_LETTER_SUBJECT_PREFIX}.")).to_owned()
        }
        subject => subject,
    };
    DeadLetter {
        id: message.sequence,
        stored_at: message.time,
        original_subject,
        reason: Reason::parse(&header(REASON)),
        attempts: header(ATTEMPTS).parse().unwrap_or(0),
        error: header(ERROR),
        payload: message.payload,
        headers: message.headers,
    }
}

fn one_line(text: &str) -> String {
    let flat: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    match flat.char_indices().nth(MAX_ERROR_CHARS) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn errors_become_one_bounded_line() {
        assert_eq!(one_line("db down\ncaused by: refused"), "db down caused by: refused");
        let long = "x".repeat(5_000);
        assert_eq!(one_line(&long).chars().count(), 2_001);
    }
}
