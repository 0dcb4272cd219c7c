//! What the answer's confidences mean, measured on a labelled set with the match's recorded
//! teams altered ([`ocr::roster_variants`]):
//!
//!     OMP_THREAD_LIMIT=1 cargo bench -p ocr --bench confidence [-- DIR]      (make bench-ocr)
//!
//! Every capture is read as labelled, with one player moved to the other team, with one and with
//! two pairs exchanged, and with ten friends who are not on the board. Per variant: how often a
//! side was given (and at ≥ 0.9), how often a conflict was listed and which warning about the
//! teams came with the answer (captures not read at all count as "not read"), how many answers were
//! wrong, and how many rows were given to a player who is not the one on them (the board's players
//! are the same whatever the recorded teams say). Then, over all of them, how often an answer at each confidence
//! level was wrong — the figures behind the README's "fill in / ask / leave empty".

use std::collections::BTreeMap;
use std::path::Path;

use ocr::pipeline::Pipeline;
use ocr::roster_variants::{self, Variant};
use ocr::scoring::LabelledCapture;
use proto::{OcrJobOutput, Side, WarningCode};

/// The confidence levels the README gives the app.
const FILL_IN: f64 = 0.9;
const ASK: f64 = 0.5;

#[derive(Default)]
struct Tally {
    captures: usize,
    asserted: usize,
    asserted_high: usize,
    with_conflict: usize,
    moved: usize,
    moved_listed: usize,
    /// Answers by the warning about the teams they carry (none: "—").
    team_warnings: BTreeMap<String, usize>,
    wrong: usize,
    wrong_high: usize,
    /// Rows matched to another friend than the one the label puts there.
    rows_wrong: usize,
}

/// Answers at one confidence level and how many were wrong.
#[derive(Default, Clone, Copy)]
struct Level {
    answers: usize,
    wrong: usize,
}

fn level(confidence: f64) -> &'static str {
    if confidence >= FILL_IN {
        "≥ 0.9 (fill in)"
    } else if confidence >= ASK {
        "0.5–0.9 (ask to confirm)"
    } else {
        "< 0.5"
    }
}

/// The warning an answer carries about the recorded teams, if any.
fn team_warning(codes: &[WarningCode]) -> String {
    codes
        .iter()
        .find(|code| **code != WarningCode::NoWinnerTitle)
        .map_or_else(|| "—".to_owned(), |code| format!("{code:?}"))
}

fn main() {
    let dir = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_else(|| format!("{}/../../shared/endscreens/real", env!("CARGO_MANIFEST_DIR")));
    let paths = ocr::scoring::label_files(Path::new(&dir)).unwrap_or_else(|e| panic!("{dir}: {e}"));
    let captures: Vec<LabelledCapture> = paths.iter().map(|path| LabelledCapture::open(path).unwrap()).collect();
    let labels: Vec<serde_json::Value> = captures.iter().map(|capture| capture.label.clone()).collect();
    let pool = roster_variants::stranger_pool(&labels);
    let mut pipeline = Pipeline::standard(ocr::ppocr::PpOcrConfig::default().load().expect("PP-OCR models"))
        .expect("tesseract with kor+eng");

    let mut by_variant: BTreeMap<Variant, Tally> = BTreeMap::new();
    let mut side_levels: BTreeMap<&str, Level> = BTreeMap::new();
    let mut winner_levels: BTreeMap<&str, Level> = BTreeMap::new();
    let mut winner_unlabelled = 0;
    for capture in &captures {
        let (label, bytes) = (&capture.label, capture.image_bytes().unwrap());
        let id = label["id"].as_str().unwrap();
        for variant in Variant::ALL {
            let altered = roster_variants::alter(label, variant, &pool);
            let output = pipeline.run(&altered.input, &bytes);
            let tally = by_variant.entry(variant).or_default();
            let rows_wrong = ocr::scoring::score(&output, &label["expected"]).rows_wrong;
            tally.rows_wrong += rows_wrong;
            if rows_wrong > 0 {
                println!("{id} {}: {rows_wrong} row(s) given to another friend", variant.name());
            }
            tally.captures += 1;
            tally.moved += altered.moved.len();
            let OcrJobOutput::Done(reading) = output else {
                println!("{id} {}: not read", variant.name());
                *tally.team_warnings.entry("not read".to_owned()).or_default() += 1;
                continue;
            };
            let confidence = reading.confidence.team_a_side.get();
            let wrong = reading.team_a_side.is_some() && reading.team_a_side != altered.side;
            tally.asserted += usize::from(reading.team_a_side.is_some());
            tally.asserted_high += usize::from(reading.team_a_side.is_some() && confidence >= FILL_IN);
            tally.with_conflict += usize::from(!reading.roster_conflicts.is_empty());
            tally.moved_listed +=
                altered.moved.iter().filter(|id| reading.roster_conflicts.iter().any(|c| c.friend_id == **id)).count();
            let codes: Vec<WarningCode> = reading.warnings.iter().map(|w| w.code).collect();
            *tally.team_warnings.entry(team_warning(&codes)).or_default() += 1;
            tally.wrong += usize::from(wrong);
            tally.wrong_high += usize::from(wrong && confidence >= FILL_IN);
            if wrong || (variant == Variant::Unaltered && reading.team_a_side != altered.side) {
                println!(
                    "{id} {}: team A {:?} at {confidence:.2}, right is {:?}; conflicts {}, warnings {codes:?}",
                    variant.name(),
                    reading.team_a_side,
                    altered.side,
                    reading.roster_conflicts.len()
                );
            }
            if reading.team_a_side.is_some() {
                let level = side_levels.entry(level(confidence)).or_default();
                level.answers += 1;
                level.wrong += usize::from(wrong);
            }
            // The title does not depend on the teams: count it once per capture.
            if variant == Variant::Unaltered && reading.winner_side.is_some() {
                let labelled = label["expected"]["winnerSide"]
                    .as_str()
                    .map(|side| if side == "blue" { Side::Blue } else { Side::Red });
                match labelled {
                    Some(side) => {
                        let level = winner_levels.entry(level(reading.confidence.winner.get())).or_default();
                        level.answers += 1;
                        level.wrong += usize::from(reading.winner_side != Some(side));
                    }
                    None => winner_unlabelled += 1,
                }
            }
        }
    }
    println!(
        "\n| recorded teams | captures | side given | at ≥ 0.9 | a conflict listed | moved players listed | warning about the teams | wrong | wrong at ≥ 0.9 | rows wrong |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (variant, t) in &by_variant {
        let warnings: Vec<String> = t.team_warnings.iter().map(|(code, n)| format!("{n} {code}")).collect();
        println!(
            "| {} | {} | {} | {} | {} | {}/{} | {} | {} | {} | {} |",
            variant.name(),
            t.captures,
            t.asserted,
            t.asserted_high,
            t.with_conflict,
            t.moved_listed,
            t.moved,
            warnings.join(", "),
            t.wrong,
            t.wrong_high,
            t.rows_wrong
        );
    }
    println!("\n| confidence | team A side: answers, wrong | winner: answers, wrong |\n|---|---|---|");
    for name in ["≥ 0.9 (fill in)", "0.5–0.9 (ask to confirm)", "< 0.5"] {
        let (side, winner) =
            (side_levels.get(name).copied().unwrap_or_default(), winner_levels.get(name).copied().unwrap_or_default());
        println!("| {name} | {}, {} | {}, {} |", side.answers, side.wrong, winner.answers, winner.wrong);
    }
    if winner_unlabelled > 0 {
        println!("(a winner was also given on {winner_unlabelled} capture(s) whose label names none)");
    }
}
