//! The last look at a row no reader could read: does the cell have the *shape* of a player's
//! name? For Hangul names on small captures.
//!
//! At half size a Hangul name is about 7 px tall, and no engine here reads it: of the real
//! captures' 42 Hangul name cells halved, Tesseract `kor` reads at most 3 exactly (Debian's
//! model, the larger `best_int` one and the `Hangul` script model alike, binarised or grey, or
//! limited to the letters of the group's names), and PP-OCR's recogniser has no Hangul.
//! But a row left unread has only a few possible names: the players of its table's team that no
//! row was matched to. So each such name is drawn in a Korean sans-serif (NanumGothic, Debian's
//! `fonts-nanum`, not the client's font, which no package ships) and compared with the cell's
//! ink: both cut to their ink, scaled to one height, blurred (the fonts differ in detail, not in
//! the mass of each syllable) and correlated at their best alignment within one pixel of the
//! cell, less a penalty when their widths disagree.
//!
//! Measured on every Hangul name cell of the real captures (`ocr/tests/name_shape.rs`): a
//! name in its own cell scores at least 0.58, any other Hangul name of the capture at most 0.42;
//! halved, at least 0.58 against at most 0.48. Other fonts and sizes may leave less room, so a
//! row is given a player only when the two choose each other by a wide margin: the name's best cell
//! and the cell's best name, [`MARGIN`] clear of every other choice on both sides, and at least
//! [`FLOOR`].
//!
//! Like the last seats ([`seating`]), this never changes the answer's side or
//! its evidence: it runs after them, only on a table whose team the board does not contradict,
//! and only between that team's unseated players and that table's unread rows.

use std::path::{Path, PathBuf};

use ab_glyph::{FontArc, PxScale};
use image::imageops::{self, FilterType};
use image::{GrayImage, Luma, RgbImage};
use proto::{FriendEntry, MatchMethod, MatchTeams, RecordedTeam, Side};
use uuid::Uuid;

use crate::engine::EngineError;
use crate::matching::{self, RowMatch};
use crate::seating;

/// Where `scripts/install-deps.sh` (Debian's `fonts-nanum`) and the Docker image put the font.
pub const DEFAULT_FONT: &str = "/usr/share/fonts/truetype/nanum/NanumGothic.ttf";

/// Height both shapes are compared at.
const HEIGHT: u32 = 32;
/// Blur at that height, in pixels: the fonts differ in strokes, not in where the ink is.
const BLUR_SIGMA: f32 = 1.5;
/// A pixel at this fraction of the cell's brightest ink counts when cutting to the ink.
const INK: f32 = 0.4;
/// Size the names are drawn at before being cut and scaled down to [`HEIGHT`].
const DRAW_PX: f32 = 96.0;
/// Penalty per unit of |ln(width ratio)|: a name of other length is another name.
const WIDTH_PENALTY: f64 = 0.5;
/// Least similarity for a row to be given a player by shape.
pub const FLOOR: f64 = 0.5;
/// How far the pair's similarity must lie above every other choice of the row and of the name.
pub const MARGIN: f64 = 0.15;

/// The font the names are drawn in, read once and shared by every OCR thread.
#[derive(Clone)]
pub struct NameShapes {
    font: FontArc,
    /// The font's file name, for the output's `model.versions`.
    file: String,
}

/// Ink cut to where it lies and scaled to [`HEIGHT`], keeping its proportions; and how many
/// pixels tall the cut was before scaling.
struct Shape {
    ink: GrayImage,
    source_height: u32,
}

