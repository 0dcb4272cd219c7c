//! Property tests standing in for a fuzzer on image decoding and layout: random bytes behind a
//! real format signature, byte-level mutations of real captures, random drawings, and random
//! crops and rescales of a real capture. Decoding either gives pixels or one of its errors;
//! layout either finds cells that lie inside the image or says why it is not a scoreboard.
//! Nothing may panic, and the process runs under a 3 GiB address-space limit so a decoder that
//! allocates without bound fails the test instead of the machine. `make test` runs the default
//! case counts; raise `PROPTEST_CASES` for a longer session.

use image::{ImageFormat, Rgb, RgbImage};
use ocr::decode::{DecodeError, decode};
use ocr::detect::{TextBox, TextDetector};
use ocr::layout::{self, Cell, Layout};
use proptest::prelude::*;

const ADDRESS_SPACE_LIMIT: u64 = 3 << 30;

fn limit_memory() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        rlimit::Resource::AS.set(ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT).expect("set RLIMIT_AS");
    });
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

fn fixture_image() -> RgbImage {
    static IMAGE: std::sync::OnceLock<RgbImage> = std::sync::OnceLock::new();
    IMAGE.get_or_init(|| decode(&fixture("es1-0002.jpg")).expect("the fixture decodes")).clone()
}

fn encode_png(image: &RgbImage) -> Vec<u8> {
    let mut png = std::io::Cursor::new(Vec::new());
    image.write_to(&mut png, ImageFormat::Png).expect("encode PNG");
    png.into_inner()
}

fn assert_inside(cell: &Cell, image: &RgbImage, what: &str) {
    assert!(
        cell.x0 < cell.x1 && cell.y0 < cell.y1 && cell.x1 <= image.width() && cell.y1 <= image.height(),
        "{what} cell {cell:?} is empty or outside the {}x{} image",
        image.width(),
        image.height()
    );
}

fn detector() -> std::sync::MutexGuard<'static, TextDetector> {
    static DETECTOR: std::sync::OnceLock<std::sync::Mutex<TextDetector>> = std::sync::OnceLock::new();
    let detector = DETECTOR.get_or_init(|| {
        // The detector alone: the recognition model is not needed to find the layout.
        let config = ocr::ppocr::PpOcrConfig { ppocr_rec_model: String::new(), ..Default::default() };
        std::sync::Mutex::new(config.load().and_then(|models| models.detector()).expect("the detection model"))
    });
    // A failed case poisons the lock; the detector itself is still whole.
    detector.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Layout on decoded pixels (through the real detector): cells inside the image, five per
/// table, or a reason.
fn check_layout(image: &RgbImage) {
    let boxes = detector().detect(image).expect("the detector runs on any image");
    check_boxes(image, &boxes);
}

/// Layout on given text boxes: cells inside the image, five per table, or a reason.
fn check_boxes(image: &RgbImage, boxes: &[TextBox]) {
    match layout::find(image, boxes) {
        Ok(Layout { title, blue, red, pitch }) => {
            assert!(pitch.is_finite() && pitch > 0.0, "pitch {pitch}");
            assert_eq!((blue.len(), red.len()), (5, 5), "a scoreboard has five rows per table");
            if let Some(title) = title {
                assert_inside(&title, image, "title");
            }
            for cell in blue.iter().chain(&red) {
                assert_inside(cell, image, "name");
            }
        }
        Err(reason) => assert!(!reason.0.is_empty(), "not a scoreboard, for no stated reason"),
    }
}

/// Decode, then lay out whatever decodes.
fn check_bytes(bytes: &[u8]) {
    match decode(bytes) {
        Ok(image) => check_layout(&image),
        Err(DecodeError::Corrupt { reason, .. }) => assert!(!reason.is_empty()),
        Err(_) => {}
    }
}

