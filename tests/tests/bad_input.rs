//! The bad-input corpus (`tests/corpus/`, written by `make_corpus.py`, outcomes in
//! `expected.json`): every hostile or broken payload is refused with an error naming its field,
//! every non-scoreboard upload gets its error code, a payload over the subject's size limit is
//! refused by the stream itself, and a running extract worker fed the rest of the corpus
//! dead-letters each message and stays up.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use proto::{AutoDoneTick, CleanupJob, ExtractJob, OcrErrorCode, OcrJobOutput};
use serde_json::Value;
use testkit::{NatsServer, TestDatabase, wait_until};
use tokio::process::Command;
use worker_runtime::dead_letter::{DeadLetters, Reason};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

fn expected() -> BTreeMap<String, Value> {
    serde_json::from_str(&std::fs::read_to_string(corpus().join("expected.json")).unwrap()).unwrap()
}

fn field_of_refusal(subject: &str, payload: &[u8]) -> String {
    let refused = match subject {
        "extract" => proto::decode::<ExtractJob>(payload).err(),
        "cleanup" => proto::decode::<CleanupJob>(payload).err(),
        "auto_done" => proto::decode::<AutoDoneTick>(payload).err(),
        other => panic!("no contract for subject {other}"),
    };
    refused.map(|error| error.field().to_owned()).unwrap_or_else(|| "<accepted>".to_owned())
}

#[test]
fn every_bad_payload_is_refused_naming_its_field() {
    let mut checked = 0;
    for (file, outcome) in expected().iter().filter(|(file, _)| file.starts_with("payloads/")) {
        let subject = file.split('/').nth(1).unwrap();
        let payload = std::fs::read(corpus().join(file)).unwrap();
        assert_eq!(field_of_refusal(subject, &payload), outcome["field"].as_str().unwrap(), "{file}");
        checked += 1;
    }
    assert!(checked >= 15, "the corpus lost payloads: {checked}");
}

#[test]
fn every_bad_upload_gets_its_error_code() {
    let input = testkit::endscreen::fixture_input(&corpus().join("../../ocr/tests/fixtures/es1-0002.json"));
    let models = ocr::ppocr::PpOcrConfig::default().load().expect("the PP-OCR models");
    let mut pipeline = ocr::pipeline::Pipeline::standard(models).expect("tesseract");
    let mut checked = 0;
    for (file, outcome) in expected().iter().filter(|(file, _)| file.starts_with("images/")) {
        let bytes = std::fs::read(corpus().join(file)).unwrap();
        let code = match pipeline.run(&input, &bytes) {
            OcrJobOutput::Failed(failure) => failure.error.code,
            OcrJobOutput::Done(_) => panic!("{file} was read as a scoreboard"),
        };
        let wanted: OcrErrorCode = serde_json::from_value(outcome["code"].clone()).unwrap();
        assert_eq!(code, wanted, "{file}");
        checked += 1;
    }
    assert!(checked >= 7, "the corpus lost images: {checked}");
}

#[tokio::test]
async fn a_worker_fed_the_payload_corpus_dead_letters_each_and_stays_up() {
    let nats = NatsServer::start().await;
    let db = TestDatabase::create().await;
    let mut command = Command::new(testkit::binary("extract-worker"));
    command.env("NATS_URL", nats.url()).env("DATABASE_URL", &db.url).stdout(Stdio::null()).stderr(Stdio::null());
    let (mut worker, port) = testkit::start_ready(command, "extract-worker").await;

    let js = async_nats::jetstream::new(nats.client().await);
    let mut stored = 0;
    for file in expected().into_keys().filter(|f| f.starts_with("payloads/")) {
        // Every subject's bad payloads go to `extract`: the worker must refuse them all, and the
        // stream refuses outright what is over the subject's size limit.
        let body = std::fs::read(corpus().join(&file)).unwrap();
        let oversized = body.len() > <ExtractJob as proto::Job>::MAX_PAYLOAD_BYTES;
        let ack = js.publish("extract", body.into()).await.expect("publish").await;
        assert_eq!(ack.is_err(), oversized, "{file}: stored {}", ack.is_ok());
        stored += usize::from(!oversized);
    }
    assert!(stored >= 10, "most of the corpus reaches the worker: {stored}");
    let letters = DeadLetters::new(js);
    wait_until("every stored payload dead-lettered", Duration::from_secs(60), || async {
        letters.list("extract").await.map(|l| l.len()).unwrap_or(0) == stored
    })
    .await;
    assert!(
        letters.list("extract").await.unwrap().iter().all(|l| l.reason == Some(Reason::Undecodable) && l.attempts == 1)
    );
    assert_eq!(testkit::http_get(port, "/healthz").await.map(|(status, _)| status), Some(200), "still up");
    testkit::signal(&worker, "TERM");
    assert!(worker.wait().await.unwrap().success());
}

#[tokio::test]
async fn an_oversized_payload_is_refused_by_the_stream_before_any_worker_reads_it() {
    let nats = NatsServer::start().await;
    let js = async_nats::jetstream::new(nats.client().await);
    worker_runtime::provision::ensure_all_streams(&js, 1).await.expect("provision");
    let padded = format!(
        r#"{{"attachmentId": "{}", "matchId": "{}", "pad": "{}"}}"#,
        uuid::Uuid::nil(),
        uuid::Uuid::nil(),
        "x".repeat(2048)
    );
    let refused = js.publish("extract", padded.into()).await.expect("sent").await;
    assert!(refused.is_err(), "the stream stored a {} byte extract job", 2048);
    let fits = proto::encode(&ExtractJob { attachment_id: uuid::Uuid::nil(), match_id: uuid::Uuid::nil() });
    js.publish("extract", fits.into()).await.expect("sent").await.expect("a real job fits the limit");
}
