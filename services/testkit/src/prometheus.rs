//! A real Prometheus (Debian's `prometheus` package) for tests: scrapes the given health ports
//! every second under job `workers`, evaluates `deploy/prometheus/alerts.yml` every second, and
//! answers its HTTP API on a free port. Killed when dropped.

use std::time::Duration;

use tokio::process::{Child, Command};

use crate::{free_port, http_get, repo_root, wait_until};

pub struct PrometheusServer {
    _child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl PrometheusServer {
    /// Start one scraping `127.0.0.1:<port>/metrics` for each of `targets`.
    pub async fn start(targets: &[u16]) -> PrometheusServer {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let rules = repo_root().join("deploy/prometheus/alerts.yml");
        let targets: Vec<String> = targets.iter().map(|port| format!("'127.0.0.1:{port}'")).collect();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - '{}'\n\
             scrape_configs:\n  - job_name: workers\n    static_configs:\n      - targets: [{}]\n",
            rules.display(),
            targets.join(", ")
        );
        let config_file = dir.path().join("prometheus.yml");
        std::fs::write(&config_file, config).expect("write prometheus.yml");
        let port = free_port();
        let child = Command::new(std::env::var("PROMETHEUS_BIN").unwrap_or_else(|_| "prometheus".to_owned()))
            .arg(format!("--config.file={}", config_file.display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("prometheus.log")).expect("log file"))
            .kill_on_drop(true)
            .spawn()
            .expect("spawn prometheus (scripts/install-deps.sh installs it)");
        wait_until("prometheus to be ready", Duration::from_secs(30), || async {
            matches!(http_get(port, "/-/ready").await, Some((200, _)))
        })
        .await;
        PrometheusServer { _child: child, port, _dir: dir }
    }

    /// `GET /api/v1/<path>` → the `data` of a successful answer.
    pub async fn api(&self, path: &str) -> serde_json::Value {
        let (status, body) = http_get(self.port, &format!("/api/v1/{path}")).await.expect("prometheus answers");
        let answer: serde_json::Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"));
        assert_eq!((status, answer["status"].as_str()), (200, Some("success")), "{path}: {body}");
        answer["data"].clone()
    }

    /// The result vector of an instant query (the expression URL-encoded by the caller).
    pub async fn query(&self, encoded_expression: &str) -> Vec<serde_json::Value> {
        self.api(&format!("query?query={encoded_expression}")).await["result"].as_array().cloned().unwrap_or_default()
    }
}
