//! Finding the ten name cells by the strongest pattern on the screen: the item grid.
//!
//! Every row of both tables shows seven item squares (and a trinket) in vivid colours, so the
//! colourful pixels of the left two thirds of the capture form ten horizontal bands at a regular
//! pitch, split five and five by the TEAM 2 header. The bands give the rows; the grid's left
//! edge, the end of the name cells. Names start `NAME_SPAN` pitches to the left of it (past the
//! portrait), which holds at every capture size because the whole table scales together.

use image::RgbImage;

/// Distance from just before a name to the first item square, in row pitches (names start
/// 153 px left of the items at a 35 px pitch; the portrait ring ends 11 px before the name).
const NAME_SPAN: f64 = 4.6;

/// A row's name cell, in image pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
}

/// The two tables' rows, top to bottom.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Where the title (VICTORY / DEFEAT / 승리 / 패배) is: 4.6 to 5.2 pitches above the first
    /// row, starting about 1.5 pitches left of the names (between the mode icon and the tabs;
    /// the grey subtitle starts 4.5 pitches up and is left out).
    pub title: Cell,
    pub blue: Vec<Cell>,
    pub red: Vec<Cell>,
    /// Distance between row centres, px.
    pub pitch: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a scoreboard: {0}")]
pub struct NotAScoreboard(pub String);

fn is_colourful([r, g, b]: [u8; 3]) -> bool {
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    max > 80 && max - min > 60
}

/// Runs of `true` in `on`, joining runs separated by at most `bridge` falses.
fn runs(on: &[bool], bridge: usize) -> Vec<(usize, usize)> {
    let mut found: Vec<(usize, usize)> = Vec::new();
    for (i, &hit) in on.iter().enumerate() {
        if !hit {
            continue;
        }
        match found.last_mut() {
            Some((_, end)) if i <= *end + bridge + 1 => *end = i,
            _ => found.push((i, i)),
        }
    }
    found
}

pub fn find(image: &RgbImage) -> Result<Layout, NotAScoreboard> {
    let (width, height) = image.dimensions();
    // The tables end before two thirds of a full client; the social panel is further right.
    let right = width * 2 / 3;
    let colourful: Vec<Vec<bool>> =
        (0..height).map(|y| (0..right).map(|x| is_colourful(image.get_pixel(x, y).0)).collect()).collect();

    // 1. Rows: lines where a good share of the left two thirds is colourful (the item squares).
    let share: Vec<usize> = colourful.iter().map(|row| row.iter().filter(|&&c| c).count()).collect();
    let peak = share.iter().copied().max().unwrap_or(0);
    if peak < (right / 20) as usize {
        return Err(NotAScoreboard("no grid of item squares".to_owned()));
    }
    let bands: Vec<(usize, usize)> = runs(&share.iter().map(|&s| s * 3 >= peak).collect::<Vec<_>>(), 2)
        .into_iter()
        .filter(|(s, e)| e - s >= 4)
        .collect();
    let rows = ten_regular(&bands)
        .ok_or_else(|| NotAScoreboard(format!("{} bands of items, not two tables of five", bands.len())))?;
    let centres: Vec<f64> = rows.iter().map(|(s, e)| (*s + *e) as f64 / 2.0).collect();
    let pitch = (centres[4] - centres[0] + centres[9] - centres[5]) / 8.0;

    // 2. The grid's left edge: the first column colourful in most rows that starts a wide
    //    colourful block (seven squares), unlike the portraits and spell icons, one square wide.
    let column_hits: Vec<usize> = (0..right as usize)
        .map(|x| rows.iter().filter(|(s, e)| (*s..=*e).filter(|&y| colourful[y][x]).count() * 3 >= e - s).count())
        .collect();
    let block = (pitch * 5.0) as usize;
    let grid_x = (0..(right as usize).saturating_sub(block))
        .find(|&x| {
            column_hits[x] >= 5 && column_hits[x..x + block].iter().filter(|&&hits| hits >= 5).count() * 2 >= block
        })
        .ok_or_else(|| NotAScoreboard("no left edge of the item grid".to_owned()))? as f64;

    let names_x = grid_x - pitch * NAME_SPAN;
    let cell = |centre: f64| Cell {
        x0: names_x.max(0.0) as u32,
        y0: (centre - pitch * 0.4).max(0.0) as u32,
        x1: (grid_x - pitch * 0.1) as u32,
        y1: ((centre + pitch * 0.4) as u32).min(height - 1),
    };
    let title = Cell {
        x0: (names_x - pitch * 1.7).max(0.0) as u32,
        y0: (centres[0] - pitch * 5.5).max(0.0) as u32,
        x1: ((names_x + pitch * 4.0) as u32).min(width - 1),
        y1: (centres[0] - pitch * 4.55).max(1.0) as u32,
    };
    let layout = Layout {
        title,
        blue: centres[..5].iter().map(|&c| cell(c)).collect(),
        red: centres[5..].iter().map(|&c| cell(c)).collect(),
        pitch,
    };
    // A capture cut through the board (found by the fuzz tests: a crop that keeps the items but
    // not the names or the title) leaves cells clamped to slivers; reading those would invent.
    let readable =
        |c: &Cell| f64::from(c.x1.saturating_sub(c.x0)) >= pitch && f64::from(c.y1.saturating_sub(c.y0)) >= pitch * 0.5;
    if !readable(&layout.title) {
        return Err(NotAScoreboard("the title lies outside the capture (cut off)".to_owned()));
    }
    if names_x < -pitch * 0.5 || !layout.blue.iter().chain(&layout.red).all(readable) {
        return Err(NotAScoreboard("the names lie outside the capture (cut off)".to_owned()));
    }
    Ok(layout)
}

/// Ten bands at one pitch, split five and five by a wider gap: the two tables' rows.
fn ten_regular(bands: &[(usize, usize)]) -> Option<Vec<(usize, usize)>> {
    let centre = |b: &(usize, usize)| (b.0 + b.1) as f64 / 2.0;
    (0..bands.len().saturating_sub(9)).find_map(|first| {
        let candidate = &bands[first..first + 10];
        let gaps: Vec<f64> = candidate.windows(2).map(|w| centre(&w[1]) - centre(&w[0])).collect();
        let pitch = (gaps[..4].iter().sum::<f64>() + gaps[5..].iter().sum::<f64>()) / 8.0;
        let regular = gaps[..4].iter().chain(&gaps[5..]).all(|g| (g - pitch).abs() <= pitch * 0.15);
        (regular && gaps[4] > pitch * 1.5).then(|| candidate.to_vec())
    })
}
