//! The name-shape look against every real capture in `../shared/endscreens/real` with Hangul
//! names, as it is and halved (the size at which no reader reads Hangul): each Hangul name's
//! cell (found by the real detector and layout) looks more like its own name, drawn in the
//! font, than like any other Hangul name of the capture. That is what the look's pairing rests
//! on. Labels are read here only, to check.

use std::path::Path;

use image::imageops::FilterType;
use ocr::layout;
use ocr::name_shape::{self, NameShapes, has_hangul};
use ocr::scoring::LabelledCapture;

#[test]
fn every_real_hangul_name_looks_most_like_itself_as_it_is_and_halved() {
    let config = ocr::ppocr::PpOcrConfig { ppocr_rec_model: String::new(), ..Default::default() };
    let models = config.load().expect("the detection model and the font (scripts/install-deps.sh)");
    let mut detector = models.detector().expect("a detector");
    let shapes = NameShapes::load(Path::new(name_shape::DEFAULT_FONT)).expect("fonts-nanum (scripts/install-deps.sh)");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/endscreens/real");
    let labels = ocr::scoring::label_files(&dir).expect("the real captures sit in ../shared beside the repository");
    let (mut cells, mut failures) = (0, Vec::new());
    // Per copy: the lowest score of a name in its own cell, the highest of another name.
    let mut figures = std::collections::BTreeMap::<&str, (f64, f64)>::new();
    for path in labels {
        let capture = LabelledCapture::open(&path).unwrap();
        let label = &capture.label;
        let names: Vec<&str> = ["team1", "team2"]
            .iter()
            .flat_map(|team| label[team].as_array().unwrap().iter().map(|name| name.as_str().unwrap_or("")))
            .collect();
        if !names.iter().any(|name| has_hangul(name)) {
            continue;
        }
        let image = ocr::decode::decode(&capture.image_bytes().unwrap()).unwrap();
        let halved = image::imageops::resize(&image, image.width() / 2, image.height() / 2, FilterType::Triangle);
        for (copy, image) in [("as it is", image), ("halved", halved)] {
            let boxes = detector.detect(&image).expect("detection runs");
            let found = layout::find(&image, &boxes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            for (row, cell) in found.blue.iter().chain(&found.red).enumerate() {
                let own = names[row];
                if !has_hangul(own) {
                    continue;
                }
                let crop = cell.crop(&image);
                let itself = shapes.similarity(&crop, own);
                cells += 1;
                let figure = figures.entry(copy).or_insert((f64::MAX, f64::MIN));
                figure.0 = figure.0.min(itself);
                for other in names.iter().filter(|name| has_hangul(name) && *name != &own) {
                    let score = shapes.similarity(&crop, other);
                    figure.1 = figure.1.max(score);
                    if score >= itself {
                        failures.push(format!(
                            "{} {copy} row {row} `{own}` {itself:.3}: `{other}` {score:.3}",
                            path.file_name().unwrap().to_string_lossy()
                        ));
                    }
                }
            }
        }
    }
    for (copy, (own, other)) in &figures {
        println!("{copy}: own name at least {own:.3}, another name at most {other:.3}");
    }
    assert!(cells >= 60, "the real set lost its Hangul names: {cells} cells");
    assert!(
        failures.is_empty(),
        "{} of {cells} cells look more like another name:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
