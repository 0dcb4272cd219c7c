//! One trace per job, through a real OpenTelemetry collector: `jobctl publish` (standing in for
//! the API) → each delivery's `extract process` span → `s3 GetObject`, the OCR steps and the
//! database write, with the failed attempt marked as an error. The worker's first attempt fails
//! on a bucket that does not exist yet; the test creates it and the retry succeeds.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use testkit::{NatsServer, OtlpCollector, TestBucket, TestDatabase, wait_until};
use tokio::process::Command;
use worker_runtime::database::MIGRATOR;

const SPAN_KIND_PRODUCER: i64 = 4;
const SPAN_KIND_CONSUMER: i64 = 5;
const STATUS_ERROR: i64 = 2;

#[tokio::test]
async fn a_retried_extract_job_is_one_trace_from_publish_to_the_database() {
    let collector = OtlpCollector::start().await;
    let nats = NatsServer::start().await;
    let db = TestDatabase::migrated(&MIGRATOR).await;
    // The worker's bucket does not exist yet: the first download fails (retryable).
    let storage = TestBucket::create().await;
    let late_bucket = format!("late-{}", uuid::Uuid::new_v4().simple());
    let key = "attachments/m1/scoreboard.jpg";
    let input = testkit::endscreen::fixture_input(&testkit::endscreen::fixture("es1-0002.json"));
    let seeded = testkit::endscreen::seed(&db.pool, &input, key).await.unwrap();

    let mut command = Command::new(testkit::binary("extract-worker"));
    command
        .env("NATS_URL", nats.url())
        .env("DATABASE_URL", &db.url)
        .env("S3_ENDPOINT", &storage.endpoint)
        .env("S3_BUCKET", &late_bucket)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("RETRY_BASE_DELAY_MS", "1500")
        .env("OMP_THREAD_LIMIT", "1")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let (mut worker, port) = testkit::start_ready(command, "extract-worker").await;

    let (attachment_id, match_id) = (seeded.attachment_id.to_string(), seeded.match_id.to_string());
    let publisher_env = [
        ("NATS_URL", nats.url()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint()),
        ("OTEL_SERVICE_NAME", "api-stand-in".to_owned()),
    ];
    let args = ["publish", "extract", "--attachment-id", &attachment_id, "--match-id", &match_id];
    let trace_id = publish_traced("jobctl", &args, &publisher_env).await;

    // Let the first attempt fail, then make the bucket and the object exist.
    wait_until("the first attempt to fail", Duration::from_secs(30), || async {
        testkit::http_get(port, "/metrics").await.is_some_and(|(_, body)| {
            body.lines().any(|l| l.starts_with("worker_jobs_retried_total") && l.ends_with(" 1"))
        })
    })
    .await;
    storage.client.create_bucket().bucket(&late_bucket).send().await.unwrap();
    let image = std::fs::read(testkit::endscreen::fixture("es1-0002.jpg")).unwrap();
    storage.client.put_object().bucket(&late_bucket).key(key).body(image.into()).send().await.unwrap();
    testkit::endscreen::wait_for_status(&db.pool, seeded.attachment_id, "DONE", Duration::from_secs(60)).await;
    // SIGTERM: the worker flushes its spans before it exits.
    testkit::signal(&worker, "TERM");
    assert!(worker.wait().await.unwrap().success());

    wait_until("the database write's span at the collector", Duration::from_secs(30), || async {
        collector.spans().iter().any(|s| s["name"] == "db upsert extraction_result")
    })
    .await;
    let spans: Vec<Value> = collector.spans().into_iter().filter(|s| s["trace_id"] == trace_id.as_str()).collect();
    let by_id: HashMap<&str, &Value> = spans.iter().map(|s| (s["span_id"].as_str().unwrap(), s)).collect();
    let named = |name: &str| -> Vec<&Value> { spans.iter().filter(|s| s["name"] == name).collect() };
    let parent_name = |span: &Value| by_id.get(span["parent_span_id"].as_str().unwrap()).map(|p| p["name"].clone());

    let publish = named("extract publish");
    assert_eq!(publish.len(), 1, "one publish span in the trace: {spans:#?}");
    assert_eq!(publish[0]["service"], "api-stand-in");
    assert_eq!(publish[0]["kind"], SPAN_KIND_PRODUCER);

    // The processor renders non-string attribute values as text.
    let attempt = |span: &Value| span["attributes"]["messaging.nats.attempt"].to_string().trim_matches('"').to_owned();
    let mut process = named("extract process");
    process.sort_by_key(|s| attempt(s));
    assert_eq!(process.len(), 2, "one process span per attempt");
    for (n, span) in process.iter().enumerate() {
        assert_eq!(span["service"], "extract-worker");
        assert_eq!(span["kind"], SPAN_KIND_CONSUMER);
        assert_eq!(span["parent_span_id"], publish[0]["span_id"], "each attempt continues the producer's trace");
        assert_eq!(attempt(span), (n + 1).to_string());
    }
    assert_eq!(process[0]["status"], STATUS_ERROR, "the failed attempt is an error: {:#?}", process[0]);
    assert_eq!(process[0]["attributes"]["job.outcome"], "retrying");
    assert_ne!(process[1]["status"], STATUS_ERROR);
    assert_eq!(process[1]["attributes"]["job.outcome"], "succeeded");

    for child in ["s3 GetObject", "ocr read scoreboard", "db upsert extraction_result", "db load ocr input"] {
        let found = named(child);
        assert!(!found.is_empty(), "no {child} span in the trace");
        assert!(found.iter().all(|s| parent_name(s) == Some(Value::from("extract process"))), "{child}: {found:#?}");
    }
    assert_eq!(named("s3 GetObject")[0]["attributes"]["aws.s3.bucket"], late_bucket.as_str());
    for step in ["ocr decode", "ocr detect", "ocr layout", "ocr title", "ocr names", "ocr matching"] {
        let found = named(step);
        assert_eq!(found.len(), 1, "{step}: {spans:#?}");
        assert_eq!(parent_name(found[0]), Some(Value::from("ocr read scoreboard")), "{step}");
    }
}