fn mutate(mut bytes: Vec<u8>, edits: Vec<(prop::sample::Index, u8)>, cut: Option<prop::sample::Index>) -> Vec<u8> {
    // Leave the signature alone so the decoder, not the format sniffing, sees the damage.
    let body = 16.min(bytes.len());
    for (at, byte) in edits {
        let index = body + at.index(bytes.len() - body);
        bytes[index] = byte;
    }
    if let Some(cut) = cut {
        bytes.truncate(cut.index(bytes.len() + 1));
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn random_bytes_behind_an_image_signature(
        signature in prop_oneof![
            Just(b"\x89PNG\r\n\x1a\n".to_vec()),
            Just(vec![0xFF, 0xD8, 0xFF, 0xE0]),
            Just(b"RIFF\x00\x10\x00\x00WEBPVP8 ".to_vec()),
        ],
        tail in prop::collection::vec(any::<u8>(), 0..4096),
    ) {
        limit_memory();
        check_bytes(&[signature, tail].concat());
    }

    #[test]
    fn random_text_boxes_on_a_real_capture(
        boxes in prop::collection::vec((0.0f64..1.2, 0.0f64..1.2, 0.0f64..0.3, 0.0f64..0.08), 0..160),
        rows in prop::collection::vec((0.0f64..1.0, 0.01f64..0.1), 0..4),
    ) {
        // Pure geometry, fast: random boxes, plus grids of rows at random pitches that look
        // like tables, over a real capture's pixels (whose colours decide the headers).
        let image = fixture_image();
        let (w, h) = (f64::from(image.width()), f64::from(image.height()));
        let mut text: Vec<TextBox> =
            boxes.iter().map(|&(x, y, bw, bh)| TextBox { x0: x * w, y0: y * h, x1: (x + bw) * w, y1: (y + bh) * h }).collect();
        for (top, pitch) in rows {
            for k in 0..12 {
                let y = (top + pitch * f64::from(k)) * h;
                text.push(TextBox { x0: 0.1 * w, y0: y, x1: 0.2 * w, y1: y + pitch * h * 0.5 });
            }
        }
        text.sort_by(|a, b| a.centre_y().total_cmp(&b.centre_y()));
        check_boxes(&image, &text);
    }
}

proptest! {
    // The detector takes ~0.4 s a capture: properties that reach it run fewer cases.
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn mutated_real_captures(
        png in any::<bool>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..24),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        limit_memory();
        let original = if png { fixture("es1-0006.png") } else { fixture("es1-0002.jpg") };
        check_bytes(&mutate(original, edits, cut));
    }

    #[test]
    fn random_drawings(
        width in 1u32..1600,
        height in 1u32..900,
        background in any::<[u8; 3]>(),
        boxes in prop::collection::vec((0.0f64..1.0, 0.0f64..1.0, 0.0f64..0.5, 0.0f64..0.2, any::<[u8; 3]>()), 0..60),
    ) {
        limit_memory();
        let mut image = RgbImage::from_pixel(width, height, Rgb(background));
        for (x, y, w, h, colour) in boxes {
            let (x0, y0) = ((x * f64::from(width)) as u32, (y * f64::from(height)) as u32);
            let (x1, y1) = ((x0 + (w * f64::from(width)) as u32).min(width), (y0 + (h * f64::from(height)) as u32).min(height));
            for py in y0..y1 {
                for px in x0..x1 {
                    image.put_pixel(px, py, Rgb(colour));
                }
            }
        }
        check_bytes(&encode_png(&image));
    }

    #[test]
    fn crops_and_rescales_of_a_real_capture(
        left in 0.0f64..0.5,
        top in 0.0f64..0.5,
        right in 0.5f64..1.0,
        bottom in 0.5f64..1.0,
        scale in 0.25f64..2.2,
    ) {
        limit_memory();
        let capture = fixture_image();
        let (w, h) = (f64::from(capture.width()), f64::from(capture.height()));
        let (x0, y0) = ((left * w) as u32, (top * h) as u32);
        let (x1, y1) = (((right * w) as u32).max(x0 + 1), ((bottom * h) as u32).max(y0 + 1));
        let crop = image::imageops::crop_imm(&capture, x0, y0, x1 - x0, y1 - y0).to_image();
        let (sw, sh) = (((f64::from(crop.width()) * scale) as u32).max(1), ((f64::from(crop.height()) * scale) as u32).max(1));
        check_layout(&image::imageops::resize(&crop, sw, sh, image::imageops::FilterType::Triangle));
    }
}
