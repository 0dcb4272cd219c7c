//! The layout (real PP-OCR detector) against labelled captures: on the committed synthetic
//! fixtures every labelled name's ink lies inside its cell; on every real capture in
//! `../shared/endscreens/real` two tables of five name cells are found inside the image and the
//! whole pipeline's winner and team A side equal the labels, with no roster conflict or warning.
//! Labels are read here only, to check.

use std::path::{Path, PathBuf};

use ocr::detect::TextDetector;
use ocr::layout::{self, Cell, Layout};
use ocr::pipeline::Pipeline;
use ocr::scoring::LabelledCapture;
use proto::{OcrJobOutput, WarningCode};

fn detector() -> TextDetector {
    // The detector alone: the recognition model is not needed to find the layout.
    let config = ocr::ppocr::PpOcrConfig { ppocr_rec_model: String::new(), ..Default::default() };
    config.load().and_then(|models| models.detector()).expect("the detection model (scripts/install-deps.sh)")
}

fn find(detector: &mut TextDetector, image_path: &Path) -> Result<(image::RgbImage, Layout), String> {
    let image = ocr::decode::decode(&std::fs::read(image_path).unwrap()).unwrap();
    let boxes = detector.detect(&image).map_err(|e| e.to_string())?;
    let found = layout::find(&image, &boxes).map_err(|e| e.to_string())?;
    Ok((image, found))
}

#[test]
fn name_cells_hold_the_names_on_every_fixture() {
    let mut detector = detector();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for name in ["es1-0002.jpg", "es1-0006.png", "es1-0010.png", "es1-0015.jpg"] {
        let path = dir.join(name);
        let (_, found) = find(&mut detector, &path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let label = LabelledCapture::open(&path.with_extension("json")).unwrap().label;
        for (team, cells) in [("team1", &found.blue), ("team2", &found.red)] {
            let boxes = label["details"]["nameBoxes"][team].as_array().unwrap();
            for (row, (b, cell)) in boxes.iter().zip(cells.iter()).enumerate() {
                let b: Vec<u32> = b.as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
                assert!(
                    cell.x0 <= b[0] && cell.y0 <= b[1] && cell.x1 >= b[2] && cell.y1 >= b[3],
                    "{name} {team} row {row}: ink {b:?} not inside {cell:?}"
                );
            }
        }
    }
}

fn real_captures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/endscreens/real");
    let labels = ocr::scoring::label_files(&dir).unwrap_or_else(|e| {
        panic!("{}: {e} (the real captures sit in ../shared beside the repository)", dir.display())
    });
    assert!(labels.len() >= 30, "the real set lost captures: {}", labels.len());
    labels
}

fn inside(cell: &Cell, image: &image::RgbImage) -> bool {
    cell.x0 < cell.x1 && cell.y0 < cell.y1 && cell.x1 <= image.width() && cell.y1 <= image.height()
}

#[test]
fn every_real_capture_has_two_tables_of_five_name_cells() {
    let mut detector = detector();
    let mut failures = Vec::new();
    for path in real_captures() {
        match find(&mut detector, &LabelledCapture::open(&path).unwrap().image_path) {
            Ok((image, found)) => {
                assert_eq!((found.blue.len(), found.red.len()), (5, 5));
                let cells: Vec<&Cell> = found.blue.iter().chain(&found.red).collect();
                assert!(cells.iter().all(|c| inside(c, &image)), "{}: a cell outside the image", path.display());
                // Rows go down the screen, the second table below the first.
                assert!(cells.windows(2).all(|w| w[0].y0 < w[1].y0), "{}: rows out of order", path.display());
            }
            Err(e) => failures.push(format!("{}: {e}", path.file_name().unwrap().to_string_lossy())),
        }
    }
    assert!(failures.is_empty(), "no layout on {} real captures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn every_real_capture_gets_the_labelled_winner_and_team_a_side() {
    let models = ocr::ppocr::PpOcrConfig::default().load().expect("the PP-OCR models");
    let mut pipeline = Pipeline::standard(models).expect("tesseract");
    let mut wrong = Vec::new();
    for path in real_captures() {
        let capture = LabelledCapture::open(&path).unwrap();
        let output = pipeline.run(&capture.input().unwrap(), &capture.image_bytes().unwrap());
        let score = ocr::scoring::score(&output, &capture.label["expected"]);
        assert_eq!(score.rows_wrong, 0, "{}: a row matched to the wrong friend", path.display());
        // A label without a winner (`winnerSide: null`) is not checked for it: the one such
        // capture shows `승리` (TEAM 1 won), and the pipeline says blue; see the README.
        let winner_checked = !capture.label["expected"]["winnerSide"].is_null();
        if !matches!(output, OcrJobOutput::Done(_)) || (winner_checked && !score.winner_right) || !score.side_right {
            wrong.push(format!("{}: {score:?}", path.file_name().unwrap().to_string_lossy()));
        }
        // The board agrees with the recorded teams: nothing to report but a missing title.
        if let OcrJobOutput::Done(reading) = &output {
            let codes: Vec<WarningCode> = reading.warnings.iter().map(|w| w.code).collect();
            let expected = if reading.winner_side.is_none() { vec![WarningCode::NoWinnerTitle] } else { vec![] };
            if !reading.roster_conflicts.is_empty() || codes != expected {
                let name = path.file_name().unwrap().to_string_lossy();
                wrong.push(format!("{name}: conflicts {:?}, warnings {codes:?}", reading.roster_conflicts));
            }
        }
    }
    assert!(wrong.is_empty(), "{} real captures read wrong:\n{}", wrong.len(), wrong.join("\n"));
}

#[test]
fn captures_of_something_else_are_not_scoreboards() {
    let mut detector = detector();
    let dark = image::RgbImage::from_pixel(1280, 720, image::Rgb([8, 16, 24]));
    let boxes = detector.detect(&dark).expect("detects");
    assert!(layout::find(&dark, &boxes).is_err());
    // Colour everywhere (a game screenshot, a photo): no ten rows under two team headers.
    let noisy = image::RgbImage::from_fn(1280, 720, |x, y| {
        image::Rgb([(x * 7 % 256) as u8, (y * 13 % 256) as u8, ((x + y) % 256) as u8])
    });
    let boxes = detector.detect(&noisy).expect("detects");
    let error = layout::find(&noisy, &boxes).expect_err("noise is not a scoreboard");
    assert!(error.to_string().starts_with("not a scoreboard"), "{error}");
}
