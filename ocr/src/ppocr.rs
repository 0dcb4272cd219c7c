//! PP-OCRv4 text-line recognition (the PaddleOCR model that the PyPI wheel `rapidocr-onnxruntime`
//! ships as ONNX) run in-process by ONNX Runtime ([`crate::onnx`]): the first reader of every
//! name cell, Tesseract reading the rows it leaves to no player. It reads Latin and Chinese, not
//! Hangul, and it reads small Latin text better than Tesseract (the shared notes measured 7/10
//! names on half-size captures against Tesseract's 3–5). The ten name cells are read two to a
//! run wherever they fit side by side ([`LineReader::read_lines`]), which halves the names step.
//!
//! The model file is fetched at set-up time (`scripts/install-deps.sh` takes it out of the wheel
//! into [`DEFAULT_MODEL`]; `PPOCR_REC_MODEL` names another); nothing is downloaded at run time.
//! Its character list is in the model's metadata (`character`), as RapidOCR reads it.

use std::path::Path;
use std::sync::{Arc, Mutex};

use image::GrayImage;
use ndarray::{Array2, Array4, ArrayView3, Axis};
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
    /// The line scaled to the model's height, keeping its shape (at most [`WIDTH`] wide).
    fn scaled(line: &GrayImage) -> GrayImage {
        let (w, h) = line.dimensions();
        let width = ((f64::from(w) * f64::from(HEIGHT) / f64::from(h.max(1))).ceil() as u32).clamp(1, WIDTH);
        image::imageops::resize(line, width, HEIGHT, image::imageops::FilterType::Triangle)
    }

    /// The model's input: each scaled line at its column, values in -1..1, the rest 0 (the
    /// padding RapidOCR uses).
    fn input(lines: &[(&GrayImage, u32)]) -> Array4<f32> {
        let mut grey = Array2::<f32>::zeros((HEIGHT as usize, WIDTH as usize));
        for (line, left) in lines {
            for (row, mut out) in line.rows().zip(grey.outer_iter_mut()) {
                for (pixel, value) in row.zip(out.iter_mut().skip(*left as usize)) {
                    *value = (f32::from(pixel.0[0]) / 255.0 - 0.5) / 0.5;
                }
            }
        }
        // The model reads colour; a grey line is the same in all three channels.
        grey.broadcast((1, 3, HEIGHT as usize, WIDTH as usize))
            .expect("a plane broadcasts to three channels")
            .to_owned()
    }

    /// The best class and its probability at each time step.
    fn best_per_step(&mut self, input: &Array4<f32>) -> Result<Vec<(usize, f32)>, EngineError> {
        let failed = |source| EngineError::Onnx { what: "PP-OCR run".to_owned(), source };
        let outputs =
            self.session.run(ort::inputs![TensorRef::from_array_view(input).map_err(failed)?]).map_err(failed)?;
        let (shape, data) = outputs[0].try_extract_tensor::<f32>().map_err(failed)?;
        // Shape [1, time steps, classes].
        let [1, steps, classes] = **shape else {
            return Err(EngineError::OutputShape { model: "PP-OCR recognition", shape: shape.to_vec() });
        };
        let probabilities = ArrayView3::from_shape((1, steps as usize, classes as usize), data)
            .map_err(|_| EngineError::OutputShape { model: "PP-OCR recognition", shape: shape.to_vec() })?;
        Ok(probabilities
            .index_axis(Axis(0), 0)
            .outer_iter()
            .map(|step| step.iter().copied().enumerate().fold((0, f32::MIN), |a, b| if b.1 > a.1 { b } else { a }))
            .collect())
    }

    /// Greedy CTC over some time steps: repeats merged, blanks dropped.
    fn text_of(&self, steps: &[(usize, f32)]) -> Reading {
        let (mut text, mut confidences, mut previous) = (String::new(), Vec::new(), 0usize);
        for &(best, p) in steps {
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
        Reading { text: text.trim().to_owned(), confidence }
    }
}

/// Blank columns between two lines that share a run (four time steps of the model's output).
const GAP: u32 = 32;

/// Which lines share a run: the widest left with the narrowest that still fits beside it.
fn pairs(widths: &[u32]) -> Vec<(usize, Option<usize>)> {
    let mut order: Vec<usize> = (0..widths.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(widths[i]));
    let (mut wide, mut narrow, mut runs) = (0, order.len(), Vec::new());
    while wide < narrow {
        let first = order[wide];
        wide += 1;
        if wide < narrow && widths[first] + GAP + widths[order[narrow - 1]] <= WIDTH {
            narrow -= 1;
            runs.push((first, Some(order[narrow])));
        } else {
            runs.push((first, None));
        }
    }
    runs
}

impl LineReader for PpOcrReader {
    fn describe(&self) -> String {
        "PP-OCRv4 rec (ONNX Runtime)".to_owned()
    }

    fn read_line(&mut self, line: &GrayImage) -> Result<Reading, EngineError> {
        let steps = self.best_per_step(&Self::input(&[(&Self::scaled(line), 0)]))?;
        Ok(self.text_of(&steps))
    }

    /// Two lines to a run wherever they fit side by side: a run costs the same for any text
    /// in its 320 columns, and a name cell scaled to 48 px high is 80–235 columns wide on the
    /// real captures (median 134), so ten names take five or six runs instead of ten.
    fn read_lines(&mut self, lines: &[GrayImage]) -> Result<Vec<Reading>, EngineError> {
        let scaled: Vec<GrayImage> = lines.iter().map(Self::scaled).collect();
        let widths: Vec<u32> = scaled.iter().map(GrayImage::width).collect();
        let mut readings = vec![Reading { text: String::new(), confidence: 0.0 }; lines.len()];
        for (first, second) in pairs(&widths) {
            let left = widths[first] + GAP;
            let placed: Vec<(&GrayImage, u32)> =
                std::iter::once((&scaled[first], 0)).chain(second.map(|second| (&scaled[second], left))).collect();
            let steps = self.best_per_step(&Self::input(&placed))?;
            // A step covers WIDTH / steps columns; two lines are cut apart mid-gap.
            let cut = match second {
                Some(_) => ((left - GAP / 2) as usize * steps.len()).div_ceil(WIDTH as usize).min(steps.len()),
                None => steps.len(),
            };
            readings[first] = self.text_of(&steps[..cut]);
            if let Some(second) = second {
                readings[second] = self.text_of(&steps[cut..]);
            }
        }
        Ok(readings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_is_read_once_and_shared_runs_fit_the_input() {
        let widths = [300, 100, 150, 140, 80, 180, 320, 96, 120, 200];
        let runs = pairs(&widths);
        let mut seen: Vec<usize> = runs.iter().flat_map(|&(a, b)| std::iter::once(a).chain(b)).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..widths.len()).collect::<Vec<_>>());
        for &(first, second) in &runs {
            if let Some(second) = second {
                assert!(widths[first] + GAP + widths[second] <= WIDTH, "{first} and {second} overlap");
            }
        }
        // 300 and 320 read alone; the other eight two by two.
        assert_eq!(runs.len(), 6);
    }

    #[test]
    fn no_lines_no_runs_and_one_line_one_run() {
        assert!(pairs(&[]).is_empty());
        assert_eq!(pairs(&[120]), vec![(0, None)]);
    }
}
