//! Bad uploads get the contract's error codes; real captures decode.

use ocr::decode::{DecodeError, decode};
use proto::OcrErrorCode;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

/// A well-formed PNG of a few dozen bytes whose header claims `width` x `height` pixels: a
/// decompression bomb's shape.
fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut header = width.to_be_bytes().to_vec();
    header.extend(height.to_be_bytes());
    header.extend([8, 2, 0, 0, 0]); // 8-bit RGB
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut png, b"IHDR", &header);
    chunk(&mut png, b"IDAT", &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]); // an empty zlib stream
    chunk(&mut png, b"IEND", &[]);
    png
}

fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    png.extend((data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend(data);
    png.extend(&body);
    png.extend(crc32(&body).to_be_bytes());
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
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
        ("30,000 x 30,000 PNG header", png_header(30_000, 30_000), OcrErrorCode::ImageTooLarge),
        ("GIF", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec(), OcrErrorCode::NotAnImage),
    ];
    for (what, bytes, code) in cases {
        let Err(error) = decode(&bytes) else { panic!("{what} was accepted") };
        assert_eq!(error.code(), code, "{what}: {error}");
        println!("{what}: {error}");
    }
    assert!(matches!(
        decode(&png_header(30_000, 30_000)),
        Err(DecodeError::TooManyPixels { width: 30_000, height: 30_000 })
    ));
}
