use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::contract::contract;

/// Read the scoreboard screenshot `attachment_id` of match `match_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExtractJob {
    pub attachment_id: Uuid,
    pub match_id: Uuid,
}

contract!(ExtractJob, "extract_job");

impl crate::Job for ExtractJob {
    const SUBJECT: &'static str = "extract";
    /// Two UUIDs are under 100 bytes.
    const MAX_PAYLOAD_BYTES: usize = 1024;
}
