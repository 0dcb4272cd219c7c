//! The whole reading: bytes and a job input → the contract's output. The `lol-ocr` CLI and the
//! extract worker both call [`Pipeline::run`] in-process; the engine is created once and reused.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use image::{GrayImage, RgbImage};
use proto::{
    Confidence, ModelInfo, OcrError, OcrErrorCode, OcrFailure, OcrJobInput, OcrJobOutput, OcrReading, OcrTexts,
    ParsedRow, ParsedRows, RosterConflict, RowCount, RowIndex, Side, TeamASideEvidence, TextCandidate, Unit,
    UnmatchedRow, Warning, WarningCode,
};

use crate::detect::TextDetector;
use crate::engine::{EngineError, LineReader, TesseractReader};
use crate::layout::{self, Cell, Layout};
use crate::matching::{self, Reading, Row};
use crate::name_shape::{self, NameShapes};
use crate::ppocr::PpOcrModels;
use crate::preprocess::Look;
use crate::{decode, preprocess, riot_id, seating, title};

/// Why a capture has no reading; each kind maps to one of the contract's error codes.
#[derive(Debug, thiserror::Error)]
enum ReadFailure {
    #[error(transparent)]
    Decode(#[from] decode::DecodeError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Layout(#[from] layout::NotAScoreboard),
}

impl ReadFailure {
    fn code(&self) -> OcrErrorCode {
        match self {
            ReadFailure::Decode(error) => error.code(),
            ReadFailure::Engine(_) => OcrErrorCode::OcrEngineError,
            ReadFailure::Layout(_) => OcrErrorCode::NotAScoreboard,
        }
    }
}

pub struct Pipeline<R: LineReader> {
    reader: R,
    /// Finds the texts the layout is built from.
    detector: TextDetector,
    /// PP-OCR's recogniser: the first look at every name cell. It reads Latin names better
    /// than Tesseract's first look (85 % of the real set's names exactly, against 75 %), so
    /// fewer rows need Tesseract's looks; it has no Hangul, so a Hangul name's row always does.
    recogniser: Option<Box<dyn LineReader + Send>>,
    /// Tesseract with Korean alone, for the same rows: `kor+eng` turns short Hangul names in
    /// the client's font to Latin junk (`헤 윰` → `as`) where `kor` reads them (`헤 융`).
    hangul: Option<TesseractReader>,
    /// The last look at rows still unread: the shapes of the unseated players' Hangul names.
    name_shapes: Option<NameShapes>,
}

/// Milliseconds per step, as the output reports them, and a tracing span per step (`ocr
/// layout`, `ocr names`, …) under the caller's span, so a trace shows where a reading's time went.
struct Timings {
    started: Instant,
    current: Option<(&'static str, Instant, tracing::span::EnteredSpan)>,
    steps: BTreeMap<String, f64>,
}

impl Timings {
    fn new() -> Self {
        Timings { started: Instant::now(), current: None, steps: BTreeMap::new() }
    }

    /// End the running step, if any, and begin `name`.
    fn step(&mut self, name: &'static str) {
        self.end_step();
        let span = tracing::info_span!("ocr step", otel.name = format!("ocr {name}")).entered();
        self.current = Some((name, Instant::now(), span));
    }

    fn end_step(&mut self) {
        if let Some((name, started, _span)) = self.current.take() {
            self.steps.insert(name.to_owned(), round2(started.elapsed().as_secs_f64() * 1000.0));
        }
    }

    fn finish(mut self) -> BTreeMap<String, f64> {
        self.end_step();
        self.steps.insert("total".to_owned(), round2(self.started.elapsed().as_secs_f64() * 1000.0));
        self.steps
    }
}

impl Pipeline<TesseractReader> {
    /// What the CLI and the worker run: the PP-OCR detector for the layout, the PP-OCR
    /// recogniser when given, Tesseract `kor+eng` and `kor`.
    pub fn standard(models: PpOcrModels) -> Result<Self, EngineError> {
        let mut pipeline = Pipeline::new(TesseractReader::new(crate::LANGUAGES)?, models.detector()?);
        pipeline.hangul = Some(TesseractReader::new(crate::HANGUL)?);
        pipeline.name_shapes = models.name_shapes();
        Ok(match models.recogniser()? {
            Some(reader) => pipeline.with_recogniser(Box::new(reader)),
            None => pipeline,
        })
    }
}

impl<R: LineReader> Pipeline<R> {
    pub fn new(reader: R, detector: TextDetector) -> Self {
        Pipeline { reader, detector, recogniser: None, hangul: None, name_shapes: None }
    }

