//! Finding the ten name cells and the title from the text boxes of [`crate::detect`].
//!
//! What every scoreboard capture shows, whatever its size, crop or client language:
//! 1. **Ten rows at one pitch, five and five.** Each row's texts (level, name, K/D/A, CS, gold)
//!    line up in columns, so some column of left-aligned boxes holds a box on (nearly) every
//!    row, and the two tables' rows are split by a gap of about 2.15 pitches (the second table's
//!    header sits in it). Every candidate column is fitted to that pattern.
//! 2. **The team headers.** A fit is the scoreboard only if, about 1.08 pitches above the first
//!    row of each table, there is the header label: `TEAM 1` / `1번 팀` drawn in blue above the
//!    first table, `TEAM 2` / `2번 팀` in red above the second. Telling the header line from a
//!    row by its colour keeps a fit from slipping one line up (header and rows are almost
//!    evenly spaced), and rejects lists elsewhere on the screen (the social panel). The label
//!    starts at the line's leftmost ink of that colour, so a label the detector missed (a
//!    display font) is still found from another text of the line it boxed in the same colour;
//!    a header line where it boxed nothing at all, or nothing in line with the other label (a
//!    dim label and totals missed, a text far right boxed), is taken only from the label's ink
//!    right under (or over) the other table's label. Colours are told by hue and relative
//!    saturation, which JPEG's colour subsampling dims but does not turn (see `colour_of`).
//! 3. **The name column** starts about 3.3 pitches right of the header label's left edge (rune,
//!    spells, level and portrait come first): measured 3.25–3.3 on real captures of all three
//!    sources and on the synthetic set. The row's own boxes there give each cell's extent, which
//!    stops before the item icons (Tesseract reads icons as junk letters).
//! 4. **The title** (`VICTORY` / `DEFEAT` / `승리` / `패배`) is the tallest text 3.2–5 pitches
//!    above the first header, starting right of the mode icon (of texts within 10 % of the
//!    tallest, the topmost: the line under the title can be boxed as tall). Its cell stops
//!    where that line's box begins (`line_below`). A crop without it has no title cell, and
//!    the winner is then unknown.
//!
//! Item icons are not needed: a capture whose item art, colours or spacing differ from the
//! client measured here still has these texts.

use image::RgbImage;

use crate::detect::TextBox;

/// Least rows of the ten that a column must hold to be fitted.
const LEAST_ROWS: usize = 8;
/// How far a box's centre may sit from its row's line, in pitches.
const ROW_TOLERANCE: f64 = 0.2;
/// The gap between the tables' rows (row 4 to row 5), in pitches: about 2.15 on every capture.
const TABLE_GAP: (f64, f64) = (1.6, 3.0);
const TYPICAL_TABLE_GAP: f64 = 2.15;
/// From a header line down to its table's first row, in pitches.
const HEADER_ABOVE_ROW: f64 = 1.08;
/// From the header label's left edge to the names, in pitches.
const NAMES_RIGHT_OF_HEADER: f64 = 3.3;
/// How far left of its table's first texts a header label may start, in pitches (1–1.5 on the
/// captures measured: the rune and spell icons come before the level).
const LABEL_LEFT_OF_ROWS: f64 = 4.0;
/// The name column ends here at the latest (the first item icon is 4.4–5.2 pitches on).
const NAME_COLUMN_WIDTH: f64 = 5.0;
/// Least brightness (of 255) of a pixel of a header label's ink: twice the panel's (about 30).
/// A halved, JPEG-compressed capture draws the 7 px tall red label no brighter than 60–120.
const INK_BRIGHTNESS: f64 = 60.0;
/// Least saturation (chroma over brightness, HSV's S) of a team colour. Relative, not absolute:
/// JPEG keeps the hue of small coloured text but spreads its chroma into the dark panel around
/// it, so a halved, compressed red label is (94, 51, 62) where the PNG had (121, 44, 50) —
/// dimmer and less apart, yet still half its brightness away from grey. On the captures and
/// copies looked at (PNG, and halved 4:2:0 JPEG), grey and white text measured under 0.15 and
/// the team labels 0.38–0.66.
const LEAST_SATURATION: f64 = 0.35;
/// The hues (degrees) of the blue team's colour, and of the red team's (from, through 0°, to).
const BLUE_HUES: std::ops::RangeInclusive<f64> = 170.0..=250.0;
const RED_HUES: (f64, f64) = (300.0, 20.0);

