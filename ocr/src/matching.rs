//! All rows of the scoreboard against the friend dictionary at once.
//!
//! 1. Every reading of every row is scored against every name of every friend — current Riot
//!    IDs by game name (`nameOnly`) or, when a tag was read, in full (`full`), and older names
//!    (`alias`) — with rapidfuzz's ratio on the [`normalize`] forms (0–100).
//! 2. Rows and friends are paired by one maximum-weight assignment (Kuhn–Munkres), so a friend is
//!    matched to one row at most and a close second row cannot steal a name the first reads
//!    better. The match's own players get a bonus: they are on this screen, a decoy may not be.
//! 3. A pairing is kept when its score reaches the contract's cut-off (`minScoreFull` or
//!    `minScoreNameOnly`) with a small margin over the row's runner-up — or, for one of the
//!    match's players only, when it is clearly the row's best (a wide margin) above a lower
//!    floor and shares enough letters with the name (or read none that are not its): half-size
//!    captures read names at 71–92, and the whole board is the better judge there than any
//!    single cut-off. A friend the match does not list is kept only on an exact
//!    reading: a guest whose name is one edit from a friend's scores 92–96, as high as a
//!    misread friend, and only the match's roster can tell the two apart — so outside it, no
//!    guessing. That exact reading must be the row's first look, or be read by two of the
//!    row's looks: second looks are taken because nothing matched, and among half a dozen
//!    variants of a guest's name one may drop a letter and land on a friend (`WaffWilll` read
//!    as `WaffWill`). Everything else stays unmatched (guests, unreadable rows).
//!
//! Which table each team sat at, and the rows left for the roster to fill, are
//! [`seating`](crate::seating)'s.

use pathfinding::prelude::{Matrix, kuhn_munkres};
use proto::{FriendEntry, MatchMethod, MatchTeams, OcrOptions, RecordedTeam, Side};
use uuid::Uuid;

use crate::normalize;
use crate::riot_id;

/// Below this a pairing is not even considered.
const FLOOR: f64 = 60.0;
/// Least score for a player of the match accepted on the strength of the whole board.
const RELAXED_FLOOR: f64 = 70.0;
/// Margin over the runner-up required alongside the contract's cut-offs.
const STRICT_MARGIN: f64 = 2.0;
/// Margin over the runner-up required for a relaxed acceptance.
pub(crate) const RELAXED_MARGIN: f64 = 10.0;
/// Letters (jamo for Hangul) a reading must share with the name for a relaxed acceptance, unless
/// every letter it read is the name's: a fuzzy score says less the shorter the name (`wana`
/// scores 75 against `Hana` on three letters and contradicts it in one, a chance agreement for a
/// misread row; 75 on a twelve-letter name is nine). A reading that lost letters and got none
/// wrong (`tee` for `teea1`, a faint or cut tail) contradicts nothing.
const RELAXED_LETTERS: f64 = 4.0;
/// Preference for the match's own players in the assignment.
const PLAYER_BONUS: f64 = 8.0;
/// Least score for a friend outside the match: the reading equals one of their names (up to
/// look-alike folding, which costs 0.5).
const EXACT: f64 = 99.5;

/// One OCR reading of a name cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub text: String,
    /// The engine's confidence, 0..=1.
    pub confidence: f64,
}

/// A scoreboard row and everything read from its name cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub side: Side,
    pub row: u8,
    pub readings: Vec<Reading>,
}

/// The verdict for one row.
#[derive(Debug, Clone, PartialEq)]
pub struct RowMatch {
    pub side: Side,
    pub row: u8,
    /// The reading the verdict rests on.
    pub raw: String,
    pub friend_id: Option<Uuid>,
    /// The matched friend's team in this match, if any.
    pub team: Option<RecordedTeam>,
    /// Score of the matched (or, when unmatched, the best) candidate, 0..=100.
    pub score: f64,
    pub method: Option<MatchMethod>,
    /// Best candidates for this row, best first.
    pub candidates: Vec<(Uuid, f64)>,
}

struct Name {
    method: MatchMethod,
    plain: String,
    folded: String,
}

/// A friend as the matcher compares them: every name in its normalised forms.
pub(crate) struct Candidate {
    pub(crate) friend_id: Uuid,
    pub(crate) team: Option<RecordedTeam>,
    names: Vec<Name>,
}

