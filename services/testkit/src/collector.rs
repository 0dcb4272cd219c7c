//! A real OpenTelemetry collector for trace tests: `rotel-agent` (PyPI `rotel`) on loopback,
//! with Python processors (`tests/otel/spans_to_file.py`, `metrics_to_file.py`) that write every
//! span and metric it receives to JSON-lines files the test reads back.

use std::path::{Path, PathBuf};
use std::time::Duration;

pub struct OtlpCollector {
    child: std::process::Child,
    http_port: u16,
    spans: PathBuf,
    metrics: PathBuf,
    _dir: tempfile::TempDir,
}

impl OtlpCollector {
    pub async fn start() -> OtlpCollector {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (spans, metrics) = (dir.path().join("spans.jsonl"), dir.path().join("metrics.jsonl"));
        let processors = crate::repo_root().join("tests/otel");
        let (grpc_port, http_port) = (crate::free_port(), crate::free_port());
        let bin = std::env::var("ROTEL_AGENT_BIN").unwrap_or_else(|_| "rotel-agent".to_owned());
        let child = std::process::Command::new(&bin)
            .arg("start")
            .args(["--otlp-grpc-endpoint", &format!("127.0.0.1:{grpc_port}")])
            .args(["--otlp-http-endpoint", &format!("127.0.0.1:{http_port}")])
            .args(["--exporter", "blackhole"])
            .arg("--otlp-with-trace-processor")
            .arg(processors.join("spans_to_file.py"))
            .arg("--otlp-with-metrics-processor")
            .arg(processors.join("metrics_to_file.py"))
            .arg("--pid-file")
            .arg(dir.path().join("rotel.pid"))
            .env("SPANS_FILE", &spans)
            .env("METRICS_FILE", &metrics)
            // The metrics processor imports helpers from the spans processor.
            .env("PYTHONPATH", &processors)
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("rotel.log")).expect("log file"))
            .spawn()
            .unwrap_or_else(|e| panic!("starting {bin} (scripts/install-deps.sh installs it): {e}"));
        crate::wait_until("the collector to listen", Duration::from_secs(30), || async move {
            tokio::net::TcpStream::connect(("127.0.0.1", http_port)).await.is_ok()
        })
        .await;
        OtlpCollector { child, http_port, spans, metrics, _dir: dir }
    }

    /// The OTLP/HTTP base URL, for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<serde_json::Value> {
        read_lines(&self.spans)
    }

    /// Every metric received so far (one entry per metric per export).
    pub fn metrics(&self) -> Vec<serde_json::Value> {
        read_lines(&self.metrics)
    }
}

fn read_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).expect("the processors write JSON lines"))
        .collect()
}

impl Drop for OtlpCollector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
