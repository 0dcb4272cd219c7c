//! Turning a name or title crop into what Tesseract reads best, as measured on real captures
//! (`shared/docs/endscreen.md`): grey, upscaled 3× (4× was worse), dark text on white, Otsu
//! binarisation.

use image::imageops::{self, FilterType};
use image::{GrayImage, RgbImage};
use imageproc::contrast::{otsu_level, threshold};

/// Upscale factor for text crops.
pub const UPSCALE: u32 = 3;

/// Grey, ×[`UPSCALE`], light text made dark on white, binarised at Otsu's level.
pub fn text_line(crop: &RgbImage) -> GrayImage {
    let grey = imageops::grayscale(crop);
    let big = imageops::resize(&grey, grey.width() * UPSCALE, grey.height() * UPSCALE, FilterType::CatmullRom);
    let level = otsu_level(&big);
    let mut binary = threshold(&big, level, imageproc::contrast::ThresholdType::Binary);
    // The scoreboard draws light text on a dark panel; Tesseract 4+ wants the opposite. Text is
    // the minority: if most pixels are white, the text was dark already.
    let white = binary.pixels().filter(|p| p.0[0] > 127).count();
    if white * 2 < binary.pixels().len() {
        imageops::invert(&mut binary);
    }
    // A white margin: Tesseract misreads glyphs that touch the border.
    let mut framed = GrayImage::from_pixel(binary.width() + 20, binary.height() + 20, image::Luma([255]));
    imageops::overlay(&mut framed, &binary, 10, 10);
    framed
}
