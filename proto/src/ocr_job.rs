//! The `lol-ocr` contract: what the OCR pipeline is asked ([`OcrJobInput`]) and what it answers
//! ([`OcrJobOutput`]). The extract worker builds the same input, so any stored job can be
//! replayed with `lol-ocr extract --input`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Invalid;
use crate::bounded::bounded;
use crate::contract::contract;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OcrJobInput {
    pub job_id: Uuid,
    pub s3: S3Location,
    pub roi_profile: RoiProfile,
    #[serde(rename = "match")]
    pub teams: MatchTeams,
    pub friend_dictionary: Vec<FriendEntry>,
    pub options: OcrOptions,
}

contract!(OcrJobInput, "ocr_job_input");

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Location {
    pub bucket: String,
    pub key: String,
    pub region: String,
}

/// Layout profiles the pipeline knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RoiProfile {
    /// The 2026 client's post-game scoreboard.
    #[serde(rename = "LOL_ENDSCREEN_V1")]
    LolEndscreenV1,
}

impl fmt::Display for RoiProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RoiProfile::LolEndscreenV1 => "LOL_ENDSCREEN_V1",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MatchTeams {
    pub team_a: Team,
    pub team_b: Team,
}

/// Up to five distinct friend ids (guests are not listed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Uuid>", into = "Vec<Uuid>")]
pub struct Team(Vec<Uuid>);

impl Team {
    pub const MAX_PLAYERS: usize = 5;

    pub fn friend_ids(&self) -> &[Uuid] {
        &self.0
    }
}

impl TryFrom<Vec<Uuid>> for Team {
    type Error = Invalid;

    fn try_from(ids: Vec<Uuid>) -> Result<Self, Self::Error> {
        if ids.len() > Self::MAX_PLAYERS {
            return Err(Invalid::TeamSize { max: Self::MAX_PLAYERS, got: ids.len() });
        }
        if let Some((_, duplicate)) = ids.iter().enumerate().find(|(i, id)| ids[..*i].contains(id)) {
            return Err(Invalid::FriendListedTwice(*duplicate));
        }
        Ok(Team(ids))
    }
}

impl From<Team> for Vec<Uuid> {
    fn from(team: Team) -> Self {
        team.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FriendEntry {
    pub friend_id: Uuid,
    /// Current Riot IDs.
    pub primary: Vec<RiotId>,
    /// Older or short game names.
    pub secondary: Vec<String>,
}

/// `gameName#tagLine`: a game name of 1–16 characters and a tag of 2–5 (Hangul tags can be 2).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RiotId {
    game_name: String,
    tag_line: String,
}

impl RiotId {
    pub fn game_name(&self) -> &str {
        &self.game_name
    }

    pub fn tag_line(&self) -> &str {
        &self.tag_line
    }
}

impl TryFrom<String> for RiotId {
    type Error = Invalid;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        let Some((game_name, tag_line)) = text.split_once('#') else {
            return Err(Invalid::NotARiotId(text));
        };
        let name_chars = game_name.chars().count();
        let tag_chars = tag_line.chars().count();
        if !(1..=16).contains(&name_chars) || !(2..=5).contains(&tag_chars) || tag_line.contains('#') {
            return Err(Invalid::RiotIdLength(text));
        }
        Ok(RiotId { game_name: game_name.to_owned(), tag_line: tag_line.to_owned() })
    }
}

impl From<RiotId> for String {
    fn from(id: RiotId) -> Self {
        id.to_string()
    }
}

impl fmt::Display for RiotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.game_name, self.tag_line)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OcrOptions {
    pub top_k: TopK,
    pub min_score_full: Percent,
    pub min_score_name_only: Percent,
}

impl Default for OcrOptions {
    /// The original plan's options: 3 candidates, 90 for `name#tag`, 92 for a name alone.
    fn default() -> Self {
        OcrOptions { top_k: TopK(3), min_score_full: Percent(90.0), min_score_name_only: Percent(92.0) }
    }
}

bounded!(
    /// How many candidates to report per row.
    TopK(u8 as "u8"), 1, 10
);
bounded!(
    /// A fuzzy-match score on rapidfuzz's 0..=100 scale.
    Percent(f64 as "f64"), 0.0, 100.0
);
bounded!(
    /// A confidence or OCR score in 0..=1.
    Unit(f64 as "f64"), 0.0, 1.0
);
bounded!(
    /// A table row, top to bottom.
    RowIndex(u8 as "u8"), 0, 4
);
bounded!(
    /// How many rows of one team were found on one side.
    RowCount(u8 as "u8"), 0, 5
);