/// Spans of one trace, by name, with a parent lookup.
struct Trace(Vec<Value>);

impl Trace {
    fn of(collector: &OtlpCollector, trace_id: &str) -> Trace {
        Trace(collector.spans().into_iter().filter(|s| s["trace_id"] == trace_id).collect())
    }

    fn one(&self, name: &str) -> &Value {
        let found: Vec<&Value> = self.0.iter().filter(|s| s["name"] == name).collect();
        assert_eq!(found.len(), 1, "one {name} span expected in {:#?}", self.0);
        found[0]
    }

    fn assert_child(&self, child: &str, parent: &str) {
        assert_eq!(self.one(child)["parent_span_id"], self.one(parent)["span_id"], "{child} under {parent}");
    }
}

/// `jobctl publish …` or `scheduler tick-now` with the collector; returns the printed trace id.
async fn publish_traced(binary: &str, args: &[&str], env: &[(&str, String)]) -> String {
    let output = Command::new(testkit::binary(binary))
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .await
        .expect("run the publisher");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    testkit::printed_trace_id(&output.stdout)
}

#[tokio::test]
async fn a_cleanup_and_an_auto_done_tick_are_traced_to_their_s3_and_database_work() {
    let collector = OtlpCollector::start().await;
    let nats = NatsServer::start().await;
    let db = TestDatabase::migrated(&MIGRATOR).await;
    let bucket = TestBucket::create().await;
    bucket.put("attachments/old/1.png", b"x".to_vec()).await;
    sqlx::query("INSERT INTO session (id, status, starts_at) VALUES ($1, 'CONFIRMED', now() - interval '4 days')")
        .bind(uuid::Uuid::new_v4())
        .execute(&db.pool)
        .await
        .unwrap();
    let env = vec![
        ("NATS_URL", nats.url()),
        ("DATABASE_URL", db.url.clone()),
        ("S3_ENDPOINT", bucket.endpoint.clone()),
        ("S3_BUCKET", bucket.name.clone()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint()),
        // Far from now: the scheduler's own cron and backfill stay out of the way.
        ("AUTO_DONE_CRON", "0 0 0 1 1 *".to_owned()),
        ("AUTO_DONE_BACKFILL_HOURS", "0".to_owned()),
    ];
    let mut workers = Vec::new();
    for binary in ["cleanup-worker", "scheduler"] {
        let mut command = Command::new(testkit::binary(binary));
        command.envs(env.iter().map(|(k, v)| (*k, v.as_str()))).stdout(Stdio::null()).stderr(Stdio::null());
        workers.push(testkit::start_ready(command, binary).await.0);
    }

    let cleanup = publish_traced("jobctl", &["publish", "cleanup", "attachments/old/1.png"], &env).await;
    let tick = publish_traced("scheduler", &["tick-now"], &env).await;
    wait_until("the cleanup and the tick to be done", Duration::from_secs(30), || async {
        let ticked: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM auto_done_tick)").fetch_one(&db.pool).await.unwrap();
        ticked && bucket.keys().await.is_empty()
    })
    .await;
    for mut worker in workers {
        testkit::signal(&worker, "TERM");
        assert!(worker.wait().await.unwrap().success());
    }
    wait_until("both traces at the collector", Duration::from_secs(30), || async {
        let spans = collector.spans();
        spans.iter().any(|s| s["name"] == "s3 DeleteObjects")
            && spans.iter().any(|s| s["name"] == "db close due sessions")
    })
    .await;

    let trace = Trace::of(&collector, &cleanup);
    trace.assert_child("cleanup process", "cleanup publish");
    trace.assert_child("s3 DeleteObjects", "cleanup process");
    assert_eq!(trace.one("s3 DeleteObjects")["attributes"]["keys"].to_string().trim_matches('"'), "1");

    let trace = Trace::of(&collector, &tick);
    assert_eq!(trace.one("auto_done publish")["service"], "scheduler");
    trace.assert_child("auto_done process", "auto_done publish");
    trace.assert_child("db close due sessions", "auto_done process");
    let transitioned = &trace.one("db close due sessions")["attributes"]["sessions.transitioned"];
    assert_eq!(transitioned.to_string().trim_matches('"'), "1", "the row count is on the span");

    // The workers' metrics went out over OTLP too, flushed at shutdown.
    let metrics = collector.metrics();
    let processed: Vec<&Value> =
        metrics.iter().filter(|m| m["name"] == "worker.jobs.processed" && m["service"] == "cleanup-worker").collect();
    let last = processed.last().unwrap_or_else(|| panic!("no worker.jobs.processed from cleanup-worker: {metrics:#?}"));
    let point = &last["points"][0];
    assert_eq!(
        (&point["attributes"]["task"], &point["value"]),
        (&Value::from("cleanup"), &Value::from(1)),
        "{last:#?}"
    );
}

