//! From uploaded bytes to pixels, refusing what is not a screenshot before it costs memory.
//!
//! Only PNG, JPEG and WebP are accepted (what the app's upload allows). The header is read first:
//! a file that claims more than [`MAX_PIXELS`] pixels or a side over [`MAX_SIDE`] is refused
//! before any pixel is decoded, so a decompression bomb (a tiny PNG claiming 30,000 × 30,000)
//! costs nothing; the decoder also runs under an allocation limit. A capture with more pixels than
//! the 2× client's screen ([`READ_PIXELS`]) is scaled down to that many: no reader gets more
//! from the larger copy, and the pixels stay in memory for the whole reading.

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits, RgbImage};
use proto::OcrErrorCode;

use crate::resample;

/// Bigger than any screen a client runs on (8K is 33 MP); a scoreboard needs far less.
pub const MAX_PIXELS: u64 = 40_000_000;
pub const MAX_SIDE: u32 = 10_000;
/// The pixels of the 2× client's screen (2560 × 1440), the most a capture is read at. At 2× a
/// name's cell is already about as tall as the 48 px lines the recogniser reads, Tesseract gets
/// its text at the same height from any scale (`preprocess::upscale_for`), and the detector's
/// canvas is smaller still, so larger captures carry nothing more for any reader; held at full
/// size they only raise the peak memory (a 3163 × 2150 capture: 20 MB of pixels through the whole
/// reading). A whole 4K desktop with the client in a window at 1× is still read at 0.67×, inside
/// the 0.5–3× the OCR handles.
pub const READ_PIXELS: u64 = 2560 * 1440;
/// Largest upload read at all (the extract worker applies the same limit to the S3 download).
pub const MAX_BYTES: usize = 25 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the file is empty")]
    Empty,
    #[error("not a PNG, JPEG or WebP image{0}")]
    UnknownFormat(String),
    #[error("{format} image is corrupt or truncated: {reason}")]
    Corrupt { format: &'static str, reason: String },
    #[error("image is {width} x {height} pixels; the limit is {MAX_PIXELS} pixels and {MAX_SIDE} per side")]
    TooManyPixels { width: u32, height: u32 },
    #[error("file is {0} bytes; the limit is {MAX_BYTES}")]
    TooManyBytes(usize),
}

impl DecodeError {
    /// The contract's error code for this failure.
    pub fn code(&self) -> OcrErrorCode {
        match self {
            DecodeError::TooManyPixels { .. } | DecodeError::TooManyBytes(_) => OcrErrorCode::ImageTooLarge,
            DecodeError::Empty | DecodeError::UnknownFormat(_) | DecodeError::Corrupt { .. } => {
                OcrErrorCode::NotAnImage
            }
        }
    }
}

pub fn decode(bytes: &[u8]) -> Result<RgbImage, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    if bytes.len() > MAX_BYTES {
        return Err(DecodeError::TooManyBytes(bytes.len()));
    }
    let format = match image::guess_format(bytes) {
        Ok(format @ (ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP)) => format,
        Ok(other) => return Err(DecodeError::UnknownFormat(format!(" (it is {other:?})"))),
        Err(_) => return Err(DecodeError::UnknownFormat(String::new())),
    };
    let name = match format {
        ImageFormat::Png => "PNG",
        ImageFormat::Jpeg => "JPEG",
        _ => "WebP",
    };
    let corrupt = |error: image::ImageError| DecodeError::Corrupt { format: name, reason: error.to_string() };
    // The JPEG decoder fills a truncated file with grey instead of failing; the missing
    // end-of-image marker gives the truncation away (trailing bytes after it are tolerated).
    if format == ImageFormat::Jpeg && !bytes[bytes.len().saturating_sub(4096)..].windows(2).any(|w| w == [0xFF, 0xD9]) {
        return Err(DecodeError::Corrupt {
            format: name,
            reason: "no end-of-image marker: the file is truncated".to_owned(),
        });
    }

    let (width, height) = ImageReader::with_format(Cursor::new(bytes), format).into_dimensions().map_err(corrupt)?;
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(DecodeError::TooManyPixels { width, height });
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    // Room for the decoded image in its widest pixel format, and the decoder's buffers.
    limits.max_alloc = Some(MAX_PIXELS * 8);
    reader.limits(limits);
    // `into_rgb8` keeps an RGB decode's buffer (JPEG, RGB PNG) rather than copying it.
    Ok(within_read_pixels(reader.decode().map_err(corrupt)?.into_rgb8()))
}

/// `image` as it is, or scaled down (keeping its shape) to at most [`READ_PIXELS`] pixels.
fn within_read_pixels(image: RgbImage) -> RgbImage {
    let (width, height) = image.dimensions();
    let pixels = u64::from(width) * u64::from(height);
    if pixels <= READ_PIXELS {
        return image;
    }
    let scale = (READ_PIXELS as f64 / pixels as f64).sqrt();
    let side = |s: u32| (f64::from(s) * scale).floor() as u32;
    resample::resize(&image, side(width), side(height))
}
