//! Counters and gauges of the pipeline: atomics, written where events move,
//! read as a [`MetricsSnapshot`].
//!
//! Nothing here is touched on the caller's fast path: a successful log call
//! counts nothing. "Submitted" is derived (dequeued + queued + dropped
//! before the queue), so the producers never share a counter's cache line.
//! An event withheld after the queue (a redactor failing in closed mode) was
//! dequeued already: it is counted once, as dequeued and withheld, never a
//! second time as a drop that adds to `submitted`.

#[cfg(feature = "metrics")]
pub mod facade;
pub(crate) mod prometheus;
pub(crate) mod spool;
pub(crate) mod stages;

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

    /// `true` for a reason that applies to an event the worker already took
    /// off the queue (and counted as dequeued).
    fn after_queue(self) -> bool {
        matches!(self, DropReason::RedactionFailed)
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
    pub(crate) stage_runtime: stages::StageRuntime,
    /// Set once the pipeline's shutdown report is made; then 1 once the
    /// first late log call has been reported on stderr.
    shut_down: std::sync::atomic::AtomicU8,
}

/// The kinds of failed writes a sink's metrics count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SinkErrorKind {
    /// A retryable failure (`SinkError::Transient`, `Io`, `Other`).
    Transient,
    /// A refusal (`SinkError::Rejected`, `SinkError::Partial`).
    Rejected,
    /// The sink panicked.
    Panic,
}

impl SinkErrorKind {
    /// All kinds, in counter order.
    pub const ALL: [SinkErrorKind; 3] = [
        SinkErrorKind::Transient,
        SinkErrorKind::Rejected,
        SinkErrorKind::Panic,
    ];

    /// The snake_case name used in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            SinkErrorKind::Transient => "transient",
            SinkErrorKind::Rejected => "rejected",
            SinkErrorKind::Panic => "panic",
        }
    }
}

/// Why a sink's driver gave up on lines and sent them down the divert
/// chain (the fallback sink, else stderr).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DivertReason {
    /// The sink refused them (`Rejected`, or the refused part of a `Partial`).
    Rejected,
    /// Every retry failed, or the retry budget ran out.
    RetriesExhausted,
    /// The circuit breaker was open.
    BreakerOpen,
    /// The sink panicked on the batch.
    Panicked,
    /// The shutdown deadline came before a retry could.
    Shutdown,
}

impl DivertReason {
    /// All reasons, in counter order.
    pub const ALL: [DivertReason; 5] = [
        DivertReason::Rejected,
        DivertReason::RetriesExhausted,
        DivertReason::BreakerOpen,
        DivertReason::Panicked,
        DivertReason::Shutdown,
    ];

    /// The snake_case name used in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            DivertReason::Rejected => "rejected",
            DivertReason::RetriesExhausted => "retries_exhausted",
            DivertReason::BreakerOpen => "breaker_open",
            DivertReason::Panicked => "panicked",
            DivertReason::Shutdown => "shutdown",
        }
    }
}

/// Why a sink lost lines that went nowhere else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SinkDropReason {
    /// The sink's buffer was full under [`WhenFull::DropNewest`](crate::sinks::WhenFull::DropNewest).
    BufferFull,
    /// Still buffered when the shutdown deadline passed.
    Shutdown,
    /// Diverted to stderr past its byte budget.
    StderrLimit,
    /// The sink's spool refused them: full, or the disk refused the
    /// write, under `SpoolWhenFull::DropNewest` (or still blocked on a
    /// full spool at shutdown).
    SpoolFull,
}

impl SinkDropReason {
    /// All reasons, in counter order.
    pub const ALL: [SinkDropReason; 4] = [
        SinkDropReason::BufferFull,
        SinkDropReason::Shutdown,
        SinkDropReason::StderrLimit,
        SinkDropReason::SpoolFull,
    ];

    /// The snake_case name used in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            SinkDropReason::BufferFull => "buffer_full",
            SinkDropReason::Shutdown => "shutdown",
            SinkDropReason::StderrLimit => "stderr_limit",
            SinkDropReason::SpoolFull => "spool_full",
        }
    }
}

/// Where a sink's driver stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SinkHealth {
    /// The last batch was delivered (or none was sent yet).
    Healthy,
    /// A batch failed and is being retried.
    Retrying,
    /// The circuit breaker is open: batches are diverted.
    Open,
    /// The driver has stopped (shutdown).
    Stopped,
}

impl SinkHealth {
    /// The snake_case name used in metrics and health reports.
    pub fn as_str(self) -> &'static str {
        match self {
            SinkHealth::Healthy => "healthy",
            SinkHealth::Retrying => "retrying",
            SinkHealth::Open => "open",
            SinkHealth::Stopped => "stopped",
        }
    }

    fn from_u8(v: u8) -> SinkHealth {
        match v {
            1 => SinkHealth::Retrying,
            2 => SinkHealth::Open,
            3 => SinkHealth::Stopped,
            _ => SinkHealth::Healthy,
        }
    }
}

