//! What the built-in stages report back: counters and gauges (read through
//! [`crate::Pipeline::stage_counters`]) and per-event annotations that a
//! filter attaches to the event it keeps (a filter only sees `&Event`).
//!
//! Built-ins count into thread-local cells on the worker, and the stage
//! runner folds them into the pipeline's atomics once per event, only when
//! something was counted: a built-in never needs a handle to the pipeline,
//! so it works however it was added.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

use crate::envelope::Event;
use crate::value::Value;

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

const COUNTERS: usize = 7;

thread_local! {
    static DIRTY: Cell<bool> = const { Cell::new(false) };
    static LOCAL: [Cell<u64>; COUNTERS] = const { [const { Cell::new(0) }; COUNTERS] };
    static RATE: Cell<Option<f64>> = const { Cell::new(None) };
    static KEYS: Cell<Option<u64>> = const { Cell::new(None) };
    static NOTES: RefCell<Vec<(&'static str, Value<'static>)>> = const { RefCell::new(Vec::new()) };
    static NOTED: Cell<bool> = const { Cell::new(false) };
}

/// Adds `n` to a counter (on this thread; folded in by the runner).
pub(crate) fn count(c: Counter, n: u64) {
    if n == 0 {
        return;
    }
    LOCAL.with(|l| {
        let cell = &l[c as usize];
        cell.set(cell.get() + n);
    });
    DIRTY.with(|d| d.set(true));
}

/// Sets the adaptive sample-rate gauge.
pub(crate) fn gauge_sample_rate(rate: f64) {
    RATE.with(|r| r.set(Some(rate)));
    DIRTY.with(|d| d.set(true));
}

/// Sets the rate-limit keys-tracked gauge.
pub(crate) fn gauge_keys_tracked(n: usize) {
    KEYS.with(|k| k.set(Some(n as u64)));
    DIRTY.with(|d| d.set(true));
}

/// Asks the runner to add `data.<key> = value` to the event the current
/// filter keeps (discarded if it drops it).
pub(crate) fn annotate(key: &'static str, value: Value<'static>) {
    NOTES.with(|n| n.borrow_mut().push((key, value)));
    NOTED.with(|n| n.set(true));
}

/// Applies (or, when `keep` is false, discards) pending annotations.
#[inline]
pub(crate) fn apply_notes(ev: &mut Event<'_>, keep: bool) {
    if !NOTED.with(Cell::get) {
        return;
    }
    NOTED.with(|n| n.set(false));
    NOTES.with(|n| {
        let mut n = n.borrow_mut();
        for (k, v) in n.drain(..) {
            if keep {
                ev.data.insert(k, v);
            }
        }
    });
}

/// Folds this thread's counts into `rt`.
#[inline]
pub(crate) fn fold(rt: &StageRuntime) {
    if !DIRTY.with(Cell::get) {
        return;
    }
    DIRTY.with(|d| d.set(false));
    LOCAL.with(|l| {
        for (i, cell) in l.iter().enumerate() {
            let v = cell.replace(0);
            if v > 0 {
                rt.counters[i].fetch_add(v, Relaxed);
            }
        }
    });
    if let Some(r) = RATE.with(|r| r.take()) {
        rt.sample_rate_bits.store(r.to_bits(), Relaxed);
        rt.has_rate.store(1, Relaxed);
    }
    if let Some(k) = KEYS.with(|k| k.take()) {
        rt.keys_tracked.store(k, Relaxed);
    }
}

/// Stage-side state of a running pipeline (kept in its metrics).
#[derive(Default)]
pub(crate) struct StageRuntime {
    counters: [AtomicU64; COUNTERS],
    sample_rate_bits: AtomicU64,
    has_rate: AtomicU64,
    keys_tracked: AtomicU64,
    pub(crate) worker_restarts: AtomicU64,
    pub(crate) levels: Mutex<Option<crate::stages::filters::LevelHandle>>,
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

    pub(crate) fn set_levels(&self, h: crate::stages::filters::LevelHandle) {
        let mut g = match self.levels.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *g = Some(h);
    }

    pub(crate) fn levels(&self) -> Option<crate::stages::filters::LevelHandle> {
        match self.levels.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
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

/// A cheap shared random source (wyrand) for the sampling filters: one
/// atomic add per draw, deterministic when seeded.
///
/// Hand-written on purpose: the filters draw from several worker threads
/// at once, and `fastrand::Rng` (the same wyrand step) is `!Sync`, so it
/// would need a lock or a per-thread generator that a seed can no longer
/// make reproducible.
pub(crate) struct Rng(AtomicU64);

impl Rng {
    pub(crate) fn new(seed: Option<u64>) -> Rng {
        use std::hash::{BuildHasher, Hasher};
        let seed = seed.unwrap_or_else(|| {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(0x5eed);
            h.finish()
        });
        Rng(AtomicU64::new(seed))
    }

    /// A uniform draw in `[0, 1)`.
    pub(crate) fn next_f64(&self) -> f64 {
        let s = self.0.fetch_add(0xa076_1d64_78bd_642f, Relaxed);
        let s = s.wrapping_add(0xa076_1d64_78bd_642f);
        let t = u128::from(s) * u128::from(s ^ 0xe703_7ed1_a0b4_28db);
        let x = ((t >> 64) ^ t) as u64;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}
