//! Counters and gauges of the pipeline: atomics, written where events move,
//! read as a [`MetricsSnapshot`].
//!
//! Nothing here is touched on the caller's fast path: a successful log call
//! counts nothing. "Submitted" is derived (dequeued + queued + dropped), so
//! the producers never share a counter's cache line.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

use crate::level::Level;

/// Why an event was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// The queue was full under the `Drop` policy (or the level's share of it was).
    QueueFull,
    /// The queue stayed full for the whole `Wait` timeout.
    WaitTimeout,
    /// A lower-level event made room for a protected one.
    Evicted,
    /// Logged after shutdown began, or still queued when the shutdown timeout passed.
    Shutdown,
    /// A redactor failed in closed mode, so the event was withheld.
    RedactionFailed,
}

impl DropReason {
    /// All reasons, in counter order.
    pub const ALL: [DropReason; 5] = [
        DropReason::QueueFull,
        DropReason::WaitTimeout,
        DropReason::Evicted,
        DropReason::Shutdown,
        DropReason::RedactionFailed,
    ];

    /// The snake_case name used in metrics and drop reports.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue_full",
            DropReason::WaitTimeout => "wait_timeout",
            DropReason::Evicted => "evicted",
            DropReason::Shutdown => "shutdown",
            DropReason::RedactionFailed => "redaction_failed",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

const LEVELS: usize = 7;
const REASONS: usize = DropReason::ALL.len();
/// Upper bounds (seconds) of the flush-latency histogram buckets.
pub const FLUSH_BUCKETS: [f64; 12] = [
    0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
];

#[derive(Default)]
pub(crate) struct Metrics {
    pub(crate) dequeued: AtomicU64,
    pub(crate) written: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) filtered: AtomicU64,
    pub(crate) drop_reports: AtomicU64,
    dropped: [[AtomicU64; REASONS]; LEVELS],
    pub(crate) high_watermark: AtomicUsize,
    pub(crate) batches: AtomicU64,
    flush_count: AtomicU64,
    flush_nanos: AtomicU64,
    flush_max_nanos: AtomicU64,
    flush_buckets: [AtomicU64; FLUSH_BUCKETS.len() + 1],
    pub(crate) sinks: Vec<SinkCounters>,
    pub(crate) stages: std::sync::Mutex<Vec<(String, u64, u64)>>,
    pub(crate) stage_runtime: crate::stages::StageRuntime,
}

#[derive(Default)]
pub(crate) struct SinkCounters {
    pub(crate) name: String,
    pub(crate) written: AtomicU64,
    pub(crate) errors: AtomicU64,
}

impl Metrics {
    pub(crate) fn new(sink_names: Vec<String>) -> Metrics {
        Metrics {
            sinks: sink_names
                .into_iter()
                .map(|name| SinkCounters {
                    name,
                    ..SinkCounters::default()
                })
                .collect(),
            ..Metrics::default()
        }
    }

    #[cold]
    pub(crate) fn count_drop(&self, level: Level, reason: DropReason, n: u64) {
        self.dropped[level.bucket()][reason.index()].fetch_add(n, Relaxed);
    }

    /// Current drop counts, `[level bucket][reason]`.
    pub(crate) fn dropped_matrix(&self) -> [[u64; REASONS]; LEVELS] {
        let mut m = [[0; REASONS]; LEVELS];
        for (l, row) in self.dropped.iter().enumerate() {
            for (r, c) in row.iter().enumerate() {
                m[l][r] = c.load(Relaxed);
            }
        }
        m
    }

    pub(crate) fn observe_depth(&self, depth: usize) {
        self.high_watermark.fetch_max(depth, Relaxed);
    }

    pub(crate) fn observe_flush(&self, took: Duration) {
        let ns = took.as_nanos().min(u128::from(u64::MAX)) as u64;
        self.flush_count.fetch_add(1, Relaxed);
        self.flush_nanos.fetch_add(ns, Relaxed);
        self.flush_max_nanos.fetch_max(ns, Relaxed);
        let secs = took.as_secs_f64();
        let i = FLUSH_BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(FLUSH_BUCKETS.len());
        self.flush_buckets[i].fetch_add(1, Relaxed);
    }

    pub(crate) fn count_stage_error(&self, stage: &str, panicked: bool) -> bool {
        let mut stages = match self.stages.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let first = match stages.iter_mut().find(|(n, _, _)| n == stage) {
            Some(e) => {
                if panicked {
                    e.2 += 1;
                } else {
                    e.1 += 1;
                }
                false
            }
            None => {
                stages.push((stage.to_owned(), u64::from(!panicked), u64::from(panicked)));
                true
            }
        };
        first
    }