impl NameShapes {
    pub fn load(path: &Path) -> Result<Self, EngineError> {
        let bytes = std::fs::read(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => EngineError::ModelMissing {
                what: "name font",
                path: path.to_owned(),
                hint: "; NAME_FONT= turns the name-shape look off".to_owned(),
            },
            _ => EngineError::ModelUnreadable { what: "name font", path: path.to_owned(), source },
        })?;
        let font = FontArc::try_from_vec(bytes).map_err(|_| EngineError::FontUnreadable(PathBuf::from(path)))?;
        let file = path.file_name().map_or_else(|| path.display().to_string(), |name| name.to_string_lossy().into());
        Ok(NameShapes { font, file })
    }

    /// What to record in the output's `model.versions`, e.g. `NanumGothic.ttf`.
    pub fn describe(&self) -> String {
        self.file.clone()
    }

    /// How much the cell looks like `name` drawn in the font: on the real captures at least
    /// 0.58 for the name in the cell and at most 0.48 for another (see the module's figures).
    pub fn similarity(&self, cell: &RgbImage, name: &str) -> f64 {
        similarity(cell_shape(cell).as_ref(), self.name_shape(name).as_ref())
    }

    fn name_shape(&self, name: &str) -> Option<Shape> {
        let scale = PxScale::from(DRAW_PX);
        let (width, _) = imageproc::drawing::text_size(scale, &self.font, name);
        let mut canvas = GrayImage::new(width + 2 * DRAW_PX as u32, 2 * DRAW_PX as u32);
        let margin = DRAW_PX as i32 / 2;
        imageproc::drawing::draw_text_mut(&mut canvas, Luma([255]), margin, margin, scale, &self.font, name);
        let ink: Vec<f32> = canvas.pixels().map(|p| f32::from(p.0[0]) / 255.0).collect();
        shape(&ink, canvas.width(), canvas.height())
    }
}

/// The cell's ink: grey, the panel's level taken off, light text counted as ink (the
/// scoreboard draws names light on dark).
fn cell_shape(cell: &RgbImage) -> Option<Shape> {
    let grey = imageops::grayscale(cell);
    let (low, high) = grey.pixels().fold((u8::MAX, u8::MIN), |(lo, hi), p| (lo.min(p.0[0]), hi.max(p.0[0])));
    if high <= low {
        return None;
    }
    let range = f32::from(high - low);
    let ink: Vec<f32> = grey.pixels().map(|p| f32::from(p.0[0] - low) / range).collect();
    shape(&ink, grey.width(), grey.height())
}

/// Cut `ink` (0..=1, row-major) to where it reaches [`INK`] of its peak and scale it to
/// [`HEIGHT`].
fn shape(ink: &[f32], width: u32, height: u32) -> Option<Shape> {
    let peak = ink.iter().copied().fold(0.0, f32::max);
    if peak <= 0.0 {
        return None;
    }
    let inked = |x: u32, y: u32| ink[(y * width + x) as usize] >= INK * peak;
    let columns: Vec<u32> = (0..width).filter(|&x| (0..height).any(|y| inked(x, y))).collect();
    let rows: Vec<u32> = (0..height).filter(|&y| (0..width).any(|x| inked(x, y))).collect();
    // The name is the first run of ink from the left: a gap wider than the ink is tall ends it
    // (an item icon the cell reaches into; a space between words is a third as wide).
    let gap = rows.last()? - rows.first()? + 1;
    let left = *columns.first()?;
    let right = columns.windows(2).find(|pair| pair[1] - pair[0] > gap).map_or(*columns.last()?, |pair| pair[0]);
    let rows: Vec<u32> = (0..height).filter(|&y| (left..=right).any(|x| inked(x, y))).collect();
    let (&top, &bottom) = (rows.first()?, rows.last()?);
    let cut = GrayImage::from_fn(right - left + 1, bottom - top + 1, |x, y| {
        Luma([(ink[((top + y) * width + left + x) as usize] / peak * 255.0).round() as u8])
    });
    let scaled_width = ((f64::from(cut.width()) * f64::from(HEIGHT) / f64::from(cut.height())).round() as u32).max(1);
    Some(Shape { ink: imageops::resize(&cut, scaled_width, HEIGHT, FilterType::Triangle), source_height: cut.height() })
}

