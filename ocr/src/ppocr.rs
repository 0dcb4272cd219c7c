//! PP-OCRv4 text-line recognition (the PaddleOCR model that the PyPI wheel `rapidocr-onnxruntime`
//! ships as ONNX) run in-process by ONNX Runtime ([`crate::onnx`]): the first reader of every
//! name cell, Tesseract reading the rows it leaves to no player. It reads Latin and Chinese, not
//! Hangul, and it reads small Latin text better than Tesseract (the shared notes measured 7/10
//! names on half-size captures against Tesseract's 3–5).
//!
//! The model file is fetched at set-up time (`scripts/install-deps.sh` takes it out of the wheel
//! into [`DEFAULT_MODEL`]; `PPOCR_REC_MODEL` names another); nothing is downloaded at run time.
//! Its character list is in the model's metadata (`character`), as RapidOCR reads it.

use std::path::Path;
use std::sync::{Arc, Mutex};

use image::GrayImage;
use ndarray::{Array4, ArrayView3, Axis};
use ort::session::Session;
use ort::value::TensorRef;

use crate::detect::{self, TextDetector};
use crate::engine::{EngineError, LineReader};
use crate::matching::Reading;
use crate::name_shape::{self, NameShapes};
use crate::onnx::{self, OnnxModel};

/// The model's input height, and the width every line is padded to (names are at most about
/// six heights long, so nothing is squeezed; RapidOCR pads to this width too).
const HEIGHT: u32 = 48;
const WIDTH: u32 = 320;

/// Where `scripts/install-deps.sh` and the Docker image put the recognition model (the wheel's,
/// its operators fused by `scripts/fuse_ppocr_model.py`).
pub const DEFAULT_MODEL: &str = "/usr/local/share/lol-ocr/ch_PP-OCRv4_rec_infer.fused.onnx";

/// Where the PP-OCRv4 models and ONNX Runtime are: the text detector the layout needs, and the
/// recogniser that reads the names first (empty path: Tesseract alone); and the font of the
/// name-shape look ([`name_shape`]). The binaries take these from
/// flags and environment variables (`ocr_service::ModelArgs`).
#[derive(Debug, Clone)]
pub struct PpOcrConfig {
    pub ppocr_det_model: String,
    pub ppocr_rec_model: String,
    pub onnxruntime: String,
    /// The font the name-shape look draws Hangul names in (empty: no such look).
    pub name_font: String,
}

/// The models' bytes, read once and shared by every OCR thread (cloning shares them); each
/// thread makes its own sessions from them.
#[derive(Clone)]
pub struct PpOcrModels {
    detector: OnnxModel,
    recogniser: Option<RecognitionModel>,
    name_shapes: Option<NameShapes>,
}

impl PpOcrModels {
    pub fn detector(&self) -> Result<TextDetector, EngineError> {
        TextDetector::new(&self.detector)
    }

    /// The names' first reader, unless switched off.
    pub fn recogniser(&self) -> Result<Option<PpOcrReader>, EngineError> {
        let Some(model) = &self.recogniser else { return Ok(None) };
        model.reader().map(Some)
    }

    /// The font for the last look at unread Hangul names, unless switched off.
    pub fn name_shapes(&self) -> Option<NameShapes> {
        self.name_shapes.clone()
    }
}

impl Default for PpOcrConfig {
    /// Where `scripts/install-deps.sh` puts the models and the library.
    fn default() -> Self {
        PpOcrConfig {
            ppocr_det_model: detect::DEFAULT_MODEL.to_owned(),
            ppocr_rec_model: DEFAULT_MODEL.to_owned(),
            onnxruntime: onnx::DEFAULT_LIBRARY.to_owned(),
            name_font: name_shape::DEFAULT_FONT.to_owned(),
        }
    }
}

