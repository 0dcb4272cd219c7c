//! Where the text is: PP-OCRv4's text detection model (DBNet, `ch_PP-OCRv4_det_infer.onnx` from
//! the same `rapidocr_onnxruntime` wheel as the recogniser, its operators fused at set-up by
//! `scripts/fuse_ppocr_model.py`), run in-process by ONNX Runtime.
//!
//! The model turns the capture into a map of "text here" probabilities; every blob of the map
//! above `PIXEL_THRESHOLD` is one text box. The capture is scaled to fit `CANVAS_WIDTH` ×
//! `CANVAS_HEIGHT` (padded to the multiple of 32 the model needs, so a 16:9 capture is read at
//! 960 × 544, not letterboxed to the full canvas), so a capture of any size from 0.5× to 3×
//! reaches the model with its names 9–13 px tall: large
//! enough to be found, small enough to keep a name and the level number beside it apart. The
//! post-processing follows PaddleOCR's `DBPostProcess` (RapidOCR's defaults), with upright
//! boxes: the scoreboard's text is never rotated.

use image::RgbImage;
use imageproc::region_labelling::{Connectivity, connected_components};
use ndarray::{Array4, Axis};
use ort::session::Session;
use ort::value::TensorRef;

use crate::engine::EngineError;
use crate::onnx::OnnxModel;
use crate::resample;

const CANVAS_WIDTH: u32 = 960;
const CANVAS_HEIGHT: u32 = 640;
/// A map pixel belongs to text above this probability (PaddleOCR's `thresh`).
const PIXEL_THRESHOLD: f32 = 0.3;
/// A blob is kept when its mean probability reaches this (PaddleOCR's `box_thresh` is 0.5; the red
/// TEAM 2 header of a half-size real capture falls just under it).
const BOX_THRESHOLD: f32 = 0.4;
/// The model's input sides are multiples of this (its feature maps halve five times).
const SIDE_MULTIPLE: u32 = 32;
/// The map marks the core of each text line; boxes are grown back by this ratio of area to
/// perimeter (PaddleOCR's `unclip_ratio`).
const UNCLIP_RATIO: f64 = 1.6;

/// Where `scripts/install-deps.sh` and the Docker image put the model.
pub const DEFAULT_MODEL: &str = "/usr/local/share/lol-ocr/ch_PP-OCRv4_det_infer.fused.onnx";

/// A detected text box in capture pixels (`x1`, `y1` exclusive).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextBox {
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
}

impl TextBox {
    pub fn height(&self) -> f64 {
        self.y1 - self.y0
    }

    pub fn centre_y(&self) -> f64 {
        (self.y0 + self.y1) / 2.0
    }
}

/// One thread's detector (an ONNX Runtime session runs one inference at a time).
pub struct TextDetector {
    session: Session,
}

impl TextDetector {
    pub fn new(model: &OnnxModel) -> Result<Self, EngineError> {
        Ok(TextDetector { session: model.session()? })
    }

    /// Every text box of `image`, top to bottom.
    pub fn detect(&mut self, image: &RgbImage) -> Result<Vec<TextBox>, EngineError> {
        let (width, height) = image.dimensions();
        let scale = (f64::from(CANVAS_WIDTH) / f64::from(width)).min(f64::from(CANVAS_HEIGHT) / f64::from(height));
        let fit = |side: u32, limit: u32| ((f64::from(side) * scale).round() as u32).clamp(1, limit);
        let resized = resample::resize(image, fit(width, CANVAS_WIDTH), fit(height, CANVAS_HEIGHT));
        let (map_width, map_height) =
            (resized.width().next_multiple_of(SIDE_MULTIPLE), resized.height().next_multiple_of(SIDE_MULTIPLE));
        // PaddleOCR's models were trained on OpenCV's BGR order, normalised to -1..1; the
        // padding stays black, like the client's background.
        let mut input = Array4::<f32>::from_elem((1, 3, map_height as usize, map_width as usize), -1.0);
        for (channel, mut plane) in input.index_axis_mut(Axis(0), 0).outer_iter_mut().enumerate() {
            let rgb_index = 2 - channel;
            for (row, mut line) in resized.rows().zip(plane.outer_iter_mut()) {
                for (pixel, value) in row.zip(line.iter_mut()) {
                    *value = f32::from(pixel.0[rgb_index]) / 127.5 - 1.0;
                }
            }
        }
        let failed = |source| EngineError::Onnx { what: "PP-OCR detection run".to_owned(), source };
        let outputs =
            self.session.run(ort::inputs![TensorRef::from_array_view(&input).map_err(failed)?]).map_err(failed)?;
        let (shape, map) = outputs[0].try_extract_tensor::<f32>().map_err(failed)?;
        if **shape != [1, 1, i64::from(map_height), i64::from(map_width)] {
            return Err(EngineError::OutputShape { model: "PP-OCR detection", shape: shape.to_vec() });
        }
        let mut boxes = blobs(map_width, map)
            .into_iter()
            .filter_map(|blob| {
                let grown = blob.unclipped()?;
                Some(TextBox {
                    x0: (grown.x0 / scale).clamp(0.0, f64::from(width)),
                    y0: (grown.y0 / scale).clamp(0.0, f64::from(height)),
                    x1: (grown.x1 / scale).clamp(0.0, f64::from(width)),
                    y1: (grown.y1 / scale).clamp(0.0, f64::from(height)),
                })
            })
            .filter(|b| b.x1 - b.x0 > 3.0 && b.height() > 3.0)
            .collect::<Vec<_>>();
        boxes.sort_by(|a, b| a.centre_y().total_cmp(&b.centre_y()));
        Ok(boxes)
    }
}

