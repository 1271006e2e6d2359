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

use crate::envelope::Event;
pub(crate) use crate::metrics::stages::{Counter, StageRuntime, COUNTERS};
use crate::value::Value;

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
                rt.add(i, v);
            }
        }
    });
    if let Some(r) = RATE.with(|r| r.take()) {
        rt.set_sample_rate(r);
    }
    if let Some(k) = KEYS.with(|k| k.take()) {
        rt.set_keys_tracked(k);
    }
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
