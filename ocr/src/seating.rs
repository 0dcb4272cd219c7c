//! Which table team A sat at, and whether the board agrees with the match's recorded teams.
//!
//! A game night replays the same ten friends with reshuffled teams, so the likeliest upload
//! mistake is another match's screenshot: every name matches the roster, but some players sit
//! at the other team's table. The app writes the winner into the group's history from this
//! answer, so it must say so rather than guess. In this order:
//!
//! 1. **Evidence**: the rows matched on their own reading, counted by recorded team and table.
//!    Only these count, here and in the confidence.
//! 2. **Contradictions**: the players on the table the rest of the board gives the other team
//!    (the *conflicts*, listed in the output; on a tie no table is implied and every player's
//!    row is listed), and the players read nowhere whose team's table has all five rows taken by
//!    others (an exchanged player whose own row was not read).
//! 3. **Decision**: none of the match's players read → no side; two or more contradictions → no
//!    side (the board contradicts the teams); otherwise the original plan's rule — three or more
//!    of team A on one table, and team B's rows as evidence for the other — with confidence
//!    `1 − 0.5^(for − against)`: every agreeing row halves the remaining doubt (3 rows → 0.88,
//!    5 → 0.97, all 10 → 0.999). One contradiction leaves the side standing at most
//!    [`CONFLICT_CEILING`] ("ask to confirm") when every other player was read; when one was
//!    not, it may be the other half of an exchange, and no side is given.
//! 4. **Last seats**, once the side stands: on a table whose team the match lists in full (five
//!    friends, so no guest sat there) and that no contradiction touches, the rows still unmatched and
//!    the team's players still unseated are as many; each such row gets a player where the
//!    reading still resembles the name (at least [`LAST_SEAT_FLOOR`]) and beats its other
//!    choices by a wide margin. The roster decides, the text confirms; the answer above does not
//!    change.

use pathfinding::prelude::{Matrix, kuhn_munkres};
use proto::{FriendEntry, MatchTeams, RecordedTeam, Side, Warning, WarningCode};
use uuid::Uuid;

use crate::matching::{self, Candidate, Row, RowMatch, Score};

/// Least score for the last unmatched row of a table against the last unmatched player of its
/// team: a reading that shares at least half its letters, not an empty or garbage one.
pub const LAST_SEAT_FLOOR: f64 = 50.0;
/// Highest confidence in a side that one player contradicts: the app should ask, not fill in.
pub const CONFLICT_CEILING: f64 = 0.6;
/// Contradictions from which the board is taken to contradict the recorded teams (one exchange
/// of two players is already two).
const CONTRADICTION: usize = 2;

/// Rows matched on their reading, by the friend's recorded team and the table they sit at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Evidence {
    pub count_a_blue: u8,
    pub count_a_red: u8,
    pub count_b_blue: u8,
    pub count_b_red: u8,
}

impl Evidence {
    pub fn of(matches: &[RowMatch]) -> Self {
        let mut evidence = Evidence::default();
        for row in matches {
            let count = match (row.team, row.side) {
                (Some(RecordedTeam::A), Side::Blue) => &mut evidence.count_a_blue,
                (Some(RecordedTeam::A), Side::Red) => &mut evidence.count_a_red,
                (Some(RecordedTeam::B), Side::Blue) => &mut evidence.count_b_blue,
                (Some(RecordedTeam::B), Side::Red) => &mut evidence.count_b_red,
                (None, _) => continue,
            };
            *count += 1;
        }
        evidence
    }

    /// Rows saying team A is on blue (A there, or B on red), and on red.
    fn for_blue_and_red(self) -> (u32, u32) {
        (u32::from(self.count_a_blue + self.count_b_red), u32::from(self.count_a_red + self.count_b_blue))
    }

    /// Where most rows put team A; none on a tie.
    fn team_a_table(self) -> Option<Side> {
        let (for_blue, for_red) = self.for_blue_and_red();
        match for_blue.cmp(&for_red) {
            std::cmp::Ordering::Greater => Some(Side::Blue),
            std::cmp::Ordering::Less => Some(Side::Red),
            std::cmp::Ordering::Equal => None,
        }
    }

    fn players(self) -> u32 {
        let (blue, red) = self.for_blue_and_red();
        blue + red
    }
}

