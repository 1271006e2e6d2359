//! The built-in stages' counters and gauges: the atomics the stage runner
//! folds each worker's thread-local counts into, and their snapshot.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// The counters built-ins bump.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Counter {
    RedactedFields = 0,
    RateLimited = 1,
    Deduplicated = 2,
    SampledOut = 3,
    SizeGuardTruncated = 4,
    SizeGuardDropped = 5,
    ExceptionsBounded = 6,
}

pub(crate) const COUNTERS: usize = 7;

/// The built-in stages' counters of a running pipeline.
#[derive(Default)]
pub(crate) struct StageRuntime {
    counters: [AtomicU64; COUNTERS],
    sample_rate_bits: AtomicU64,
    has_rate: AtomicU64,
    keys_tracked: AtomicU64,
    pub(crate) worker_restarts: AtomicU64,
}

impl StageRuntime {
    pub(crate) fn snapshot(&self) -> StageCounters {
        let c = |i: Counter| self.counters[i as usize].load(Relaxed);
        StageCounters {
            redacted_fields: c(Counter::RedactedFields),
            rate_limited: c(Counter::RateLimited),
            deduplicated: c(Counter::Deduplicated),
            sampled_out: c(Counter::SampledOut),
            size_guard_truncated: c(Counter::SizeGuardTruncated),
            size_guard_dropped: c(Counter::SizeGuardDropped),
            exceptions_bounded: c(Counter::ExceptionsBounded),
            adaptive_sample_rate: (self.has_rate.load(Relaxed) == 1)
                .then(|| f64::from_bits(self.sample_rate_bits.load(Relaxed))),
            rate_limit_keys_tracked: self.keys_tracked.load(Relaxed),
            worker_restarts: self.worker_restarts.load(Relaxed),
        }
    }

    pub(crate) fn add(&self, counter: usize, n: u64) {
        self.counters[counter].fetch_add(n, Relaxed);
    }

    pub(crate) fn set_sample_rate(&self, rate: f64) {
        self.sample_rate_bits.store(rate.to_bits(), Relaxed);
        self.has_rate.store(1, Relaxed);
    }

    pub(crate) fn set_keys_tracked(&self, n: u64) {
        self.keys_tracked.store(n, Relaxed);
    }
}

/// The built-in stages' counters and gauges, as of one moment
/// ([`crate::Pipeline::stage_counters`]). Names follow fapilog's metrics
/// where it has them (`fapilog_redacted_fields_total`,
/// `fapilog_filter_sample_rate`, `fapilog_rate_limit_keys_tracked`,
/// `processor_size_guard_{truncated,dropped}_total`).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct StageCounters {
    /// Values masked, removed or rewritten by the built-in redactors
    /// (one per field or per matched substring). Never the values themselves.
    pub redacted_fields: u64,
    /// Events suppressed by the rate-limit filter.
    pub rate_limited: u64,
    /// Repeats suppressed by the first-occurrence filter.
    pub deduplicated: u64,
    /// Events dropped by the sampling, adaptive and trace sampling filters.
    pub sampled_out: u64,
    /// Events the size guard shortened.
    pub size_guard_truncated: u64,
    /// Events the size guard dropped.
    pub size_guard_dropped: u64,
    /// Backtraces the exceptions processor shortened.
    pub exceptions_bounded: u64,
    /// The adaptive sampling filter's current sample rate (`None` until it ran).
    pub adaptive_sample_rate: Option<f64>,
    /// Keys the rate-limit filter tracks now.
    pub rate_limit_keys_tracked: u64,
    /// Worker threads that died and were restarted.
    pub worker_restarts: u64,
}