/// A rectangle of the capture, in pixels (`x1`, `y1` exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
}

impl Cell {
    /// The cell's pixels, at least one by one (an empty cell still gives the readers an image).
    pub fn crop(&self, image: &RgbImage) -> RgbImage {
        let (width, height) = (self.x1.saturating_sub(self.x0).max(1), self.y1.saturating_sub(self.y0).max(1));
        image::imageops::crop_imm(image, self.x0, self.y0, width, height).to_image()
    }
}

/// The two tables' rows, top to bottom.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// The title word, when the capture shows it.
    pub title: Option<Cell>,
    pub blue: Vec<Cell>,
    pub red: Vec<Cell>,
    /// Distance between row centres, px.
    pub pitch: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a scoreboard: {0}")]
pub struct NotAScoreboard(pub String);

/// Ten rows found in one column of boxes.
#[derive(Debug, Clone, Copy)]
struct Fit {
    rows_seen: usize,
    pitch: f64,
    /// Row centres, the first table's five then the second's.
    centres: [f64; 10],
}

pub fn find(image: &RgbImage, boxes: &[TextBox]) -> Result<Layout, NotAScoreboard> {
    if boxes.len() < LEAST_ROWS {
        return Err(NotAScoreboard(format!("{} texts found, too few for two tables of five", boxes.len())));
    }
    // Boxes of one column mostly gather the same column: each distinct one is fitted once.
    // (In the order first met: on a tie between fits, the first one wins.)
    let mut columns: Vec<Vec<usize>> = Vec::new();
    for column in boxes.iter().map(|b| column_of(b, boxes)) {
        if !columns.contains(&column) {
            columns.push(column);
        }
    }
    let fits: Vec<Fit> =
        columns.iter().filter_map(|column| fit(&column.iter().map(|&i| &boxes[i]).collect::<Vec<_>>())).collect();
    if fits.is_empty() {
        return Err(NotAScoreboard("no column of texts in ten rows, five and five".to_owned()));
    }
    let mut best: Option<(Fit, Header)> = None;
    for fit in fits {
        let (top, bottom) = fit.centres.split_at(5);
        let aligned = |team1: &Header, team2: &Header| {
            team2.x0 >= team1.x0 - fit.pitch * 0.5 && team2.x0 <= team1.x0 + fit.pitch * 8.0
        };
        let (team1, team2) =
            (header(image, boxes, top, fit.pitch, Tint::Blue), header(image, boxes, bottom, fit.pitch, Tint::Red));
        // Both labels start at the same x. Where the detector boxed a header line but not in
        // line with the other (it missed a dim label and its totals, and boxed a text further
        // right), or boxed nothing on it, the label's ink must begin right under or over the
        // other table's label.
        let pair = match (team1, team2) {
            (Some(team1), Some(team2)) if aligned(&team1, &team2) => Some((team1, team2)),
            _ => None,
        }
        .or_else(|| {
            let team1 = team1?;
            Some((team1, header_below_or_above(image, bottom, fit.pitch, Tint::Red, team1.x0)?))
        })
        .or_else(|| {
            let team2 = team2?;
            Some((header_below_or_above(image, top, fit.pitch, Tint::Blue, team2.x0)?, team2))
        });
        let Some((team1, _)) = pair else { continue };
        if best.is_none_or(|(b, _)| fit.rows_seen > b.rows_seen) {
            best = Some((fit, team1));
        }
    }
    let (fit, team1) =
        best.ok_or_else(|| NotAScoreboard("ten rows, but no TEAM 1 / TEAM 2 headers above them".to_owned()))?;
    let pitch = fit.pitch;
    let on_row = |y: f64| boxes.iter().filter(move |b| (b.centre_y() - y).abs() < pitch * 0.3);

    let expected_x = team1.x0 + pitch * NAMES_RIGHT_OF_HEADER;
    let mut starts: Vec<f64> = fit
        .centres
        .iter()
        .flat_map(|&y| on_row(y).map(|b| b.x0))
        .filter(|x0| (x0 - expected_x).abs() <= pitch * 0.7)
        .collect();
    starts.sort_by(f64::total_cmp);
    // Names are left-aligned, and a box may start late (at small sizes the detector misses a
    // faint first letter; a halved capture's boxes start up to 0.7 pitch right of the text) but
    // not early: the header's measure is the bound.
    let names_x = starts.get(starts.len() / 2).map_or(expected_x, |&median| median.min(expected_x));

    let (width, height) = image.dimensions();
    let cell = |y: f64| -> Result<Cell, NotAScoreboard> {
        let mut parts: Vec<&TextBox> = on_row(y)
            .filter(|b| b.x0 > names_x - pitch * 0.8 && b.x0 < names_x + pitch * 4.2 && b.x1 > names_x + pitch * 0.3)
            .collect();
        parts.sort_by(|a, b| a.x0.total_cmp(&b.x0));
        // A name with spaces may come as several boxes: join those close to each other.
        let mut end: Option<f64> = None;
        for part in parts {
            if end.is_none_or(|e| part.x0 - e < pitch * 0.8) {
                end = Some(end.map_or(part.x1, |e| e.max(part.x1)));
            }
        }
        let x1 = (end.unwrap_or(names_x + pitch * 4.4) + pitch * 0.15).min(names_x + pitch * NAME_COLUMN_WIDTH);
        let found = Cell {
            x0: (names_x - pitch * 0.15).max(0.0) as u32,
            y0: (y - pitch * 0.4).max(0.0) as u32,
            x1: (x1.min(f64::from(width))) as u32,
            y1: ((y + pitch * 0.4).min(f64::from(height))) as u32,
        };
        // A capture cut through the names leaves slivers; reading those would invent.
        let readable = f64::from(found.x1.saturating_sub(found.x0)) >= pitch * 0.5
            && f64::from(found.y1.saturating_sub(found.y0)) >= pitch * 0.5;
        readable
            .then_some(found)
            .ok_or_else(|| NotAScoreboard("the names lie outside the capture (cut off)".to_owned()))
    };
    let cells = fit.centres.iter().map(|&y| cell(y)).collect::<Result<Vec<_>, _>>()?;

    let mut heights: Vec<f64> = fit.centres.iter().flat_map(|&y| on_row(y).map(TextBox::height)).collect();
    heights.sort_by(f64::total_cmp);
    let row_text = heights.get(heights.len() / 2).copied().unwrap_or(pitch * 0.5);
    let candidates: Vec<&TextBox> = boxes
        .iter()
        .filter(|b| {
            let above = team1.centre_y - b.centre_y();
            (pitch * 3.2..=pitch * 5.0).contains(&above)
                && (team1.x0 + pitch * 0.8..=team1.x0 + pitch * 4.0).contains(&b.x0)
                && b.height() >= row_text * 1.15
        })
        .collect();
    // The title sits above the line under it (mode, map, date); a box of that line can come
    // out as tall as the title's, so of the tallest few the topmost is the title.
    let tallest = candidates.iter().map(|b| b.height()).fold(0.0, f64::max);
    let title =
        candidates.into_iter().filter(|b| b.height() >= tallest * 0.9).min_by(|a, b| a.y0.total_cmp(&b.y0)).map(|b| {
            let pad = pitch * 0.15;
            Cell {
                x0: (b.x0 - pad).max(0.0) as u32,
                y0: (b.y0 - pad).max(0.0) as u32,
                x1: ((b.x1 + pad).min(f64::from(width))) as u32,
                y1: (b.y1 + pad).min(line_below(b, boxes)).min(f64::from(height)) as u32,
            }
        });
    Ok(Layout { title, blue: cells[..5].to_vec(), red: cells[5..].to_vec(), pitch })
}

