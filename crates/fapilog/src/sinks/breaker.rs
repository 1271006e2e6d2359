//! The circuit breaker of a sink: a small pure type driven by the caller's
//! clock, so tests step it without sleeping.

use std::time::{Duration, Instant};

use super::options::BreakerPolicy;

/// Where a breaker stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BreakerState {
    /// Batches go to the sink.
    Closed,
    /// Batches are diverted until the cooldown ends.
    Open,
    /// The cooldown ended: the next batch probes the sink.
    HalfOpen,
}

/// A circuit breaker: opens after `failure_threshold` consecutive
/// failures, lets one probe through after a cooldown that doubles on each
/// failed probe, closes on success.
///
/// ```
/// use std::time::{Duration, Instant};
/// use fapilog::sinks::{Breaker, BreakerPolicy, BreakerState};
///
/// let t = Instant::now();
/// let mut b = Breaker::new(BreakerPolicy::default().failure_threshold(2));
/// b.on_failure(t);
/// assert!(b.allows(t));
/// b.on_failure(t);
/// assert_eq!(b.state(t), BreakerState::Open);
/// assert!(!b.allows(t + Duration::from_secs(29)));
/// assert!(b.allows(t + Duration::from_secs(30)), "one probe after the cooldown");
/// b.on_success();
/// assert_eq!(b.state(t), BreakerState::Closed);
/// ```
#[derive(Clone, Debug)]
pub struct Breaker {
    policy: BreakerPolicy,
    failures: u32,
    open_until: Option<Instant>,
    cooldown: Duration,
    opened: u64,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(policy: BreakerPolicy) -> Breaker {
        Breaker {
            policy,
            failures: 0,
            open_until: None,
            cooldown: policy.cooldown,
            opened: 0,
        }
    }

    /// The state at `now`.
    pub fn state(&self, now: Instant) -> BreakerState {
        match self.open_until {
            None => BreakerState::Closed,
            Some(t) if now < t => BreakerState::Open,
            Some(_) => BreakerState::HalfOpen,
        }
    }

    /// `true` when a batch may go to the sink at `now` (closed, or the probe).
    pub fn allows(&self, now: Instant) -> bool {
        self.state(now) != BreakerState::Open
    }

    /// How many times the breaker has opened.
    pub fn times_opened(&self) -> u64 {
        self.opened
    }

    /// A batch was delivered: the breaker closes and its cooldown resets.
    pub fn on_success(&mut self) {
        self.failures = 0;
        self.open_until = None;
        self.cooldown = self.policy.cooldown;
    }

    /// A batch failed at `now`; `true` when this opened the breaker.
    pub fn on_failure(&mut self, now: Instant) -> bool {
        if self.policy.failure_threshold == 0 {
            return false;
        }
        if self.open_until.is_some() {
            // A failed probe: open again, for longer.
            self.cooldown = (self.cooldown * 2).min(self.policy.max_cooldown);
            self.open_until = Some(now + self.cooldown);
            self.opened += 1;
            return true;
        }
        self.failures += 1;
        if self.failures >= self.policy.failure_threshold {
            self.open_until = Some(now + self.cooldown);
            self.opened += 1;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> BreakerPolicy {
        BreakerPolicy {
            failure_threshold: 3,
            cooldown: Duration::from_secs(10),
            max_cooldown: Duration::from_secs(25),
        }
    }

    #[test]
    fn opens_after_consecutive_failures_only() {
        let t = Instant::now();
        let mut b = Breaker::new(policy());
        b.on_failure(t);
        b.on_failure(t);
        b.on_success();
        b.on_failure(t);
        b.on_failure(t);
        assert_eq!(b.state(t), BreakerState::Closed);
        assert!(b.on_failure(t));
        assert_eq!(b.state(t), BreakerState::Open);
        assert_eq!(b.times_opened(), 1);
    }

    #[test]
    fn failed_probes_double_the_cooldown_up_to_the_cap() {
        let t = Instant::now();
        let mut b = Breaker::new(policy());
        for _ in 0..3 {
            b.on_failure(t);
        }
        let s = Duration::from_secs;
        assert_eq!(b.state(t + s(9)), BreakerState::Open);
        assert_eq!(b.state(t + s(10)), BreakerState::HalfOpen);
        b.on_failure(t + s(10));
        assert_eq!(b.state(t + s(29)), BreakerState::Open);
        assert_eq!(b.state(t + s(30)), BreakerState::HalfOpen);
        b.on_failure(t + s(30));
        assert_eq!(b.state(t + s(54)), BreakerState::Open, "capped at 25 s");
        assert_eq!(b.state(t + s(55)), BreakerState::HalfOpen);
        b.on_success();
        assert_eq!(b.state(t + s(55)), BreakerState::Closed);
        for _ in 0..3 {
            b.on_failure(t + s(60));
        }
        assert_eq!(b.state(t + s(70)), BreakerState::HalfOpen, "cooldown reset");
    }

    #[test]
    fn a_zero_threshold_never_opens() {
        let t = Instant::now();
        let mut b = Breaker::new(BreakerPolicy::off());
        for _ in 0..100 {
            assert!(!b.on_failure(t));
        }
        assert!(b.allows(t));
    }
}
