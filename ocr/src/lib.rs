//! Reading the post-game scoreboard.
//!
//! What is here:
//! - [`decode`]: bytes → pixels under size limits, with the contract's error codes; a capture
//!   above the 2× client's size scaled down to it ([`resample`]).
//! - [`detect`]: where the text is (PP-OCRv4's DBNet detector, run by ONNX Runtime).
//! - [`layout`]: the ten name cells and the title, from the texts: ten rows at one pitch, five
//!   and five, under the blue and red team headers.
//! - [`title`]: the title word → the winning side.
//! - [`pipeline`]: all of it, bytes and job input → the contract's output, with timings.
//! - [`scoring`]: a reading against a labelled capture (tests and the accuracy bench only).
//! - [`roster_variants`]: a labelled capture's input with the recorded teams altered (tests and
//!   the confidence bench only).
//! - [`preprocess`] and [`engine`]: a text crop → grey, 3×, dark on white, Otsu → Tesseract
//!   `kor+eng` single-line reading behind the [`engine::LineReader`] trait.
//! - [`ppocr`]: PP-OCRv4 text-line recognition (ONNX, run by ONNX Runtime), the
//!   [`engine::LineReader`] that reads every name cell first; Tesseract reads the rows it leaves
//!   to no player of the match (it has no Hangul).
//! - [`onnx`]: ONNX Runtime, loaded once per process, and the models' bytes each OCR thread
//!   makes its own sessions from.
//! - [`riot_id`]: a name cell's text → game name and optional tag.
//! - [`normalize`]: the forms names are compared in (NFC, case, spaces, OCR look-alikes).
//! - [`matching`]: all ten rows against the friend dictionary at once (Kuhn–Munkres), with the
//!   contract's cut-offs, a margin over the runner-up, and the match's players preferred.
//! - [`seating`]: which table team A sat at, from the rows matched on their reading, with a
//!   confidence that follows them; the players read at the other team's table (the board
//!   contradicts the recorded teams); then the last seats the roster fills.
//! - [`name_shape`]: the last look at a row nobody read, against its table's unseated players
//!   with Hangul names: does the cell have the shape of the name, drawn in a Korean font?
//!
//! - [`job_input`]: a job input document → the contract's type, or the contract's error code.
//! - [`debug_image`]: the capture with what the pipeline saw drawn on it.
//!
//! This crate is pure reading: bytes in, the contract's output out, on the caller's thread. The
//! async and I/O edges live in `ocr-service` (`ocr/service`): the blocking pool the extract
//! worker and `serve` share, the S3 download, and the `lol-ocr` CLI (`extract` reads one
//! capture, `serve` answers `POST /v1/extract` over HTTP).

pub mod debug_image;
pub mod decode;
pub mod detect;
pub mod engine;
pub mod job_input;
pub mod layout;
pub mod matching;
pub mod name_shape;
pub mod normalize;
pub mod onnx;
pub mod pipeline;
pub mod ppocr;
pub mod preprocess;
pub mod resample;
pub mod riot_id;
pub mod roster_variants;
pub mod scoring;
pub mod seating;
pub mod title;

/// Tesseract's languages for every reading: the client runs in Korean or English, and names
/// mix Hangul and Latin.
pub const LANGUAGES: &str = "kor+eng";
/// Tesseract's language for a further look at rows still unmatched: Korean alone.
pub const HANGUL: &str = "kor";