/// A player read at the other team's table.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub friend_id: Uuid,
    pub recorded: RecordedTeam,
    pub seen: Side,
    pub row: u8,
    pub score: f64,
}

/// The answer: team A's table (if it stands), its confidence, what it rests on, and what the app
/// should be told.
#[derive(Debug, Clone, PartialEq)]
pub struct Seating {
    pub team_a_side: Option<Side>,
    pub confidence: f64,
    pub evidence: Evidence,
    pub conflicts: Vec<Conflict>,
    pub warnings: Vec<Warning>,
}

/// Steps 1–4 of the module documentation. `rows` and `matches` are in the same order, as
/// [`matching::match_rows`] returns them; the last seats are written into `matches`.
pub fn seat(rows: &[Row], matches: &mut [RowMatch], dictionary: &[FriendEntry], teams: &MatchTeams) -> Seating {
    let evidence = Evidence::of(matches);
    let team_a_table = evidence.team_a_table();
    let conflicts = conflicts(matches, team_a_table);
    let unseatable = unseatable(matches, teams, team_a_table);
    let unread = unread_players(matches, teams);
    let others = matches.iter().filter(|m| m.friend_id.is_some() && m.team.is_none()).count();
    let (team_a_side, confidence, warnings) = answer(evidence, &conflicts, &unseatable, unread, others);
    if let Some(side) = team_a_side {
        let contradicted = |team: RecordedTeam, table: Side| {
            conflicts.iter().any(|c| c.recorded == team || c.seen == table)
                || unseatable.iter().any(|(_, t)| *t == team)
        };
        fill_last_seats(rows, matches, dictionary, teams, side, contradicted);
    }
    Seating { team_a_side, confidence, evidence, conflicts, warnings }
}

/// Step 3: the side, its confidence and the warnings, from the evidence and the contradictions.
/// `unread` counts the match's players no row was matched to; `others`, the rows read as
/// friends outside the match.
fn answer(
    evidence: Evidence,
    conflicts: &[Conflict],
    unseatable: &[(Uuid, RecordedTeam)],
    unread: usize,
    others: usize,
) -> (Option<Side>, f64, Vec<Warning>) {
    let contradictions = conflicts.len() + unseatable.len();
    let mut warnings = Vec::new();
    let (side, confidence) = if evidence.players() == 0 {
        warnings.push(warning(
            WarningCode::NoMatchPlayers,
            format!(
                "none of the match's players was read on the board ({others} rows were read as other friends): the \
                 screenshot may be of another match"
            ),
        ));
        (None, 0.0)
    } else if contradictions >= CONTRADICTION {
        warnings.push(warning(
            WarningCode::BoardContradictsTeams,
            format!(
                "the board contradicts the recorded teams ({} of the match's players read at the other team's table, \
                 {} with no seat left at their own team's): another match's screenshot, or teams recorded wrongly; \
                 team A's side is not given",
                conflicts.len(),
                unseatable.len()
            ),
        ));
        (None, 0.0)
    } else {
        let (mut side, mut confidence) = decide(evidence);
        let mut withheld = false;
        if contradictions == 1 {
            let what = match (conflicts.first(), unseatable.first()) {
                (Some(c), _) => format!(
                    "one player of the match, recorded in team {:?}, was read at the other team's table ({:?} row {})",
                    c.recorded, c.seen, c.row
                ),
                (None, Some((id, team))) => format!(
                    "friend {id}, recorded in team {team:?}, has no seat at that team's table: its five rows are others"
                ),
                (None, None) => unreachable!("one contradiction"),
            };
            // One exchange moves two players: a player not read may be the other half.
            let unaccounted = unread.saturating_sub(unseatable.len());
            let message = if unaccounted > 0 {
                (side, confidence, withheld) = (None, 0.0, true);
                format!(
                    "{what}, and {unaccounted} other player(s) of the match were not read, so the board may contradict \
                     the teams further; team A's side is not given"
                )
            } else {
                confidence = confidence.min(CONFLICT_CEILING);
                format!("{what}; every other player agrees; confirm the teams")
            };
            warnings.push(warning(WarningCode::RosterConflict, message));
        }
        if side.is_none() && !withheld {
            warnings.push(warning(
                WarningCode::FewPlayersRead,
                format!(
                    "team A's side is not given: {} of the match's players were read on the board, too few to place it",
                    evidence.players()
                ),
            ));
        }
        (side, confidence)
    };
    (side, confidence, warnings)
}