/// The pipeline's answer: a reading, or the reason there is none.
///
/// On the wire it is one flat object with a `status` field (`WireOutput`); serde's internally
/// tagged enums would lose the path of a bad field, and every rejection must name its field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "WireOutput", into = "WireOutput")]
// One value per job, moved a few times: boxing the reading would buy nothing measurable and put
// a `Box` in every match on the output.
#[allow(clippy::large_enum_variant)]
pub enum OcrJobOutput {
    Done(OcrReading),
    Failed(OcrFailure),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Done,
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct WireOutput {
    job_id: Uuid,
    status: Status,
    model: ModelInfo,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "present_or_null")]
    winner_side: Option<Option<Side>>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "present_or_null")]
    team_a_side: Option<Option<Side>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    confidence: Option<Confidence>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ocr: Option<OcrTexts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    parsed: Option<ParsedRows>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    matching: Option<Vec<RowMatch>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    team_a_side_evidence: Option<TeamASideEvidence>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unmatched: Option<Vec<UnmatchedRow>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    roster_conflicts: Option<Vec<RosterConflict>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    warnings: Option<Vec<Warning>>,
    timings: BTreeMap<String, f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<OcrError>,
}

/// `winnerSide` may be `null` but must be present when `status` is `done`: the outer `Option`
/// says whether the field was there, the inner one whether it was `null`.
mod present_or_null {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::Side;

    pub fn serialize<S: Serializer>(value: &Option<Option<Side>>, serializer: S) -> Result<S::Ok, S::Error> {
        value.flatten().serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<Side>>, D::Error> {
        Option::<Side>::deserialize(deserializer).map(Some)
    }
}

impl TryFrom<WireOutput> for OcrJobOutput {
    type Error = Invalid;

