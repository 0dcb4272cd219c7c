use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::contract::contract;

/// Close the sessions that were due at `scheduled_at`. Any RFC 3339 offset is accepted and kept
/// as written; `04:00+09:00` and `19:00Z` are the same instant and so the same tick.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutoDoneTick {
    pub scheduled_at: DateTime<FixedOffset>,
}

contract!(AutoDoneTick, "auto_done_tick");

impl crate::Job for AutoDoneTick {
    const SUBJECT: &'static str = "auto_done";
    /// One timestamp.
    const MAX_PAYLOAD_BYTES: usize = 1024;
}

impl AutoDoneTick {
    /// The `Nats-Msg-Id` of this tick: the same for every scheduler replica that fires for the
    /// same scheduled time, so JetStream keeps only one of them.
    pub fn message_id(&self) -> String {
        format!("auto_done:{}", self.scheduled_at_utc().to_rfc3339_opts(SecondsFormat::Secs, true))
    }

    pub fn scheduled_at_utc(&self) -> DateTime<Utc> {
        self.scheduled_at.with_timezone(&Utc)
    }
}