    pub(crate) fn snapshot(&self, queue_depth: usize, queue_capacity: usize) -> MetricsSnapshot {
        let matrix = self.dropped_matrix();
        let mut dropped = Vec::new();
        for (l, row) in matrix.iter().enumerate() {
            for (r, &count) in row.iter().enumerate() {
                if count > 0 {
                    dropped.push(DropCount {
                        level: Level::BUCKET_NAMES[l],
                        reason: DropReason::ALL[r],
                        count,
                    });
                }
            }
        }
        let dropped_total = dropped.iter().map(|d| d.count).sum();
        let dequeued = self.dequeued.load(Relaxed);
        let flush_count = self.flush_count.load(Relaxed);
        let mut cumulative = 0;
        let flush_histogram = FLUSH_BUCKETS
            .iter()
            .copied()
            .chain(std::iter::once(f64::INFINITY))
            .zip(self.flush_buckets.iter())
            .map(|(le, c)| {
                cumulative += c.load(Relaxed);
                (le, cumulative)
            })
            .collect();
        MetricsSnapshot {
            submitted: dequeued + queue_depth as u64 + dropped_total,
            written: self.written.load(Relaxed),
            failed: self.failed.load(Relaxed),
            filtered: self.filtered.load(Relaxed),
            dropped_total,
            dropped,
            drop_reports: self.drop_reports.load(Relaxed),
            queue_depth,
            queue_capacity,
            queue_high_watermark: self.high_watermark.load(Relaxed).max(queue_depth),
            batches: self.batches.load(Relaxed),
            flush_count,
            flush_seconds_total: Duration::from_nanos(self.flush_nanos.load(Relaxed)).as_secs_f64(),
            flush_seconds_max: Duration::from_nanos(self.flush_max_nanos.load(Relaxed))
                .as_secs_f64(),
            flush_histogram,
            sinks: self
                .sinks
                .iter()
                .map(|s| SinkMetrics {
                    name: s.name.clone(),
                    written: s.written.load(Relaxed),
                    errors: s.errors.load(Relaxed),
                })
                .collect(),
            stage_errors: match self.stages.lock() {
                Ok(g) => g.clone(),
                Err(p) => p.into_inner().clone(),
            }
            .into_iter()
            .map(|(stage, errors, panics)| StageMetrics {
                stage,
                errors,
                panics,
            })
            .collect(),
            stages: self.stage_runtime.snapshot(),
        }
    }
}

/// Events dropped at one level for one reason.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DropCount {
    /// Level name (`CUSTOM` for every custom level).
    pub level: &'static str,
    /// Why.
    pub reason: DropReason,
    /// How many.
    pub count: u64,
}

/// Per-sink counters.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SinkMetrics {
    /// The sink's name.
    pub name: String,
    /// Events the sink accepted.
    pub written: u64,
    /// Failed batch writes (errors and panics).
    pub errors: u64,
}

/// Per-stage failure counters (user plugins and built-ins alike).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StageMetrics {
    /// The stage's name.
    pub stage: String,
    /// Calls that returned an error.
    pub errors: u64,
    /// Calls that panicked.
    pub panics: u64,
}

/// A point-in-time copy of the pipeline's metrics.
///
/// The identity `submitted == written + failed + filtered + dropped_total +
/// (events still queued or in flight)` holds once the pipeline is drained.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MetricsSnapshot {
    /// Log calls that passed the level gate.
    pub submitted: u64,
    /// Events every sink accepted.
    pub written: u64,
    /// Events at least one sink failed to write (they went to the stderr fallback).
    pub failed: u64,
    /// Events removed by filters.
    pub filtered: u64,
    /// Events dropped, all reasons.
    pub dropped_total: u64,
    /// Drops by level and reason (non-zero entries only).
    pub dropped: Vec<DropCount>,
    /// In-band `logs dropped` events written.
    pub drop_reports: u64,
    /// Events in the queue now.
    pub queue_depth: usize,
    /// The queue's configured capacity (main queue).
    pub queue_capacity: usize,
    /// The deepest the queue was seen.
    pub queue_high_watermark: usize,
    /// Batches handed to the sinks.
    pub batches: u64,
    /// Batch flushes timed.
    pub flush_count: u64,
    /// Total time spent flushing, seconds.
    pub flush_seconds_total: f64,
    /// Slowest flush, seconds.
    pub flush_seconds_max: f64,
    /// Cumulative flush-latency histogram: (upper bound in seconds, count).
    pub flush_histogram: Vec<(f64, u64)>,
    /// Per-sink counters.
    pub sinks: Vec<SinkMetrics>,
    /// Per-stage failure counters.
    pub stage_errors: Vec<StageMetrics>,
    /// The built-in stages' counters and gauges (redacted fields, sampling, …).
    pub stages: crate::stages::StageCounters,
}

impl MetricsSnapshot {
    /// Drops for one reason, all levels.
    pub fn dropped_for(&self, reason: DropReason) -> u64 {
        self.dropped
            .iter()
            .filter(|d| d.reason == reason)
            .map(|d| d.count)
            .sum()
    }

    /// Drops at one level (by name), all reasons.
    pub fn dropped_at(&self, level: &str) -> u64 {
        self.dropped
            .iter()
            .filter(|d| d.level == level)
            .map(|d| d.count)
            .sum()
    }

    /// Sink errors, all sinks.
    pub fn sink_errors(&self) -> u64 {
        self.sinks.iter().map(|s| s.errors).sum()
    }
}
