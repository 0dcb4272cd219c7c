//! When ticks are due.
//!
//! Cron syntax: six fields, seconds first — `sec min hour day-of-month month day-of-week` — as
//! parsed by `croner` (the parser tokio-cron-scheduler uses), evaluated in UTC. Day-of-month and
//! day-of-week are combined with AND when both are restricted. The default `0 0 19 * * *` is
//! 19:00:00 UTC every day, which is 04:00 in Korea (KST, UTC+9, no daylight saving).

use chrono::{DateTime, Duration, SubsecRound, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds};

pub const DEFAULT_CRON: &str = "0 0 19 * * *";

#[derive(Debug, Clone)]
pub struct Schedule {
    expression: String,
    cron: Cron,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid cron expression {expression:?} (six fields, seconds first, e.g. \"0 0 19 * * *\"): {reason}")]
pub struct ScheduleError {
    expression: String,
    reason: String,
}

impl Schedule {
    pub fn parse(expression: &str) -> Result<Schedule, ScheduleError> {
        let cron = CronParser::builder()
            .seconds(Seconds::Required)
            .dom_and_dow(true)
            .build()
            .parse(expression)
            .map_err(|e| ScheduleError { expression: expression.to_owned(), reason: e.to_string() })?;
        Ok(Schedule { expression: expression.to_owned(), cron })
    }

    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The latest scheduled time at or before `now`: the time a tick fired at `now` stands for.
    pub fn latest_at_or_before(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // Cron times are whole seconds; croner would keep the fraction of an inclusive match.
        self.cron.find_previous_occurrence(&now.trunc_subsecs(0), true).ok()
    }

    /// The scheduled time to backfill at start-up: the latest one, if it lies within `window`.
    pub fn backfill_candidate(&self, now: DateTime<Utc>, window: Duration) -> Option<DateTime<Utc>> {
        self.latest_at_or_before(now).filter(|due| now - *due <= window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("RFC 3339")
    }

    #[test]
    fn default_is_19_utc_which_is_04_kst() {
        let schedule = Schedule::parse(DEFAULT_CRON).unwrap();
        let due = schedule.latest_at_or_before(at("2026-11-27T03:00:00Z")).unwrap();
        assert_eq!(due, at("2026-11-26T19:00:00Z"));
        assert_eq!(
            due.with_timezone(&chrono::FixedOffset::east_opt(9 * 3600).unwrap()).to_rfc3339(),
            "2026-11-27T04:00:00+09:00"
        );
    }

    #[test]
    fn a_fire_at_the_scheduled_second_stands_for_that_second() {
        let schedule = Schedule::parse(DEFAULT_CRON).unwrap();
        assert_eq!(schedule.latest_at_or_before(at("2026-11-26T19:00:00.004Z")).unwrap(), at("2026-11-26T19:00:00Z"));
    }

    #[test]
    fn backfill_only_within_the_window() {
        let schedule = Schedule::parse(DEFAULT_CRON).unwrap();
        let window = Duration::hours(24);
        assert_eq!(schedule.backfill_candidate(at("2026-11-27T08:00:00Z"), window), Some(at("2026-11-26T19:00:00Z")));
        let narrow = Duration::hours(6);
        assert_eq!(schedule.backfill_candidate(at("2026-11-27T08:00:00Z"), narrow), None);
    }

    #[test]
    fn five_field_and_garbage_expressions_are_refused_clearly() {
        for bad in ["0 19 * * *", "every day at 19", ""] {
            let error = Schedule::parse(bad).expect_err(bad).to_string();
            assert!(error.contains("six fields"), "{error}");
        }
    }
}
