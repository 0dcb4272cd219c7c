//! The API's way in: `examples/node-publish` publishes an `extract` job with the official
//! Node.js NATS client (Node 20, npm `nats`), and the worker reads the screenshot in the trace
//! the publisher started. Both connect as their own NATS users (`api`, `extract-worker`), so the
//! shipped permissions are enough for the real API client.

use std::process::Stdio;
use std::time::Duration;

use testkit::{NatsServer, TestBucket, TestDatabase};
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

    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("worker.log");
    let mut command = Command::new(testkit::binary("extract-worker"));
    command
        .envs(nats.env_for("extract-worker"))
        .env("DATABASE_URL", &db.url)
        .envs(bucket.env())
        .env("OMP_THREAD_LIMIT", "1")
        .env("LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
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
    // The row is written before the worker logs its completion line.
    let completed_line = || {
        let logged = std::fs::read_to_string(&log).unwrap_or_default();
        logged.lines().find(|l| l.contains("lol_endscreen_extract: completed")).map(str::to_owned)
    };
    testkit::wait_until("the completed line", Duration::from_secs(10), || async { completed_line().is_some() }).await;
    let completed = completed_line().expect("completed line");
    assert!(completed.contains(&trace_id), "the job ran in the publisher's trace: {completed}");

    // The example holds to the contract: a payload the schema refuses never leaves.
    let refused = publish("not-a-uuid".to_owned()).await;
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("attachmentId"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    testkit::signal(&worker, "TERM");
    assert!(worker.wait().await.unwrap().success());
    assert_eq!(nats.permission_violations(), Vec::<String>::new(), "the API or the worker needed more than its grants");
}
