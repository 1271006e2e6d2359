//! A sink's disk spool, as its counters and gauges see it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{SystemTime, UNIX_EPOCH};

/// The spool's atomics, written by the spool, read by snapshots.
#[derive(Default, Debug)]
pub(crate) struct SpoolCounters {
    pub(crate) bytes: AtomicU64,
    pub(crate) segments: AtomicU64,
    pub(crate) pending_lines: AtomicU64,
    /// When the oldest undelivered frame was spooled, Unix ms (0: none).
    pub(crate) oldest_ms: AtomicU64,
    pub(crate) spooled: AtomicU64,
    pub(crate) replayed: AtomicU64,
    pub(crate) corrupt: AtomicU64,
    pub(crate) dropped_oldest: AtomicU64,
    pub(crate) dropped_newest: AtomicU64,
    pub(crate) write_errors: AtomicU64,
    pub(crate) sync_errors: AtomicU64,
    pub(crate) degraded: AtomicBool,
}

impl SpoolCounters {
    pub(crate) fn snapshot(&self) -> SpoolMetrics {
        let oldest = self.oldest_ms.load(Relaxed);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        SpoolMetrics {
            bytes: self.bytes.load(Relaxed),
            segments: self.segments.load(Relaxed),
            pending: self.pending_lines.load(Relaxed),
            oldest_age_seconds: if oldest == 0 {
                0.0
            } else {
                now.saturating_sub(oldest) as f64 / 1000.0
            },
            spooled: self.spooled.load(Relaxed),
            replayed: self.replayed.load(Relaxed),
            corrupt_skipped: self.corrupt.load(Relaxed),
            dropped_oldest: self.dropped_oldest.load(Relaxed),
            dropped_newest: self.dropped_newest.load(Relaxed),
            write_errors: self.write_errors.load(Relaxed),
            sync_errors: self.sync_errors.load(Relaxed),
            degraded: self.degraded.load(Relaxed),
        }
    }
}

/// A sink's disk spool: what it holds and what it did (cargo feature `spool`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SpoolMetrics {
    /// Bytes of segment files on disk.
    pub bytes: u64,
    /// Segment files on disk.
    pub segments: u64,
    /// Lines in the spool not yet delivered.
    pub pending: u64,
    /// Age of the oldest undelivered frame, seconds (0 when empty).
    pub oldest_age_seconds: f64,
    /// Lines written to the spool by this process.
    pub spooled: u64,
    /// Lines read back from the spool and accepted by the sink.
    pub replayed: u64,
    /// Frames skipped as corrupt (checksum, implausible length, torn tail).
    pub corrupt_skipped: u64,
    /// Lines lost when `DropOldest` deleted a segment.
    pub dropped_oldest: u64,
    /// Lines refused by `DropNewest` on a full spool or a failed write.
    pub dropped_newest: u64,
    /// Writes the disk refused (full, quota, I/O error).
    pub write_errors: u64,
    /// `fsync` calls that failed.
    pub sync_errors: u64,
    /// An `fsync` failed since the last one that succeeded: what was
    /// written since is not known to be durable.
    pub degraded: bool,
}

impl SpoolMetrics {
    /// Lines the spool's size policy dropped.
    pub fn dropped_total(&self) -> u64 {
        self.dropped_oldest + self.dropped_newest
    }
}
