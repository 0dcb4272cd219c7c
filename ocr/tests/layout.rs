//! The layout finder against the labelled name boxes: every labelled name's ink must lie inside
//! the cell found for its row (the labels are read here only, to check).

use ocr::layout;

fn check(path: &std::path::Path) -> Result<(), String> {
    let label: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path.with_extension("json")).unwrap()).unwrap();
    let image = ocr::decode::decode(&std::fs::read(path).unwrap()).unwrap();
    let found = layout::find(&image).map_err(|e| e.to_string())?;
    for (team, cells) in [("team1", &found.blue), ("team2", &found.red)] {
        let boxes = label["details"]["nameBoxes"][team].as_array().unwrap();
        for (row, (b, cell)) in boxes.iter().zip(cells.iter()).enumerate() {
            let b: Vec<u32> = b.as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
            if !(cell.x0 <= b[0] && cell.y0 <= b[1] && cell.x1 >= b[2] && cell.y1 >= b[3]) {
                return Err(format!("{team} row {row}: ink {b:?} not inside {cell:?}"));
            }
        }
    }
    Ok(())
}

#[test]
fn name_cells_hold_the_names_on_every_fixture() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for name in ["es1-0002.jpg", "es1-0006.png", "es1-0010.png", "es1-0015.jpg"] {
        check(&dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

/// Over the 60 labelled captures in ../shared (run with `--ignored --nocapture`).
#[test]
#[ignore = "measures the public set in ../shared"]
fn name_cells_on_the_public_set() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/endscreens/public");
    let mut images: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png" || e == "jpg"))
        .collect();
    images.sort();
    let failures: Vec<String> = images
        .iter()
        .filter_map(|path| check(path).err().map(|e| format!("{}: {e}", path.file_name().unwrap().to_string_lossy())))
        .collect();
    for failure in &failures {
        println!("{failure}");
    }
    println!("{}/{} layouts hold every name", images.len() - failures.len(), images.len());
}

#[test]
fn captures_of_something_else_are_not_scoreboards() {
    let dark = image::RgbImage::from_pixel(1280, 720, image::Rgb([8, 16, 24]));
    assert!(layout::find(&dark).is_err());
    // Colour everywhere (a game screenshot, a photo): no ten bands at one pitch.
    let noisy = image::RgbImage::from_fn(1280, 720, |x, y| {
        image::Rgb([(x * 7 % 256) as u8, (y * 13 % 256) as u8, ((x + y) % 256) as u8])
    });
    let error = layout::find(&noisy).expect_err("noise is not a scoreboard");
    assert!(error.to_string().starts_with("not a scoreboard"), "{error}");
}