/// The counters of one sink's driver.
#[derive(Default)]
pub(crate) struct SinkCounters {
    pub(crate) name: String,
    pub(crate) written: AtomicU64,
    pub(crate) bytes: AtomicU64,
    pub(crate) errors: [AtomicU64; 3],
    pub(crate) retries: AtomicU64,
    dropped: [[AtomicU64; SinkDropReason::ALL.len()]; LEVELS],
    /// Drops already told in an in-band `logs dropped` report.
    pub(crate) dropped_reported: AtomicU64,
    diverted: [AtomicU64; 5],
    pub(crate) diverted_to_fallback: AtomicU64,
    pub(crate) diverted_to_stderr: AtomicU64,
    pub(crate) received_diverted: AtomicU64,
    pub(crate) buffer_depth: AtomicUsize,
    pub(crate) buffer_high_watermark: AtomicUsize,
    writes: AtomicU64,
    write_nanos: AtomicU64,
    write_max_nanos: AtomicU64,
    pub(crate) breaker_opened: AtomicU64,
    health: std::sync::atomic::AtomicU8,
    /// The sink's disk spool, when it has one.
    pub(crate) spool: Option<std::sync::Arc<spool::SpoolCounters>>,
}

impl SinkCounters {
    pub(crate) fn error(&self, kind: SinkErrorKind) {
        self.errors[kind as usize].fetch_add(1, Relaxed);
    }

    pub(crate) fn drop_lines(&self, reason: SinkDropReason, levels: impl Iterator<Item = Level>) {
        for l in levels {
            self.dropped[l.bucket()][reason as usize].fetch_add(1, Relaxed);
        }
    }

    pub(crate) fn divert(&self, reason: DivertReason, lines: u64) {
        self.diverted[reason as usize].fetch_add(lines, Relaxed);
    }

    pub(crate) fn dropped_total(&self) -> u64 {
        self.dropped
            .iter()
            .flat_map(|row| row.iter())
            .map(|c| c.load(Relaxed))
            .sum()
    }

    pub(crate) fn observe_write(&self, took: Duration) {
        let ns = took.as_nanos().min(u128::from(u64::MAX)) as u64;
        self.writes.fetch_add(1, Relaxed);
        self.write_nanos.fetch_add(ns, Relaxed);
        self.write_max_nanos.fetch_max(ns, Relaxed);
    }

    pub(crate) fn observe_buffer(&self, depth: usize) {
        self.buffer_depth.store(depth, Relaxed);
        self.buffer_high_watermark.fetch_max(depth, Relaxed);
    }

    pub(crate) fn set_health(&self, h: SinkHealth) {
        self.health.store(h as u8, Relaxed);
    }

    pub(crate) fn health(&self) -> SinkHealth {
        SinkHealth::from_u8(self.health.load(Relaxed))
    }

    fn snapshot(&self) -> SinkMetrics {
        let mut dropped = Vec::new();
        for (l, row) in self.dropped.iter().enumerate() {
            for (r, c) in row.iter().enumerate() {
                let count = c.load(Relaxed);
                if count > 0 {
                    dropped.push((Level::BUCKET_NAMES[l], SinkDropReason::ALL[r], count));
                }
            }
        }
        let errors_by_kind: Vec<(SinkErrorKind, u64)> = SinkErrorKind::ALL
            .iter()
            .map(|k| (*k, self.errors[*k as usize].load(Relaxed)))
            .collect();
        SinkMetrics {
            name: self.name.clone(),
            written: self.written.load(Relaxed),
            bytes: self.bytes.load(Relaxed),
            errors: errors_by_kind.iter().map(|(_, n)| n).sum(),
            errors_by_kind,
            retries: self.retries.load(Relaxed),
            dropped,
            diverted: DivertReason::ALL
                .iter()
                .map(|r| (*r, self.diverted[*r as usize].load(Relaxed)))
                .collect(),
            diverted_to_fallback: self.diverted_to_fallback.load(Relaxed),
            diverted_to_stderr: self.diverted_to_stderr.load(Relaxed),
            received_diverted: self.received_diverted.load(Relaxed),
            buffer_depth: self.buffer_depth.load(Relaxed),
            buffer_high_watermark: self.buffer_high_watermark.load(Relaxed),
            writes: self.writes.load(Relaxed),
            write_seconds_total: Duration::from_nanos(self.write_nanos.load(Relaxed)).as_secs_f64(),
            write_seconds_max: Duration::from_nanos(self.write_max_nanos.load(Relaxed))
                .as_secs_f64(),
            breaker_opened: self.breaker_opened.load(Relaxed),
            health: self.health(),
            spool: self.spool.as_ref().map(|s| s.snapshot()),
        }
    }
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

