//! The fused models (`scripts/fuse_ppocr_model.py`, which `scripts/install-deps.sh` runs) read as
//! the wheel's originals do: on real captures the detector finds the same boxes, and the
//! recogniser reads every name cell of the layout the same, with or without the fusion.

use std::path::Path;

use ocr::engine::LineReader;
use ocr::ppocr::PpOcrConfig;
use ocr::scoring::LabelledCapture;

/// Where `scripts/install-deps.sh` keeps the wheel's originals, beside the fused models.
const ORIGINALS: (&str, &str) =
    ("/usr/local/share/lol-ocr/ch_PP-OCRv4_det_infer.onnx", "/usr/local/share/lol-ocr/ch_PP-OCRv4_rec_infer.onnx");

#[test]
fn the_fused_models_find_and_read_what_the_originals_do_on_real_captures() {
    let fused = PpOcrConfig::default().load().expect("the fused models (scripts/install-deps.sh)");
    let original = PpOcrConfig {
        ppocr_det_model: ORIGINALS.0.to_owned(),
        ppocr_rec_model: ORIGINALS.1.to_owned(),
        ..Default::default()
    }
    .load()
    .expect("the original models (scripts/install-deps.sh)");
    let (mut fused_detector, mut original_detector) = (fused.detector().unwrap(), original.detector().unwrap());
    let mut fused_reader = fused.recogniser().unwrap().expect("a recogniser");
    let mut original_reader = original.recogniser().unwrap().expect("a recogniser");

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/endscreens/real");
    let labels = ocr::scoring::label_files(&dir).expect("the real captures in ../shared");
    // Every third capture: every source and kind, in a few seconds.
    for path in labels.iter().step_by(3) {
        let capture = LabelledCapture::open(path).unwrap();
        let image = ocr::decode::decode(&capture.image_bytes().unwrap()).unwrap();
        let boxes = fused_detector.detect(&image).unwrap();
        assert_eq!(boxes, original_detector.detect(&image).unwrap(), "{}: boxes", capture.image_path.display());
        let layout = ocr::layout::find(&image, &boxes).expect("a real capture is laid out");
        for cell in layout.blue.iter().chain(&layout.red) {
            let grey = image::imageops::grayscale(&cell.crop(&image));
            let (read, expected) = (fused_reader.read_line(&grey).unwrap(), original_reader.read_line(&grey).unwrap());
            assert_eq!(read.text, expected.text, "{}: {cell:?}", capture.image_path.display());
            assert!((read.confidence - expected.confidence).abs() < 1e-4, "{}: {cell:?}", capture.image_path.display());
        }
    }
}
