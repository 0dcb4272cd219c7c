//! Accuracy and speed of the pipeline on the labelled public set:
//!
//!     OMP_THREAD_LIMIT=1 cargo bench -p ocr --bench accuracy [-- DIR]
//!
//! DIR defaults to `../shared/endscreens/public` beside the repository. One engine, one thread,
//! warm (the first image is read twice and its first timing dropped). Prints per-category
//! results, every failure, and time per capture.

use std::collections::BTreeMap;
use std::time::Instant;

use ocr::engine::TesseractReader;
use ocr::pipeline::Pipeline;
use ocr::scoring::{self, Score};

#[derive(Default)]
struct Tally {
    captures: usize,
    winner: usize,
    side: usize,
    rows: usize,
    rows_right: usize,
    rows_wrong: usize,
}

impl Tally {
    fn add(&mut self, score: Score) {
        self.captures += 1;
        self.winner += usize::from(score.winner_right);
        self.side += usize::from(score.side_right);
        self.rows += score.rows_right + score.rows_wrong + score.rows_missed;
        self.rows_right += score.rows_right;
        self.rows_wrong += score.rows_wrong;
    }

    fn line(&self, name: &str) -> String {
        let pct = |n: usize, d: usize| 100.0 * n as f64 / d.max(1) as f64;
        format!(
            "| {name} | {} | {:.1} % | {:.1} % | {:.1} % | {} |",
            self.captures,
            pct(self.winner, self.captures),
            pct(self.side, self.captures),
            pct(self.rows_right, self.rows),
            self.rows_wrong
        )
    }
}

fn main() {
    let dir = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_else(|| format!("{}/../../shared/endscreens/public", env!("CARGO_MANIFEST_DIR")));
    let mut labels: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    labels.sort();

    let started = Instant::now();
    let reader = TesseractReader::new(ocr::LANGUAGES).expect("tesseract with kor+eng");
    let mut pipeline = Pipeline::new(reader);
    println!("engine ready in {:.0} ms", started.elapsed().as_secs_f64() * 1000.0);

    let mut all = Tally::default();
    let mut by_category: BTreeMap<String, Tally> = BTreeMap::new();
    let mut times = Vec::new();
    for (n, path) in labels.iter().enumerate() {
        let label: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let input: proto::OcrJobInput = serde_json::from_value(label["input"].clone()).expect("input");
        let bytes = std::fs::read(path.with_file_name(label["file"].as_str().unwrap())).unwrap();
        if n == 0 {
            pipeline.run(&input, &bytes); // warm-up
        }
        let t0 = Instant::now();
        let output = pipeline.run(&input, &bytes);
        times.push(t0.elapsed().as_secs_f64() * 1000.0);
        let score = scoring::score(&output, &label["expected"]);
        all.add(score);
        let category = format!("{} {}", label["lang"].as_str().unwrap(), label["capture"].as_str().unwrap());
        by_category.entry(category).or_default().add(score);
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
        println!("{}", tally.line(category));
    }
    println!("{}", all.line("all"));
    times.sort_by(f64::total_cmp);
    let pick = |q: f64| times[((q * times.len() as f64) as usize).min(times.len() - 1)];
    println!(
        "\ntime per capture (warm, one thread): p50 {:.0} ms, p90 {:.0} ms, max {:.0} ms",
        pick(0.5),
        pick(0.9),
        pick(1.0)
    );
}
