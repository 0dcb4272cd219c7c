//! Bad uploads get the contract's error codes; real captures decode.

use ocr::decode::{DecodeError, decode};
use proto::OcrErrorCode;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

#[test]
fn captures_decode_in_every_accepted_format() {
    let jpeg = decode(&fixture("es1-0002.jpg")).expect("JPEG");
    assert_eq!(jpeg.dimensions(), (1282, 720));
    let png = decode(&fixture("es1-0006.png")).expect("PNG");
    assert_eq!(png.dimensions(), (630, 357));
}

#[test]
fn captures_above_the_read_size_are_scaled_down_to_it_keeping_their_shape() {
    // A 4K screen's capture: 3840 x 2160, a light band across its middle.
    let screen = image::RgbImage::from_fn(3840, 2160, |_, y| {
        if (1000..1160).contains(&y) { image::Rgb([220, 200, 150]) } else { image::Rgb([10, 12, 20]) }
    });
    let mut png = std::io::Cursor::new(Vec::new());
    screen.write_to(&mut png, image::ImageFormat::Png).expect("PNG in memory");
    let read = decode(png.get_ref()).expect("a 4K capture is accepted");
    assert_eq!(read.dimensions(), (2560, 1440), "two thirds of each side, the shape kept");
    assert!(u64::from(read.width()) * u64::from(read.height()) <= ocr::decode::READ_PIXELS);
    assert_eq!(read.get_pixel(1280, 720).0, [220, 200, 150], "the band is where it was, in proportion");
    assert_eq!(read.get_pixel(1280, 100).0, [10, 12, 20]);
    // The 2x client's own size is read as it is.
    let at_2x = image::RgbImage::from_pixel(2560, 1440, image::Rgb([1, 2, 3]));
    let mut png = std::io::Cursor::new(Vec::new());
    at_2x.write_to(&mut png, image::ImageFormat::Png).expect("PNG in memory");
    assert_eq!(decode(png.get_ref()).expect("2560 x 1440").dimensions(), (2560, 1440));
}

#[test]
fn bad_uploads_get_clear_errors_and_codes() {
    let cases: Vec<(&str, Vec<u8>, OcrErrorCode)> = vec![
        ("empty", Vec::new(), OcrErrorCode::NotAnImage),
        ("text", b"this is the match report, not a screenshot".to_vec(), OcrErrorCode::NotAnImage),
        ("truncated PNG", fixture("es1-0006.png")[..5_000].to_vec(), OcrErrorCode::NotAnImage),
        ("truncated JPEG", fixture("es1-0002.jpg")[..3_000].to_vec(), OcrErrorCode::NotAnImage),
        ("30,000 x 30,000 PNG header", testkit::png_bomb(30_000, 30_000), OcrErrorCode::ImageTooLarge),
        ("GIF", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec(), OcrErrorCode::NotAnImage),
    ];
    for (what, bytes, code) in cases {
        let Err(error) = decode(&bytes) else { panic!("{what} was accepted") };
        assert_eq!(error.code(), code, "{what}: {error}");
        println!("{what}: {error}");
    }
    assert!(matches!(
        decode(&testkit::png_bomb(30_000, 30_000)),
        Err(DecodeError::TooManyPixels { width: 30_000, height: 30_000 })
    ));
}
