//! Accuracy and speed of the pipeline on a labelled set:
//!
//!     OMP_THREAD_LIMIT=1 cargo bench -p ocr-service --bench accuracy [-- DIR]      (make bench-ocr)
//!
//! DIR defaults to `../shared/endscreens/real` beside the repository (the real captures, which
//! judge the OCR); `make bench-ocr` then runs `../shared/endscreens/public` (synthetic) too.
//! Categories are source, language and capture kind. One engine, one thread,
//! warm (the first image is read twice and its first timing dropped). Prints per-category
//! results, every failure, time per capture, peak memory, and the `lol-ocr` cold start.
//!
//! The same run also measures the original plan's way — PP-OCRv4 over the whole image, a new
//! Python process per job (`bench/ppocr/read_scoreboard.py`) — for time per job and names read
//! exactly, beside ours, with the Python interpreter `PPOCR_PYTHON` (default `python3`), which
//! needs the PyPI package `rapidocr-onnxruntime`: `make bench-ocr` makes a virtualenv with
//! `bench/ppocr/requirements.txt` for it. `BENCH_NO_PPOCR=1` leaves it out.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use ocr::pipeline::Pipeline;
use ocr::scoring::{self, LabelledCapture, Tally};

fn main() {
    let dir = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_else(|| format!("{}/../../../shared/endscreens/real", env!("CARGO_MANIFEST_DIR")));
    let labels = scoring::label_files(Path::new(&dir)).unwrap_or_else(|e| panic!("{dir}: {e}"));

    let started = Instant::now();
    // As deployed: Tesseract, and PP-OCR for unmatched rows (`PPOCR_REC_MODEL=` measures Tesseract alone).
    let mut models = ocr::ppocr::PpOcrConfig::default();
    if let Ok(rec) = std::env::var("PPOCR_REC_MODEL") {
        models.ppocr_rec_model = rec;
    }
    let mut pipeline = Pipeline::standard(models.load().expect("PP-OCR models")).expect("tesseract with kor+eng");
    println!("engine ready in {:.0} ms", started.elapsed().as_secs_f64() * 1000.0);

    let mut all = Tally::default();
    let mut by_category: BTreeMap<String, Tally> = BTreeMap::new();
    let mut times = Vec::new();
    // Milliseconds of each pipeline step, one entry per capture that ran it.
    let mut steps: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut names_read: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (n, path) in labels.iter().enumerate() {
        let capture = LabelledCapture::open(path).unwrap();
        let (label, input, bytes) = (&capture.label, capture.input().expect("input"), capture.image_bytes().unwrap());
        if n == 0 {
            pipeline.run(&input, &bytes); // warm-up
        }
        let t0 = Instant::now();
        let output = pipeline.run(&input, &bytes);
        times.push(t0.elapsed().as_secs_f64() * 1000.0);
        let timings = match &output {
            proto::OcrJobOutput::Done(reading) => &reading.timings,
            proto::OcrJobOutput::Failed(failure) => &failure.timings,
        };
        for (step, ms) in timings {
            steps.entry(step.clone()).or_default().push(*ms);
        }
        let score = scoring::score(&output, &label["expected"]);
        // Every capture counts for the winner here, a `null` label too (the README says so).
        let read = matches!(output, proto::OcrJobOutput::Done(_));
        all.add(score, read, true);
        // Real captures name their source repository; the synthetic set has one generator.
        let source = label["source"]["repository"].as_str().map_or("synthetic", |r| r.split('/').next().unwrap_or(r));
        let category = format!("{source} {} {}", label["lang"].as_str().unwrap(), label["capture"].as_str().unwrap());
        by_category.entry(category).or_default().add(score, read, true);
        if let proto::OcrJobOutput::Done(reading) = &output {
            let rows = reading.parsed.blue.iter().chain(&reading.parsed.red);
            let texts: Vec<String> = rows.map(|row| row.game_name.clone()).collect();
            let tally = names_read.entry(label["lang"].as_str().unwrap().to_owned()).or_default();
            tally.0 += exact_names(label, &texts);
            tally.1 += 10;
        }
        if !score.winner_right || !score.side_right || score.rows_wrong > 0 || score.rows_missed > 0 {
            let status = match &output {
                proto::OcrJobOutput::Done(_) => "done".to_owned(),
                proto::OcrJobOutput::Failed(f) => format!("failed: {}", f.error.message),
            };
            println!("{}: {score:?} ({status})", label["id"].as_str().unwrap());
        }
    }
    println!("\n| capture | n | winner | team A side | rows → friend | wrong |\n|---|---|---|---|---|---|");
    for (category, tally) in &by_category {
        println!("| {category} | {} | {}", tally.captures, tally.cells());
    }
    println!("| all | {} | {}", all.captures, all.cells());
    times.sort_by(f64::total_cmp);
    let pick = |q: f64| times[((q * times.len() as f64) as usize).min(times.len() - 1)];
    println!(
        "\ntime per capture (warm, one thread): p50 {:.0} ms, p90 {:.0} ms, max {:.0} ms",
        pick(0.5),
        pick(0.9),
        pick(1.0)
    );
    println!("{}", step_line(&steps));
    println!("peak memory of this process (one engine, VmHWM): {}", peak_memory());
    cold_start(&labels[0]);
    println!("\nnames read exactly (first look, before matching): {}", name_line(&names_read));
    if std::env::var_os("BENCH_NO_PPOCR").is_none() {
        pp_ocr(&labels);
    }
}

