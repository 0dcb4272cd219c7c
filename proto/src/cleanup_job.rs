use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::Invalid;
use crate::contract::contract;

/// Most keys one cleanup message may carry. Five DeleteObjects calls at most per message keeps a
/// job well inside its timeout, and 5,000 typical keys (~60 bytes) stay far below NATS's 1 MiB
/// payload limit.
pub const MAX_CLEANUP_KEYS: usize = 5_000;
/// Longest key, in characters, as in the schema (S3 allows at most 1,024 bytes).
pub const MAX_S3_KEY_CHARS: usize = 1_024;

/// Delete these objects from the attachments bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CleanupJob {
    pub s3_keys: S3KeyList,
}

contract!(CleanupJob, "cleanup_job");

impl crate::Job for CleanupJob {
    const SUBJECT: &'static str = "cleanup";
    /// nats-server's default `max_payload` (1 MiB): 5,000 keys of up to ~200 characters. Longer
    /// keys in a full job need splitting into several jobs.
    const MAX_PAYLOAD_BYTES: usize = 1024 * 1024;
}

/// 1 to [`MAX_CLEANUP_KEYS`] distinct, non-empty keys. Whether they lie under an allowed prefix
/// is the cleanup worker's configuration, so it is checked there, not here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct S3KeyList(Vec<String>);

impl S3KeyList {
    pub fn keys(&self) -> &[String] {
        &self.0
    }
}

impl TryFrom<Vec<String>> for S3KeyList {
    type Error = Invalid;

    fn try_from(keys: Vec<String>) -> Result<Self, Self::Error> {
        if keys.is_empty() || keys.len() > MAX_CLEANUP_KEYS {
            return Err(Invalid::KeyCount { max: MAX_CLEANUP_KEYS, got: keys.len() });
        }
        let mut seen = HashSet::with_capacity(keys.len());
        for (index, key) in keys.iter().enumerate() {
            let chars = key.chars().count();
            if chars == 0 || chars > MAX_S3_KEY_CHARS {
                return Err(Invalid::KeyLength { index, max: MAX_S3_KEY_CHARS, got: chars });
            }
            if !seen.insert(key.as_str()) {
                return Err(Invalid::KeyListedTwice { index, key: key.clone() });
            }
        }
        Ok(S3KeyList(keys))
    }
}

impl From<S3KeyList> for Vec<String> {
    fn from(list: S3KeyList) -> Self {
        list.0
    }
}