/// Blurred and mean-centred pixels.
fn centred(image: &GrayImage) -> Vec<f64> {
    let values: Vec<f64> =
        imageproc::filter::gaussian_blur_f32(image, BLUR_SIGMA).pixels().map(|p| f64::from(p.0[0])).collect();
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    values.into_iter().map(|v| v - mean).collect()
}

/// [`compare`], or 0 where either has no ink.
fn similarity(cell: Option<&Shape>, name: Option<&Shape>) -> f64 {
    match (cell, name) {
        (Some(cell), Some(name)) => compare(cell, name),
        _ => 0.0,
    }
}

/// Normalised cross-correlation of the cell and the name stretched to the cell's width, at the
/// best alignment within one of the cell's own pixels (where a cut ends is uncertain by one, and
/// at half size one is a sixth of the text's height), less [`WIDTH_PENALTY`] × |ln(width ratio)|.
fn compare(cell: &Shape, name: &Shape) -> f64 {
    let width = cell.ink.width();
    let cell_pixels = centred(&cell.ink);
    let name_pixels = centred(&imageops::resize(&name.ink, width, HEIGHT, FilterType::Triangle));
    let reach = HEIGHT.div_ceil(cell.source_height.max(1)) as i32;
    let best = (-reach..=reach)
        .flat_map(|dy| (-reach..=reach).map(move |dx| (dx, dy)))
        .filter_map(|shift| correlation(&cell_pixels, &name_pixels, width, shift))
        .fold(None, |best: Option<f64>, value| Some(best.map_or(value, |b| b.max(value))));
    let Some(correlation) = best else { return 0.0 };
    let ratio = f64::from(width) / f64::from(name.ink.width());
    correlation - WIDTH_PENALTY * ratio.ln().abs()
}

/// Correlation of `a` with `b` moved by `(dx, dy)`, over where they overlap; `None` where either
/// is flat there. Both are `width` × [`HEIGHT`], row-major.
fn correlation(a: &[f64], b: &[f64], width: u32, (dx, dy): (i32, i32)) -> Option<f64> {
    let (width, height) = (width as i32, HEIGHT as i32);
    let (mut both, mut a_energy, mut b_energy) = (0.0, 0.0, 0.0);
    for y in 0.max(-dy)..height.min(height - dy) {
        for x in 0.max(-dx)..width.min(width - dx) {
            let p = a[(y * width + x) as usize];
            let q = b[((y + dy) * width + x + dx) as usize];
            both += p * q;
            a_energy += p * p;
            b_energy += q * q;
        }
    }
    (a_energy > 0.0 && b_energy > 0.0).then(|| both / (a_energy * b_energy).sqrt())
}

/// A Hangul syllable (or jamo): the names this look is for.
pub fn has_hangul(name: &str) -> bool {
    name.chars().any(|c| matches!(c, '\u{AC00}'..='\u{D7A3}' | '\u{1100}'..='\u{11FF}' | '\u{3130}'..='\u{318F}'))
}

/// A player's names as the client shows them: game names, current and older, that have Hangul.
fn hangul_names(entry: &FriendEntry) -> Vec<(&str, MatchMethod)> {
    let current = entry.primary.iter().map(|id| (id.game_name(), MatchMethod::NameOnly));
    let older = entry.secondary.iter().map(|name| (name.as_str(), MatchMethod::Alias));
    current.chain(older).filter(|(name, _)| has_hangul(name)).collect()
}

