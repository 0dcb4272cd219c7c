//! Reading one line of text. The pipeline talks to a [`LineReader`], so another engine (a
//! PP-OCR recogniser, say) can sit beside Tesseract and the matcher can use every reading.

use image::GrayImage;

use crate::matching::Reading;

/// An engine that could not start or could not read. Never the capture's fault: another
/// attempt (on a healthy machine) may succeed, so the contract's code is `OCR_ENGINE_ERROR`.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("OCR engine: Tesseract {step}: {source}")]
    Tesseract {
        step: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Cached for the process at the first load, so later callers get its text, not its value.
    #[error("OCR engine: {0}")]
    RuntimeUnavailable(String),
    #[error("OCR engine: {what} {path} not found (scripts/install-deps.sh installs it{hint})")]
    ModelMissing { what: &'static str, path: std::path::PathBuf, hint: String },
    #[error("OCR engine: {what} {path}: {source}")]
    ModelUnreadable {
        what: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("OCR engine: {0}: not a font")]
    FontUnreadable(std::path::PathBuf),
    #[error("OCR engine: {model}: no character list in its metadata")]
    NoCharacterList { model: String },
    #[error("OCR engine: {what}: {source}")]
    Onnx {
        what: String,
        #[source]
        source: ort::Error,
    },
    #[error("OCR engine: {model} output has shape {shape:?}")]
    OutputShape { model: &'static str, shape: Vec<i64> },
}

impl EngineError {
    fn tesseract(step: &'static str) -> impl FnOnce(Box<dyn std::error::Error + Send + Sync>) -> EngineError {
        move |source| EngineError::Tesseract { step, source }
    }
}

pub trait LineReader {
    /// What to record in the output's `model.versions`, e.g. `tesseract 5.3.0 kor+eng`.
    fn describe(&self) -> String;

    /// Read a single line of dark text on a light background.
    fn read_line(&mut self, line: &GrayImage) -> Result<Reading, EngineError>;

    /// Read several lines, in their order; an engine may read them together.
    fn read_lines(&mut self, lines: &[GrayImage]) -> Result<Vec<Reading>, EngineError> {
        lines.iter().map(|line| self.read_line(line)).collect()
    }
}

/// Tesseract through its C API (Debian's libtesseract), created once and reused: initialising
/// costs ~90 ms, a line ~7–22 ms. Single-line page segmentation (`psm 7`), as measured best on
/// name cells. Set `OMP_THREAD_LIMIT=1`: on two cores its threads only get in each other's way.
pub struct TesseractReader {
    languages: String,
    /// The crate's API consumes the handle at each step; `None` after a failed step, and
    /// re-created on the next call.
    api: Option<tesseract::Tesseract>,
}

impl TesseractReader {
    /// `languages` as Tesseract writes them, e.g. `kor+eng`; data from the system's tessdata.
    pub fn new(languages: &str) -> Result<Self, EngineError> {
        let api = Self::create(languages)?;
        Ok(TesseractReader { languages: languages.to_owned(), api: Some(api) })
    }

    fn create(languages: &str) -> Result<tesseract::Tesseract, EngineError> {
        let mut api = tesseract::Tesseract::new(None, Some(languages))
            .map_err(|e| EngineError::tesseract("initialising")(format!("{languages}: {e}").into()))?;
        api.set_page_seg_mode(tesseract::PageSegMode::PsmSingleLine);
        Ok(api)
    }
}

impl LineReader for TesseractReader {
    fn describe(&self) -> String {
        format!("tesseract {} {}", tesseract::plumbing::version().to_string_lossy(), self.languages)
    }

    fn read_line(&mut self, line: &GrayImage) -> Result<Reading, EngineError> {
        let api = match self.api.take() {
            Some(api) => api,
            None => Self::create(&self.languages)?,
        };
        let (width, height) = (line.width() as i32, line.height() as i32);
        let mut api = api
            .set_frame(line.as_raw(), width, height, 1, width)
            .map_err(|e| EngineError::tesseract("setting the image")(e.into()))?
            .recognize()
            .map_err(|e| EngineError::tesseract("recognising")(e.into()))?;
        let text = api.get_text().map_err(|e| EngineError::tesseract("reading the text")(e.into()))?;
        let confidence = f64::from(api.mean_text_conf().clamp(0, 100)) / 100.0;
        self.api = Some(api);
        Ok(Reading { text: text.trim().to_owned(), confidence })
    }
}