    /// Read every name cell with `reader` first (PP-OCR: better on small Latin text), and with
    /// Tesseract only the rows it leaves to no player of the match.
    pub fn with_recogniser(mut self, reader: Box<dyn LineReader + Send>) -> Self {
        self.recogniser = Some(reader);
        self
    }

    pub fn model(&self, input: &OcrJobInput) -> ModelInfo {
        let mut versions = BTreeMap::from([
            ("engine".to_owned(), self.reader.describe()),
            ("lol-ocr".to_owned(), env!("CARGO_PKG_VERSION").to_owned()),
        ]);
        if let Some(recogniser) = &self.recogniser {
            versions.insert("name engine".to_owned(), recogniser.describe());
        }
        if let Some(hangul) = &self.hangul {
            versions.insert("hangul engine".to_owned(), hangul.describe());
        }
        if let Some(shapes) = &self.name_shapes {
            versions.insert("name shapes".to_owned(), shapes.describe());
        }
        ModelInfo { engine: "tesseract".to_owned(), versions, profile: input.roi_profile.to_string() }
    }

    /// Read the capture in `bytes` for `input`. Never panics on bad input: every failure is an
    /// output with `status: failed` and the contract's error code.
    pub fn run(&mut self, input: &OcrJobInput, bytes: &[u8]) -> OcrJobOutput {
        self.run_with_layout(input, bytes).0
    }

    /// [`Pipeline::run`], also returning the layout it read by (for `--debug-image`).
    pub fn run_with_layout(&mut self, input: &OcrJobInput, bytes: &[u8]) -> (OcrJobOutput, Option<Layout>) {
        let mut timings = Timings::new();
        let mut found = None;
        let output = match self.read(input, bytes, &mut timings, &mut found) {
            Ok(mut reading) => {
                reading.timings = timings.finish();
                OcrJobOutput::Done(reading)
            }
            Err(failure) => OcrJobOutput::Failed(OcrFailure {
                job_id: input.job_id,
                model: self.model(input),
                error: OcrError { code: failure.code(), message: failure.to_string() },
                timings: timings.finish(),
            }),
        };
        (output, found)
    }

