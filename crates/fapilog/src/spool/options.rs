//! The spool's options: where it lives, how big it may grow, when it syncs,
//! what happens when it is full, and when batches go through it.

use std::path::PathBuf;
use std::time::Duration;

/// When the spool asks the kernel to make its writes durable (`fsync`).
///
/// Whatever the policy, a frame whose `write` returned is in the page
/// cache: it survives `kill -9` and a crash of the process. Only an OS
/// crash or a power loss loses what was not synced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpoolFsync {
    /// Never: the kernel writes back on its own (typically within 30 s).
    /// Survives `kill -9`; a power loss may take everything written since
    /// the kernel's last writeback.
    Never,
    /// At most this long after a write (default 500 ms, as Vector's disk
    /// buffer). Survives `kill -9`; a power loss takes at most the batches
    /// of the last interval.
    Interval(Duration),
    /// After every batch, before the worker moves on. Survives `kill -9`
    /// and power loss (on storage that honours `fsync`), at the cost of one
    /// sync per batch.
    EveryBatch,
}

impl Default for SpoolFsync {
    fn default() -> Self {
        SpoolFsync::Interval(Duration::from_millis(500))
    }
}

/// What happens to a batch when the spool has reached its `max_bytes` (or
/// the disk refuses a write: full, over quota, I/O error).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SpoolWhenFull {
    /// The worker waits until the sink drains a segment (or the disk takes
    /// the write again): nothing is lost, and backpressure travels to the
    /// queue, where the callers' policy decides. The default.
    #[default]
    Block,
    /// The oldest whole segment is deleted to make room: its undelivered
    /// lines are lost, counted as `dropped_oldest`.
    DropOldest,
    /// The new batch is dropped, counted as `dropped_newest`.
    DropNewest,
}

/// Which batches go through the spool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SpoolMode {
    /// Only what does not fit the sink's memory buffer (with
    /// [`WhenFull::Spill`](crate::sinks::WhenFull::Spill)), what the sink
    /// gives up on (retries exhausted, breaker open) and what is left at
    /// the shutdown deadline. Once a batch is spooled, every later batch is
    /// too until the spool is empty, so the sink's order holds. The default.
    #[default]
    Overflow,
    /// Every batch is written to the spool before the sink sees it, and
    /// removed once the sink accepted it: at least once across crashes,
    /// within the [`SpoolFsync`] policy.
    Always,
}

/// A sink's disk spool (cargo feature `spool`): segment files of
/// checksummed frames under `directory/<sink name>/`, replayed in order
/// when the pipeline starts. See `docs/spool.md`.
///
/// ```
/// use std::time::Duration;
/// use fapilog::sinks::{SinkOptions, SpoolFsync, SpoolOptions, SpoolWhenFull, WhenFull};
/// use fapilog::testing::CaptureSink;
///
/// let dir = tempfile::tempdir()?;
/// let spool = SpoolOptions::new(dir.path())
///     .max_bytes(64 << 20)
///     .segment_bytes(4 << 20)
///     .fsync(SpoolFsync::Interval(Duration::from_millis(200)))
///     .when_full(SpoolWhenFull::DropOldest);
/// let (sink, captured) = CaptureSink::new();
/// let pipeline = fapilog::Pipeline::builder()
///     .sink_with(sink, SinkOptions::new().when_full(WhenFull::Spill).spool(spool))
///     .build()?;
/// fapilog::info!(pipeline.logger("app"), "kept across outages");
/// pipeline.flush(Duration::from_secs(5))?;
/// assert_eq!(captured.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[must_use]
#[non_exhaustive]
pub struct SpoolOptions {
    pub(crate) directory: PathBuf,
    pub(crate) max_bytes: u64,
    pub(crate) segment_bytes: u64,
    pub(crate) fsync: SpoolFsync,
    pub(crate) when_full: SpoolWhenFull,
    pub(crate) mode: SpoolMode,
}

/// Default of [`SpoolOptions::max_bytes`]: 256 MiB.
pub const DEFAULT_SPOOL_MAX_BYTES: u64 = 256 << 20;
/// Default of [`SpoolOptions::segment_bytes`]: 8 MiB.
pub const DEFAULT_SPOOL_SEGMENT_BYTES: u64 = 8 << 20;

impl SpoolOptions {
    /// A spool under `directory` (one subdirectory per sink, named after
    /// the sink), every other option at its default.
    pub fn new(directory: impl Into<PathBuf>) -> SpoolOptions {
        SpoolOptions {
            directory: directory.into(),
            max_bytes: DEFAULT_SPOOL_MAX_BYTES,
            segment_bytes: DEFAULT_SPOOL_SEGMENT_BYTES,
            fsync: SpoolFsync::default(),
            when_full: SpoolWhenFull::default(),
            mode: SpoolMode::default(),
        }
    }

    /// The most bytes of segments on disk (default 256 MiB); usage stays
    /// within this plus one segment. At least `segment_bytes`.
    pub fn max_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// A segment is sealed and a new one started past this size (default
    /// 8 MiB); it is deleted once every frame in it was delivered.
    pub fn segment_bytes(mut self, bytes: u64) -> Self {
        self.segment_bytes = bytes;
        self
    }

    /// When to sync (default [`SpoolFsync::Interval`] of 500 ms).
    pub fn fsync(mut self, policy: SpoolFsync) -> Self {
        self.fsync = policy;
        self
    }

    /// What happens at `max_bytes` or on a refused write (default [`SpoolWhenFull::Block`]).
    pub fn when_full(mut self, policy: SpoolWhenFull) -> Self {
        self.when_full = policy;
        self
    }

    /// Which batches go through the spool (default [`SpoolMode::Overflow`]).
    pub fn mode(mut self, mode: SpoolMode) -> Self {
        self.mode = mode;
        self
    }

    /// The directory of one sink's spool: the sink's name, with anything
    /// but letters, digits, `-`, `_` and `.` as `_` (and never `.` or `..`).
    pub(crate) fn sink_dir(&self, sink: &str) -> PathBuf {
        let mut safe: String = sink
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if safe.is_empty() || safe.chars().all(|c| c == '.') {
            safe = "_".repeat(safe.len().max(1));
        }
        self.directory.join(safe)
    }

    /// The options checked: `Err((option, value, expected))`.
    pub(crate) fn check(&self) -> Result<(), (&'static str, String, &'static str)> {
        if self.segment_bytes < 4096 {
            return Err((
                "spool.segment_bytes",
                self.segment_bytes.to_string(),
                "at least 4096",
            ));
        }
        if self.max_bytes < self.segment_bytes {
            return Err((
                "spool.max_bytes",
                self.max_bytes.to_string(),
                "at least spool.segment_bytes",
            ));
        }
        if let SpoolFsync::Interval(d) = self.fsync {
            if d.is_zero() {
                return Err((
                    "spool.fsync",
                    "0 s".to_owned(),
                    "an interval above zero (or every_batch)",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sink_name_never_leaves_the_spool_directory() {
        let o = SpoolOptions::new("/spool");
        assert_eq!(o.sink_dir("http"), PathBuf::from("/spool/http"));
        assert_eq!(o.sink_dir("../etc"), PathBuf::from("/spool/.._etc"));
        assert_eq!(o.sink_dir(".."), PathBuf::from("/spool/__"));
        assert_eq!(o.sink_dir(""), PathBuf::from("/spool/_"));
    }
}
