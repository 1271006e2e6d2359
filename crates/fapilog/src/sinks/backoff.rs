//! Exponential backoff with full jitter: a small pure type, driven by the
//! caller's clock and random source, so tests step it without sleeping.

use std::time::{Duration, Instant};

use super::options::RetryPolicy;

/// The retry schedule of one batch.
///
/// ```
/// use std::time::{Duration, Instant};
/// use fapilog::sinks::{Backoff, RetryPolicy};
///
/// let start = Instant::now();
/// let mut b = Backoff::new(RetryPolicy::default(), start);
/// // Full jitter: the first retry waits a random time up to 100 ms.
/// let wait = b.next_delay(start, None, 0.5).unwrap();
/// assert_eq!(wait, Duration::from_millis(50));
/// // A `Retry-After` of 2 s is honoured as given.
/// let wait = b.next_delay(start, Some(Duration::from_secs(2)), 0.5).unwrap();
/// assert_eq!(wait, Duration::from_secs(2));
/// ```
#[derive(Clone, Debug)]
pub struct Backoff {
    policy: RetryPolicy,
    started: Instant,
    attempts: u32,
}

impl Backoff {
    /// The schedule of a batch whose first attempt was at `started`.
    pub fn new(policy: RetryPolicy, started: Instant) -> Backoff {
        Backoff {
            policy,
            started,
            attempts: 1,
        }
    }

    /// Attempts made so far (the first included).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// How long to wait before the next attempt after a failure at `now`,
    /// or `None` when the batch must be given up (attempts or time spent).
    /// `after` is the wait the destination asked for; `unit` is a random
    /// number in `[0, 1)` (the jitter).
    pub fn next_delay(
        &mut self,
        now: Instant,
        after: Option<Duration>,
        unit: f64,
    ) -> Option<Duration> {
        let p = &self.policy;
        if self.attempts >= p.max_attempts {
            return None;
        }
        let retry = self.attempts - 1;
        let delay = match after {
            Some(a) => a.min(p.max_delay),
            None => {
                let bound = p.initial.as_secs_f64() * p.multiplier.powi(retry.min(64) as i32);
                let bound = bound.min(p.max_delay.as_secs_f64());
                Duration::from_secs_f64(bound * unit.clamp(0.0, 1.0))
            }
        };
        let spent = now.saturating_duration_since(self.started);
        if spent + delay > p.max_elapsed {
            return None;
        }
        self.attempts += 1;
        Some(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 6,
            initial: Duration::from_millis(100),
            multiplier: 2.0,
            max_delay: Duration::from_millis(1000),
            max_elapsed: Duration::from_secs(60),
        }
    }

    #[test]
    fn bounds_grow_exponentially_up_to_the_cap() {
        let t = Instant::now();
        let mut b = Backoff::new(policy(), t);
        let bounds: Vec<u128> = (0..5)
            .map(|_| b.next_delay(t, None, 0.999_999).unwrap().as_millis())
            .collect();
        assert_eq!(bounds, [99, 199, 399, 799, 999]);
        assert_eq!(b.next_delay(t, None, 0.5), None, "6 attempts in all");
        assert_eq!(b.attempts(), 6);
    }

    #[test]
    fn full_jitter_spans_zero_to_the_bound() {
        let t = Instant::now();
        let mut b = Backoff::new(policy(), t);
        assert_eq!(b.next_delay(t, None, 0.0), Some(Duration::ZERO));
        assert_eq!(b.next_delay(t, None, 0.25), Some(Duration::from_millis(50)));
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let t = Instant::now();
        let mut b = Backoff::new(policy(), t);
        assert_eq!(
            b.next_delay(t, Some(Duration::from_millis(700)), 0.0),
            Some(Duration::from_millis(700))
        );
        assert_eq!(
            b.next_delay(t, Some(Duration::from_secs(90)), 0.0),
            Some(Duration::from_millis(1000))
        );
    }

    #[test]
    fn gives_up_when_the_time_budget_is_spent() {
        let t = Instant::now();
        let mut b = Backoff::new(
            RetryPolicy {
                max_elapsed: Duration::from_secs(2),
                ..policy()
            },
            t,
        );
        assert!(b
            .next_delay(t + Duration::from_millis(1500), None, 0.0)
            .is_some());
        assert_eq!(
            b.next_delay(
                t + Duration::from_millis(1500),
                Some(Duration::from_secs(1)),
                0.0
            ),
            None
        );
    }
}