/// The median of every step over the captures that ran it (`names_alone`, `second_looks` and
/// `name_shapes` run only when a row is unmatched, so their counts are given), in pipeline order.
fn step_line(steps: &BTreeMap<String, Vec<f64>>) -> String {
    const ORDER: [&str; 11] = [
        "decode",
        "detect",
        "layout",
        "title",
        "names",
        "names_alone",
        "names_tesseract",
        "second_looks",
        "matching",
        "name_shapes",
        "total",
    ];
    let captures = steps.get("total").map_or(0, Vec::len);
    let cells: Vec<String> = ORDER
        .iter()
        .filter_map(|&step| {
            let mut times = steps.get(step)?.clone();
            times.sort_by(f64::total_cmp);
            let median = times[times.len() / 2];
            Some(if times.len() == captures {
                format!("{step} {median:.0}")
            } else {
                format!("{step} {median:.0} (on {} of {captures})", times.len())
            })
        })
        .collect();
    format!("median ms per step: {}", cells.join(", "))
}

/// How many of the capture's ten labelled names are among `texts`, compared as the matcher
/// does before fuzzy scoring (NFC, case, spaces).
fn exact_names(label: &serde_json::Value, texts: &[String]) -> usize {
    let read: Vec<String> = texts.iter().map(|t| ocr::normalize::plain(t)).collect();
    ["team1", "team2"]
        .iter()
        .flat_map(|team| label[team].as_array().into_iter().flatten())
        .filter_map(|name| name.as_str())
        .filter(|name| read.contains(&ocr::normalize::plain(name)))
        .count()
}

fn name_line(tally: &BTreeMap<String, (usize, usize)>) -> String {
    let pct = |(right, all): (usize, usize)| 100.0 * right as f64 / all.max(1) as f64;
    let total = tally.values().fold((0, 0), |acc, t| (acc.0 + t.0, acc.1 + t.1));
    let per_language: Vec<String> = tally.iter().map(|(lang, t)| format!("{lang} {:.1} %", pct(*t))).collect();
    format!("{:.1} % ({})", pct(total), per_language.join(", "))
}

fn peak_memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| status.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l[6..].trim().to_owned()))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// `lol-ocr extract` on one capture, five times: process start, engine start, one reading.
fn cold_start(label_path: &Path) {
    let LabelledCapture { label, image_path: image } = LabelledCapture::open(label_path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("job.json");
    std::fs::write(&input, label["input"].to_string()).unwrap();
    let mut times: Vec<f64> = (0..5)
        .map(|_| {
            let started = Instant::now();
            let status = Command::new(env!("CARGO_BIN_EXE_lol-ocr"))
                .arg("extract")
                .arg("--input")
                .arg(&input)
                .arg("--image")
                .arg(&image)
                .output()
                .expect("run lol-ocr");
            assert!(status.status.success(), "lol-ocr failed on {}", image.display());
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!("lol-ocr cold start, one capture end to end (median of 5): {:.0} ms", times[2]);
}

/// The original plan's reader, where it is installed.
fn pp_ocr(labels: &[std::path::PathBuf]) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench/ppocr/read_scoreboard.py");
    let python = std::env::var("PPOCR_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let available = Command::new(&python).args(["-c", "import rapidocr_onnxruntime"]).output();
    if !available.is_ok_and(|o| o.status.success()) {
        println!("PP-OCRv4 comparison skipped: {python} has no `rapidocr_onnxruntime` (`make bench-ocr` installs it)");
        return;
    }
    let mut times = Vec::new();
    let mut names_read: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for path in labels {
        let LabelledCapture { label, image_path: image } = LabelledCapture::open(path).unwrap();
        let started = Instant::now();
        let output = Command::new(&python).arg(script).arg(&image).output().expect("run the PP-OCR script");
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        let texts: Vec<String> = serde_json::from_slice(&output.stdout).unwrap_or_default();
        let tally = names_read.entry(label["lang"].as_str().unwrap().to_owned()).or_default();
        tally.0 += exact_names(&label, &texts);
        tally.1 += 10;
    }
    times.sort_by(f64::total_cmp);
    println!(
        "PP-OCRv4 (rapidocr-onnxruntime), a Python process per job: p50 {:.0} ms per job; names read exactly {}",
        times[times.len() / 2],
        name_line(&names_read)
    );
}