fn warning(code: WarningCode, message: String) -> Warning {
    Warning { code, message }
}

/// The original plan's rule: three or more of team A's players matched on one table decide it,
/// team B's rows count for the other table (so a team A with guests can still be placed), and
/// contradicting rows lower the confidence; evidence that does not decide is no answer.
pub fn decide(evidence: Evidence) -> (Option<Side>, f64) {
    let (for_blue, for_red) = evidence.for_blue_and_red();
    let side = if evidence.count_a_blue >= 3 && for_blue > for_red {
        Some(Side::Blue)
    } else if evidence.count_a_red >= 3 && for_red > for_blue {
        Some(Side::Red)
    } else if for_blue >= 3 && for_red == 0 {
        Some(Side::Blue)
    } else if for_red >= 3 && for_blue == 0 {
        Some(Side::Red)
    } else {
        None
    };
    let margin = match side {
        Some(Side::Blue) => for_blue - for_red,
        Some(Side::Red) => for_red - for_blue,
        None => return (None, 0.0),
    };
    (side, 1.0 - 0.5f64.powi(margin as i32))
}

/// Step 2: the players the rest of the board puts at the other team's table.
fn conflicts(matches: &[RowMatch], team_a_table: Option<Side>) -> Vec<Conflict> {
    matches
        .iter()
        .filter_map(|m| {
            let (team, friend_id) = (m.team?, m.friend_id?);
            let misplaced = match team_a_table {
                Some(table) => (team == RecordedTeam::A) != (m.side == table),
                None => true,
            };
            misplaced.then_some(Conflict { friend_id, recorded: team, seen: m.side, row: m.row, score: m.score })
        })
        .collect()
}

/// Also step 2: players of the match read nowhere while every row of their team's table is
/// someone else's — they cannot be at that table. An exchanged player whose own row was not
/// read shows up here instead of as a conflict.
fn unseatable(matches: &[RowMatch], teams: &MatchTeams, team_a_table: Option<Side>) -> Vec<(Uuid, RecordedTeam)> {
    let Some(team_a_table) = team_a_table else { return Vec::new() };
    let mut found = Vec::new();
    for (team, table) in [(RecordedTeam::A, team_a_table), (RecordedTeam::B, other_side(team_a_table))] {
        let at_table: Vec<&RowMatch> = matches.iter().filter(|m| m.side == table).collect();
        if at_table.len() != 5 || at_table.iter().any(|m| m.friend_id.is_none()) {
            continue;
        }
        let recorded = recorded_players(teams, team);
        let read = |id: &Uuid| matches.iter().any(|m| m.friend_id == Some(*id));
        found.extend(recorded.iter().filter(|id| !read(id)).map(|id| (*id, team)));
    }
    found
}

/// Step 4, with team A at `team_a_side`.
fn fill_last_seats(
    rows: &[Row],
    matches: &mut [RowMatch],
    dictionary: &[FriendEntry],
    teams: &MatchTeams,
    team_a_side: Side,
    contradicted: impl Fn(RecordedTeam, Side) -> bool,
) {
    // Only the match's players can take a last seat: normalise their names, not the dictionary's.
    let listed = |id: &Uuid| teams.team_a.friend_ids().contains(id) || teams.team_b.friend_ids().contains(id);
    let players: Vec<FriendEntry> = dictionary.iter().filter(|entry| listed(&entry.friend_id)).cloned().collect();
    let candidates = matching::candidates(&players, teams);
    for team in [RecordedTeam::A, RecordedTeam::B] {
        let table = table_of(team, team_a_side);
        if contradicted(team, table) {
            continue;
        }
        let roster: Vec<&Candidate> = candidates.iter().filter(|c| c.team == Some(team)).collect();
        let listed = recorded_players(teams, team).len();
        let on_table: Vec<usize> = (0..matches.len()).filter(|&r| matches[r].side == table).collect();
        // A full roster, five rows, every matched row one of this team's players.
        if listed != 5
            || roster.len() != 5
            || on_table.len() != 5
            || on_table.iter().any(|&r| matches[r].friend_id.is_some() && matches[r].team != Some(team))
        {
            continue;
        }
        let empty: Vec<usize> = on_table.iter().copied().filter(|&r| matches[r].friend_id.is_none()).collect();
        let seated = |c: &&&Candidate| matches.iter().any(|m| m.friend_id == Some(c.friend_id));
        let left: Vec<&&Candidate> = roster.iter().filter(|c| !seated(c)).collect();
        if empty.is_empty() || empty.len() != left.len() {
            continue;
        }
        let scores: Vec<Vec<Option<Score>>> = empty
            .iter()
            .map(|&r| {
                let parsed = matching::parse_readings(&rows[r]);
                left.iter().map(|player| matching::best_score(&parsed, player)).collect()
            })
            .collect();
        let value = |i: usize, j: usize| scores[i][j].map_or(0.0, |s| s.value);
        let weights = Matrix::from_fn(empty.len(), left.len(), |(i, j)| (value(i, j) * 100.0).round() as i64);
        let (_, pairing) = kuhn_munkres(&weights);
        for (i, &j) in pairing.iter().enumerate() {
            let Some(score) = scores[i][j] else { continue };
            let clear =
                (0..left.len()).filter(|&k| k != j).all(|k| score.value - value(i, k) >= matching::RELAXED_MARGIN);
            if score.value < LAST_SEAT_FLOOR || !clear {
                continue;
            }
            let r = empty[i];
            let row = &mut matches[r];
            row.friend_id = Some(left[j].friend_id);
            row.team = Some(team);
            row.score = matching::round1(score.value);
            row.method = Some(score.method);
            row.raw = rows[r].readings.get(score.reading).map(|reading| reading.text.clone()).unwrap_or_default();
        }
    }
}

