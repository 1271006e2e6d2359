//! Adaptive sampling: a target rate of events per second; the sample rate
//! follows the load.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config_serde::settings_serde;

use super::sampling::{check_rate, protected};
use crate::envelope::Event;
use crate::error::Error;
use crate::level::Level;
use crate::stages::clock::{self, SharedClock};
use crate::stages::runtime::{self, Counter, Rng};
use crate::stages::{Filter, StageClock, StageError, Verdict};

/// Settings of the `adaptive_sampling` filter (`filter_config.adaptive_sampling`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct AdaptiveSamplingConfig {
    /// Events per second to keep, roughly (100).
    pub target_eps: f64,
    /// Lowest sample rate (0.01).
    pub min_sample_rate: f64,
    /// Highest sample rate (1.0).
    pub max_sample_rate: f64,
    /// Horizon of the load estimate, seconds (10): the incoming rate is
    /// measured every tenth of it (at most every second, at least every 0.1 s).
    pub window_seconds: f64,
    /// Levels never sampled (`[ERROR, CRITICAL]`).
    pub always_pass_levels: Vec<Level>,
    /// Weight of the newest measurement in the moving average (0.3).
    pub smoothing_factor: f64,
    /// Seed for a reproducible sequence (random when unset).
    pub seed: Option<u64>,
}

settings_serde!(AdaptiveSamplingConfig {
    target_eps,
    min_sample_rate,
    max_sample_rate,
    window_seconds,
    always_pass_levels,
    smoothing_factor,
    seed
});

impl Default for AdaptiveSamplingConfig {
    fn default() -> Self {
        AdaptiveSamplingConfig {
            target_eps: 100.0,
            min_sample_rate: 0.01,
            max_sample_rate: 1.0,
            window_seconds: 10.0,
            always_pass_levels: protected(),
            smoothing_factor: 0.3,
            seed: None,
        }
    }
}

struct State {
    started: Duration,
    seen: u64,
    ewma: Option<f64>,
}

/// Keeps about `target_eps` events per second: the sample rate is
/// `target / measured incoming rate` (an exponentially weighted moving
/// average), clamped to `[min, max]`. The current rate is exposed as
/// [`crate::stages::StageCounters::adaptive_sample_rate`] and through
/// [`AdaptiveSamplingFilter::sample_rate`].
pub struct AdaptiveSamplingFilter {
    target: f64,
    min: f64,
    max: f64,
    alpha: f64,
    interval: Duration,
    always: Vec<u8>,
    rate_bits: Arc<AtomicU64>,
    state: Mutex<State>,
    rng: Rng,
    clock: SharedClock,
}

impl AdaptiveSamplingFilter {
    /// From its settings, on the system clock.
    pub fn from_config(c: &AdaptiveSamplingConfig) -> Result<AdaptiveSamplingFilter, Error> {
        AdaptiveSamplingFilter::with_clock(c, clock::system())
    }

    /// From its settings, on a clock of your choice (tests use [`crate::stages::ManualClock`]).
    pub fn with_clock(
        c: &AdaptiveSamplingConfig,
        clock: Arc<dyn StageClock>,
    ) -> Result<AdaptiveSamplingFilter, Error> {
        let k = "filter_config.adaptive_sampling";
        let min = check_rate(&format!("{k}.min_sample_rate"), c.min_sample_rate)?;
        let max = check_rate(&format!("{k}.max_sample_rate"), c.max_sample_rate)?;
        let alpha = check_rate(&format!("{k}.smoothing_factor"), c.smoothing_factor)?;
        let positive = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(v)
            } else {
                Err(Error::InvalidSetting {
                    key: format!("{k}.{name}"),
                    value: v.to_string(),
                    expected: "a positive number".to_owned(),
                })
            }
        };
        let target = positive("target_eps", c.target_eps)?;
        let window = positive("window_seconds", c.window_seconds)?;
        if min > max {
            return Err(Error::InvalidSetting {
                key: format!("{k}.min_sample_rate"),
                value: min.to_string(),
                expected: format!("at most max_sample_rate ({max})"),
            });
        }
        let start = clock.now();
        Ok(AdaptiveSamplingFilter {
            target,
            min,
            max,
            alpha: if alpha == 0.0 { 1.0 } else { alpha },
            interval: Duration::from_secs_f64((window / 10.0).clamp(0.1, 1.0)),
            always: c.always_pass_levels.iter().map(|l| l.priority()).collect(),
            rate_bits: Arc::new(AtomicU64::new(max.to_bits())),
            state: Mutex::new(State {
                started: start,
                seen: 0,
                ewma: None,
            }),
            rng: Rng::new(c.seed),
            clock,
        })
    }

    /// The sample rate in force now.
    pub fn sample_rate(&self) -> f64 {
        f64::from_bits(self.rate_bits.load(Ordering::Relaxed))
    }

    fn observe(&self) -> f64 {
        let now = self.clock.now();
        let mut st = match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        st.seen += 1;
        let elapsed = now.saturating_sub(st.started);
        if elapsed >= self.interval {
            let eps = st.seen as f64 / elapsed.as_secs_f64();
            let avg = match st.ewma {
                Some(prev) => self.alpha * eps + (1.0 - self.alpha) * prev,
                None => eps,
            };
            st.ewma = Some(avg);
            st.seen = 0;
            st.started = now;
            let rate = (self.target / avg.max(f64::MIN_POSITIVE)).clamp(self.min, self.max);
            self.rate_bits.store(rate.to_bits(), Ordering::Relaxed);
            runtime::gauge_sample_rate(rate);
            return rate;
        }
        self.sample_rate()
    }
}

impl Filter for AdaptiveSamplingFilter {
    fn name(&self) -> &str {
        "adaptive_sampling"
    }

    fn filter(&self, event: &Event<'_>) -> Result<Verdict, StageError> {
        let rate = self.observe();
        if self.always.contains(&event.level.priority())
            || rate >= 1.0
            || self.rng.next_f64() < rate
        {
            Ok(Verdict::Keep)
        } else {
            runtime::count(Counter::SampledOut, 1);
            Ok(Verdict::Drop)
        }
    }
}
