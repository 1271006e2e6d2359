//! The disk spool of one sink (cargo feature `spool`): what the sink could
//! not take yet, on disk, replayed in order.
//!
//! Files under the sink's directory: `<first seq>.seg` segments of frames
//! ([`frame`]), the `cursor` (first sequence number not yet delivered,
//! [`cursor`]) and `lock`. The writer appends to the newest segment and
//! starts a new one past `segment_bytes`; the reader delivers from the
//! oldest, and deletes a segment only after the cursor past it is
//! persisted. A missing segment counts as read.
//!
//! Recovery on open: the newest segment's torn tail is cut at its last
//! whole frame; segments wholly below the cursor (a crash between the
//! cursor's rename and the unlink) are deleted; corrupt frames are skipped
//! and counted as the reader meets them. Every step moves forward through
//! the bytes, so recovery ends in time bounded by the spool's size.
//!
//! Redaction runs on the worker before the batch exists, so the spool holds
//! exactly the bytes the sink would have received, never more.

mod cursor;
pub(crate) mod frame;
pub(crate) mod fs;
mod lock;
mod options;
mod reader;
mod recover;
mod segment;
#[cfg(test)]
mod tests;

pub use options::{
    SpoolFsync, SpoolMode, SpoolOptions, SpoolWhenFull, DEFAULT_SPOOL_MAX_BYTES,
    DEFAULT_SPOOL_SEGMENT_BYTES,
};

use std::collections::VecDeque;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::batch::Batch;
use crate::diagnostics;
use crate::metrics::spool::SpoolCounters;
use fs::Fs;
use segment::Segment;

/// Under `EveryBatch`, the shortest time between two cursor writes on acknowledgement.
const CURSOR_EVERY: std::time::Duration = std::time::Duration::from_millis(10);

/// Bytes the reader loads at a time.
const READ_CHUNK: usize = 4 << 20;

/// Why a spool could not open.
#[derive(Debug)]
pub(crate) enum OpenError {
    /// Another process holds the directory.
    Locked(PathBuf),
    Io(PathBuf, io::Error),
}

/// What `append` did with a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Appended {
    Spooled,
    /// Refused under `DropNewest` (counted).
    Dropped,
    /// Full (or the disk refused it) under `Block`: try again later.
    Blocked,
}

/// A frame the reader handed out, not yet acknowledged.
struct Peeked {
    seq: u64,
    end: u64,
    lines: u64,
}

pub(crate) struct Spool {
    dir: PathBuf,
    fs: Arc<dyn Fs>,
    opts: SpoolOptions,
    _lock: Option<lock::DirLock>,
    segments: VecDeque<Segment>,
    next_seq: u64,
    /// First sequence number not yet delivered.
    cursor: u64,
    persisted: u64,
    /// Offset of the next frame to read in `segments[0]`.
    read_at: u64,
    /// Loaded bytes of `segments[0]` from `head_from`.
    head: Vec<u8>,
    head_from: u64,
    head_seg: Option<u64>,
    peeked: Option<Peeked>,
    /// A frame handed out whose segment `DropOldest` deleted while it was
    /// being delivered: replayed if its delivery succeeds, else dropped
    /// (counted at the next `peek`, or at `release`).
    evicted: Option<Peeked>,
    last_sync: Instant,
    /// When the cursor was last written.
    cursor_at: Instant,
    unsynced: bool,
    /// A write failed and no write succeeded since (one diagnostic per episode).
    failing: bool,
    /// The directory was let go of (`release`).
    released: bool,
    buf: Vec<u8>,
    pub(crate) stats: Arc<SpoolCounters>,
}

impl Spool {
    pub(super) fn publish_size(&self) {
        let bytes = self.segments.iter().map(|s| s.len).sum();
        self.stats.bytes.store(bytes, Relaxed);
        self.stats
            .segments
            .store(self.segments.len() as u64, Relaxed);
    }

