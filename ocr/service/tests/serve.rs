//! `lol-ocr serve` as callers meet it: the real binary on a real port, real captures, bad
//! requests, a crowd, a deadline, a signal. Every answer is checked against the OpenAPI file in
//! `proto/openapi/`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ocr::pipeline::Pipeline;
use ocr::ppocr::PpOcrConfig;
use ocr::scoring;
use serde_json::Value;
use testkit::{OcrServer, Reply, http_get, wait_until};

fn real_labels() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/endscreens/real");
    let labels = scoring::label_files(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    assert!(labels.len() >= 30, "the real set lost captures: {}", labels.len());
    labels
}

/// A real capture's job input (as JSON) and image.
fn real_capture(label_path: &Path) -> (Vec<u8>, Vec<u8>) {
    let capture = scoring::LabelledCapture::open(label_path).unwrap();
    (serde_json::to_vec(&capture.label["input"]).unwrap(), capture.image_bytes().unwrap())
}

fn first_capture() -> (Vec<u8>, Vec<u8>) {
    real_capture(&real_labels()[0])
}

fn openapi() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto/openapi/lol-ocr.yaml");
    let document: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    serde_json::to_value(document).unwrap()
}

/// The answer is one the OpenAPI file declares for `POST /v1/extract`: its status, its
/// `Retry-After` where declared, and a body valid by the declared schema.
fn assert_conforms(reply: &Reply) {
    let api = openapi();
    let response = &api["paths"]["/v1/extract"]["post"]["responses"][reply.status.to_string()];
    assert!(response.is_object(), "status {} is not declared in the OpenAPI file", reply.status);
    if response["headers"]["Retry-After"].is_object() {
        assert!(reply.retry_after.is_some(), "{} without Retry-After", reply.status);
    }
    let reference = response["content"]["application/json"]["schema"]["$ref"].as_str().unwrap();
    let schema = match reference.strip_prefix("../schemas/") {
        Some(file) => {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto/schemas").join(file);
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
        }
        None => api["components"]["schemas"][reference.trim_start_matches("#/components/schemas/")].clone(),
    };
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> = validator.iter_errors(&reply.body).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{} answer not by {reference}: {errors:?}\n{}", reply.status, reply.body);
}

