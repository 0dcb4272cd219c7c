//! How the reading holds up when a labelled capture is changed the way shared screenshots are:
//!
//!     OMP_THREAD_LIMIT=1 cargo bench -p ocr --bench variants [-- DIR]      (make bench-ocr)
//!
//! Every capture of DIR (default `../shared/endscreens/real`) is read as it is and then halved
//! (only captures at least 1,000 px wide, so the result stays within the 0.5× the client's
//! smallest copies have), re-encoded as JPEG at quality 70 (4:2:0, as most software saves
//! it), both, scaled to three quarters (the same captures as halved; a size between the
//! client's scales, where no pixel lines up with the capture's), that then JPEG 70, enlarged
//! 1.5× (only captures under 1,400 px wide, so the result stays within 3×), enlarged 2.5× (the
//! same captures: more pixels than the reader keeps, so it scales them back down at decode, to
//! 2560 × 1440's pixels), and cut by a pixel
//! or two at the top left (the same board, every box and cell a pixel off: another crop of it). The labels are the same for
//! every variant: the board is the same board. This measures generalisation — a rule that only
//! suits the captures as they are shows up here as a drop — and it is never a target to tune to.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::Path;

use image::imageops::FilterType;
use image::{DynamicImage, ImageFormat, RgbImage};
use ocr::pipeline::Pipeline;
use ocr::scoring::{self, LabelledCapture, Tally};
use proto::OcrJobOutput;

#[derive(Clone, Copy)]
enum Variant {
    AsIs,
    Halved,
    Jpeg,
    HalvedJpeg,
    ThreeQuarters,
    ThreeQuartersJpeg,
    Enlarged,
    EnlargedPastReadSize,
    CutOne,
    CutTwoThree,
}

impl Variant {
    const ALL: [Variant; 10] = [
        Variant::AsIs,
        Variant::Halved,
        Variant::Jpeg,
        Variant::HalvedJpeg,
        Variant::ThreeQuarters,
        Variant::ThreeQuartersJpeg,
        Variant::Enlarged,
        Variant::EnlargedPastReadSize,
        Variant::CutOne,
        Variant::CutTwoThree,
    ];

    fn name(self) -> &'static str {
        match self {
            Variant::AsIs => "as it is",
            Variant::Halved => "halved (≥ 1,000 px wide)",
            Variant::Jpeg => "JPEG quality 70",
            Variant::HalvedJpeg => "halved, then JPEG 70",
            Variant::ThreeQuarters => "three quarters (≥ 1,000 px wide)",
            Variant::ThreeQuartersJpeg => "three quarters, then JPEG 70",
            Variant::Enlarged => "enlarged 1.5× (< 1,400 px wide)",
            Variant::EnlargedPastReadSize => "enlarged 2.5×, read scaled back to 2560 × 1440's pixels",
            Variant::CutOne => "1 px cut off the top and the left",
            Variant::CutTwoThree => "2 px off the left, 3 off the top",
        }
    }

    /// The changed capture's bytes, or `None` when the variant does not apply to this size.
    fn apply(self, image: &RgbImage) -> Option<Vec<u8>> {
        let resized = |factor: f64| {
            let (w, h) = image.dimensions();
            let side = |s: u32| ((f64::from(s) * factor).round() as u32).max(1);
            image::imageops::resize(image, side(w), side(h), FilterType::Triangle)
        };
        // Halving or shrinking a capture under 1,000 px wide would go below the client's 0.5×.
        let shrinkable = image.width() >= 1000;
        match self {
            Variant::AsIs => Some(png(image)),
            Variant::Halved => shrinkable.then(|| png(&resized(0.5))),
            Variant::Jpeg => Some(jpeg(image)),
            Variant::HalvedJpeg => shrinkable.then(|| jpeg(&resized(0.5))),
            Variant::ThreeQuarters => shrinkable.then(|| png(&resized(0.75))),
            Variant::ThreeQuartersJpeg => shrinkable.then(|| jpeg(&resized(0.75))),
            Variant::Enlarged => (image.width() < 1400).then(|| png(&resized(1.5))),
            Variant::EnlargedPastReadSize => (image.width() < 1400).then(|| png(&resized(2.5))),
            Variant::CutOne => Some(png(&cut(image, 1, 1))),
            Variant::CutTwoThree => Some(png(&cut(image, 2, 3))),
        }
    }
}

fn cut(image: &RgbImage, left: u32, top: u32) -> RgbImage {
    image::imageops::crop_imm(image, left, top, image.width() - left, image.height() - top).to_image()
}

fn png(image: &RgbImage) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, ImageFormat::Png).expect("PNG of an image in memory");
    bytes.into_inner()
}

/// JPEG at quality 70 with the colour at half resolution both ways (4:2:0), as libjpeg — and so
/// most phones, messengers and image tools — encode by default. (The `image` crate's encoder
/// keeps full-resolution colour, which spares exactly what 4:2:0 damages: the team colours of
/// small text.)
fn jpeg(image: &RgbImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut bytes, 70);
    encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
    let side = |s: u32| u16::try_from(s).expect("captures are under 65,536 px a side");
    encoder
        .encode(image.as_raw(), side(image.width()), side(image.height()), jpeg_encoder::ColorType::Rgb)
        .expect("JPEG of an image in memory");
    bytes
}

fn main() {
    let dir = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_else(|| format!("{}/../../shared/endscreens/real", env!("CARGO_MANIFEST_DIR")));
    let labels = scoring::label_files(Path::new(&dir)).unwrap_or_else(|e| panic!("{dir}: {e}"));
    let models = ocr::ppocr::PpOcrConfig::default().load().expect("PP-OCR models");
    let mut pipeline = Pipeline::standard(models).expect("tesseract with kor+eng");

    let mut tallies: BTreeMap<usize, Tally> = BTreeMap::new();
    for path in &labels {
        let capture = LabelledCapture::open(path).unwrap();
        let (label, input) = (&capture.label, capture.input().expect("input"));
        let image = image::load_from_memory(&capture.image_bytes().unwrap())
            .map(DynamicImage::into_rgb8)
            .expect("a labelled capture decodes");
        let id = label["id"].as_str().unwrap_or("?");
        let winner_labelled = label["expected"]["winnerSide"].is_string();
        for (n, variant) in Variant::ALL.into_iter().enumerate() {
            let Some(changed) = variant.apply(&image) else { continue };
            let output = pipeline.run(&input, &changed);
            let score = scoring::score(&output, &label["expected"]);
            let read = matches!(output, OcrJobOutput::Done(_));
            tallies.entry(n).or_default().add(score, read, winner_labelled);
            let winner_missed = winner_labelled && !score.winner_right;
            if !read || winner_missed || !score.side_right || score.rows_wrong > 0 || score.rows_missed > 0 {
                let status = match &output {
                    OcrJobOutput::Done(_) => "done".to_owned(),
                    OcrJobOutput::Failed(f) => format!("failed: {}", f.error.message),
                };
                println!("{id} {}: {score:?} ({status})", variant.name());
            }
        }
    }
    println!(
        "\n| variant | n | not read | winner | team A side | rows → friend | wrong |\n|---|---|---|---|---|---|---|"
    );
    for (n, tally) in &tallies {
        println!("| {} | {} | {} | {}", Variant::ALL[*n].name(), tally.captures, tally.not_read, tally.cells());
    }
}