impl PpOcrConfig {
    /// Both models (the recogniser is `None` when switched off) and the library. A missing
    /// model is an error here, a broken one when the first thread makes its sessions, so a
    /// deployment never reads worse than it was measured without saying so.
    pub fn load(&self) -> Result<PpOcrModels, EngineError> {
        let library = Path::new(&self.onnxruntime);
        let detector = OnnxModel::read("PP-OCR detection model", Path::new(&self.ppocr_det_model), "", library)?;
        let recogniser = if self.ppocr_rec_model.is_empty() {
            None
        } else {
            let path = Path::new(&self.ppocr_rec_model);
            Some(RecognitionModel::read(OnnxModel::read(
                "PP-OCR model",
                path,
                "; PPOCR_REC_MODEL= turns it off",
                library,
            )?)?)
        };
        let name_shapes =
            if self.name_font.is_empty() { None } else { Some(NameShapes::load(Path::new(&self.name_font))?) };
        Ok(PpOcrModels { detector, recogniser, name_shapes })
    }
}

/// The recognition model and the character list of its metadata.
#[derive(Clone)]
struct RecognitionModel {
    model: OnnxModel,
    /// Index 0 is CTC's blank; then the model's characters; then a space.
    characters: Arc<Vec<String>>,
    /// The session the metadata was read from, for the first reader: making one takes longer
    /// than a reading.
    spare: Arc<Mutex<Option<Session>>>,
}

impl RecognitionModel {
    fn read(model: OnnxModel) -> Result<Self, EngineError> {
        let session = model.session()?;
        let characters = session
            .metadata()
            .ok()
            .and_then(|metadata| metadata.custom("character"))
            .ok_or_else(|| EngineError::NoCharacterList { model: model.describe() })?;
        let characters: Vec<String> = std::iter::once(String::new())
            .chain(characters.lines().map(str::to_owned))
            .chain(std::iter::once(" ".to_owned()))
            .collect();
        Ok(RecognitionModel { model, characters: Arc::new(characters), spare: Arc::new(Mutex::new(Some(session))) })
    }

    fn reader(&self) -> Result<PpOcrReader, EngineError> {
        let spare = self.spare.lock().map_or(None, |mut spare| spare.take());
        let session = match spare {
            Some(session) => session,
            None => self.model.session()?,
        };
        Ok(PpOcrReader { session, characters: Arc::clone(&self.characters) })
    }
}

/// One thread's recogniser (an ONNX Runtime session runs one inference at a time).
pub struct PpOcrReader {
    session: Session,
    characters: Arc<Vec<String>>,
}

impl PpOcrReader {
    /// `(height, width)`-normalised input: the line scaled to 48 px high, values in -1..1, padded
    /// on the right.
    fn input(line: &GrayImage) -> Array4<f32> {
        let (w, h) = line.dimensions();
        let width = ((f64::from(w) * f64::from(HEIGHT) / f64::from(h.max(1))).ceil() as u32).clamp(1, WIDTH);
        let resized = image::imageops::resize(line, width, HEIGHT, image::imageops::FilterType::Triangle);
        let mut input = Array4::<f32>::zeros((1, 3, HEIGHT as usize, WIDTH as usize));
        for (x, y, pixel) in resized.enumerate_pixels() {
            let value = (f32::from(pixel.0[0]) / 255.0 - 0.5) / 0.5;
            for channel in 0..3 {
                input[[0, channel, y as usize, x as usize]] = value;
            }
        }
        input
    }
}

impl LineReader for PpOcrReader {
    fn describe(&self) -> String {
        "PP-OCRv4 rec (ONNX Runtime)".to_owned()
    }

    fn read_line(&mut self, line: &GrayImage) -> Result<Reading, EngineError> {
        let failed = |source| EngineError::Onnx { what: "PP-OCR run".to_owned(), source };
        let input = Self::input(line);
        let outputs =
            self.session.run(ort::inputs![TensorRef::from_array_view(&input).map_err(failed)?]).map_err(failed)?;
        let (shape, data) = outputs[0].try_extract_tensor::<f32>().map_err(failed)?;
        // Shape [1, time steps, classes].
        let [1, steps, classes] = **shape else {
            return Err(EngineError::OutputShape { model: "PP-OCR recognition", shape: shape.to_vec() });
        };
        let probabilities = ArrayView3::from_shape((1, steps as usize, classes as usize), data)
            .map_err(|_| EngineError::OutputShape { model: "PP-OCR recognition", shape: shape.to_vec() })?;
        // Greedy CTC: the best class per time step, repeats merged, blanks dropped.
        let (mut text, mut confidences, mut previous) = (String::new(), Vec::new(), 0usize);
        for step in probabilities.index_axis(Axis(0), 0).outer_iter() {
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
