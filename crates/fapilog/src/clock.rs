//! The caller's clock: one raw counter read on the hot path, turned into wall
//! time on the worker.
//!
//! The caller reads [`quanta`]'s raw counter: the CPU's time-stamp counter
//! where it is invariant (about 10 ns), otherwise the monotonic clock. Each
//! worker keeps an anchor pair (raw reading, wall clock) taken at most a
//! second ago and converts a record's raw reading by the scaled difference,
//! so a timestamp is as correct as the wall clock it was anchored to, and
//! wall-clock steps are picked up within a second.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();

/// The process-wide calibrated clock (calibrated once, on first use).
pub(crate) fn clock() -> &'static quanta::Clock {
    CLOCK.get_or_init(quanta::Clock::new)
}

thread_local! {
    /// This thread's last reading.
    static LAST: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Reads the raw counter: the only clock work done on the caller's thread.
///
/// Each thread's readings strictly increase: the worker merges a shard's
/// main and protected rings by this value, so one thread's lines keep their
/// call order even when two readings tie or the thread moves to a core
/// whose counter is slightly behind.
#[inline]
pub(crate) fn raw_now() -> u64 {
    let now = clock().raw();
    LAST.with(|last| {
        let t = now.max(last.get().wrapping_add(1));
        last.set(t);
        t
    })
}

/// A (raw, wall) pair that converts raw readings to wall time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Anchor {
    raw: u64,
    wall_ns: u128,
    taken: u64,
}

/// How long an anchor is trusted before it is taken again.
const REANCHOR_NANOS: u64 = 1_000_000_000;

impl Anchor {
    pub(crate) fn now() -> Anchor {
        let c = clock();
        let raw = c.raw();
        let wall_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        Anchor {
            raw,
            wall_ns,
            taken: raw,
        }
    }

    /// Re-takes the anchor when it is older than a second.
    pub(crate) fn refresh(&mut self) {
        let c = clock();
        let now = c.raw();
        if now < self.taken || c.delta_as_nanos(self.taken, now) > REANCHOR_NANOS {
            *self = Anchor::now();
        }
    }

    /// The wall time of a raw reading.
    pub(crate) fn wall(&self, raw: u64) -> SystemTime {
        let c = clock();
        let ns = if raw >= self.raw {
            self.wall_ns
                .saturating_add(u128::from(c.delta_as_nanos(self.raw, raw)))
        } else {
            self.wall_ns
                .saturating_sub(u128::from(c.delta_as_nanos(raw, self.raw)))
        };
        let secs = (ns / 1_000_000_000) as u64;
        let sub = (ns % 1_000_000_000) as u32;
        UNIX_EPOCH + Duration::new(secs, sub)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_threads_readings_strictly_increase() {
        let mut last = raw_now();
        for _ in 0..100_000 {
            let t = raw_now();
            assert!(t > last, "{t} after {last}");
            last = t;
        }
    }

    #[test]
    fn converted_time_is_close_to_the_wall_clock() {
        let anchor = Anchor::now();
        let raw = raw_now();
        let wall = anchor.wall(raw);
        let now = SystemTime::now();
        let diff = match now.duration_since(wall) {
            Ok(d) => d,
            Err(e) => e.duration(),
        };
        // A generous bound: this checks the conversion, not the speed.
        assert!(diff < Duration::from_secs(5), "diff {diff:?}");
    }
}
