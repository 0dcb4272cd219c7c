//! The whole pipeline (real detector, Tesseract and PP-OCR) on the committed fixtures: the output honours the
//! contract, the team A side is right and no row is matched to the wrong friend.

use ocr::pipeline::Pipeline;
use proto::OcrJobOutput;

fn run(stem: &str, extension: &str) -> (OcrJobOutput, serde_json::Value) {
    let dir = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    let label: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/{stem}.json")).unwrap()).unwrap();
    let input: proto::OcrJobInput = serde_json::from_value(label["input"].clone()).unwrap();
    let bytes = std::fs::read(format!("{dir}/{stem}.{extension}")).unwrap();
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
