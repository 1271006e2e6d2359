//! The workload every contender runs, and the driver that runs it on the
//! producer threads while timing each call.

use std::sync::Barrier;
use std::time::{Duration, Instant};

use crate::measure::{clamp_ticks, sleep_until, Timer};

/// The message of every workload event (also how its lines are recognised
/// in the output file, so a logger's own notices are not counted).
pub const MESSAGE: &str = "request handled";

/// The five field names, the same for every contender.
pub const FIELDS: [&str; 5] = ["request_id", "user_id", "path", "status", "latency_ms"];

/// One event's values: message + 5 fields.
#[derive(Clone, Copy, Debug)]
pub struct Event<'a> {
    /// A string id (`req-0000002a`).
    pub request_id: &'a str,
    /// An integer.
    pub user_id: u64,
    /// A string path.
    pub path: &'a str,
    /// An integer status.
    pub status: u64,
    /// A float.
    pub latency_ms: f64,
}

/// Precomputed values, so building an event costs the caller nothing that a
/// real service would not already have.
pub(crate) struct Values {
    request_ids: Vec<String>,
    paths: Vec<String>,
}

const STATUSES: [u64; 8] = [200, 200, 200, 201, 204, 304, 404, 500];

impl Values {
    pub(crate) fn new() -> Values {
        Values {
            request_ids: (0..1024u32).map(|i| format!("req-{i:08x}")).collect(),
            paths: [
                "/api/v1/orders",
                "/api/v1/orders/42",
                "/api/v1/users/7/profile",
                "/healthz",
                "/api/v1/search?q=tea",
                "/api/v1/cart",
                "/login",
                "/static/app.js",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        }
    }

    #[inline(always)]
    pub(crate) fn event(&self, i: u64) -> Event<'_> {
        let j = i as usize;
        Event {
            request_id: &self.request_ids[j & 1023],
            user_id: 1000 + (i % 50_000),
            path: &self.paths[j & 7],
            status: STATUSES[j & 7],
            latency_ms: 0.25 + (i % 1000) as f64 * 0.125,
        }
    }
}

/// A logger under test, as the driver sees it.
pub(crate) trait Target: Sync {
    /// Runs a producer thread's whole loop (a `tracing` target installs its
    /// dispatcher here when it could not be made the global default).
    fn on_thread<R>(&self, f: impl FnOnce() -> R) -> R {
        f()
    }

    /// One log call.
    fn emit(&self, ev: &Event<'_>);
}

/// How the producers send their events.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Pace {
    /// As fast as they can.
    Burst,
    /// `rate` events per second in total, released in 1 ms ticks.
    Sustained { rate: u64 },
}

/// What the producers did.
pub(crate) struct Driven {
    /// When the producers were released (the first call follows at once).
    pub(crate) start: Instant,
    /// Per-call samples (raw ticks), one vector per thread.
    pub(crate) samples: Vec<Vec<u32>>,
    /// Events sent.
    pub(crate) sent: u64,
}

/// Preallocated and touched sample buffers, one per thread.
pub(crate) fn sample_buffers(events: u64, threads: usize) -> Vec<Vec<u32>> {
    (0..threads)
        .map(|t| vec![0u32; share(events, threads, t) as usize])
        .collect()
}

/// Events sent by thread `t` of `threads`.
fn share(events: u64, threads: usize, t: usize) -> u64 {
    let n = threads as u64;
    events / n + u64::from((t as u64) < events % n)
}

/// Runs the producers: each sends its share of `events`, timing every call
/// into its preallocated buffer.
pub(crate) fn drive<T: Target>(
    target: &T,
    values: &Values,
    timer: &Timer,
    pace: Pace,
    mut samples: Vec<Vec<u32>>,
) -> Driven {
    let threads = samples.len();
    let sent: u64 = samples.iter().map(|s| s.len() as u64).sum();
    let barrier = Barrier::new(threads + 1);
    let mut start = Instant::now();
    std::thread::scope(|s| {
        for (t, buf) in samples.iter_mut().enumerate() {
            let barrier = &barrier;
            s.spawn(move || {
                target.on_thread(|| {
                    barrier.wait();
                    producer(target, values, timer, pace, threads, t, buf);
                })
            });
        }
        barrier.wait();
        start = Instant::now();
    });
    Driven {
        start,
        samples,
        sent,
    }
}

fn producer<T: Target>(
    target: &T,
    values: &Values,
    timer: &Timer,
    pace: Pace,
    threads: usize,
    t: usize,
    buf: &mut [u32],
) {
    let stride = threads as u64;
    match pace {
        Pace::Burst => {
            for (k, slot) in buf.iter_mut().enumerate() {
                let ev = values.event(k as u64 * stride + t as u64);
                let a = timer.raw();
                target.emit(&ev);
                let b = timer.raw();
                *slot = clamp_ticks(b.wrapping_sub(a));
            }
        }
        Pace::Sustained { rate } => {
            let per_thread = (rate as f64 / threads as f64).max(1.0);
            let start = Instant::now();
            let tick = Duration::from_millis(1);
            let mut k = 0usize;
            let mut ticks = 0u32;
            while k < buf.len() {
                // Catch up to the schedule (a late wake-up sends the backlog).
                let due = (start.elapsed().as_secs_f64() * per_thread) as usize + 1;
                let due = due.min(buf.len());
                while k < due {
                    let ev = values.event(k as u64 * stride + t as u64);
                    let a = timer.raw();
                    target.emit(&ev);
                    let b = timer.raw();
                    buf[k] = clamp_ticks(b.wrapping_sub(a));
                    k += 1;
                }
                ticks += 1;
                sleep_until(start, tick * ticks);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    struct Count(AtomicU64);
    impl Target for Count {
        fn emit(&self, ev: &Event<'_>) {
            assert!(ev.request_id.starts_with("req-"));
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn every_event_is_sent_once_across_threads() {
        let c = Count(AtomicU64::new(0));
        let d = drive(
            &c,
            &Values::new(),
            &Timer::new(),
            Pace::Burst,
            sample_buffers(1001, 2),
        );
        assert_eq!(d.sent, 1001);
        assert_eq!(c.0.load(Ordering::Relaxed), 1001);
    }

    #[test]
    fn sustained_pace_sends_everything() {
        let c = Count(AtomicU64::new(0));
        let d = drive(
            &c,
            &Values::new(),
            &Timer::new(),
            Pace::Sustained { rate: 100_000 },
            sample_buffers(2000, 2),
        );
        assert_eq!(c.0.load(Ordering::Relaxed), 2000);
        assert!(d.start.elapsed() >= Duration::from_millis(15));
    }
}
