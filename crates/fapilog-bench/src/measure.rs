//! What the benchmark measures with: a cheap timer and its own floor,
//! latency percentiles from per-call samples, and the process's peak RSS.

use std::time::Duration;

/// The caller-side timer: `quanta`'s raw counter (the invariant TSC where
/// the CPU has one, the monotonic clock otherwise), one read before and one
/// after each call.
pub(crate) struct Timer {
    clock: quanta::Clock,
    /// Nanoseconds per raw tick.
    ns_per_tick: f64,
}

impl Timer {
    pub(crate) fn new() -> Timer {
        let clock = quanta::Clock::new();
        let ticks: u64 = 1 << 40;
        let ns_per_tick = clock.delta_as_nanos(0, ticks) as f64 / ticks as f64;
        Timer { clock, ns_per_tick }
    }

    /// One raw read.
    #[inline(always)]
    pub(crate) fn raw(&self) -> u64 {
        self.clock.raw()
    }

    pub(crate) fn ticks_to_ns(&self, ticks: u64) -> f64 {
        ticks as f64 * self.ns_per_tick
    }

    /// The timer's own floor: the median (and p99) of `n` back-to-back reads,
    /// in nanoseconds. This is what a sample of an empty call would read.
    pub(crate) fn floor(&self, n: usize) -> (f64, f64) {
        let mut samples = vec![0u32; n];
        for s in samples.iter_mut() {
            let a = self.raw();
            let b = self.raw();
            *s = clamp_ticks(b.wrapping_sub(a));
        }
        samples.sort_unstable();
        (
            self.ticks_to_ns(u64::from(percentile(&samples, 0.50))),
            self.ticks_to_ns(u64::from(percentile(&samples, 0.99))),
        )
    }
}

/// A sample as stored: raw ticks, saturated to `u32` (over a second at any
/// plausible TSC rate), so a million samples take 4 MB.
#[inline(always)]
pub(crate) fn clamp_ticks(ticks: u64) -> u32 {
    u32::try_from(ticks).unwrap_or(u32::MAX)
}

/// The `q` quantile of sorted samples (nearest rank).
pub(crate) fn percentile(sorted: &[u32], q: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Caller latency of one case, in nanoseconds above the timer floor.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Slowest call.
    pub max: f64,
    /// The floor that was subtracted (median of back-to-back timer reads).
    pub floor: f64,
}

impl Latency {
    /// Percentiles of `samples` (raw ticks; sorted in place), floor subtracted.
    pub(crate) fn from_samples(timer: &Timer, samples: &mut [u32], floor_ns: f64) -> Latency {
        samples.sort_unstable();
        let at =
            |q: f64| (timer.ticks_to_ns(u64::from(percentile(samples, q))) - floor_ns).max(0.0);
        Latency {
            p50: at(0.50),
            p99: at(0.99),
            p999: at(0.999),
            max: at(1.0),
            floor: floor_ns,
        }
    }
}

/// The process's peak resident set (`VmHWM`) in bytes, where `/proc` has it.
pub(crate) fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Sleeps until `deadline` measured from `start` (coarse: the OS's sleep).
pub(crate) fn sleep_until(start: std::time::Instant, deadline: Duration) {
    let now = start.elapsed();
    if deadline > now {
        std::thread::sleep(deadline - now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let s: Vec<u32> = (1..=1000).collect();
        assert_eq!(percentile(&s, 0.5), 500);
        assert_eq!(percentile(&s, 0.99), 990);
        assert_eq!(percentile(&s, 0.999), 999);
        assert_eq!(percentile(&s, 1.0), 1000);
        assert_eq!(percentile(&[], 0.5), 0);
    }

    #[test]
    fn floor_is_finite_and_small() {
        let t = Timer::new();
        let (p50, p99) = t.floor(10_000);
        assert!(p50.is_finite() && p99 >= p50);
    }
}
