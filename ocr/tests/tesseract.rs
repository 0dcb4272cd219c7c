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

/// PP-OCR (the names' first reader) on the Latin names of a half-size capture, cut as the layout cuts
/// them and given as the pipeline gives them (grey, no upscale), against Tesseract's first look
/// on the same cells: the reason the pipeline reads names with it first.
#[test]
fn ppocr_reads_small_latin_names_better_than_tesseract() {
    let models = ocr::ppocr::PpOcrConfig::default().load().expect("the models (scripts/install-deps.sh installs them)");
    let mut ppocr = models.recogniser().expect("a session of the model").expect("switched on");
    let mut tesseract = TesseractReader::new(ocr::LANGUAGES).expect("kor+eng data installed");
    let fixture = labelled("es1-0006", "png");
    let (mut by_ppocr, mut by_tesseract, mut latin) = (0, 0, 0);
    for (name, [x0, y0, x1, y1]) in fixture.names.iter().zip(&fixture.boxes) {
        if !name.is_ascii() {
            continue; // the model has no Hangul
        }
        latin += 1;
        let (x, y) = (x0.saturating_sub(2), y0.saturating_sub(2));
        let crop = image::imageops::crop_imm(&fixture.image, x, y, x1 + 2 - x, y1 + 2 - y).to_image();
        let neural = ppocr.read_line(&image::imageops::grayscale(&crop)).expect("PP-OCR reads");
        let classic = tesseract
            .read_line(&preprocess::text_line(&crop, preprocess::upscale_for(17.5), preprocess::FIRST_LOOK))
            .expect("tesseract reads");
        println!("{name:>18} → PP-OCR {:<18} Tesseract {:<18}", neural.text, classic.text);
        by_ppocr += usize::from(normalize::plain(&neural.text) == normalize::plain(name));
        by_tesseract += usize::from(normalize::plain(&classic.text) == normalize::plain(name));
    }
    println!("{} — {by_ppocr}/{latin} against Tesseract's {by_tesseract}/{latin}", ppocr.describe());
    assert!(by_ppocr > by_tesseract, "PP-OCR {by_ppocr}/{latin} is no better than Tesseract {by_tesseract}/{latin}");
}

#[test]
fn a_missing_ppocr_model_is_a_clear_error_and_an_empty_recogniser_switches_it_off() {
    let off = ocr::ppocr::PpOcrConfig { ppocr_rec_model: String::new(), ..Default::default() };
    assert!(off.load().expect("the detector alone").recogniser().expect("nothing to load").is_none());
    for (missing, path) in [
        (ocr::ppocr::PpOcrConfig { ppocr_rec_model: "/nonexistent/rec.onnx".to_owned(), ..Default::default() }, "rec"),
        (ocr::ppocr::PpOcrConfig { ppocr_det_model: "/nonexistent/det.onnx".to_owned(), ..Default::default() }, "det"),
    ] {
        let error = missing.load().err().expect("a missing model is an error").to_string();
        assert!(error.contains(&format!("/nonexistent/{path}.onnx")) && error.contains("install-deps"), "{error}");
    }
}

#[test]
fn a_missing_name_font_is_a_clear_error_and_an_empty_path_switches_the_look_off() {
    let off = ocr::ppocr::PpOcrConfig { name_font: String::new(), ..Default::default() };
    assert!(off.load().expect("the models alone").name_shapes().is_none());
    let missing = ocr::ppocr::PpOcrConfig { name_font: "/nonexistent/font.ttf".to_owned(), ..Default::default() };
    let error = missing.load().err().expect("a missing font is an error").to_string();
    assert!(error.contains("/nonexistent/font.ttf") && error.contains("NAME_FONT="), "{error}");
    let text = std::env::temp_dir().join(format!("not-a-font-{}.ttf", std::process::id()));
    std::fs::write(&text, "plain text").expect("temp dir writable");
    let not_a_font = ocr::ppocr::PpOcrConfig { name_font: text.display().to_string(), ..Default::default() };
    let error = not_a_font.load().err().expect("a file that is no font is an error").to_string();
    std::fs::remove_file(&text).expect("removed");
    assert!(error.contains("not a font"), "{error}");
}

/// Its own test: ONNX Runtime is loaded once per process (nextest runs each test in its own).
#[test]
fn a_missing_onnx_runtime_library_is_a_clear_error() {
    let missing =
        ocr::ppocr::PpOcrConfig { onnxruntime: "/nonexistent/libonnxruntime.so".to_owned(), ..Default::default() };
    let error = missing.load().err().expect("no library is an error").to_string();
    assert!(error.contains("/nonexistent/libonnxruntime.so") && error.contains("ORT_DYLIB_PATH"), "{error}");
}