/// Where the cell of `text` must end so as not to take in the top of the next line of text
/// under it (the title's mode/map/date line): that line's top, or halfway into the overlap when
/// the two boxes overlap (the detector's boxes reach beyond their text). Tesseract reads a line
/// with the top of another under it as nothing.
fn line_below(text: &TextBox, boxes: &[TextBox]) -> f64 {
    boxes
        .iter()
        .filter(|b| b.centre_y() > text.y1 - text.height() * 0.25 && b.x0 < text.x1 && b.x1 > text.x0)
        .map(|b| if b.y0 < text.y1 { (b.y0 + text.y1) / 2.0 } else { b.y0 })
        .fold(f64::INFINITY, f64::min)
}

/// The indices of the boxes left-aligned with `anchor` and of about its height (`boxes` come
/// top to bottom, so the column does too).
fn column_of(anchor: &TextBox, boxes: &[TextBox]) -> Vec<usize> {
    let h = anchor.height();
    (0..boxes.len())
        .filter(|&i| {
            let b = &boxes[i];
            (b.x0 - anchor.x0).abs() <= (h * 0.35).max(3.0) && (h * 0.6..=h * 1.6).contains(&b.height())
        })
        .collect()
}

/// The best 5 + 5 pattern in a column (sorted top to bottom): the pitch is tried from each gap
/// between neighbours, the first row from each box, the second table from each box a table gap
/// below; the fit holding the most boxes wins, then the one whose gap is most typical.
fn fit(column: &[&TextBox]) -> Option<Fit> {
    let centres: Vec<f64> = column.iter().map(|b| b.centre_y()).collect();
    let slots = |first: f64, pitch: f64| -> [Option<f64>; 5] {
        let mut slots = [None; 5];
        for &y in &centres {
            let k = (y - first) / pitch;
            let slot = k.round();
            if (0.0..=4.0).contains(&slot) && (k - slot).abs() < ROW_TOLERANCE {
                slots[slot as usize] = Some(y);
            }
        }
        slots
    };
    let mut best: Option<(usize, f64, Fit)> = None;
    for pitch in centres.windows(2).map(|w| w[1] - w[0]).filter(|&p| p > 2.0) {
        for &first in &centres {
            let top = slots(first, pitch);
            let top_seen = top.iter().flatten().count();
            if top[0].is_none() || top_seen < 4 {
                continue;
            }
            for &second in &centres {
                let gap = (second - first) / pitch - 4.0;
                if !(TABLE_GAP.0..=TABLE_GAP.1).contains(&gap) {
                    continue;
                }
                let bottom = slots(second, pitch);
                let rows_seen = top_seen + bottom.iter().flatten().count();
                let typical = -(gap - TYPICAL_TABLE_GAP).abs();
                if rows_seen < LEAST_ROWS || best.as_ref().is_some_and(|(n, t, _)| (rows_seen, typical) <= (*n, *t)) {
                    continue;
                }
                let mut centres = [0.0; 10];
                for (offset, table) in [(0, &top), (5, &bottom)] {
                    // The table's line through the rows seen, at the fitted pitch.
                    let seen: Vec<f64> =
                        table.iter().enumerate().filter_map(|(k, y)| y.map(|y| y - k as f64 * pitch)).collect();
                    let start = seen.iter().sum::<f64>() / seen.len() as f64;
                    for k in 0..5 {
                        centres[offset + k] = start + k as f64 * pitch;
                    }
                }
                best = Some((rows_seen, typical, Fit { rows_seen, pitch, centres }));
            }
        }
    }
    best.map(|(_, _, fit)| fit)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tint {
    Blue,
    Red,
}

/// Where a team header line starts: its label's left edge, and the line's height.
#[derive(Debug, Clone, Copy)]
struct Header {
    x0: f64,
    centre_y: f64,
}

/// The header line of the `tint` colour above a table's `rows`: found from a box of that colour
/// on the line, starting at the leftmost ink of that colour between the table's left edge and
/// that box. The detector can miss the label itself (a display font, a small capture) while it
/// boxes other texts of the line drawn in the team's colour (the K/D/A totals, the bans
/// header); the label's pixels are still there, left of the rows.
fn header(image: &RgbImage, boxes: &[TextBox], rows: &[f64], pitch: f64, tint: Tint) -> Option<Header> {
    let line = rows[0] - pitch * HEADER_ABOVE_ROW;
    let leftmost = boxes
        .iter()
        .filter(|b| (b.centre_y() - line).abs() <= pitch * 0.3 && tint_of(image, b) == Some(tint))
        .min_by(|a, b| a.x0.total_cmp(&b.x0))?;
    let table_left = boxes
        .iter()
        .filter(|b| rows.iter().any(|&y| (b.centre_y() - y).abs() < pitch * 0.3))
        .map(|b| b.x0)
        .fold(leftmost.x0, f64::min);
    let band = (leftmost.centre_y() - pitch * 0.3, leftmost.centre_y() + pitch * 0.3);
    let x0 = leftmost_ink(image, band, (table_left - pitch * LABEL_LEFT_OF_ROWS, leftmost.x0), pitch, tint)
        .unwrap_or(leftmost.x0);
    Some(Header { x0, centre_y: leftmost.centre_y() })
}

/// The header line of the `tint` colour above a table's `rows` where the detector boxed nothing
/// on it: the label's ink, beginning within half a pitch of the other table's label at `x0`.
fn header_below_or_above(image: &RgbImage, rows: &[f64], pitch: f64, tint: Tint, x0: f64) -> Option<Header> {
    let line = rows[0] - pitch * HEADER_ABOVE_ROW;
    let band = (line - pitch * 0.3, line + pitch * 0.3);
    let x0 = leftmost_ink(image, band, (x0 - pitch * 0.5, x0 + pitch * 0.5), pitch, tint)?;
    Some(Header { x0, centre_y: line })
}

/// The first column of `xs` where ink of `tint` begins a glyph: some columns of the next half
/// pitch hold at least two pixels of that colour (one stray pixel of a JPEG is no glyph).
fn leftmost_ink(image: &RgbImage, ys: (f64, f64), xs: (f64, f64), pitch: f64, tint: Tint) -> Option<f64> {
    let (width, height) = image.dimensions();
    let (y0, y1) = ((ys.0.max(0.0) as u32).min(height), (ys.1.ceil().max(0.0) as u32).min(height));
    let (x0, x1) = ((xs.0.max(0.0) as u32).min(width), (xs.1.max(0.0) as u32).min(width));
    let inked: Vec<bool> = (x0..x1)
        .map(|x| (y0..y1).filter(|&y| colour_of(image.get_pixel(x, y).0.map(f64::from)) == Some(tint)).count() >= 2)
        .collect();
    let span = ((pitch * 0.5) as usize).max(2);
    let least = ((pitch * 0.1) as usize).max(2);
    (0..inked.len())
        .find(|&i| inked[i] && inked[i..(i + span).min(inked.len())].iter().filter(|&&ink| ink).count() >= least)
        .map(|i| f64::from(x0) + i as f64)
}

/// The colour of a box's text: the mean of its brightest fifth of pixels (the glyphs, on the
/// dark panel), called blue or red only when clearly saturated (grey and gold text are neither).
fn tint_of(image: &RgbImage, b: &TextBox) -> Option<Tint> {
    let (width, height) = image.dimensions();
    let (x0, y0) = ((b.x0 as u32).min(width), (b.y0 as u32).min(height));
    let (x1, y1) = ((b.x1.ceil() as u32).min(width), (b.y1.ceil() as u32).min(height));
    let mut pixels: Vec<[u8; 3]> = (y0..y1).flat_map(|y| (x0..x1).map(move |x| image.get_pixel(x, y).0)).collect();
    if pixels.is_empty() {
        return None;
    }
    pixels.sort_by_key(|p| std::cmp::Reverse(p.iter().copied().max().unwrap_or(0)));
    let glyphs = &pixels[..pixels.len().div_ceil(5)];
    let mean = |c: usize| glyphs.iter().map(|p| f64::from(p[c])).sum::<f64>() / glyphs.len() as f64;
    colour_of([mean(0), mean(1), mean(2)])
}

/// Blue or red when bright enough to be ink and clearly saturated (grey and gold are neither),
/// by hue: the client's blue is about 195° and its red about 355°. JPEG averages the colour of
/// small text with the navy panel around it (about 205°), which turns a halved red label
/// towards magenta (330–345°) — never towards gold (45°), the colour of the highlighted name.
fn colour_of([r, g, b]: [f64; 3]) -> Option<Tint> {
    let top = r.max(g).max(b);
    let chroma = top - r.min(g).min(b);
    // Ink is at least INK_BRIGHTNESS bright, so a colour past this test has a chroma above 0.
    if top < INK_BRIGHTNESS || chroma < top * LEAST_SATURATION {
        return None;
    }
    let hue = if top == r {
        (60.0 * (g - b) / chroma).rem_euclid(360.0)
    } else if top == g {
        60.0 * (2.0 + (b - r) / chroma)
    } else {
        60.0 * (4.0 + (r - g) / chroma)
    };
    if BLUE_HUES.contains(&hue) {
        Some(Tint::Blue)
    } else if hue >= RED_HUES.0 || hue <= RED_HUES.1 {
        Some(Tint::Red)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use image::{Rgb, RgbImage};

    use super::*;

    const PITCH: f64 = 35.0;
    const BLUE: Rgb<u8> = Rgb([40, 115, 130]);
    const RED: Rgb<u8> = Rgb([200, 50, 60]);

    fn paint(image: &mut RgbImage, b: &TextBox, colour: Rgb<u8>) {
        for y in (b.y0 as u32 + 3)..(b.y1 as u32 - 3) {
            for x in (b.x0 as u32 + 3)..(b.x1 as u32 - 3) {
                image.put_pixel(x, y, colour);
            }
        }
    }

    fn text(x0: f64, centre_y: f64, width: f64) -> TextBox {
        TextBox { x0, y0: centre_y - 8.0, x1: x0 + width, y1: centre_y + 8.0 }
    }

    /// A scoreboard whose rows and K/D/A totals the detector boxed, but not the header labels:
    /// their ink is drawn, in the team colours, where the client draws `팀 1` / `팀 2`.
    /// `red_line_boxed`: whether the red header line's totals were boxed too.
    fn labels_drawn_but_not_boxed(red_line_boxed: bool) -> (RgbImage, Vec<TextBox>) {
        let mut image = RgbImage::from_pixel(1280, 720, Rgb([2, 18, 30]));
        let mut boxes = Vec::new();
        let tables = [(275.0, BLUE), (275.0 + PITCH * (4.0 + TYPICAL_TABLE_GAP), RED)];
        for (first_row, colour) in tables {
            let line = first_row - PITCH * HEADER_ABOVE_ROW;
            paint(&mut image, &text(42.0, line, 30.0), colour);
            let totals = text(168.0, line, 90.0);
            paint(&mut image, &totals, colour);
            if colour == BLUE || red_line_boxed {
                boxes.push(totals);
            }
            for k in 0..5 {
                let y = first_row + k as f64 * PITCH;
                for (x0, width) in [(158.0, 100.0), (540.0, 80.0)] {
                    let row_text = text(x0, y, width);
                    paint(&mut image, &row_text, Rgb([200, 200, 200]));
                    boxes.push(row_text);
                }
            }
        }
        boxes.sort_by(|a, b| a.y0.total_cmp(&b.y0));
        (image, boxes)
    }

    #[test]
    fn a_header_label_the_detector_missed_is_found_by_its_ink() {
        let (image, boxes) = labels_drawn_but_not_boxed(true);
        let layout = find(&image, &boxes).expect("a scoreboard");
        // From the label at x 42 (not from the totals at 168): the names' column at 158.
        for cell in layout.blue.iter().chain(&layout.red) {
            assert!((150..=158).contains(&cell.x0), "{cell:?}");
        }
    }

    #[test]
    fn the_title_is_the_topmost_of_the_tallest_texts_above_the_header() {
        let (image, mut boxes) = labels_drawn_but_not_boxed(true);
        let header_line = 275.0 - PITCH * HEADER_ABOVE_ROW;
        let tall = |centre_above: f64, width: f64| {
            let centre_y = header_line - PITCH * centre_above;
            TextBox { x0: 100.0, y0: centre_y - 13.5, x1: 100.0 + width, y1: centre_y + 13.5 }
        };
        // The title word, and under it the mode/map/date line boxed as tall (a little taller).
        let (title, subtitle) = (tall(3.9, 52.0), TextBox { y1: tall(3.3, 318.0).y1 + 0.6, ..tall(3.3, 318.0) });
        boxes.extend([subtitle, title]);
        boxes.sort_by(|a, b| a.y0.total_cmp(&b.y0));
        let found = find(&image, &boxes).expect("a scoreboard").title.expect("a title");
        assert!(found.y0 < title.y0 as u32 + 1 && found.x1 < 200, "{found:?}");
    }

    #[test]
    fn the_title_cell_stops_short_of_the_line_under_it() {
        let (image, mut boxes) = labels_drawn_but_not_boxed(true);
        let header_line = 275.0 - PITCH * HEADER_ABOVE_ROW;
        let title_centre = header_line - PITCH * 3.9;
        let title = TextBox { x0: 100.0, y0: title_centre - 13.5, x1: 152.0, y1: title_centre + 13.5 };
        for (subtitle_top, cell_bottom) in [
            // The line under it boxed into the title's box: the cell ends halfway into the overlap.
            (title.y1 - 4.0, title.y1 - 2.0),
            // Just under it: the cell ends where that line begins, not a pad further down.
            (title.y1 + 2.0, title.y1 + 2.0),
        ] {
            let subtitle = TextBox { x0: 100.0, y0: subtitle_top, x1: 418.0, y1: subtitle_top + 20.0 };
            let mut boxes = boxes.clone();
            boxes.extend([title, subtitle]);
            boxes.sort_by(|a, b| a.y0.total_cmp(&b.y0));
            let found = find(&image, &boxes).expect("a scoreboard").title.expect("a title");
            assert_eq!(found.y1, cell_bottom as u32, "subtitle from {subtitle_top}: {found:?}");
        }
        // Alone, the cell is the box with a margin.
        boxes.push(title);
        boxes.sort_by(|a, b| a.y0.total_cmp(&b.y0));
        let found = find(&image, &boxes).expect("a scoreboard").title.expect("a title");
        assert_eq!(found.y1, (title.y1 + PITCH * 0.15) as u32);
    }

    #[test]
    fn a_header_line_without_any_box_is_found_under_the_other_label() {
        let (image, boxes) = labels_drawn_but_not_boxed(false);
        let layout = find(&image, &boxes).expect("a scoreboard");
        assert!(layout.red.iter().all(|cell| (150..=158).contains(&cell.x0)), "{:?}", layout.red);
        // Without the red label's ink under the blue one, there is no second header.
        let mut unlabelled = image.clone();
        let line = 275.0 + PITCH * (4.0 + TYPICAL_TABLE_GAP) - PITCH * HEADER_ABOVE_ROW;
        paint(&mut unlabelled, &text(42.0, line, 30.0), Rgb([2, 18, 30]));
        assert!(find(&unlabelled, &boxes).is_err());
    }

    #[test]
    fn a_header_line_boxed_only_far_right_is_found_under_the_other_label() {
        // The detector missed the dim red label and totals, and the names under them, and boxed
        // a red text of the line far right of the blue label (a halved, JPEG-compressed capture).
        let (mut image, mut boxes) = labels_drawn_but_not_boxed(false);
        let line = 275.0 + PITCH * (4.0 + TYPICAL_TABLE_GAP) - PITCH * HEADER_ABOVE_ROW;
        boxes.retain(|b| b.y0 < line || b.x0 > 300.0);
        let far_right = text(900.0, line, 60.0);
        paint(&mut image, &far_right, RED);
        boxes.push(far_right);
        boxes.sort_by(|a, b| a.y0.total_cmp(&b.y0));
        let layout = find(&image, &boxes).expect("a scoreboard");
        assert!(layout.red.iter().all(|cell| (150..=158).contains(&cell.x0)), "{:?}", layout.red);
        // Without the red label's ink under the blue one, the far text is no header.
        paint(&mut image, &text(42.0, line, 30.0), Rgb([2, 18, 30]));
        assert!(find(&image, &boxes).is_err());
    }

    #[test]
    fn team_colours_are_told_by_hue_through_jpeg_dimming() {
        // The client's colours, and the same labels halved and saved as 4:2:0 JPEG.
        for red in [[121.0, 44.0, 50.0], [94.0, 51.0, 62.0], [74.0, 46.0, 59.0]] {
            assert_eq!(colour_of(red), Some(Tint::Red), "{red:?}");
        }
        for blue in [[41.0, 95.0, 112.0], [47.0, 91.0, 104.0]] {
            assert_eq!(colour_of(blue), Some(Tint::Blue), "{blue:?}");
        }
        // Gold (the highlighted name), grey and white text, and the panel itself: none.
        for neither in [[178.0, 147.0, 50.0], [88.0, 93.0, 95.0], [230.0, 230.0, 225.0], [2.0, 18.0, 30.0]] {
            assert_eq!(colour_of(neither), None, "{neither:?}");
        }
    }

    #[test]
    fn rows_under_untinted_headers_are_no_scoreboard() {
        let (image, boxes) = labels_drawn_but_not_boxed(true);
        let grey = RgbImage::from_fn(image.width(), image.height(), |x, y| {
            let [r, g, b] = image.get_pixel(x, y).0;
            let v = r.max(g).max(b);
            Rgb([v, v, v])
        });
        let error = find(&grey, &boxes).expect_err("a list, not a scoreboard");
        assert!(error.0.contains("headers"), "{error}");
    }
}