/// A row's best score for one candidate, and which reading and name gave it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Score {
    pub(crate) value: f64,
    /// Letters the reading and the name have in common, and letters of the reading that are not
    /// the name's (folded forms).
    pub(crate) letters: f64,
    pub(crate) stray_letters: f64,
    pub(crate) method: MatchMethod,
    pub(crate) reading: usize,
}

/// Per reading of a row: (plain name, folded name, plain full id, folded full id).
pub(crate) type ParsedReadings = Vec<(String, String, String, String)>;

/// The score (0–100), from the literal or the folded form, whichever is higher; the letters in
/// common and the reading's letters not in the name, counted in the folded form, where a Hangul
/// syllable is its two or three jamo (a syllable says as much as a few Latin letters).
fn similarity(a_plain: &str, a_folded: &str, name: &Name) -> (f64, f64, f64) {
    let exact = rapidfuzz::fuzz::ratio(a_plain.chars(), name.plain.chars()) * 100.0;
    // A match only through look-alikes is a hair less certain than a literal one.
    let folded = rapidfuzz::fuzz::ratio(a_folded.chars(), name.folded.chars());
    // rapidfuzz's ratio is the letters in common over the two lengths' mean.
    let read = a_folded.chars().count() as f64;
    let letters = folded * (read + name.folded.chars().count() as f64) / 2.0;
    (exact.max(folded * 100.0 - 0.5).max(0.0), letters, (read - letters).max(0.0))
}

pub(crate) fn candidates(dictionary: &[FriendEntry], teams: &MatchTeams) -> Vec<Candidate> {
    let team_of = |id: &Uuid| {
        if teams.team_a.friend_ids().contains(id) {
            Some(RecordedTeam::A)
        } else if teams.team_b.friend_ids().contains(id) {
            Some(RecordedTeam::B)
        } else {
            None
        }
    };
    let name = |method, text: &str| Name { method, plain: normalize::plain(text), folded: normalize::folded(text) };
    dictionary
        .iter()
        .map(|entry| {
            let mut names = Vec::new();
            // Full IDs first: on a tie the more specific match is the one reported.
            for id in &entry.primary {
                names.push(name(MatchMethod::Full, &id.to_string()));
                names.push(name(MatchMethod::NameOnly, id.game_name()));
            }
            for alias in &entry.secondary {
                names.push(name(MatchMethod::Alias, alias));
            }
            Candidate { friend_id: entry.friend_id, team: team_of(&entry.friend_id), names }
        })
        .collect()
}

/// Best score of `row` for `candidate` over all readings and names. A `full` name is compared
/// only with readings that carry a tag, and name-only ones with the game name alone.
pub(crate) fn best_score(parsed: &[(String, String, String, String)], candidate: &Candidate) -> Option<Score> {
    let mut best: Option<Score> = None;
    for (reading, (name_plain, name_folded, full_plain, full_folded)) in parsed.iter().enumerate() {
        for name in &candidate.names {
            let (value, letters, stray_letters) = match name.method {
                MatchMethod::Full if full_plain.is_empty() => continue,
                MatchMethod::Full => similarity(full_plain, full_folded, name),
                MatchMethod::NameOnly | MatchMethod::Alias => similarity(name_plain, name_folded, name),
            };
            if best.is_none_or(|b| value > b.value) {
                best = Some(Score { value, letters, stray_letters, method: name.method, reading });
            }
        }
    }
    best
}

pub(crate) fn parse_readings(row: &Row) -> ParsedReadings {
    row.readings
        .iter()
        .map(|reading| {
            let name = riot_id::parse(&reading.text);
            let full = name.tag_line.as_ref().map(|tag| format!("{}#{tag}", name.game_name)).unwrap_or_default();
            (
                normalize::plain(&name.game_name),
                normalize::folded(&name.game_name),
                normalize::plain(&full),
                normalize::folded(&full),
            )
        })
        .collect()
}

