//! The Grafana dashboard (`deploy/grafana/dashboards/workers.json`) query by query: Grafana
//! cannot run here, so a real Prometheus scrapes the three real services while they do real
//! jobs (a screenshot read against another match's teams, a cleanup done, one dead-lettered),
//! and every panel's PromQL expression must return data.

use std::process::Stdio;
use std::time::Duration;

use testkit::{NatsServer, PrometheusServer, TestBucket, TestDatabase};
use worker_runtime::database::MIGRATOR;
use worker_runtime::publish::Publisher;

fn expressions() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(testkit::repo_root().join("deploy/grafana/dashboards/workers.json")).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(panels.len() >= 10, "{} panels", panels.len());
    panels
        .iter()
        .flat_map(|panel| {
            let title = panel["title"].as_str().unwrap_or("untitled").to_owned();
            let targets = panel["targets"].as_array().cloned().unwrap_or_default();
            assert!(!targets.is_empty(), "{title}: no query");
            targets.into_iter().map(move |t| (title.clone(), t["expr"].as_str().expect("a PromQL expr").to_owned()))
        })
        .collect()
}

/// Percent-encode a query for a URL (RFC 3986 unreserved characters kept).
fn encoded(expression: &str) -> String {
    expression
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn service(
    binary: &str,
    nats: &NatsServer,
    db: &TestDatabase,
    bucket: &TestBucket,
) -> (tokio::process::Child, u16) {
    let mut command = tokio::process::Command::new(testkit::binary(binary));
    command
        .env("NATS_URL", nats.url())
        .env("DATABASE_URL", &db.url)
        .envs(bucket.env())
        .env("OMP_THREAD_LIMIT", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    testkit::start_ready(command, binary).await
}

#[tokio::test]
async fn every_dashboard_query_returns_data_from_the_running_services() {
    let expressions = expressions();
    let nats = NatsServer::start().await;
    let db = TestDatabase::migrated(&MIGRATOR).await;
    let bucket = TestBucket::create().await;
    let (_extract, extract_port) = service("extract-worker", &nats, &db, &bucket).await;
    let (_cleanup, cleanup_port) = service("cleanup-worker", &nats, &db, &bucket).await;
    let (_scheduler, scheduler_port) = service("scheduler", &nats, &db, &bucket).await;
    let prometheus = PrometheusServer::start(&[extract_port, cleanup_port, scheduler_port]).await;

    // A screenshot read against another match's teams (DONE, with a warning and step timings).
    let label: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(testkit::endscreen::fixture("es1-0002.json")).unwrap()).unwrap();
    let exchanged = ocr::roster_variants::alter(&label, ocr::roster_variants::Variant::OneSwap, &[]);
    let key = "attachments/dashboard/es1-0002.jpg";
    bucket.put(key, std::fs::read(testkit::endscreen::fixture("es1-0002.jpg")).unwrap()).await;
    let seeded = testkit::endscreen::seed(&db.pool, &exchanged.input, key).await.expect("seed");
    let publisher = Publisher::new(async_nats::jetstream::new(nats.client().await));
    let extract = proto::ExtractJob { attachment_id: seeded.attachment_id, match_id: seeded.match_id };
    publisher.publish(&extract, "dashboard-extract").await.unwrap();
    // A cleanup that deletes, and one refused (dead-lettered).
    bucket.put("attachments/dashboard/scratch.png", b"x".to_vec()).await;
    let done = proto::CleanupJob { s3_keys: vec!["attachments/dashboard/scratch.png".to_owned()].try_into().unwrap() };
    let refused = proto::CleanupJob { s3_keys: vec!["exports/2026.csv".to_owned()].try_into().unwrap() };
    publisher.publish(&done, "dashboard-cleanup").await.unwrap();
    publisher.publish(&refused, "dashboard-refused").await.unwrap();
    testkit::endscreen::wait_for_status(&db.pool, seeded.attachment_id, "DONE", Duration::from_secs(60)).await;

    // Polled like `wait_until`, but the failure names the panels still without data.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let mut empty = Vec::new();
        for (title, expression) in &expressions {
            if prometheus.query(&encoded(expression)).await.is_empty() {
                empty.push(format!("{title}: {expression}"));
            }
        }
        if empty.is_empty() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "panels without data after 60 s:\n{}", empty.join("\n"));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