/// Give rows still unmatched a player by shape, with team A at `team_a_side`: on each table
/// whose matched rows are all its team's, between its unread rows and its team's unseated
/// players with a Hangul name. `cell` crops row `r`'s name cell (rows in `matches` order).
pub fn seat_by_shape(
    shapes: &NameShapes,
    cell: impl Fn(usize) -> RgbImage,
    matches: &mut [RowMatch],
    dictionary: &[FriendEntry],
    teams: &MatchTeams,
    team_a_side: Side,
) {
    for team in [RecordedTeam::A, RecordedTeam::B] {
        let table = seating::table_of(team, team_a_side);
        let on_table: Vec<usize> = (0..matches.len()).filter(|&r| matches[r].side == table).collect();
        if on_table.iter().any(|&r| matches[r].friend_id.is_some() && matches[r].team != Some(team)) {
            continue;
        }
        let recorded = seating::recorded_players(teams, team);
        let seated = |id: &Uuid| matches.iter().any(|m| m.friend_id == Some(*id));
        let empty: Vec<usize> = on_table.into_iter().filter(|&r| matches[r].friend_id.is_none()).collect();
        if empty.is_empty() {
            continue;
        }
        // Each name drawn once, then compared with every unread row.
        let players: Vec<_> = dictionary
            .iter()
            .filter(|entry| recorded.contains(&entry.friend_id) && !seated(&entry.friend_id))
            .map(|entry| {
                let names = hangul_names(entry).into_iter().map(|(name, method)| (shapes.name_shape(name), method));
                (entry.friend_id, names.collect::<Vec<_>>())
            })
            .filter(|(_, names)| !names.is_empty())
            .collect();
        if players.is_empty() {
            continue;
        }
        // scores[i][j]: row empty[i] against player j's best-looking name.
        let scores: Vec<Vec<(f64, MatchMethod)>> = empty
            .iter()
            .map(|&r| {
                let shape = cell_shape(&cell(r));
                players
                    .iter()
                    .map(|(_, names)| {
                        names.iter().map(|(name, method)| (similarity(shape.as_ref(), name.as_ref()), *method)).fold(
                            (f64::MIN, MatchMethod::NameOnly),
                            |best, next| if next.0 > best.0 { next } else { best },
                        )
                    })
                    .collect()
            })
            .collect();
        for (i, &r) in empty.iter().enumerate() {
            for (j, (friend_id, _)) in players.iter().enumerate() {
                let (value, method) = scores[i][j];
                let row_clear = (0..players.len()).filter(|&k| k != j).all(|k| value - scores[i][k].0 >= MARGIN);
                let name_clear = (0..empty.len()).filter(|&k| k != i).all(|k| value - scores[k][j].0 >= MARGIN);
                if value >= FLOOR && row_clear && name_clear {
                    let row = &mut matches[r];
                    row.friend_id = Some(*friend_id);
                    row.team = Some(team);
                    row.score = matching::round1(value * 100.0);
                    row.method = Some(method);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shapes() -> NameShapes {
        NameShapes::load(Path::new(DEFAULT_FONT)).expect("scripts/install-deps.sh installs fonts-nanum")
    }

    /// `name` drawn light on a navy panel at `px`, as the client shows a name.
    fn cell(shapes: &NameShapes, name: &str, px: f32) -> RgbImage {
        let (width, height) = imageproc::drawing::text_size(PxScale::from(px), &shapes.font, name);
        let mut image = RgbImage::from_pixel(width + 8, height + 8, image::Rgb([12, 20, 34]));
        imageproc::drawing::draw_text_mut(
            &mut image,
            image::Rgb([200, 200, 190]),
            4,
            4,
            PxScale::from(px),
            &shapes.font,
            name,
        );
        image
    }

    #[test]
    fn a_small_hangul_name_looks_like_itself_and_not_like_another() {
        let shapes = shapes();
        let small = cell(&shapes, "진짜힘들어", 9.0);
        let itself = shapes.similarity(&small, "진짜힘들어");
        assert!(itself >= FLOOR + MARGIN, "{itself}");
        for other in ["광야의 정글러", "네전공은나", "헤 윰", "오준재"] {
            let score = shapes.similarity(&small, other);
            assert!(itself - score >= MARGIN, "{other}: {score} against {itself}");
        }
    }

    #[test]
    fn a_blank_cell_looks_like_nothing() {
        let blank = RgbImage::from_pixel(60, 12, image::Rgb([12, 20, 34]));
        assert_eq!(shapes().similarity(&blank, "오준재"), 0.0);
    }
}