    fn read(
        &mut self,
        input: &OcrJobInput,
        bytes: &[u8],
        timings: &mut Timings,
        layout_found: &mut Option<Layout>,
    ) -> Result<OcrReading, ReadFailure> {
        timings.step("decode");
        let image = decode::decode(bytes)?;
        timings.step("detect");
        let boxes = self.detector.detect(&image)?;
        timings.step("layout");
        let found = layout::find(&image, &boxes)?;
        *layout_found = Some(found.clone());

        timings.step("title");
        let scale = preprocess::upscale_for(found.pitch);
        let mut title_readings = Vec::new();
        let (mut winner_side, mut winner_confidence) = (None, 0.0);
        if let Some(title_cell) = found.title {
            for look in std::iter::once(preprocess::FIRST_LOOK).chain(preprocess::SECOND_LOOKS) {
                let reading = self.read_cell(&image, title_cell, scale, look)?;
                (winner_side, winner_confidence) = title::winner(&reading.text, reading.confidence);
                title_readings.push(reading);
                if winner_side.is_some() {
                    break;
                }
            }
            if winner_side.is_none()
                && let Some(recogniser) = self.recogniser.as_mut()
            {
                let reading = recogniser.read_line(&image::imageops::grayscale(&title_cell.crop(&image)))?;
                (winner_side, winner_confidence) = title::winner(&reading.text, reading.confidence);
                title_readings.push(reading);
            }
        }
        timings.step("names");
        let seats: Vec<(Side, u8, Cell)> = [(Side::Blue, &found.blue), (Side::Red, &found.red)]
            .into_iter()
            .flat_map(|(side, cells)| cells.iter().enumerate().map(move |(n, cell)| (side, n as u8, *cell)))
            .collect();
        let cell_of = |r: usize| seats[r].2;
        // The neural reader takes the cells as they are (grey, light on dark, no margin):
        // Tesseract's upscale and white frame shrink the text it sees.
        let grey_cells: Vec<GrayImage> =
            seats.iter().map(|&(_, _, cell)| image::imageops::grayscale(&cell.crop(&image))).collect();
        let row = |&(side, row, _): &(Side, u8, Cell), reading| Row { side, row, readings: vec![reading] };
        let mut rows: Vec<Row>;
        let mut matches;
        if let Some(recogniser) = self.recogniser.as_mut() {
            rows = seats
                .iter()
                .zip(recogniser.read_lines(&grey_cells)?)
                .map(|(seat, reading)| row(seat, reading))
                .collect();
            matches = matching::match_rows(&rows, &input.friend_dictionary, &input.teams, &input.options);
            // Two names read in one run are read a little differently than alone (the model
            // looks across its whole input; on small, blurred text that costs letters), so a row
            // that run gave to no player of the match is read alone, as every row once was —
            // unless no Latin letter or digit was read: the model has no Hangul, and a Hangul
            // name comes out as a stray Chinese character or nothing, alone or not.
            let unread: Vec<usize> = (0..rows.len())
                .filter(|&r| matches[r].team.is_none() && rows[r].readings[0].text.chars().any(is_latin))
                .collect();
            if !unread.is_empty() {
                timings.step("names_alone");
                for &r in &unread {
                    rows[r].readings[0] = recogniser.read_line(&grey_cells[r])?;
                }
                matches = matching::match_rows(&rows, &input.friend_dictionary, &input.teams, &input.options);
            }
            // Tesseract's first look for every row the recogniser did not give to a player of
            // the match (Hangul names, guests, misreads), put first: a friend outside the match
            // is taken on an exact reading only when it is the first look or two looks agree,
            // and on a guest's name the recogniser can drop a letter and land exactly on a
            // friend (it did on the synthetic set), so its reading of such a row is no first look.
            timings.step("names_tesseract");
            for (r, row) in rows.iter_mut().enumerate() {
                if matches[r].team.is_none() {
                    row.readings.insert(0, self.read_cell(&image, cell_of(r), scale, preprocess::FIRST_LOOK)?);
                }
            }
            matches = matching::match_rows(&rows, &input.friend_dictionary, &input.teams, &input.options);
        } else {
            rows = Vec::with_capacity(seats.len());
            for seat in &seats {
                rows.push(row(seat, self.read_cell(&image, seat.2, scale, preprocess::FIRST_LOOK)?));
            }
            matches = matching::match_rows(&rows, &input.friend_dictionary, &input.teams, &input.options);
        }
        // Rows nobody matched (misreads, and guests) get second looks; the matcher then weighs
        // every reading of every row again.
        let unmatched: Vec<usize> = (0..rows.len()).filter(|&r| matches[r].friend_id.is_none()).collect();
        if !unmatched.is_empty() {
            timings.step("second_looks");
            for &r in &unmatched {
                let cut = cell_of(r).crop(&image);
                for look in preprocess::SECOND_LOOKS {
                    let line = preprocess::text_line(&cut, scale, look);
                    rows[r].readings.push(self.reader.read_line(&line)?);
                }
                if let Some(hangul) = self.hangul.as_mut() {
                    for look in [preprocess::GREY_LOOK, preprocess::FIRST_LOOK] {
                        let line = preprocess::text_line(&cut, scale, look);
                        rows[r].readings.push(hangul.read_line(&line)?);
                    }
                }
            }
            matches = matching::match_rows(&rows, &input.friend_dictionary, &input.teams, &input.options);
            if let Some(recogniser) = self.recogniser.as_mut() {
                smoothed_look(recogniser, &grey_cells, &mut rows, &mut matches, input)?;
            }
        }
        timings.step("matching");
        let seating = seating::seat(&rows, &mut matches, &input.friend_dictionary, &input.teams);
        if let (Some(shapes), Some(team_a_side)) = (&self.name_shapes, seating.team_a_side)
            && matches.iter().any(|m| m.friend_id.is_none())
        {
            timings.step("name_shapes");
            let cell = |r: usize| cell_of(r).crop(&image);
            name_shape::seat_by_shape(shapes, cell, &mut matches, &input.friend_dictionary, &input.teams, team_a_side);
        }
        let mut warnings = seating.warnings;
        if winner_side.is_none() {
            let why = if found.title.is_some() { "was not read as VICTORY or DEFEAT" } else { "is not in the capture" };
            warnings.push(Warning {
                code: WarningCode::NoWinnerTitle,
                message: format!("the winner is not given: the title above the tables {why}"),
            });
        }
        let evidence = seating.evidence;

        let parsed = |side: Side| -> Vec<ParsedRow> {
            rows.iter()
                .filter(|row| row.side == side)
                .map(|row| {
                    let reading = &row.readings[0];
                    let name = riot_id::parse(&reading.text);
                    ParsedRow {
                        row: index(row.row),
                        raw: reading.text.clone(),
                        game_name: name.game_name,
                        tag_line: name.tag_line,
                        confidence: unit(reading.confidence),
                    }
                })
                .collect()
        };
        let count = |n: u8| RowCount::new(n.min(5)).expect("at most five rows per side");
        Ok(OcrReading {
            job_id: input.job_id,
            model: self.model(input),
            winner_side,
            team_a_side: seating.team_a_side,
            confidence: Confidence { winner: unit(winner_confidence), team_a_side: unit(seating.confidence) },
            ocr: OcrTexts {
                winner_text_candidates: title_readings
                    .iter()
                    .map(|reading| TextCandidate { text: reading.text.clone(), score: unit(reading.confidence) })
                    .collect(),
                blue_text_candidates: Vec::new(),
                red_text_candidates: Vec::new(),
            },
            parsed: ParsedRows { blue: parsed(Side::Blue), red: parsed(Side::Red) },
            matching: matches
                .iter()
                .map(|m| proto::RowMatch {
                    side: m.side,
                    row: index(m.row),
                    raw: m.raw.clone(),
                    friend_id: m.friend_id,
                    score: percent(m.score),
                    method: m.method,
                    candidates: m
                        .candidates
                        .iter()
                        .map(|(friend_id, score)| proto::OcrCandidate { friend_id: *friend_id, score: percent(*score) })
                        .collect(),
                })
                .collect(),
            team_a_side_evidence: TeamASideEvidence {
                count_a_blue: count(evidence.count_a_blue),
                count_a_red: count(evidence.count_a_red),
                count_b_blue: count(evidence.count_b_blue),
                count_b_red: count(evidence.count_b_red),
            },
            unmatched: matches
                .iter()
                .filter(|m| m.friend_id.is_none())
                .map(|m| UnmatchedRow { side: m.side, row: index(m.row), raw: m.raw.clone() })
                .collect(),
            roster_conflicts: seating
                .conflicts
                .iter()
                .map(|c| RosterConflict {
                    friend_id: c.friend_id,
                    recorded_team: c.recorded,
                    seen_side: c.seen,
                    row: index(c.row),
                    score: percent(c.score),
                })
                .collect(),
            warnings,
            timings: BTreeMap::new(),
        })
    }

