//! Scoring a reading against a labelled capture (`shared/endscreens` JSON `expected`): used by
//! the golden tests and the accuracy bench, never by the pipeline.

use std::path::{Path, PathBuf};

use proto::{OcrJobInput, OcrJobOutput, Side};
use serde_json::Value;

/// The label files (`<id>.json`) of a labelled set such as `shared/endscreens/real`, sorted.
pub fn label_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// One capture of a labelled set: its label (`id`, `file`, `input`, `expected`, …) and the image
/// the label describes, which sits beside it.
#[derive(Debug, Clone)]
pub struct LabelledCapture {
    pub label: Value,
    pub image_path: PathBuf,
}

impl LabelledCapture {
    /// Reads the label at `label_path`.
    pub fn open(label_path: &Path) -> std::io::Result<Self> {
        let label: Value = serde_json::from_slice(&std::fs::read(label_path)?)?;
        let file = label["file"].as_str().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: no \"file\"", label_path.display()))
        })?;
        let image_path = label_path.with_file_name(file);
        Ok(LabelledCapture { label, image_path })
    }

    /// The job input the label gives the capture.
    pub fn input(&self) -> serde_json::Result<OcrJobInput> {
        serde_json::from_value(self.label["input"].clone())
    }

    /// The image file as it is on disk.
    pub fn image_bytes(&self) -> std::io::Result<Vec<u8>> {
        std::fs::read(&self.image_path)
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Score {
    pub winner_right: bool,
    pub side_right: bool,
    /// Rows whose friend (or "nobody" for a guest) was found.
    pub rows_right: usize,
    /// Rows matched to the wrong friend: the worst outcome.
    pub rows_wrong: usize,
    /// Rows left unmatched that had a friend.
    pub rows_missed: usize,
}

fn side(text: &str) -> Option<Side> {
    match text {
        "blue" => Some(Side::Blue),
        "red" => Some(Side::Red),
        _ => None,
    }
}

pub fn score(output: &OcrJobOutput, expected: &Value) -> Score {
    let assignments = expected["assignments"].as_array().map_or(&[][..], Vec::as_slice);
    let OcrJobOutput::Done(reading) = output else {
        // A capture not read at all misses every row that had a friend.
        let rows_missed = assignments.iter().filter(|a| a["friendId"].is_string()).count();
        let guests = assignments.len() - rows_missed;
        return Score { rows_missed, rows_right: guests, ..Score::default() };
    };
    let mut score = Score {
        winner_right: reading.winner_side == expected["winnerSide"].as_str().and_then(side),
        side_right: reading.team_a_side == expected["teamASide"].as_str().and_then(side),
        ..Score::default()
    };
    for assignment in assignments {
        let want_side = assignment["side"].as_str().and_then(side);
        let want_row = assignment["row"].as_u64();
        let want: Option<uuid::Uuid> = assignment["friendId"].as_str().and_then(|id| id.parse().ok());
        let got = reading
            .matching
            .iter()
            .find(|m| Some(m.side) == want_side && Some(u64::from(m.row.get())) == want_row)
            .and_then(|m| m.friend_id);
        match (want, got) {
            (w, g) if w == g => score.rows_right += 1,
            (_, Some(_)) => score.rows_wrong += 1,
            (Some(_), None) => score.rows_missed += 1,
            (None, None) => unreachable!("equal, handled above"),
        }
    }
    score
}

/// A set of scores added up for a bench table: captures, how many were not read at all, the
/// winner (over the captures whose label names one, when the caller says which), the side,
/// and the rows.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub captures: usize,
    pub not_read: usize,
    pub winners_labelled: usize,
    pub winner: usize,
    pub side: usize,
    pub rows: usize,
    pub rows_right: usize,
    pub rows_wrong: usize,
}

impl Tally {
    /// Add one capture's score; `read` is whether it was read at all, `winner_counts` whether its
    /// winner is part of the winner figure.
    pub fn add(&mut self, score: Score, read: bool, winner_counts: bool) {
        self.captures += 1;
        self.not_read += usize::from(!read);
        if winner_counts {
            self.winners_labelled += 1;
            self.winner += usize::from(score.winner_right);
        }
        self.side += usize::from(score.side_right);
        self.rows += score.rows_right + score.rows_wrong + score.rows_missed;
        self.rows_right += score.rows_right;
        self.rows_wrong += score.rows_wrong;
    }

    /// `winner | team A side | rows → friend | wrong` as a Markdown table's last cells.
    pub fn cells(&self) -> String {
        let pct = |n: usize, d: usize| 100.0 * n as f64 / d.max(1) as f64;
        format!(
            "{:.1} % | {:.1} % | {:.1} % | {} |",
            pct(self.winner, self.winners_labelled),
            pct(self.side, self.captures),
            pct(self.rows_right, self.rows),
            self.rows_wrong
        )
    }
}