fn code(reply: &Reply) -> &str {
    reply.body["error"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {}", reply.body))
}

/// The output without what records time, which no two readings share.
fn without_timings(mut output: Value) -> Value {
    output.as_object_mut().map(|o| o.remove("timings"));
    output
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_real_capture_reads_over_http_as_it_reads_in_process() {
    let server = OcrServer::start(&[("OCR_CONCURRENCY", "1")]).await;
    let models = PpOcrConfig::default().load().expect("PP-OCR models");
    let pipeline = Arc::new(Mutex::new(Pipeline::standard(models).expect("tesseract")));
    let mut differ = Vec::new();
    for label in real_labels() {
        let (input, image) = real_capture(&label);
        let in_process = {
            let (pipeline, input, image) = (Arc::clone(&pipeline), input.clone(), image.clone());
            tokio::task::spawn_blocking(move || {
                let input = ocr::job_input::parse(&input).expect("a valid input");
                let output = pipeline.lock().unwrap().run(&input, &image);
                serde_json::to_value(output).unwrap()
            })
        };
        let (reply, in_process) = tokio::join!(server.extract(&input, &image), in_process);
        assert_conforms(&reply);
        assert_eq!(reply.status, 200, "{}: {}", label.display(), reply.body);
        if without_timings(reply.body) != without_timings(in_process.unwrap()) {
            differ.push(label.display().to_string());
        }
    }
    assert!(differ.is_empty(), "served answers differ from in-process ones on {differ:?}");
}

#[tokio::test]
async fn bad_requests_get_their_reason_and_the_server_stays_up() {
    let server = OcrServer::start(&[("OCR_MAX_BODY_BYTES", "2000000")]).await;
    let (input, image) = first_capture();
    let mut other_profile: Value = serde_json::from_slice(&input).unwrap();
    other_profile["roiProfile"] = "DOTA_V2".into();
    let mut no_friends: Value = serde_json::from_slice(&input).unwrap();
    no_friends.as_object_mut().unwrap().remove("friendDictionary");
    let dark = {
        let mut png = Vec::new();
        let pixels = image::RgbImage::from_pixel(1280, 720, image::Rgb([8, 16, 24]));
        pixels.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
        png
    };

    let cases: Vec<(&str, Reply, u16, &str)> = vec![
        ("not multipart", server.post_raw("application/json", input.clone()).await, 400, "INVALID_INPUT"),
        ("input not JSON", server.extract(b"{not json", &image).await, 400, "INVALID_INPUT"),
        (
            "input against the schema",
            server.extract(&serde_json::to_vec(&no_friends).unwrap(), &image).await,
            400,
            "INVALID_INPUT",
        ),
        (
            "unknown profile",
            server.extract(&serde_json::to_vec(&other_profile).unwrap(), &image).await,
            400,
            "UNKNOWN_ROI_PROFILE",
        ),
        ("no image part", server.post(only_input(&input), &[]).await, 400, "INVALID_INPUT"),
        ("not an image", server.extract(&input, b"the match report, not a screenshot").await, 422, "NOT_AN_IMAGE"),
        (
            "decompression bomb",
            server.extract(&input, &testkit::png_bomb(30_000, 30_000)).await,
            422,
            "IMAGE_TOO_LARGE",
        ),
        ("not a scoreboard", server.extract(&input, &dark).await, 422, "NOT_A_SCOREBOARD"),
        ("body over the limit", server.post_refused_early(3_000_000).await, 413, "REQUEST_TOO_LARGE"),
    ];
    for (what, reply, status, want) in &cases {
        assert_eq!(reply.status, *status, "{what}: {}", reply.body);
        assert_conforms(reply);
        assert_eq!(code(reply), *want, "{what}");
    }
    let reply = server.extract(&input, &image).await;
    assert_eq!(reply.status, 200, "a good request after the bad ones: {}", reply.body);
    let metrics = http_get(server.port(), "/metrics").await.expect("/metrics").1;
    for (status, count) in [(400, 5), (413, 1), (422, 3), (200, 1)] {
        let series = format!("lol_ocr_requests_total{{status=\"{status}\"}} {count}\n");
        assert!(metrics.contains(&series), "{series} in\n{metrics}");
    }
}

fn only_input(input: &[u8]) -> reqwest::multipart::Form {
    let part = reqwest::multipart::Part::bytes(input.to_vec()).mime_str("application/json").unwrap();
    reqwest::multipart::Form::new().part("input", part)
}

#[tokio::test]
async fn a_request_past_its_deadline_is_answered_504() {
    // A real capture takes far longer than 50 ms to read.
    let server = OcrServer::start(&[("OCR_REQUEST_TIMEOUT_MS", "50")]).await;
    let (input, image) = first_capture();
    let reply = server.extract(&input, &image).await;
    assert_conforms(&reply);
    assert_eq!((reply.status, code(&reply)), (504, "DEADLINE_EXCEEDED"), "{}", reply.body);
    assert_eq!(http_get(server.port(), "/healthz").await.map(|r| r.0), Some(200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crowd_past_the_queue_gets_only_200_and_503_and_memory_stays_bounded() {
    let server = Arc::new(OcrServer::start(&[("OCR_CONCURRENCY", "1"), ("OCR_QUEUE_DEPTH", "1")]).await);
    let (input, image) = first_capture();
    let requests = (0..8).map(|_| {
        let (server, input, image) = (Arc::clone(&server), input.clone(), image.clone());
        tokio::spawn(async move { server.extract(&input, &image).await })
    });
    let replies: Vec<Reply> = futures::future::join_all(requests).await.into_iter().map(Result::unwrap).collect();
    let mut statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    statuses.sort();
    for reply in &replies {
        assert_conforms(reply);
    }
    assert!(statuses.iter().all(|s| [200, 503].contains(s)), "{statuses:?}");
    // One reading and one waiting are admitted; the other six arrive while both places are taken.
    assert!(statuses.iter().filter(|s| **s == 200).count() >= 2, "{statuses:?}");
    assert!(statuses.contains(&503), "{statuses:?}");
    assert!(replies.iter().filter(|r| r.status == 503).all(|r| code(r) == "OVERLOADED"));
    // One engine, one capture read at a time, bodies of refused requests read and dropped, never kept.
    let peak = server.peak_memory_mib();
    assert!(peak < 600, "peak memory {peak} MiB");
    assert_eq!(server.extract(&input, &image).await.status, 200, "the server reads again after the crowd");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_request_in_flight_finish() {
    let mut server = OcrServer::start(&[]).await;
    let (input, image) = first_capture();
    let terminate_while_reading = async {
        wait_until("a reading in flight", Duration::from_secs(30), || async {
            http_get(server.port(), "/metrics").await.is_some_and(|(_, m)| m.contains("lol_ocr_in_flight 1\n"))
        })
        .await;
        server.terminate();
    };
    let (reply, ()) = tokio::join!(server.extract(&input, &image), terminate_while_reading);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let status = server.child().wait().await.unwrap();
    assert!(status.success(), "lol-ocr serve exits cleanly after SIGTERM: {status}");
}

#[tokio::test]
async fn a_model_that_does_not_load_stops_the_server() {
    let port = testkit::free_port();
    let mut child = OcrServer::spawn(port, &[("PPOCR_DET_MODEL", "/nonexistent/det.onnx")]);
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.expect("exits").unwrap();
    assert!(!status.success(), "never ready must not look alive: {status}");
}

#[tokio::test]
async fn the_callers_trace_continues_inside_the_server() {
    let collector = testkit::OtlpCollector::start().await;
    let endpoint = collector.endpoint();
    let mut server = OcrServer::start(&[("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str())]).await;
    let (input, image) = first_capture();
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let traceparent = format!("00-{trace_id}-00f067aa0ba902b7-01");
    let reply = server.post(server.form(&input, &image), &[("traceparent", &traceparent)]).await;
    assert_eq!(reply.status, 200);
    // SIGTERM: the server flushes its spans before it exits.
    server.terminate();
    assert!(server.child().wait().await.unwrap().success());
    wait_until("the server's spans in the caller's trace", Duration::from_secs(30), || async {
        let names: Vec<String> = collector
            .spans()
            .iter()
            .filter(|s| s["trace_id"] == trace_id)
            .filter_map(|s| s["name"].as_str().map(str::to_owned))
            .collect();
        names.iter().any(|n| n == "POST /v1/extract") && names.iter().any(|n| n == "ocr detect")
    })
    .await;
    let spans: Vec<Value> = collector.spans().into_iter().filter(|s| s["trace_id"] == trace_id).collect();
    let named = |name: &str| spans.iter().find(|s| s["name"] == name).unwrap_or_else(|| panic!("{name}: {spans:#?}"));
    assert_eq!(named("POST /v1/extract")["parent_span_id"], "00f067aa0ba902b7", "a child of the caller's span");
    assert_eq!(named("POST /v1/extract")["service"], "lol-ocr");
    assert_eq!(
        named("ocr detect")["parent_span_id"],
        named("POST /v1/extract")["span_id"],
        "the steps under the request"
    );
}
