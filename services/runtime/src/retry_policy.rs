//! When a retryable failure is tried again.
//!
//! Delay before attempt `n + 1` after attempt `n` failed: `d = min(max, base * 2^(n-1))`, then
//! "equal jitter": a uniform draw from `d/2 ..= d`, so replicas that failed together (database
//! down) do not come back together. With the defaults (base 5 s, max 5 min) the schedule is
//! 2.5–5 s, 5–10 s, 10–20 s, … capped at 2.5–5 min. Attempt numbers below 1 count as 1; very large
//! ones saturate at `max` instead of overflowing.
//!
//! JetStream's consumer `BackOff` list only applies to ack *timeouts*, not to negative acks, so
//! the runtime computes the delay here and sends it with the nak (`-NAK {"delay": …}`).

use std::time::Duration;

use rand::Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub base: Duration,
    pub max: Duration,
}

impl RetryPolicy {
    pub fn new(base: Duration, max: Duration) -> Self {
        RetryPolicy { base, max: max.max(base) }
    }

    /// The un-jittered delay after `failed_attempt` failed.
    pub fn ceiling(&self, failed_attempt: u32) -> Duration {
        let doublings = failed_attempt.saturating_sub(1).min(32);
        self.base.saturating_mul(1u32 << doublings.min(31)).min(self.max)
    }

    /// The delay to wait after `failed_attempt` failed, jittered into `ceiling/2 ..= ceiling`.
    pub fn delay(&self, failed_attempt: u32) -> Duration {
        let ceiling = self.ceiling(failed_attempt);
        let half = ceiling / 2;
        half + rand::rng().random_range(Duration::ZERO..=ceiling - half)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy { base: Duration::from_secs(5), max: Duration::from_secs(300) };

    #[test]
    fn ceiling_doubles_per_attempt_and_saturates() {
        let seconds: Vec<u64> = (0..=9).map(|n| POLICY.ceiling(n).as_secs()).collect();
        assert_eq!(seconds, [5, 5, 10, 20, 40, 80, 160, 300, 300, 300]);
        assert_eq!(POLICY.ceiling(u32::MAX), Duration::from_secs(300));
    }

    #[test]
    fn delay_stays_within_half_to_full_ceiling() {
        for attempt in 1..=8 {
            for _ in 0..200 {
                let delay = POLICY.delay(attempt);
                let ceiling = POLICY.ceiling(attempt);
                assert!(delay >= ceiling / 2 && delay <= ceiling, "attempt {attempt}: {delay:?}");
            }
        }
    }

    #[test]
    fn max_below_base_is_raised_to_base() {
        let policy = RetryPolicy::new(Duration::from_millis(100), Duration::from_millis(10));
        assert_eq!(policy.ceiling(5), Duration::from_millis(100));
    }
}