    /// Bytes of segments on disk.
    pub(crate) fn bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.len).sum()
    }

    /// `true` when every frame was read (or the spool holds none).
    pub(crate) fn is_empty(&self) -> bool {
        match self.segments.len() {
            0 => true,
            1 => self.read_at >= self.segments[0].len,
            _ => false,
        }
    }

    /// The sequence number the next batch will get.
    pub(crate) fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The first sequence number not yet delivered.
    pub(crate) fn cursor(&self) -> u64 {
        self.cursor
    }

    /// Appends `batch` as one frame, applying the size policy.
    pub(crate) fn append(&mut self, batch: &Batch) -> Appended {
        if batch.is_empty() {
            return Appended::Spooled;
        }
        if self.released {
            return Appended::Dropped;
        }
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        frame::encode(&mut buf, self.next_seq, batch, SystemTime::now());
        let out = self.append_frame(&buf, batch.len() as u64);
        self.buf = buf;
        out
    }

    fn append_frame(&mut self, frame: &[u8], lines: u64) -> Appended {
        let size = frame.len() as u64;
        if frame.len() > frame::HEADER + frame::MAX_PAYLOAD {
            self.stats.dropped_newest.fetch_add(lines, Relaxed);
            return Appended::Dropped;
        }
        // Room: drop whole old segments, or refuse.
        while self.bytes() + size > self.opts.max_bytes {
            match self.opts.when_full {
                SpoolWhenFull::Block => return Appended::Blocked,
                SpoolWhenFull::DropNewest => {
                    self.stats.dropped_newest.fetch_add(lines, Relaxed);
                    return Appended::Dropped;
                }
                _ => {
                    if !self.drop_oldest() {
                        self.stats.dropped_newest.fetch_add(lines, Relaxed);
                        return Appended::Dropped;
                    }
                }
            }
        }
        match self.write_frame(frame) {
            Ok(()) => {
                if self.failing {
                    self.failing = false;
                    diagnostics::warn(
                        "spool",
                        "spool writes succeed again",
                        &[("directory", &self.dir.display().to_string())],
                    );
                }
                self.next_seq += 1;
                self.stats.spooled.fetch_add(lines, Relaxed);
                if self.stats.pending_lines.fetch_add(lines, Relaxed) == 0 {
                    self.stats.oldest_ms.store(ms(SystemTime::now()), Relaxed);
                }
                self.publish_size();
                self.sync_after_write();
                Appended::Spooled
            }
            Err(e) => {
                self.stats.write_errors.fetch_add(1, Relaxed);
                if !self.failing {
                    self.failing = true;
                    diagnostics::warn(
                        "spool",
                        "spool write failed; the size policy applies until a write succeeds",
                        &[
                            ("directory", &self.dir.display().to_string()),
                            ("error", &e.to_string()),
                        ],
                    );
                }
                let policy = self.opts.when_full;
                if policy == SpoolWhenFull::Block {
                    return Appended::Blocked;
                }
                match policy {
                    SpoolWhenFull::DropOldest if self.drop_oldest() => {
                        // Room made: one more try, then give up on this batch.
                        if self.write_frame(frame).is_ok() {
                            self.next_seq += 1;
                            self.stats.spooled.fetch_add(lines, Relaxed);
                            self.stats.pending_lines.fetch_add(lines, Relaxed);
                            self.publish_size();
                            return Appended::Spooled;
                        }
                        self.stats.dropped_newest.fetch_add(lines, Relaxed);
                        Appended::Dropped
                    }
                    _ => {
                        self.stats.dropped_newest.fetch_add(lines, Relaxed);
                        Appended::Dropped
                    }
                }
            }
        }
    }

    /// Writes one frame to the active segment (starting a new one past
    /// `segment_bytes`); on failure, cuts the segment back so no partial
    /// frame stays behind.
    fn write_frame(&mut self, frame: &[u8]) -> io::Result<()> {
        let roll = self
            .segments
            .back()
            .is_none_or(|s| s.len > 0 && s.len + frame.len() as u64 > self.opts.segment_bytes);
        if roll {
            self.seal_active();
            let seg = Segment::new(&self.dir, self.next_seq, 0);
            self.segments.push_back(seg);
            self.publish_size();
        }
        let seg = match self.segments.back_mut() {
            Some(s) => s,
            None => return Err(io::Error::other("no active segment")),
        };
        let before = seg.len;
        match self.fs.append(&seg.path, frame) {
            Ok(()) => {
                seg.len += frame.len() as u64;
                if roll && self.opts.fsync != SpoolFsync::Never {
                    // The new name must survive a power cut too.
                    let dir = self.dir.clone();
                    self.sync_result(|fs| fs.sync_dir(&dir));
                }
                self.unsynced = true;
                Ok(())
            }
            Err(e) => {
                let path = seg.path.clone();
                let _ = self.fs.set_len(&path, before);
                if before == 0 && roll {
                    // Leave no empty segment behind a refused first write.
                    let _ = self.fs.remove(&path);
                    self.segments.pop_back();
                    self.publish_size();
                }
                Err(e)
            }
        }
    }

    /// Syncs the active segment before it stops being written to.
    fn seal_active(&mut self) {
        if self.unsynced && self.opts.fsync != SpoolFsync::Never {
            self.sync_now();
        }
    }

    fn sync_after_write(&mut self) {
        match self.opts.fsync {
            SpoolFsync::EveryBatch => self.sync_now(),
            SpoolFsync::Interval(d) if self.last_sync.elapsed() >= d => self.sync_now(),
            _ => {}
        }
    }

    /// Runs the interval fsync and persists the cursor when they are due.
    pub(crate) fn maintain(&mut self) {
        if let SpoolFsync::Interval(d) = self.opts.fsync {
            if self.unsynced && self.last_sync.elapsed() >= d {
                self.sync_now();
            }
            if self.persisted != self.cursor && self.last_sync.elapsed() >= d {
                self.persist_cursor(false);
            }
        }
    }

    fn sync_now(&mut self) {
        self.last_sync = Instant::now();
        if let Some(path) = self.segments.back().map(|s| s.path.clone()) {
            if self.sync_result(|fs| fs.sync(&path)) {
                self.unsynced = false;
            }
        }
    }

    /// Runs one fsync; a failure marks the spool degraded (reported once).
    fn sync_result(&mut self, f: impl FnOnce(&dyn Fs) -> io::Result<()>) -> bool {
        match f(&*self.fs) {
            Ok(()) => {
                self.stats.degraded.store(false, Relaxed);
                true
            }
            Err(e) => {
                self.stats.sync_errors.fetch_add(1, Relaxed);
                if !self.stats.degraded.swap(true, Relaxed) {
                    diagnostics::warn(
                        "spool",
                        "spool fsync failed; data since the last good sync is not durable",
                        &[
                            ("directory", &self.dir.display().to_string()),
                            ("error", &e.to_string()),
                        ],
                    );
                }
                false
            }
        }
    }

    /// Closes the spool and lets go of its directory (the driver stopped):
    /// a new pipeline may open it at once. Later appends are refused.
    pub(crate) fn release(&mut self) {
        self.settle_evicted();
        self.close();
        self._lock = None;
        self.released = true;
    }

    /// Syncs what was written and persists the cursor (shutdown).
    pub(crate) fn close(&mut self) {
        if self.unsynced && self.opts.fsync != SpoolFsync::Never {
            self.sync_now();
        }
        if self.persisted != self.cursor {
            self.persist_cursor(true);
        }
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        self.close();
    }
}

fn sub(a: &std::sync::atomic::AtomicU64, n: u64) {
    let _ = a.fetch_update(Relaxed, Relaxed, |v| Some(v.saturating_sub(n)));
}

fn ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis().min(u128::from(u64::MAX)) as u64)
}

/// Crash points for the fault suite, compiled only with the test-only
/// cargo feature `_spool_failpoints` (which the crate's own tests turn on):
/// with `FAPILOG_SPOOL_CRASH_AT` naming a step (`after_cursor`,
/// `after_unlink`) the process aborts there, leaving the files as a crash
/// at that step would. Read once.
#[cfg(feature = "_spool_failpoints")]
fn hook(step: &str) {
    static AT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let at = AT.get_or_init(|| std::env::var("FAPILOG_SPOOL_CRASH_AT").ok());
    if at.as_deref() == Some(step) {
        std::process::abort();
    }
}

#[cfg(not(feature = "_spool_failpoints"))]
fn hook(_step: &str) {}