    fn read_cell(&mut self, image: &RgbImage, cell: Cell, scale: f64, look: Look) -> Result<Reading, EngineError> {
        self.reader.read_line(&preprocess::text_line(&cell.crop(image), scale, look))
    }
}

/// Blur of the smoothed look, in capture pixels: about the scale of JPEG's block noise on a
/// half-size name (5–6 px tall), well under a letter's stroke spacing.
const SMOOTHING_SIGMA: f32 = 0.7;

/// One more recogniser look at the rows still unmatched, the cell lightly blurred: a small JPEG
/// name is mostly block noise, which the recogniser reads as letters. Such a reading is a guess
/// on the row's worst kind of cell, so it may only confirm: a row is seated by it only when the
/// friend it gives is a player of the match, the one the row's other readings already ranked
/// first (without clearing the bar), and no other row holds that friend. Never a friend outside
/// the match: such a friend needs an exact first look or two looks that agree, and this look is
/// the recogniser again, which repeats its own misreading (it drops doubled letters: a guest's
/// `Waffwilll` read twice as an outsider friend's `WaffWill`).
fn smoothed_look(
    recogniser: &mut Box<dyn LineReader + Send>,
    grey_cells: &[GrayImage],
    rows: &mut [Row],
    matches: &mut [matching::RowMatch],
    input: &OcrJobInput,
) -> Result<(), EngineError> {
    let unmatched: Vec<usize> = (0..rows.len()).filter(|&r| matches[r].friend_id.is_none()).collect();
    if unmatched.is_empty() {
        return Ok(());
    }
    let mut smoothed = rows.to_vec();
    for &r in &unmatched {
        let blurred = imageproc::filter::gaussian_blur_f32(&grey_cells[r], SMOOTHING_SIGMA);
        smoothed[r].readings.push(recogniser.read_line(&blurred)?);
    }
    let rematched = matching::match_rows(&smoothed, &input.friend_dictionary, &input.teams, &input.options);
    for r in confirmed_by_smoothing(matches, &rematched) {
        matches[r] = rematched[r].clone();
        rows[r] = smoothed[r].clone();
    }
    Ok(())
}

/// The rows the smoothed look may seat: unmatched before it, given by it a player of the match
/// whom their other readings ranked first, and that player held by no row before it. (`after` is
/// one assignment, so no two rows it gives are given the same friend.)
fn confirmed_by_smoothing(before: &[matching::RowMatch], after: &[matching::RowMatch]) -> Vec<usize> {
    let held = |friend: uuid::Uuid| before.iter().any(|m| m.friend_id == Some(friend));
    (0..before.len())
        .filter(|&r| {
            let ranked_first = before[r].candidates.first().map(|(id, _)| *id);
            before[r].friend_id.is_none()
                && after[r].team.is_some()
                && after[r].friend_id.is_some_and(|friend| Some(friend) == ranked_first && !held(friend))
        })
        .collect()
}

/// A letter of the Latin alphabets (with their accented forms) or a digit.
fn is_latin(c: char) -> bool {
    c.is_ascii_alphanumeric() || (('\u{C0}'..='\u{24F}').contains(&c) && c.is_alphabetic())
}

/// The output of a job that failed before the pipeline ran: its input was unreadable, or its
/// image could not be had. `job_id` is the nil UUID when the input did not name one.
pub fn early_failure(job_id: uuid::Uuid, code: OcrErrorCode, message: String, elapsed: Duration) -> OcrJobOutput {
    OcrJobOutput::Failed(OcrFailure {
        job_id,
        model: ModelInfo {
            engine: "tesseract".to_owned(),
            versions: BTreeMap::from([("lol-ocr".to_owned(), env!("CARGO_PKG_VERSION").to_owned())]),
            profile: proto::RoiProfile::LolEndscreenV1.to_string(),
        },
        error: OcrError { code, message },
        timings: BTreeMap::from([("total".to_owned(), round2(elapsed.as_secs_f64() * 1000.0))]),
    })
}

/// Add a step that ran outside the pipeline (the download) to the output's timings and total.
pub fn record_step(output: &mut OcrJobOutput, name: &str, took: Duration) {
    let timings = match output {
        OcrJobOutput::Done(reading) => &mut reading.timings,
        OcrJobOutput::Failed(failure) => &mut failure.timings,
    };
    let ms = round2(took.as_secs_f64() * 1000.0);
    timings.insert(name.to_owned(), ms);
    if let Some(total) = timings.get_mut("total") {
        *total = round2(*total + ms);
    }
}

fn unit(value: f64) -> Unit {
    Unit::new(value.clamp(0.0, 1.0)).expect("clamped into 0..=1")
}

fn percent(value: f64) -> proto::Percent {
    proto::Percent::new(value.clamp(0.0, 100.0)).expect("clamped into 0..=100")
}

fn index(row: u8) -> RowIndex {
    RowIndex::new(row.min(4)).expect("rows are 0..=4")
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use matching::RowMatch;
    use proto::RecordedTeam;

    /// A row given `friend` (a player of team A), whose readings ranked `ranked_first` first.
    fn row(friend: Option<u128>, ranked_first: u128) -> RowMatch {
        RowMatch {
            side: Side::Blue,
            row: 0,
            raw: String::new(),
            friend_id: friend.map(uuid::Uuid::from_u128),
            team: friend.map(|_| RecordedTeam::A),
            score: 0.0,
            method: None,
            candidates: vec![(uuid::Uuid::from_u128(ranked_first), 60.0)],
        }
    }

    #[test]
    fn latin_letters_and_digits_but_not_hangul_or_chinese() {
        assert!("Pundeng".chars().all(is_latin) && "420".chars().all(is_latin) && "Zoë".chars().all(is_latin));
        assert!(!"부号".chars().any(is_latin));
        assert!(!"（ ）".chars().any(is_latin));
    }

    #[test]
    fn a_smoothed_reading_only_confirms_the_friend_the_other_readings_ranked_first() {
        let before = [row(None, 1), row(None, 2), row(None, 3), row(Some(4), 4)];
        // Row 0: confirmed. Row 1: the smoothed reading names someone else — a guess, not kept.
        // Row 2: its friend is held by row 3 before the look (the new assignment moved them).
        // Row 3 was matched already and keeps its match.
        let after = [row(Some(1), 1), row(Some(5), 5), row(Some(4), 4), row(Some(3), 3)];
        assert_eq!(confirmed_by_smoothing(&before, &after), [0]);
    }

    #[test]
    fn a_smoothed_reading_never_confirms_a_friend_outside_the_match() {
        let before = [row(None, 1)];
        let outsider = RowMatch { team: None, ..row(Some(1), 1) };
        assert!(confirmed_by_smoothing(&before, &[outsider]).is_empty());
    }
}