#[tokio::test]
async fn in_http_mode_the_trace_goes_on_inside_lol_ocr_serve() {
    const SPAN_KIND_SERVER: i64 = 2;
    const SPAN_KIND_CLIENT: i64 = 3;
    let collector = OtlpCollector::start().await;
    let nats = NatsServer::start().await;
    let db = TestDatabase::migrated(&MIGRATOR).await;
    let bucket = TestBucket::create().await;
    let key = "attachments/m1/scoreboard.jpg";
    let input = testkit::endscreen::fixture_input(&testkit::endscreen::fixture("es1-0002.json"));
    let seeded = testkit::endscreen::seed(&db.pool, &input, key).await.unwrap();
    bucket.put(key, std::fs::read(testkit::endscreen::fixture("es1-0002.jpg")).unwrap()).await;
    let mut server = testkit::OcrServer::start(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.endpoint())]).await;

    let mut command = Command::new(testkit::binary("extract-worker"));
    command
        .envs(bucket.env())
        .env("NATS_URL", nats.url())
        .env("DATABASE_URL", &db.url)
        .env("EXTRACTION_MODE", "http")
        .env("OCR_URL", server.url())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let (mut worker, _) = testkit::start_ready(command, "extract-worker").await;
    let (attachment_id, match_id) = (seeded.attachment_id.to_string(), seeded.match_id.to_string());
    let args = ["publish", "extract", "--attachment-id", &attachment_id, "--match-id", &match_id];
    let trace_id = publish_traced("jobctl", &args, &[("NATS_URL", nats.url())]).await;
    testkit::endscreen::wait_for_status(&db.pool, seeded.attachment_id, "DONE", Duration::from_secs(60)).await;
    // SIGTERM to both: each flushes its spans before it exits.
    testkit::signal(&worker, "TERM");
    server.terminate();
    assert!(worker.wait().await.unwrap().success());
    assert!(server.child().wait().await.unwrap().success());

    wait_until("the OCR server's spans at the collector", Duration::from_secs(30), || async {
        collector.spans().iter().any(|s| s["trace_id"] == trace_id.as_str() && s["name"] == "ocr detect")
    })
    .await;
    let trace = Trace::of(&collector, &trace_id);
    let hop: Vec<&Value> = trace.0.iter().filter(|s| s["name"] == "POST /v1/extract").collect();
    let client = hop.iter().find(|s| s["kind"] == SPAN_KIND_CLIENT).expect("the worker's client span");
    let server_span = hop.iter().find(|s| s["kind"] == SPAN_KIND_SERVER).expect("the server's request span");
    assert_eq!(client["service"], "extract-worker");
    assert_eq!(server_span["service"], "lol-ocr");
    assert_eq!(client["parent_span_id"], trace.one("ocr read scoreboard")["span_id"]);
    assert_eq!(server_span["parent_span_id"], client["span_id"], "the server continues the worker's span");
    assert_eq!(trace.one("ocr detect")["parent_span_id"], server_span["span_id"], "the steps run in the server");
}