/// Match every row; see the module documentation for the rules.
pub fn match_rows(rows: &[Row], dictionary: &[FriendEntry], teams: &MatchTeams, options: &OcrOptions) -> Vec<RowMatch> {
    let candidates = candidates(dictionary, teams);
    let parsed: Vec<ParsedReadings> = rows.iter().map(parse_readings).collect();
    let scores: Vec<Vec<Option<Score>>> =
        parsed.iter().map(|parsed| candidates.iter().map(|c| best_score(parsed, c)).collect()).collect();

    let assignment = assign(&scores, &candidates);

    rows.iter()
        .enumerate()
        .map(|(r, row)| {
            let mut ranked: Vec<(usize, Score)> =
                scores[r].iter().enumerate().filter_map(|(c, s)| s.map(|s| (c, s))).collect();
            ranked.sort_by(|a, b| b.1.value.total_cmp(&a.1.value));
            let top_k = usize::from(options.top_k.get());
            let listed = ranked.iter().take(top_k).map(|(c, s)| (candidates[*c].friend_id, round1(s.value))).collect();
            let best_reading = |score: Option<Score>| {
                let index = score.map_or(0, |s| s.reading);
                row.readings.get(index).map(|reading| reading.text.clone()).unwrap_or_default()
            };
            let accepted = assignment[r].and_then(|c| {
                let score = scores[r][c]?;
                let runner_up = ranked.iter().find(|(other, _)| *other != c).map_or(0.0, |(_, s)| s.value);
                let is_player = candidates[c].team.is_some();
                let corroborated = is_player || score.reading == 0 || exact_readings(&parsed[r], &candidates[c]) >= 2;
                (corroborated && accept(score, runner_up, is_player, options)).then_some((c, score))
            });
            match accepted {
                Some((c, score)) => RowMatch {
                    side: row.side,
                    row: row.row,
                    raw: best_reading(Some(score)),
                    friend_id: Some(candidates[c].friend_id),
                    team: candidates[c].team,
                    score: round1(score.value),
                    method: Some(score.method),
                    candidates: listed,
                },
                None => RowMatch {
                    side: row.side,
                    row: row.row,
                    raw: best_reading(ranked.first().map(|(_, s)| *s)),
                    friend_id: None,
                    team: None,
                    score: ranked.first().map_or(0.0, |(_, s)| round1(s.value)),
                    method: None,
                    candidates: listed,
                },
            }
        })
        .collect()
}

/// How many of a row's readings read one of `candidate`'s names exactly.
fn exact_readings(parsed: &ParsedReadings, candidate: &Candidate) -> usize {
    parsed
        .iter()
        .filter(|reading| best_score(std::slice::from_ref(reading), candidate).is_some_and(|s| s.value >= EXACT))
        .count()
}

fn accept(score: Score, runner_up: f64, is_player: bool, options: &OcrOptions) -> bool {
    let cutoff = match score.method {
        MatchMethod::Full => options.min_score_full.get(),
        MatchMethod::NameOnly | MatchMethod::Alias => options.min_score_name_only.get(),
    };
    let margin = score.value - runner_up;
    if !is_player {
        return score.value >= EXACT && margin >= STRICT_MARGIN;
    }
    (score.value >= cutoff && margin >= STRICT_MARGIN)
        || (score.value >= RELAXED_FLOOR
            && margin >= RELAXED_MARGIN
            && (score.letters >= RELAXED_LETTERS || score.stray_letters < 0.5))
}

/// Maximum-weight pairing of rows with candidates; `None` for rows left unpaired. Each row also
/// has a private "nobody" column worth the floor, so a row pairs with a friend only when that is
/// worth more than leaving it empty.
fn assign(scores: &[Vec<Option<Score>>], candidates: &[Candidate]) -> Vec<Option<usize>> {
    let rows = scores.len();
    if rows == 0 {
        return Vec::new();
    }
    let columns = candidates.len() + rows;
    let nobody = (FLOOR * 100.0) as i64;
    let weights = Matrix::from_fn(rows, columns, |(r, c)| {
        if c >= candidates.len() {
            return if c - candidates.len() == r { nobody } else { 0 };
        }
        match scores[r][c] {
            Some(score) if score.value >= FLOOR => {
                let bonus = if candidates[c].team.is_some() { PLAYER_BONUS } else { 0.0 };
                ((score.value + bonus) * 100.0).round() as i64
            }
            _ => 0,
        }
    });
    let (_, pairing) = kuhn_munkres(&weights);
    pairing.into_iter().map(|c| (c < candidates.len()).then_some(c)).collect()
}

pub(crate) fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}
