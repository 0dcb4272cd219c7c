//! The alert rules of `deploy/prometheus/alerts.yml`: `promtool` checks them and runs their unit
//! tests (`alerts_test.yml`: each alert fires when it should and stays quiet when it should not),
//! and a real Prometheus scraping a real worker sees its target up, loads the rules, and fires
//! the dead-letter alert once a job is dead-lettered.

use std::process::{Command, Stdio};
use std::time::Duration;

use testkit::{NatsServer, PrometheusServer, TestBucket, TestDatabase, wait_until};
use worker_runtime::publish::Publisher;

fn promtool(args: &[&str]) -> String {
    let output = Command::new("promtool")
        .args(args)
        .current_dir(testkit::repo_root().join("deploy/prometheus"))
        .output()
        .expect("run promtool (scripts/install-deps.sh installs it)");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "promtool {args:?}:\n{text}");
    text
}

#[test]
fn every_alert_rule_is_valid_and_passes_its_unit_tests() {
    let checked = promtool(&["check", "rules", "alerts.yml"]);
    assert!(checked.contains("SUCCESS: 11 rules found"), "{checked}");
    let tested = promtool(&["test", "rules", "alerts_test.yml"]);
    assert!(tested.contains("SUCCESS"), "{tested}");
}

#[tokio::test]
async fn prometheus_scrapes_a_worker_and_fires_the_dead_letter_alert() {
    let nats = NatsServer::start().await;
    let db = TestDatabase::create().await;
    let bucket = TestBucket::create().await;
    let mut command = tokio::process::Command::new(testkit::binary("cleanup-worker"));
    command
        .env("NATS_URL", nats.url())
        .env("DATABASE_URL", &db.url)
        .envs(bucket.env())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let (_worker, port) = testkit::start_ready(command, "cleanup-worker").await;
    let prometheus = PrometheusServer::start(&[port]).await;

    let rules = prometheus.api("rules").await;
    let loaded: Vec<&str> = rules["groups"][0]["rules"]
        .as_array()
        .expect("a rule group")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(
        loaded,
        [
            "WorkerDown",
            "WorkerNotReady",
            "JobsWaiting",
            "JobsDeadLettered",
            "ExtractFailing",
            "OrphansAccumulating",
            "AutoDoneMissed",
            "ExtractSlow",
            "OcrServiceOverloaded",
            "OutboxStuck",
            "OutboxRejected"
        ]
    );
    // The worker's counter is scraped at 0 first, so the first dead letter is an increase.
    wait_until("the target up and its dead-letter counter scraped at 0", Duration::from_secs(30), || async {
        let up = prometheus.query("up%7Bjob%3D%22workers%22%7D").await;
        let counter = prometheus.query("worker_jobs_dead_lettered_total%7Btask%3D%22cleanup%22%7D").await;
        up.first().is_some_and(|s| s["value"][1] == "1") && counter.first().is_some_and(|s| s["value"][1] == "0")
    })
    .await;
    let before = prometheus.api("alerts").await;
    let dead_letter_alerts = before["alerts"].as_array().into_iter().flatten();
    assert_eq!(dead_letter_alerts.filter(|a| a["labels"]["alertname"] == "JobsDeadLettered").count(), 0, "{before}");

    // A key outside the allowed prefixes: refused at once and dead-lettered.
    let job = proto::CleanupJob { s3_keys: vec!["exports/2026.csv".to_owned()].try_into().unwrap() };
    Publisher::new(async_nats::jetstream::new(nats.client().await)).publish(&job, "outside").await.unwrap();
    wait_until("the dead-letter alert to fire", Duration::from_secs(30), || async {
        prometheus.api("alerts").await["alerts"].as_array().is_some_and(|alerts| {
            alerts.iter().any(|a| {
                a["labels"]["alertname"] == "JobsDeadLettered"
                    && a["labels"]["task"] == "cleanup"
                    && a["state"] == "firing"
            })
        })
    })
    .await;
}