    /// Attaches each sink's spool counters (in sink order).
    #[cfg_attr(not(feature = "spool"), allow(dead_code))]
    pub(crate) fn with_spools(
        mut self,
        spools: Vec<Option<std::sync::Arc<spool::SpoolCounters>>>,
    ) -> Metrics {
        for (c, s) in self.sinks.iter_mut().zip(spools) {
            c.spool = s;
        }
        self
    }

    #[cold]
    pub(crate) fn count_drop(&self, level: Level, reason: DropReason, n: u64) {
        self.dropped[level.bucket()][reason.index()].fetch_add(n, Relaxed);
        if reason == DropReason::Shutdown && self.shut_down.load(Relaxed) == 1 {
            self.report_late_call();
        }
    }

    /// The pipeline's shutdown is over: later drops are late log calls.
    pub(crate) fn mark_shut_down(&self) {
        let _ = self.shut_down.compare_exchange(0, 1, Relaxed, Relaxed);
    }

    #[cold]
    fn report_late_call(&self) {
        if self.shut_down.swap(2, Relaxed) == 1 {
            eprintln!(
                "fapilog: an event was logged after the pipeline shut down; it and every later one are dropped, counted as dropped (reason shutdown), and not reported again"
            );
        }
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
        let withheld: u64 = dropped
            .iter()
            .filter(|d| d.reason.after_queue())
            .map(|d| d.count)
            .sum();
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
            submitted: dequeued + queue_depth as u64 + dropped_total - withheld,
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
            sinks: self.sinks.iter().map(|s| s.snapshot()).collect(),
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

/// Per-sink counters: what the sink's driver delivered, retried, diverted
/// and dropped.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SinkMetrics {
    /// The sink's name.
    pub name: String,
    /// Lines the sink accepted.
    pub written: u64,
    /// Bytes of the lines the sink accepted.
    pub bytes: u64,
    /// Failed batch writes, all kinds (errors and panics).
    pub errors: u64,
    /// Failed batch writes by kind.
    pub errors_by_kind: Vec<(SinkErrorKind, u64)>,
    /// Attempts that were retries.
    pub retries: u64,
    /// Lines lost for this sink alone: (level, reason, count), non-zero only.
    pub dropped: Vec<(&'static str, SinkDropReason, u64)>,
    /// Lines sent down the divert chain, by reason.
    pub diverted: Vec<(DivertReason, u64)>,
    /// Of the diverted lines, those the fallback sink took.
    pub diverted_to_fallback: u64,
    /// Of the diverted lines, those written to stderr.
    pub diverted_to_stderr: u64,
    /// Lines this sink received as another sink's fallback.
    pub received_diverted: u64,
    /// Batches in the sink's buffer now.
    pub buffer_depth: usize,
    /// The most batches its buffer held.
    pub buffer_high_watermark: usize,
    /// Write attempts timed.
    pub writes: u64,
    /// Time spent in writes, seconds.
    pub write_seconds_total: f64,
    /// Slowest write, seconds.
    pub write_seconds_max: f64,
    /// How many times the circuit breaker opened.
    pub breaker_opened: u64,
    /// The driver's state.
    pub health: SinkHealth,
    /// The sink's disk spool, when it has one (cargo feature `spool`).
    pub spool: Option<spool::SpoolMetrics>,
}

impl SinkMetrics {
    /// Lines dropped for this sink, all levels and reasons.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.iter().map(|(_, _, n)| n).sum()
    }

    /// Lines dropped for one reason, all levels.
    pub fn dropped_for(&self, reason: SinkDropReason) -> u64 {
        self.dropped
            .iter()
            .filter(|(_, r, _)| *r == reason)
            .map(|(_, _, n)| n)
            .sum()
    }

    /// Lines diverted, all reasons.
    pub fn diverted_total(&self) -> u64 {
        self.diverted.iter().map(|(_, n)| n).sum()
    }

    /// Lines diverted for one reason.
    pub fn diverted_for(&self, reason: DivertReason) -> u64 {
        self.diverted
            .iter()
            .filter(|(r, _)| *r == reason)
            .map(|(_, n)| n)
            .sum()
    }

    /// Failed writes of one kind.
    pub fn errors_of(&self, kind: SinkErrorKind) -> u64 {
        self.errors_by_kind
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, n)| n)
            .sum()
    }
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
    /// Events at least one sink accepted.
    pub written: u64,
    /// Events no sink accepted (each sink dropped them or diverted them to
    /// stderr).
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
    pub stages: stages::StageCounters,
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
