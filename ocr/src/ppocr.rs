//! PP-OCRv4 text-line recognition (the PaddleOCR model that the PyPI wheel `rapidocr-onnxruntime`
//! ships as ONNX) run in-process by `tract`: a second reader for name cells Tesseract misread.
//! It reads Latin and Chinese, not Hangul, and it reads small Latin text better than Tesseract
//! (the shared notes measured 7/10 names on half-size captures against Tesseract's 3–5).
//!
//! The model file is fetched at set-up time (`scripts/install-deps.sh` takes it out of the wheel
//! into [`DEFAULT_MODEL`]; `PPOCR_REC_MODEL` names another); nothing is downloaded at run time.
//! Its character list is in the model's metadata (`character`), as RapidOCR reads it.

use std::path::Path;
use std::sync::Arc;

use image::GrayImage;
use tract_onnx::prelude::*;

use crate::detect::{self, TextDetector};
use crate::engine::{EngineError, LineReader};
use crate::matching::Reading;

/// The model's input height, and the width every line is padded to (names are at most about
/// six heights long, so nothing is squeezed; one fixed shape lets tract optimise once).
const HEIGHT: u32 = 48;
const WIDTH: u32 = 320;

/// Where `scripts/install-deps.sh` and the Docker image put the recognition model.
pub const DEFAULT_MODEL: &str = "/usr/local/share/lol-ocr/ch_PP-OCRv4_rec_infer.onnx";

/// The PP-OCRv4 models: the text detector the layout needs, and the recogniser of the second
/// reader.
#[derive(Debug, Clone, clap::Args)]
pub struct PpOcrConfig {
    /// The PP-OCRv4 text detection model (ONNX): finds the texts the layout is built from.
    #[arg(long, env = "PPOCR_DET_MODEL", default_value = detect::DEFAULT_MODEL)]
    pub ppocr_det_model: String,
    /// The PP-OCRv4 recognition model (ONNX) of the second reader, for name cells Tesseract
    /// leaves unmatched; empty: Tesseract alone.
    #[arg(long, env = "PPOCR_REC_MODEL", default_value = DEFAULT_MODEL)]
    pub ppocr_rec_model: String,
}

/// The loaded models, shared by every OCR thread (cloning shares them).
#[derive(Clone)]
pub struct PpOcrModels {
    pub detector: TextDetector,
    pub recogniser: Option<PpOcrReader>,
}

impl Default for PpOcrConfig {
    /// Where `scripts/install-deps.sh` puts both models.
    fn default() -> Self {
        PpOcrConfig { ppocr_det_model: detect::DEFAULT_MODEL.to_owned(), ppocr_rec_model: DEFAULT_MODEL.to_owned() }
    }
}

impl PpOcrConfig {
    /// Both models; the recogniser is `None` when switched off. A missing or broken model is an
    /// error, so a deployment never reads worse than it was measured without saying so.
    pub fn load(&self) -> Result<PpOcrModels, EngineError> {
        let detector = TextDetector::load(Path::new(&self.ppocr_det_model))?;
        let recogniser = if self.ppocr_rec_model.is_empty() {
            None
        } else {
            Some(PpOcrReader::load(Path::new(&self.ppocr_rec_model))?)
        };
        Ok(PpOcrModels { detector, recogniser })
    }
}

/// An ONNX model file, read by tract; a missing file says where the models come from (`hint`
/// adds how to do without this one).
pub(crate) fn read_onnx(model: &Path, what: &str, hint: &str) -> Result<InferenceModel, EngineError> {
    if !model.is_file() {
        return Err(EngineError(format!(
            "{what} {} not found (scripts/install-deps.sh installs it{hint})",
            model.display()
        )));
    }
    tract_onnx::onnx().model_for_path(model).map_err(|e| EngineError(format!("{what} {}: {e}", model.display())))
}

/// Cheap to clone: the optimised model and the character list are shared, and a run keeps its
/// state to itself, so every OCR thread can hold one.
#[derive(Clone)]
pub struct PpOcrReader {
    plan: Arc<TypedRunnableModel>,
    /// Index 0 is CTC's blank; then the model's characters; then a space.
    characters: Arc<Vec<String>>,
}

impl PpOcrReader {
    pub fn load(model: &Path) -> Result<Self, EngineError> {
        let what = "PP-OCR model";
        let failed = |e: TractError| EngineError(format!("{what} {}: {e}", model.display()));
        let loaded = read_onnx(model, what, "; PPOCR_REC_MODEL= turns it off")?;
        let characters = loaded
            .properties
            .get("onnx.metadata_props.character")
            .and_then(|t| t.try_as_plain_ram().ok()?.to_scalar::<String>().ok().cloned())
            .ok_or_else(|| {
                EngineError(format!("PP-OCR model {}: no character list in its metadata", model.display()))
            })?;
        let characters: Vec<String> = std::iter::once(String::new())
            .chain(characters.lines().map(str::to_owned))
            .chain(std::iter::once(" ".to_owned()))
            .collect();
        let plan = loaded
            .with_input_fact(0, f32::fact([1, 3, HEIGHT as usize, WIDTH as usize]).into())
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(failed)?;
        Ok(PpOcrReader { plan, characters: Arc::new(characters) })
    }

    /// `(height, width)`-normalised input: the line scaled to 48 px high, values in -1..1, padded
    /// on the right.
    fn input(line: &GrayImage) -> Tensor {
        let (w, h) = line.dimensions();
        let width = ((f64::from(w) * f64::from(HEIGHT) / f64::from(h.max(1))).ceil() as u32).clamp(1, WIDTH);
        let resized = image::imageops::resize(line, width, HEIGHT, image::imageops::FilterType::Triangle);
        let mut input = tract_ndarray::Array4::<f32>::zeros((1, 3, HEIGHT as usize, WIDTH as usize));
        for (x, y, pixel) in resized.enumerate_pixels() {
            let value = (f32::from(pixel.0[0]) / 255.0 - 0.5) / 0.5;
            for channel in 0..3 {
                input[[0, channel, y as usize, x as usize]] = value;
            }
        }
        input.into_tensor()
    }
}

impl LineReader for PpOcrReader {
    fn describe(&self) -> String {
        "PP-OCRv4 rec (tract)".to_owned()
    }

    fn read_line(&mut self, line: &GrayImage) -> Result<Reading, EngineError> {
        let outputs =
            self.plan.run(tvec!(Self::input(line).into())).map_err(|e| EngineError(format!("PP-OCR run: {e}")))?;
        let probabilities =
            outputs[0].to_plain_array_view::<f32>().map_err(|e| EngineError(format!("PP-OCR output: {e}")))?;
        // Greedy CTC: the best class per time step, repeats merged, blanks dropped.
        let (mut text, mut confidences, mut previous) = (String::new(), Vec::new(), 0usize);
        // Shape [1, time steps, classes].
        if probabilities.ndim() != 3 {
            return Err(EngineError(format!("PP-OCR output has shape {:?}", probabilities.shape())));
        }
        for step in probabilities.index_axis(tract_ndarray::Axis(0), 0).outer_iter() {
            let (best, p) = step.iter().copied().enumerate().fold((0, f32::MIN), |a, b| if b.1 > a.1 { b } else { a });
            if best != 0
                && best != previous
                && let Some(character) = self.characters.get(best)
            {
                text.push_str(character);
                confidences.push(f64::from(p));
            }
            previous = best;
        }
        let confidence =
            if confidences.is_empty() { 0.0 } else { confidences.iter().sum::<f64>() / confidences.len() as f64 };
        Ok(Reading { text: text.trim().to_owned(), confidence })
    }
}
