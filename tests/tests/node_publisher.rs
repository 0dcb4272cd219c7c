//! The API's way in: `examples/node-publish` publishes an `extract` job with the official
//! Node.js NATS client (Node 20, npm `nats`), and the worker reads the screenshot in the trace
//! the publisher started (its spans reach a real OpenTelemetry collector). Both connect as their own NATS users (`api`, `extract-worker`), so the
//! shipped permissions are enough for the real API client.

use std::process::Stdio;
use std::time::Duration;

use testkit::{NatsServer, OtlpCollector, TestBucket, TestDatabase, wait_until};
use tokio::process::Command;
use worker_runtime::database::MIGRATOR;

#[tokio::test]
async fn a_job_published_from_node_is_read_in_the_publishers_trace() {
    let nats = NatsServer::start_with_auth().await;
    let db = TestDatabase::migrated(&MIGRATOR).await;
    let bucket = TestBucket::create().await;
    let key = "attachments/m1/scoreboard.jpg";
    bucket.put(key, std::fs::read(testkit::endscreen::fixture("es1-0002.jpg")).unwrap()).await;
    let input = testkit::endscreen::fixture_input(&testkit::endscreen::fixture("es1-0002.json"));
    let seeded = testkit::endscreen::seed(&db.pool, &input, key).await.unwrap();

    let collector = OtlpCollector::start().await;
    let mut command = Command::new(testkit::binary("extract-worker"));
    command
        .envs(nats.env_for("extract-worker"))
        .env("DATABASE_URL", &db.url)
        .envs(bucket.env())
        .env("OMP_THREAD_LIMIT", "1")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let (mut worker, _) = testkit::start_ready(command, "extract-worker").await;

    let publish = |attachment: String| {
        let (api_env, match_id) = (nats.env_for("api"), seeded.match_id.to_string());
        async move {
            Command::new("node")
                .arg(testkit::repo_root().join("examples/node-publish/publish-extract.mjs"))
                .args([attachment, match_id])
                .envs(api_env)
                .output()
                .await
                .expect("run node (scripts/install-deps.sh installs the example's packages)")
        }
    };
    let output = publish(seeded.attachment_id.to_string()).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let trace_id = testkit::printed_trace_id(&output.stdout);

    testkit::endscreen::wait_for_status(&db.pool, seeded.attachment_id, "DONE", Duration::from_secs(60)).await;
    // The example holds to the contract: a payload the schema refuses never leaves.
    let refused = publish("not-a-uuid".to_owned()).await;
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("attachmentId"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    // SIGTERM: the worker flushes its spans before it exits.
    testkit::signal(&worker, "TERM");
    assert!(worker.wait().await.unwrap().success());
    // The worker's span of the database write is in the trace the Node publisher started.
    wait_until("the worker's spans of the job", Duration::from_secs(30), || async {
        collector
            .spans()
            .iter()
            .any(|s| s["trace_id"] == trace_id.as_str() && s["name"] == "db upsert extraction_result")
    })
    .await;
    assert_eq!(nats.permission_violations(), Vec::<String>::new(), "the API or the worker needed more than its grants");
}
