//! The extract worker's database side.
//!
//! - [`ocr_input`]: from an `extract` job to the `lol-ocr` job input — the attachment (which
//!   must exist, be a `LOL_RESULT_SCREEN` and belong to the match), the match's teams, and the
//!   friend dictionary (the match's players first, then every other friend).
//! - [`result_store`]: the `extraction_result` row of an attachment — one per attachment,
//!   overwritten when the same attachment is extracted again.
//!
//! The OCR call itself (issue "ocr/") is not wired in yet; until it is, the binary connects,
//! migrates, provisions and waits, and does not consume `extract` jobs.

pub mod ocr_input;
pub mod result_store;
