//! The caller's clock: one raw counter read on the hot path, turned into wall
//! time on the worker.
//!
//! The caller reads the CPU's time-stamp counter where it is invariant (a
//! constant rate whatever the core's frequency or sleep state: `rdtsc`, about
//! 10 ns), otherwise the monotonic clock (`Instant`, 20–30 ns through the
//! vDSO). Each worker keeps an anchor pair (raw reading, wall clock) taken at
//! most a second ago and converts a record's raw reading by the scaled
//! difference, so a timestamp is as correct as the wall clock it was anchored
//! to, and wall-clock steps are picked up within a second.
//!
//! Hand-written rather than taken from a clock crate: it is one instruction on
//! the hot path, and the crates that wrap it bring a CPUID decoder that costs
//! a default build several seconds of compile time. The rate of the counter
//! (nanoseconds per tick) is measured against the monotonic clock: roughly
//! at the first reading (a 2 ms spin, when the pipeline is built), then
//! over the whole life of the process at every anchor, so its error falls
//! as the process runs (to parts per million after a few seconds).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The process-wide counter: which source it reads and its rate.
pub(crate) struct Clock {
    /// `true` when the raw counter is the invariant time-stamp counter.
    tsc: bool,
    /// The monotonic reading that raw `0` stands for (`tsc == false`), and
    /// the start of the rate measurement.
    base: Instant,
    /// The counter at `base` (`tsc == true`).
    base_ticks: u64,
    /// Nanoseconds per tick in 32.32 fixed point (exactly `1 << 32` when
    /// the counter is the monotonic clock).
    scale: AtomicU64,
}

/// One nanosecond per tick, in 32.32 fixed point.
const ONE: u64 = 1 << 32;

/// How long the first rate measurement spins (its error is then at most
/// 0.1 %, until the next anchor measures over a second or more).
const FIRST_CALIBRATION: Duration = Duration::from_millis(2);

static CLOCK: OnceLock<Clock> = OnceLock::new();

/// The process-wide clock (its rate measured once roughly, on first use).
pub(crate) fn clock() -> &'static Clock {
    CLOCK.get_or_init(Clock::new)
}

/// `true` when the CPU says its time-stamp counter runs at a constant rate
/// in every power state (CPUID leaf `0x8000_0007`, EDX bit 8).
#[cfg(all(target_arch = "x86_64", not(miri)))]
fn invariant_tsc() -> bool {
    use std::arch::x86_64::__cpuid;
    __cpuid(0x8000_0000).eax >= 0x8000_0007 && __cpuid(0x8000_0007).edx & (1 << 8) != 0
}

#[cfg(not(all(target_arch = "x86_64", not(miri))))]
fn invariant_tsc() -> bool {
    false
}

/// The time-stamp counter.
#[cfg(all(target_arch = "x86_64", not(miri)))]
#[inline(always)]
#[allow(unsafe_code)]
fn ticks() -> u64 {
    // SAFETY: `rdtsc` reads a register and touches no memory; every x86_64
    // CPU has it. (Miri, which cannot run it, takes the monotonic clock.)
    unsafe { std::arch::x86_64::_rdtsc() }
}

#[cfg(not(all(target_arch = "x86_64", not(miri))))]
#[inline(always)]
fn ticks() -> u64 {
    0
}

impl Clock {
    fn new() -> Clock {
        Clock::with_source(invariant_tsc())
    }

    fn with_source(tsc: bool) -> Clock {
        let clock = Clock {
            tsc,
            base: Instant::now(),
            base_ticks: if tsc { ticks() } else { 0 },
            scale: AtomicU64::new(ONE),
        };
        if tsc {
            while clock.base.elapsed() < FIRST_CALIBRATION {
                std::hint::spin_loop();
            }
            // Until one measurement is not disturbed by a preemption.
            for _ in 0..1000 {
                if clock.recalibrate() {
                    break;
                }
            }
        }
        clock
    }

    /// The raw counter: ticks of the time-stamp counter, or nanoseconds of
    /// the monotonic clock since the clock was made.
    #[inline(always)]
    pub(crate) fn raw(&self) -> u64 {
        if self.tsc {
            ticks()
        } else {
            u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX)
        }
    }

    /// Measures the counter's rate again, over the whole time since the
    /// clock was made. A measurement during which the thread was preempted
    /// (the two counter reads around the monotonic one are far apart) is
    /// not used.
    fn recalibrate(&self) -> bool {
        if !self.tsc {
            return true;
        }
        let before = ticks();
        let nanos = self.base.elapsed().as_nanos();
        let after = ticks();
        if self.delta_as_nanos(before, after) > 2_000 {
            return false;
        }
        let ticks = u128::from((before / 2 + after / 2).wrapping_sub(self.base_ticks));
        if ticks == 0 || nanos == 0 {
            return false;
        }
        match u64::try_from((nanos << 32) / ticks) {
            Ok(scale) => {
                self.scale.store(scale.max(1), Ordering::Relaxed);
                true
            }
            Err(_) => false,
        }
    }

    /// Nanoseconds between two raw readings, `later >= earlier`.
    pub(crate) fn delta_as_nanos(&self, earlier: u64, later: u64) -> u64 {
        let ticks = u128::from(later.saturating_sub(earlier));
        let nanos = (ticks * u128::from(self.scale.load(Ordering::Relaxed))) >> 32;
        u64::try_from(nanos).unwrap_or(u64::MAX)
    }
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
        let _ = c.recalibrate();
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

    /// `true` when one measurement of a short sleep by `c` is within 2 % of
    /// the monotonic clock's.
    fn measures_a_sleep(c: &Clock) -> bool {
        let outer = Instant::now();
        let raw0 = c.raw();
        let inner = Instant::now();
        std::thread::sleep(Duration::from_millis(20));
        let _ = c.recalibrate();
        let inner = inner.elapsed().as_nanos() as f64;
        let raw1 = c.raw();
        let outer = outer.elapsed().as_nanos() as f64;
        let measured = c.delta_as_nanos(raw0, raw1) as f64;
        measured >= inner * 0.98 && measured <= outer * 1.02
    }

    #[test]
    fn both_sources_measure_elapsed_time_at_the_monotonic_clocks_rate() {
        for tsc in [false, invariant_tsc()] {
            let c = Clock::with_source(tsc);
            // A loaded machine may preempt the test between two reads: one
            // good measurement in five shows the rate is right.
            assert!(
                (0..5).any(|_| measures_a_sleep(&c)),
                "tsc={tsc}: the counter's rate is off, scale {}",
                c.scale.load(Ordering::Relaxed)
            );
            let r = c.raw();
            assert_eq!(c.delta_as_nanos(r, r.saturating_sub(1000)), 0);
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
