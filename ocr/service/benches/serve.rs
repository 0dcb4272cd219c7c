//! `lol-ocr serve` under 1, 2 and 8 concurrent clients, beside the in-process pool on the same
//! captures in the same run: requests per second, latency p50/p99, and the HTTP overhead per
//! request (the client's latency minus the reading's own `timings.total`, at one client, so no
//! queueing is counted).
//!
//! `cargo bench -p ocr-service --bench serve -- ../shared/endscreens/real` (part of `make bench-ocr`).

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ocr::scoring;
use ocr_service::pool::OcrPool;
use proto::OcrJobInput;

/// Readings at once, in the server and in the pool alike: the machine's cores.
fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

struct Capture {
    input: OcrJobInput,
    document: Vec<u8>,
    image: Vec<u8>,
}

fn captures(dir: &Path) -> Vec<Capture> {
    let labels = scoring::label_files(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    labels
        .iter()
        .map(|path| {
            let capture = scoring::LabelledCapture::open(path).unwrap();
            let document = serde_json::to_vec(&capture.label["input"]).unwrap();
            Capture { input: capture.input().unwrap(), document, image: capture.image_bytes().unwrap() }
        })
        .collect()
}

/// What one run of every capture gave.
struct Run {
    wall: Duration,
    latencies: Vec<f64>,
    /// Per request: client latency minus the reading's `timings.total`, in ms.
    overheads: Vec<f64>,
    refused: usize,
}

impl Run {
    fn line(&self, what: &str, clients: usize) -> String {
        let mut latencies = self.latencies.clone();
        latencies.sort_by(f64::total_cmp);
        let pick = |q: f64| latencies[((q * latencies.len() as f64) as usize).min(latencies.len() - 1)];
        format!(
            "| {what} | {clients} | {:.2} | {:.0} | {:.0} | {} |",
            latencies.len() as f64 / self.wall.as_secs_f64(),
            pick(0.5),
            pick(0.99),
            self.refused
        )
    }
}

fn total_ms(output: &serde_json::Value) -> f64 {
    output["timings"]["total"].as_f64().unwrap_or(0.0)
}

async fn over_http(client: &reqwest::Client, url: &str, captures: &Arc<Vec<Capture>>, clients: usize) -> Run {
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let workers = (0..clients).map(|_| {
        let (client, url, captures, next) = (client.clone(), url.to_owned(), Arc::clone(captures), Arc::clone(&next));
        tokio::spawn(async move {
            let mut done = Vec::new();
            let mut refused = 0;
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(capture) = captures.get(n) else { break };
                let input = reqwest::multipart::Part::bytes(capture.document.clone()).mime_str("application/json");
                let form = reqwest::multipart::Form::new()
                    .part("input", input.unwrap())
                    .part("image", reqwest::multipart::Part::bytes(capture.image.clone()));
                let sent = Instant::now();
                let response = client.post(format!("{url}/v1/extract")).multipart(form).send().await.unwrap();
                let status = response.status().as_u16();
                let body: serde_json::Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
                let latency = sent.elapsed().as_secs_f64() * 1000.0;
                match status {
                    200 => done.push((latency, latency - total_ms(&body))),
                    _ => refused += 1,
                }
            }
            (done, refused)
        })
    });
    let mut run = Run { wall: Duration::ZERO, latencies: Vec::new(), overheads: Vec::new(), refused: 0 };
    for worker in workers.collect::<Vec<_>>() {
        let (done, refused) = worker.await.unwrap();
        run.latencies.extend(done.iter().map(|d| d.0));
        run.overheads.extend(done.iter().map(|d| d.1));
        run.refused += refused;
    }
    run.wall = started.elapsed();
    run
}

async fn in_process(pool: &OcrPool, captures: &Arc<Vec<Capture>>, clients: usize) -> Run {
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let workers = (0..clients).map(|_| {
        let (pool, captures, next) = (pool.clone(), Arc::clone(captures), Arc::clone(&next));
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(capture) = captures.get(n) else { break };
                let sent = Instant::now();
                pool.read(capture.input.clone(), capture.image.clone()).await.unwrap();
                latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
            }
            latencies
        })
    });
    let mut run = Run { wall: Duration::ZERO, latencies: Vec::new(), overheads: Vec::new(), refused: 0 };
    for worker in workers.collect::<Vec<_>>() {
        run.latencies.extend(worker.await.unwrap());
    }
    run.wall = started.elapsed();
    run
}

#[tokio::main]
async fn main() {
    let dir = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_else(|| format!("{}/../../../shared/endscreens/real", env!("CARGO_MANIFEST_DIR")));
    let captures = Arc::new(captures(Path::new(&dir)));
    let threads = threads();

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    // Queue room for every client, so the figures are readings, not refusals.
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_lol-ocr"))
        .arg("serve")
        .env("OCR_LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("OCR_CONCURRENCY", threads.to_string())
        .env("OCR_QUEUE_DEPTH", "8")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn lol-ocr serve");
    let url = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let ready = Instant::now();
    while !client.get(format!("{url}/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
        assert!(ready.elapsed() < Duration::from_secs(60), "lol-ocr serve not ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let models = ocr::ppocr::PpOcrConfig::default().load().expect("PP-OCR models");
    let pool = OcrPool::new(threads, 0, models).expect("tesseract");

    // Warm both: every engine created, every plan run once.
    over_http(&client, &url, &captures, threads).await;
    in_process(&pool, &captures, threads).await;

    println!("{} captures of {dir}, {threads} readings at once in both\n", captures.len());
    println!("| reader | clients | requests/s | p50 ms | p99 ms | refused |\n|---|---|---|---|---|---|");
    let mut overhead = None;
    for clients in [1, 2, 8] {
        let http = over_http(&client, &url, &captures, clients).await;
        let local = in_process(&pool, &captures, clients).await;
        println!("{}", http.line("`lol-ocr serve` over HTTP", clients));
        println!("{}", local.line("in process (`OcrPool`)", clients));
        if clients == 1 {
            overhead = Some(http);
        }
    }
    if let Some(run) = overhead {
        let mean = run.overheads.iter().sum::<f64>() / run.overheads.len() as f64;
        let ocr = run.latencies.iter().sum::<f64>() / run.latencies.len() as f64 - mean;
        println!(
            "\nHTTP overhead per request at 1 client (latency − the reading's timings.total): mean {mean:.1} ms = {:.1} % of the OCR time ({ocr:.0} ms)",
            100.0 * mean / ocr
        );
    }
    let _ = server.kill();
    let _ = server.wait();
}
