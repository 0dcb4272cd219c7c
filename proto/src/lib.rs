//! The message contracts of the game-night job system.
//!
//! Each contract is a JSON Schema under `proto/schemas/` (the document the TypeScript API
//! publishes against) plus a serde type here. [`decode`] checks a payload against both, so a
//! message that passes it is valid by the schema *and* by the type, and every rejection names
//! the offending field.

mod auto_done_tick;
mod bounded;
mod cleanup_job;
mod contract;
mod extract_job;
mod invalid;
mod ocr_job;

pub use auto_done_tick::AutoDoneTick;
pub use cleanup_job::{CleanupJob, MAX_CLEANUP_KEYS, MAX_S3_KEY_CHARS, S3KeyList};
pub use contract::{Contract, ContractError, Job, decode, encode, from_value_unchecked};
pub use extract_job::ExtractJob;
pub use invalid::Invalid;
pub use ocr_job::{
    Confidence, FriendEntry, MatchMethod, MatchTeams, ModelInfo, OcrCandidate, OcrError, OcrErrorCode, OcrFailure,
    OcrJobInput, OcrJobOutput, OcrOptions, OcrReading, OcrTexts, ParsedRow, ParsedRows, Percent, RecordedTeam, RiotId,
    RoiProfile, RosterConflict, RowCount, RowIndex, RowMatch, S3Location, Side, Team, TeamASideEvidence, TextCandidate,
    TopK, Unit, UnmatchedRow, Warning, WarningCode,
};
