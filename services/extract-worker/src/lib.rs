//! The extract worker: an `extract` job → the attachment's screenshot read → its
//! `extraction_result`.
//!
//! - [`app`]: the worker's configuration and its [`App`](app::App): built once, run until a
//!   shutdown — by `main` until SIGTERM, by tests in-process.
//! - [`task`]: the handler — load the input, download under the size limit, read, store; and
//!   which failures are permanent.
//! - [`reader`]: where the capture is read — in process on `ocr_service::pool` (the default) or by
//!   `lol-ocr serve` over HTTP ([`ocr_http`]), chosen by `EXTRACTION_MODE`.
//! - [`ocr_input`]: from an `extract` job to the `lol-ocr` job input — the attachment (which
//!   must exist, be a `LOL_RESULT_SCREEN` and belong to the match), the match's teams, and the
//!   friend dictionary (the match's players first, then every other friend).
//! - [`result_store`]: the `extraction_result` row of an attachment — one per attachment,
//!   overwritten by a new reading, never by a refused job or a failed re-read.
//! - [`extract_metrics`]: outcomes, warnings and OCR step times on `/metrics`.

pub mod app;
pub mod extract_metrics;
pub mod ocr_http;
pub mod ocr_input;
pub mod reader;
pub mod result_store;
pub mod task;
