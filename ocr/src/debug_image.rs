//! `lol-ocr extract --debug-image`: the capture with what the pipeline saw drawn on it — the
//! title box and its reading, the ten name cells, each row's text, the friend it was matched to
//! with the score, the team A decision, and the warnings. What a person looks at when a result is
//! wrong.
//!
//! Text is drawn with the 8×8 bitmap font of the `font8x8` crate (no font file to ship or find
//! at run time). It has no Hangul, so non-ASCII characters show as `?`; the JSON on stdout has
//! the exact text.

use font8x8::UnicodeFonts;
use image::{Rgb, RgbImage};
use imageproc::drawing::{draw_filled_rect_mut, draw_hollow_rect_mut};
use imageproc::rect::Rect;
use proto::{MatchMethod, OcrJobInput, OcrJobOutput, Side};
use uuid::Uuid;

use crate::layout::{Cell, Layout};

const TITLE: Rgb<u8> = Rgb([255, 215, 0]);
const BLUE: Rgb<u8> = Rgb([64, 200, 255]);
const RED: Rgb<u8> = Rgb([255, 90, 90]);
const MATCHED: Rgb<u8> = Rgb([120, 255, 120]);
const UNMATCHED: Rgb<u8> = Rgb([255, 160, 60]);
const WHITE: Rgb<u8> = Rgb([255, 255, 255]);
const BACKDROP: Rgb<u8> = Rgb([0, 0, 0]);

/// Draw the reading of `image` on a copy of it, with the layout the pipeline read it by (none
/// when it failed before finding one).
pub fn render(image: &RgbImage, input: &OcrJobInput, output: &OcrJobOutput, found: Option<&Layout>) -> RgbImage {
    let mut canvas = image.clone();
    let reading = match output {
        OcrJobOutput::Done(reading) => reading,
        OcrJobOutput::Failed(failure) => {
            let text = format!("FAILED {:?}: {}", failure.error.code, failure.error.message);
            label(&mut canvas, 4, 4, &text, UNMATCHED);
            return canvas;
        }
    };
    let Some(found) = found else {
        label(&mut canvas, 4, 4, "layout not found", UNMATCHED);
        return canvas;
    };
    let title = reading.ocr.winner_text_candidates.first().map(|c| c.text.as_str()).unwrap_or("");
    // Without a title in the capture, the notes go above the first table.
    let notes = found.title.unwrap_or(Cell {
        x0: found.blue[0].x0,
        y0: found.blue[0].y0.saturating_sub(40),
        x1: found.blue[0].x1,
        y1: found.blue[0].y0.saturating_sub(30),
    });
    if let Some(cell) = found.title {
        frame(&mut canvas, cell, TITLE);
    }
    let winner = format!(
        "title {title:?} -> winner {} ({:.2})",
        side_name(reading.winner_side),
        reading.confidence.winner.get()
    );
    label(&mut canvas, notes.x0, notes.y1 + 2, &winner, TITLE);

    let evidence = &reading.team_a_side_evidence;
    let team_a = format!(
        "team A -> {} ({:.2})  A blue/red {}/{}  B blue/red {}/{}",
        side_name(reading.team_a_side),
        reading.confidence.team_a_side.get(),
        evidence.count_a_blue.get(),
        evidence.count_a_red.get(),
        evidence.count_b_blue.get(),
        evidence.count_b_red.get()
    );
    label(&mut canvas, notes.x0, notes.y1 + 14, &team_a, WHITE);
    if !reading.warnings.is_empty() {
        let codes: Vec<String> = reading.warnings.iter().map(|w| format!("{:?}", w.code)).collect();
        let text = format!("{} roster conflict(s); warnings: {}", reading.roster_conflicts.len(), codes.join(", "));
        label(&mut canvas, notes.x0, notes.y1 + 26, &text, UNMATCHED);
    }

    for (side, cells, colour) in [(Side::Blue, &found.blue, BLUE), (Side::Red, &found.red, RED)] {
        for (row, cell) in cells.iter().enumerate() {
            frame(&mut canvas, *cell, colour);
            let Some(matched) = reading.matching.iter().find(|m| m.side == side && usize::from(m.row.get()) == row)
            else {
                continue;
            };
            let (text, colour) = match matched.friend_id {
                Some(friend) => (
                    format!(
                        "{:?} -> {} {} {:.0} {}",
                        matched.raw,
                        team_of(input, friend),
                        friend_label(input, friend),
                        matched.score.get(),
                        method_name(matched.method)
                    ),
                    MATCHED,
                ),
                None => (format!("{:?} -> unmatched (best {:.0})", matched.raw, matched.score.get()), UNMATCHED),
            };
            label(&mut canvas, cell.x0, cell.y1 + 1, &text, colour);
        }
    }
    canvas
}

fn side_name(side: Option<Side>) -> &'static str {
    match side {
        Some(Side::Blue) => "blue",
        Some(Side::Red) => "red",
        None => "unknown",
    }
}

fn method_name(method: Option<MatchMethod>) -> &'static str {
    match method {
        Some(MatchMethod::Full) => "full",
        Some(MatchMethod::NameOnly) => "nameOnly",
        Some(MatchMethod::Alias) => "alias",
        None => "",
    }
}

fn team_of(input: &OcrJobInput, friend: Uuid) -> &'static str {
    if input.teams.team_a.friend_ids().contains(&friend) {
        "[A]"
    } else if input.teams.team_b.friend_ids().contains(&friend) {
        "[B]"
    } else {
        "[not in match]"
    }
}

/// The friend's first Riot ID (or id) — what a person recognises.
fn friend_label(input: &OcrJobInput, friend: Uuid) -> String {
    input
        .friend_dictionary
        .iter()
        .find(|entry| entry.friend_id == friend)
        .and_then(|entry| entry.primary.first().map(ToString::to_string).or_else(|| entry.secondary.first().cloned()))
        .unwrap_or_else(|| friend.to_string())
}

fn frame(canvas: &mut RgbImage, cell: Cell, colour: Rgb<u8>) {
    let width = cell.x1.saturating_sub(cell.x0).max(1);
    let height = cell.y1.saturating_sub(cell.y0).max(1);
    draw_hollow_rect_mut(canvas, Rect::at(cell.x0 as i32, cell.y0 as i32).of_size(width, height), colour);
}

/// One line of text on a dark backdrop, clipped at the image's edges.
fn label(canvas: &mut RgbImage, x: u32, y: u32, text: &str, colour: Rgb<u8>) {
    let glyphs: Vec<[u8; 8]> = text
        .chars()
        .map(|c| font8x8::BASIC_FONTS.get(c).or_else(|| font8x8::BASIC_FONTS.get('?')).unwrap_or([0; 8]))
        .collect();
    let width = 8 * glyphs.len() as u32 + 4;
    draw_filled_rect_mut(canvas, Rect::at(x as i32, y as i32).of_size(width, 10), BACKDROP);
    for (n, glyph) in glyphs.iter().enumerate() {
        let left = x + 2 + 8 * n as u32;
        for (dy, bits) in glyph.iter().enumerate() {
            for dx in 0..8 {
                let (px, py) = (left + dx, y + 1 + dy as u32);
                if bits >> dx & 1 == 1 && px < canvas.width() && py < canvas.height() {
                    canvas.put_pixel(px, py, colour);
                }
            }
        }
    }
}