/// A blob of the probability map, in map pixels.
#[derive(Debug, Clone, Copy)]
struct Blob {
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
}

impl Blob {
    /// Grown by the unclip distance; `None` when too small to be text (PaddleOCR's `min_size`).
    fn unclipped(&self) -> Option<Blob> {
        let (w, h) = (self.x1 - self.x0, self.y1 - self.y0);
        if w.min(h) < 3.0 {
            return None;
        }
        let distance = w * h * UNCLIP_RATIO / (2.0 * (w + h));
        let grown =
            Blob { x0: self.x0 - distance, y0: self.y0 - distance, x1: self.x1 + distance, y1: self.y1 + distance };
        ((grown.x1 - grown.x0).min(grown.y1 - grown.y0) >= 5.0).then_some(grown)
    }
}

/// The connected blobs of map pixels above the threshold (dilated by one pixel, which joins the
/// letters of a spaced-out name), kept when their mean probability is high enough.
fn blobs(width: u32, map: &[f32]) -> Vec<Blob> {
    let columns = width as usize;
    let above: Vec<bool> = map.iter().map(|&p| p > PIXEL_THRESHOLD).collect();
    // PaddleOCR dilates with a 2 × 2 kernel: a pixel is set when it or its left, upper or
    // upper-left neighbour is.
    let mask: Vec<u8> = (0..above.len())
        .map(|i| {
            let (left, up) = (i % columns > 0, i >= columns);
            let on = above[i]
                || (left && above[i - 1])
                || (up && above[i - columns])
                || (left && up && above[i - columns - 1]);
            if on { 255 } else { 0 }
        })
        .collect();
    let height = (map.len() / columns) as u32;
    let mask = image::GrayImage::from_raw(width, height, mask).expect("one mask byte per map pixel");
    let probability = |x: u32, y: u32| map[y as usize * columns + x as usize];
    let labels = connected_components(&mask, Connectivity::Eight, image::Luma([0u8]));
    let mut extents: Vec<Option<(u32, u32, u32, u32)>> = Vec::new();
    for (x, y, label) in labels.enumerate_pixels() {
        let label = label.0[0] as usize;
        if label == 0 {
            continue;
        }
        if extents.len() <= label {
            extents.resize(label + 1, None);
        }
        let extent = extents[label].get_or_insert((x, y, x, y));
        *extent = (extent.0.min(x), extent.1.min(y), extent.2.max(x), extent.3.max(y));
    }
    extents
        .into_iter()
        .flatten()
        .filter_map(|(x0, y0, x1, y1)| {
            let mut sum = 0.0f64;
            for y in y0..=y1 {
                for x in x0..=x1 {
                    sum += f64::from(probability(x, y));
                }
            }
            let mean = sum / f64::from((x1 - x0 + 1) * (y1 - y0 + 1));
            (mean >= f64::from(BOX_THRESHOLD)).then_some(Blob {
                x0: f64::from(x0),
                y0: f64::from(y0),
                x1: f64::from(x1),
                y1: f64::from(y1),
            })
        })
        .collect()
}