    fn try_from(wire: WireOutput) -> Result<Self, Self::Error> {
        fn required<T>(value: Option<T>, field: &'static str) -> Result<T, Invalid> {
            value.ok_or(Invalid::Required { field, status: "done" })
        }
        match wire.status {
            Status::Done => {
                if wire.error.is_some() {
                    return Err(Invalid::Forbidden { field: "error", status: "done" });
                }
                Ok(OcrJobOutput::Done(OcrReading {
                    job_id: wire.job_id,
                    model: wire.model,
                    winner_side: required(wire.winner_side, "winnerSide")?,
                    team_a_side: required(wire.team_a_side, "teamASide")?,
                    confidence: required(wire.confidence, "confidence")?,
                    ocr: required(wire.ocr, "ocr")?,
                    parsed: required(wire.parsed, "parsed")?,
                    matching: required(wire.matching, "matching")?,
                    team_a_side_evidence: required(wire.team_a_side_evidence, "teamASideEvidence")?,
                    unmatched: required(wire.unmatched, "unmatched")?,
                    roster_conflicts: required(wire.roster_conflicts, "rosterConflicts")?,
                    warnings: required(wire.warnings, "warnings")?,
                    timings: wire.timings,
                }))
            }
            Status::Failed => Ok(OcrJobOutput::Failed(OcrFailure {
                job_id: wire.job_id,
                model: wire.model,
                error: wire.error.ok_or(Invalid::Required { field: "error", status: "failed" })?,
                timings: wire.timings,
            })),
        }
    }
}

impl From<OcrJobOutput> for WireOutput {
    fn from(output: OcrJobOutput) -> Self {
        match output {
            OcrJobOutput::Done(reading) => WireOutput {
                job_id: reading.job_id,
                status: Status::Done,
                model: reading.model,
                winner_side: Some(reading.winner_side),
                team_a_side: Some(reading.team_a_side),
                confidence: Some(reading.confidence),
                ocr: Some(reading.ocr),
                parsed: Some(reading.parsed),
                matching: Some(reading.matching),
                team_a_side_evidence: Some(reading.team_a_side_evidence),
                unmatched: Some(reading.unmatched),
                roster_conflicts: Some(reading.roster_conflicts),
                warnings: Some(reading.warnings),
                timings: reading.timings,
                error: None,
            },
            OcrJobOutput::Failed(failure) => WireOutput {
                job_id: failure.job_id,
                status: Status::Failed,
                model: failure.model,
                winner_side: None,
                team_a_side: None,
                confidence: None,
                ocr: None,
                parsed: None,
                matching: None,
                team_a_side_evidence: None,
                unmatched: None,
                roster_conflicts: None,
                warnings: None,
                timings: failure.timings,
                error: Some(failure.error),
            },
        }
    }
}

contract!(OcrJobOutput, "ocr_job_output");

/// `blue` is TEAM 1 (the upper table, the capturer's team); `red` is TEAM 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Blue,
    Red,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelInfo {
    pub engine: String,
    pub versions: BTreeMap<String, String>,
    pub profile: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OcrReading {
    pub job_id: Uuid,
    pub model: ModelInfo,
    pub winner_side: Option<Side>,
    pub team_a_side: Option<Side>,
    pub confidence: Confidence,
    pub ocr: OcrTexts,
    pub parsed: ParsedRows,
    pub matching: Vec<RowMatch>,
    pub team_a_side_evidence: TeamASideEvidence,
    pub unmatched: Vec<UnmatchedRow>,
    /// Match players read on the other table than their team's: the board contradicts the
    /// match's recorded teams.
    pub roster_conflicts: Vec<RosterConflict>,
    /// What the app should know before trusting the answer, one per code at most.
    pub warnings: Vec<Warning>,
    /// Milliseconds per pipeline step.
    pub timings: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OcrFailure {
    pub job_id: Uuid,
    pub model: ModelInfo,
    pub error: OcrError,
    pub timings: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Confidence {
    pub winner: Unit,
    pub team_a_side: Unit,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OcrTexts {
    pub winner_text_candidates: Vec<TextCandidate>,
    pub blue_text_candidates: Vec<TextCandidate>,
    pub red_text_candidates: Vec<TextCandidate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextCandidate {
    pub text: String,
    pub score: Unit,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParsedRows {
    pub blue: Vec<ParsedRow>,
    pub red: Vec<ParsedRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ParsedRow {
    pub row: RowIndex,
    pub raw: String,
    pub game_name: String,
    pub tag_line: Option<String>,
    pub confidence: Unit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MatchMethod {
    Full,
    NameOnly,
    Alias,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RowMatch {
    pub side: Side,
    pub row: RowIndex,
    pub raw: String,
    pub friend_id: Option<Uuid>,
    pub score: Percent,
    pub method: Option<MatchMethod>,
    pub candidates: Vec<OcrCandidate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OcrCandidate {
    pub friend_id: Uuid,
    pub score: Percent,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TeamASideEvidence {
    pub count_a_blue: RowCount,
    pub count_a_red: RowCount,
    pub count_b_blue: RowCount,
    pub count_b_red: RowCount,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnmatchedRow {
    pub side: Side,
    pub row: RowIndex,
    pub raw: String,
}

/// Which of the match's two teams, as the app recorded them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RecordedTeam {
    A,
    B,
}

impl RecordedTeam {
    pub fn other(self) -> Self {
        match self {
            RecordedTeam::A => RecordedTeam::B,
            RecordedTeam::B => RecordedTeam::A,
        }
    }
}

/// A player of the match read on the table of the other team: `seen_side` is where their row
/// is, `recorded_team` where the match puts them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RosterConflict {
    pub friend_id: Uuid,
    pub recorded_team: RecordedTeam,
    pub seen_side: Side,
    pub row: RowIndex,
    /// The row's match score: how sure the reading is that this friend sits there.
    pub score: Percent,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Warning {
    pub code: WarningCode,
    pub message: String,
}

/// Why part of a `done` answer is missing or should be confirmed. The codes are stable; the
/// messages are for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WarningCode {
    /// One player sits on the other team's table; `teamASide` is given at a lower confidence.
    RosterConflict,
    /// Two or more players sit on the other team's table; `teamASide` is `null`.
    BoardContradictsTeams,
    /// No row was read as one of the match's players; `teamASide` is `null`.
    NoMatchPlayers,
    /// Too few of the match's players were read to place team A; `teamASide` is `null`.
    FewPlayersRead,
    /// No title (VICTORY / DEFEAT) was found or read; `winnerSide` is `null`.
    NoWinnerTitle,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OcrError {
    pub code: OcrErrorCode,
    pub message: String,
}

/// Why the pipeline gave no reading. Every code but `DOWNLOAD_FAILED` and `OCR_ENGINE_ERROR`
/// is permanent: running the same job again gives the same answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OcrErrorCode {
    InvalidInput,
    UnknownRoiProfile,
    ImageNotFound,
    DownloadFailed,
    NotAnImage,
    ImageTooLarge,
    NotAScoreboard,
    OcrEngineError,
}

impl OcrErrorCode {
    /// `false` for the two codes another try may cure (a failed transfer, an engine that did not
    /// start or read).
    pub fn is_permanent(self) -> bool {
        !matches!(self, OcrErrorCode::DownloadFailed | OcrErrorCode::OcrEngineError)
    }
}

/// As on the wire, e.g. `NOT_A_SCOREBOARD`.
impl fmt::Display for OcrErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let wire = serde_json::to_value(self).map_err(|_| fmt::Error)?;
        f.write_str(wire.as_str().ok_or(fmt::Error)?)
    }
}
