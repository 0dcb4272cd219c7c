//! The whole pipeline (real detector, Tesseract and PP-OCR) on the committed fixtures: the output honours the
//! contract, the team A side is right and no row is matched to the wrong friend.

use ocr::pipeline::Pipeline;
use proto::OcrJobOutput;

/// A committed fixture: its job input, its bytes and its label.
fn fixture(stem: &str, extension: &str) -> (proto::OcrJobInput, Vec<u8>, serde_json::Value) {
    let dir = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    let label: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/{stem}.json")).unwrap()).unwrap();
    let input: proto::OcrJobInput = serde_json::from_value(label["input"].clone()).unwrap();
    (input, std::fs::read(format!("{dir}/{stem}.{extension}")).unwrap(), label)
}

fn run(stem: &str, extension: &str) -> (OcrJobOutput, serde_json::Value) {
    let (input, bytes, label) = fixture(stem, extension);
    let models = ocr::ppocr::PpOcrConfig::default().load().expect("the PP-OCR models (scripts/install-deps.sh)");
    let mut pipeline = Pipeline::standard(models).expect("tesseract");
    (pipeline.run(&input, &bytes), label)
}

#[test]
fn fixtures_read_without_a_wrong_answer() {
    for (stem, extension) in [("es1-0002", "jpg"), ("es1-0010", "png"), ("es1-0015", "jpg"), ("es1-0006", "png")] {
        let (output, label) = run(stem, extension);
        // What lol-ocr prints is valid by the schema in proto/.
        let reparsed: OcrJobOutput = proto::decode(&proto::encode(&output)).expect("output honours the contract");
        assert_eq!(reparsed, output);
        let OcrJobOutput::Done(reading) = &output else { panic!("{stem}: {output:?}") };
        println!(
            "{stem}: title {:?}, winner {:?}, team A {:?}",
            reading.ocr.winner_text_candidates, reading.winner_side, reading.team_a_side
        );
        let score = ocr::scoring::score(&output, &label["expected"]);
        println!("{stem}: {score:?}");
        assert_eq!(score.rows_wrong, 0, "{stem}: a row matched to the wrong friend");
        if label["capture"] != "half" {
            assert!(score.side_right, "{stem}: team A side");
            assert!(score.rows_right >= 8, "{stem}: {score:?}");
        }
    }
}

/// The recogniser reads every name first and has no Hangul: a Hangul name's row must still be
/// read and matched, by Tesseract's looks.
#[test]
fn hangul_names_are_left_to_tesseract() {
    let (output, label) = run("es1-0015", "jpg");
    let OcrJobOutput::Done(reading) = &output else { panic!("es1-0015: {output:?}") };
    let mut hangul_rows = 0;
    for expected in label["expected"]["assignments"].as_array().expect("assignments") {
        let name = expected["name"].as_str().expect("name");
        if !name.chars().any(|c| ('\u{AC00}'..='\u{D7A3}').contains(&c)) {
            continue;
        }
        hangul_rows += 1;
        let row = expected["row"].as_u64().expect("row") as usize;
        let matched = &reading.matching[if expected["side"] == "blue" { row } else { 5 + row }];
        assert_eq!(
            matched.friend_id.map(|id| id.to_string()).as_deref(),
            expected["friendId"].as_str(),
            "{name}: read {:?}",
            matched.raw
        );
    }
    assert!(hangul_rows >= 5, "the fixture has {hangul_rows} Hangul names");
}

/// Without the recogniser (`PPOCR_REC_MODEL=` empty) Tesseract reads every name first: the
/// fixtures still read without a wrong friend.
#[test]
fn fixtures_read_without_the_recogniser() {
    let off = ocr::ppocr::PpOcrConfig { ppocr_rec_model: String::new(), ..Default::default() };
    let mut pipeline = Pipeline::standard(off.load().expect("the detector")).expect("tesseract");
    for (stem, extension) in [("es1-0002", "jpg"), ("es1-0010", "png")] {
        let (input, bytes, label) = fixture(stem, extension);
        let output = pipeline.run(&input, &bytes);
        let score = ocr::scoring::score(&output, &label["expected"]);
        println!("{stem} without the recogniser: {score:?}");
        assert_eq!(score.rows_wrong, 0, "{stem}: a row matched to the wrong friend");
        assert!(score.side_right && score.rows_right >= 8, "{stem}: {score:?}");
    }
}
