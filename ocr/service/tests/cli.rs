//! `lol-ocr extract` as a person or a script runs it: stdout is the output JSON (valid by the
//! contract, also on failure), the exit code follows the status, the image comes from a file or
//! from a real S3 API server, and `--debug-image` writes a picture.

use std::path::{Path, PathBuf};
use std::process::Output;

use proto::{OcrErrorCode, OcrJobOutput, Side};
use testkit::TestBucket;

const FIXTURE: &str = "es1-0002";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures").join(name)
}

/// The fixture's job input, pointed at `bucket`/`key`, written to a file in `dir`.
fn job_file(dir: &Path, bucket: &str, key: &str) -> PathBuf {
    let mut input = testkit::endscreen::fixture_input(&fixture(&format!("{FIXTURE}.json")));
    input.s3.bucket = bucket.to_owned();
    input.s3.key = key.to_owned();
    let path = dir.join("job.json");
    std::fs::write(&path, proto::encode(&input)).unwrap();
    path
}

fn lol_ocr(args: &[&std::ffi::OsStr], s3_endpoint: &str) -> (Output, OcrJobOutput) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_lol-ocr"))
        .arg("extract")
        .args(args)
        .env("S3_ENDPOINT", s3_endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("OMP_THREAD_LIMIT", "1")
        .output()
        .expect("run lol-ocr");
    let parsed = proto::decode::<OcrJobOutput>(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is not a valid output ({e}): {}", String::from_utf8_lossy(&output.stdout)));
    (output, parsed)
}

fn failure_code(output: &OcrJobOutput) -> OcrErrorCode {
    match output {
        OcrJobOutput::Failed(failure) => failure.error.code,
        OcrJobOutput::Done(_) => panic!("expected a failure, got a reading"),
    }
}

#[test]
fn reads_a_file_and_draws_the_debug_image() {
    let dir = tempfile::tempdir().unwrap();
    let job = job_file(dir.path(), "unused", "unused");
    let debug = dir.path().join("debug.png");
    let image = fixture(&format!("{FIXTURE}.jpg"));
    let (process, output) = lol_ocr(
        &[
            "--input".as_ref(),
            job.as_os_str(),
            "--image".as_ref(),
            image.as_os_str(),
            "--debug-image".as_ref(),
            debug.as_os_str(),
        ],
        "",
    );
    assert!(process.status.success(), "{}", String::from_utf8_lossy(&process.stderr));
    let OcrJobOutput::Done(reading) = output else { panic!("not done") };
    assert_eq!(reading.winner_side, Some(Side::Blue));
    assert!(!reading.timings.contains_key("download"), "no download when --image is given");
    let drawn = image::open(&debug).expect("the debug image is a PNG");
    let original = image::open(&image).unwrap();
    assert_eq!((drawn.width(), drawn.height()), (original.width(), original.height()));
    assert_ne!(drawn.to_rgb8(), original.to_rgb8(), "something is drawn on it");
}

#[tokio::test]
async fn downloads_from_s3_and_reports_a_missing_object() {
    let bucket = TestBucket::create().await;
    let key = "attachments/m1/scoreboard.jpg";
    bucket.put(key, std::fs::read(fixture(&format!("{FIXTURE}.jpg"))).unwrap()).await;
    let dir = tempfile::tempdir().unwrap();

    let job = job_file(dir.path(), &bucket.name, key);
    let (process, output) = lol_ocr(&["--input".as_ref(), job.as_os_str()], &bucket.endpoint);
    assert!(process.status.success(), "{}", String::from_utf8_lossy(&process.stderr));
    let OcrJobOutput::Done(reading) = output else { panic!("not done") };
    assert!(reading.timings.contains_key("download"));

    let job = job_file(dir.path(), &bucket.name, "attachments/m1/never-uploaded.jpg");
    let (process, output) = lol_ocr(&["--input".as_ref(), job.as_os_str()], &bucket.endpoint);
    assert_eq!(process.status.code(), Some(1));
    assert_eq!(failure_code(&output), OcrErrorCode::ImageNotFound);
}

#[test]
fn a_text_file_is_not_an_image() {
    let dir = tempfile::tempdir().unwrap();
    let job = job_file(dir.path(), "unused", "unused");
    let text = dir.path().join("notes.png");
    std::fs::write(&text, "these are not pixels").unwrap();
    let (process, output) = lol_ocr(&["--input".as_ref(), job.as_os_str(), "--image".as_ref(), text.as_os_str()], "");
    assert_eq!(process.status.code(), Some(1));
    assert_eq!(failure_code(&output), OcrErrorCode::NotAnImage);
}

#[test]
fn an_unknown_profile_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let job = job_file(dir.path(), "unused", "unused");
    let document = std::fs::read_to_string(&job).unwrap().replace("LOL_ENDSCREEN_V1", "LOL_ENDSCREEN_V9");
    std::fs::write(&job, document).unwrap();
    let (process, output) = lol_ocr(&["--input".as_ref(), job.as_os_str()], "");
    assert_eq!(process.status.code(), Some(1));
    assert_eq!(failure_code(&output), OcrErrorCode::UnknownRoiProfile);
    assert!(String::from_utf8_lossy(&process.stderr).contains("LOL_ENDSCREEN_V9"));
}