/// Players of the match no row was matched to on its reading.
fn unread_players(matches: &[RowMatch], teams: &MatchTeams) -> usize {
    let read = |id: &&Uuid| matches.iter().any(|m| m.friend_id == Some(**id));
    teams.team_a.friend_ids().iter().chain(teams.team_b.friend_ids()).filter(|id| !read(id)).count()
}

fn other_side(side: Side) -> Side {
    match side {
        Side::Blue => Side::Red,
        Side::Red => Side::Blue,
    }
}

/// The table `team` sat at, team A having sat at `team_a_side`.
pub(crate) fn table_of(team: RecordedTeam, team_a_side: Side) -> Side {
    match team {
        RecordedTeam::A => team_a_side,
        RecordedTeam::B => other_side(team_a_side),
    }
}

/// The players the match records in `team`.
pub(crate) fn recorded_players(teams: &MatchTeams, team: RecordedTeam) -> &[Uuid] {
    match team {
        RecordedTeam::A => teams.team_a.friend_ids(),
        RecordedTeam::B => teams.team_b.friend_ids(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evidence(a_blue: u8, a_red: u8, b_blue: u8, b_red: u8) -> Evidence {
        Evidence { count_a_blue: a_blue, count_a_red: a_red, count_b_blue: b_blue, count_b_red: b_red }
    }

    #[test]
    fn three_of_team_a_decide() {
        assert_eq!(decide(evidence(3, 0, 0, 0)).0, Some(Side::Blue));
        assert_eq!(decide(evidence(0, 3, 0, 0)).0, Some(Side::Red));
    }

    #[test]
    fn team_b_places_a_team_a_full_of_guests() {
        assert_eq!(decide(evidence(1, 0, 0, 4)).0, Some(Side::Blue));
        assert_eq!(decide(evidence(0, 2, 3, 0)).0, Some(Side::Red));
    }

    #[test]
    fn confidence_grows_with_agreement_and_falls_with_contradiction() {
        let (_, three) = decide(evidence(3, 0, 0, 0));
        let (_, all) = decide(evidence(5, 0, 0, 5));
        let (_, contradicted) = decide(evidence(3, 1, 0, 0));
        assert!((three - 0.875).abs() < 1e-9);
        assert!(all > 0.99);
        assert!(contradicted < three && contradicted > 0.5, "{contradicted}");
    }

    #[test]
    fn too_little_or_split_evidence_is_no_answer() {
        assert_eq!(decide(evidence(2, 0, 0, 0)), (None, 0.0));
        assert_eq!(decide(evidence(2, 2, 1, 1)), (None, 0.0));
        assert_eq!(decide(evidence(0, 0, 0, 0)), (None, 0.0));
        // Three A rows on blue but the rest of the board says red: undecided, not blue.
        assert_eq!(decide(evidence(3, 2, 3, 0)).0, None);
    }
}
