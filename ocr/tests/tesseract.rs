//! Real Tesseract (Debian's libtesseract, `kor+eng`) on name cells cut from the fixtures at
//! their labelled boxes: what the engine and the preprocessing read once the layout has found
//! the cells. The labels are used here only to cut and to check.

use ocr::engine::{LineReader, TesseractReader};
use ocr::{normalize, preprocess};

struct Labelled {
    image: image::RgbImage,
    names: Vec<String>,
    boxes: Vec<[u32; 4]>,
}

fn labelled(stem: &str, extension: &str) -> Labelled {
    let dir = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(format!("{dir}/{stem}.{extension}")).expect("fixture image");
    let image = ocr::decode::decode(&bytes).expect("fixture decodes");
    let label: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/{stem}.json")).unwrap()).unwrap();
    let mut names = Vec::new();
    let mut boxes = Vec::new();
    for team in ["team1", "team2"] {
        for name in label[team].as_array().unwrap() {
            names.push(name.as_str().unwrap().to_owned());
        }
        for b in label["details"]["nameBoxes"][team].as_array().unwrap() {
            let b: Vec<u32> = b.as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
            boxes.push([b[0], b[1], b[2], b[3]]);
        }
    }
    Labelled { image, names, boxes }
}

/// Names read right up to case and spacing (what the matcher compares), out of ten.
fn correct_reads(reader: &mut TesseractReader, fixture: &Labelled) -> usize {
    let mut correct = 0;
    for (name, [x0, y0, x1, y1]) in fixture.names.iter().zip(&fixture.boxes) {
        // The labelled ink box plus a few pixels, as a layout step would cut it.
        let (x, y) = (x0.saturating_sub(3), y0.saturating_sub(4));
        let crop = image::imageops::crop_imm(&fixture.image, x, y, x1 + 3 - x, y1 + 4 - y).to_image();
        // Full-size fixtures: the 720p factor.
        let reading =
            reader.read_line(&preprocess::text_line(&crop, 3.0, preprocess::FIRST_LOOK)).expect("tesseract reads");
        println!("{name:>18} → {:<18} ({:.2})", reading.text, reading.confidence);
        if normalize::plain(&reading.text) == normalize::plain(name) {
            correct += 1;
        }
    }
    correct
}

#[test]
fn tesseract_reads_full_size_name_cells_in_both_languages() {
    let mut reader = TesseractReader::new(ocr::LANGUAGES).expect("kor+eng data installed (scripts/install-deps.sh)");
    println!("{}", reader.describe());
    for (stem, extension) in [("es1-0002", "jpg"), ("es1-0010", "png"), ("es1-0015", "jpg")] {
        let fixture = labelled(stem, extension);
        let correct = correct_reads(&mut reader, &fixture);
        println!("{stem}: {correct}/10 read right");
        assert!(correct >= 8, "{stem}: only {correct}/10 names read right");
    }
}
