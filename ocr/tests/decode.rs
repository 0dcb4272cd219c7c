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
