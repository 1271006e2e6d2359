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
mod segment;
#[cfg(test)]
mod tests;

pub use options::{
    SpoolFsync, SpoolMode, SpoolOptions, SpoolWhenFull, DEFAULT_SPOOL_MAX_BYTES,
    DEFAULT_SPOOL_SEGMENT_BYTES,
};

use std::collections::VecDeque;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::batch::Batch;
use crate::diagnostics;
use crate::metrics::spool::SpoolCounters;
use fs::Fs;
use segment::{Segment, Step};

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
    last_sync: Instant,
    /// When the cursor was last written.
    cursor_at: Instant,
    unsynced: bool,
    /// A write failed and no write succeeded since (one diagnostic per episode).
    failing: bool,
    buf: Vec<u8>,
    pub(crate) stats: Arc<SpoolCounters>,
}

impl Spool {
    /// Opens (and recovers) the spool in `dir` on the real filesystem,
    /// locking the directory.
    pub(crate) fn open_dir(
        dir: &Path,
        opts: &SpoolOptions,
        stats: Arc<SpoolCounters>,
    ) -> Result<Spool, OpenError> {
        let io_err = |e| OpenError::Io(dir.to_owned(), e);
        std::fs::create_dir_all(dir).map_err(io_err)?;
        let lock = lock::acquire(dir).map_err(|e| {
            if e.kind() == io::ErrorKind::WouldBlock {
                OpenError::Locked(dir.to_owned())
            } else {
                OpenError::Io(dir.to_owned(), e)
            }
        })?;
        let mut spool =
            Spool::open(Arc::new(fs::StdFs::default()), dir, opts, stats).map_err(io_err)?;
        spool._lock = Some(lock);
        Ok(spool)
    }

    /// Opens (and recovers) the spool in `dir` on `fs`, without a lock.
    pub(crate) fn open(
        fs: Arc<dyn Fs>,
        dir: &Path,
        opts: &SpoolOptions,
        stats: Arc<SpoolCounters>,
    ) -> io::Result<Spool> {
        fs.create_dir_all(dir)?;
        let mut firsts: Vec<u64> = fs
            .list(dir)?
            .iter()
            .filter_map(|n| segment::parse_name(n))
            .collect();
        firsts.sort_unstable();
        let cursor = match cursor::load(&*fs, dir) {
            Ok(c) => c,
            Err(cursor::CursorState::Missing) => 0,
            Err(cursor::CursorState::Corrupt) => {
                diagnostics::warn(
                    "spool",
                    "spool cursor unreadable; replaying every frame still on disk",
                    &[("directory", &dir.display().to_string())],
                );
                0
            }
        };
        let mut segments = VecDeque::new();
        for first in &firsts {
            let seg = Segment::new(dir, *first, 0);
            match fs.len(&seg.path) {
                Ok(len) => segments.push_back(Segment { len, ..seg }),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        let mut next_seq = cursor;
        if let Some(last) = segments.back_mut() {
            let bytes = fs.read_at(&last.path, 0, last.len as usize)?;
            let scan = segment::scan(&bytes);
            if scan.torn {
                // The torn tail is one lost frame at most: cut it, count it.
                fs.set_len(&last.path, scan.valid_len)?;
                fs.sync(&last.path)?;
                stats.corrupt.fetch_add(1, Relaxed);
                last.len = scan.valid_len;
            }
            // Past every frame the newest segment may hold, so a new
            // segment never takes its name even when none of it was readable.
            next_seq = next_seq.max(last.first_seq + u64::from(last.len > 0));
            if let Some(n) = scan.next_seq {
                next_seq = next_seq.max(n);
            }
        }
        let mut spool = Spool {
            dir: dir.to_owned(),
            fs,
            opts: opts.clone(),
            _lock: None,
            segments,
            next_seq,
            cursor,
            persisted: cursor,
            read_at: 0,
            head: Vec::new(),
            head_from: 0,
            head_seg: None,
            peeked: None,
            last_sync: Instant::now(),
            cursor_at: Instant::now(),
            unsynced: false,
            failing: false,
            buf: Vec::new(),
            stats,
        };
        // Segments wholly below the cursor were delivered: a crash came
        // between the cursor's rename and their unlink.
        while spool.segments.len() > 1 && spool.segments[1].first_seq <= cursor {
            spool.delete_head()?;
        }
        spool.count_pending();
        Ok(spool)
    }

    /// Walks the frame headers of every segment to count the lines not
    /// yet delivered and find the oldest one's age (no payload is read).
    fn count_pending(&mut self) {
        let mut lines = 0;
        let mut oldest = None;
        for seg in &self.segments {
            let mut at = 0u64;
            while at + frame::HEADER as u64 + 14 <= seg.len {
                let Ok(b) = self.fs.read_at(&seg.path, at, frame::HEADER + 14) else {
                    break;
                };
                let Some(h) = frame::Header::parse(&b) else {
                    break;
                };
                if h.len as usize > frame::MAX_PAYLOAD {
                    break;
                }
                if h.seq >= self.cursor {
                    lines += frame::line_count(&b[frame::HEADER..]);
                    if oldest.is_none() {
                        oldest = frame::spooled_at(&b[frame::HEADER..]);
                    }
                }
                at += h.frame_len() as u64;
            }
        }
        self.stats.pending_lines.store(lines, Relaxed);
        self.stats.oldest_ms.store(oldest.map_or(0, ms), Relaxed);
        self.publish_size();
    }

    fn publish_size(&self) {
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

    /// Deletes the oldest segment under `DropOldest`, counting its
    /// undelivered lines; `false` when only the active segment is left.
    fn drop_oldest(&mut self) -> bool {
        if self.segments.len() < 2 {
            return false;
        }
        let from = if self.head_is_read_from() {
            self.read_at
        } else {
            0
        };
        let lines = self.lines_in(0, from);
        self.stats.dropped_oldest.fetch_add(lines, Relaxed);
        sub(&self.stats.pending_lines, lines);
        self.cursor = self.cursor.max(self.segments[1].first_seq);
        self.peeked = None;
        self.delete_head().is_ok()
    }

    fn head_is_read_from(&self) -> bool {
        self.head_seg == self.segments.front().map(|s| s.first_seq)
    }

    /// Lines of the frames of segment `i` from `from`, by their headers.
    fn lines_in(&self, i: usize, mut from: u64) -> u64 {
        let seg = &self.segments[i];
        let mut lines = 0;
        while from + frame::HEADER as u64 + 6 <= seg.len {
            let Ok(b) = self.fs.read_at(&seg.path, from, frame::HEADER + 6) else {
                break;
            };
            let Some(h) = frame::Header::parse(&b) else {
                break;
            };
            if h.len as usize > frame::MAX_PAYLOAD {
                break;
            }
            if h.seq >= self.cursor {
                lines += frame::line_count(&b[frame::HEADER..]);
            }
            from += h.frame_len() as u64;
        }
        lines
    }

    /// Persists a cursor past the head segment, then unlinks it: a crash
    /// in between leaves a segment the next open deletes as read.
    fn delete_head(&mut self) -> io::Result<()> {
        let Some(head) = self.segments.front().cloned() else {
            return Ok(());
        };
        let past = self
            .segments
            .get(1)
            .map_or(self.next_seq, |s| s.first_seq)
            .max(self.cursor);
        self.cursor = past;
        self.persist_cursor(true);
        hook("after_cursor");
        match self.fs.remove(&head.path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        hook("after_unlink");
        self.segments.pop_front();
        self.read_at = 0;
        self.head.clear();
        self.head_seg = None;
        self.publish_size();
        Ok(())
    }

    fn persist_cursor(&mut self, durable: bool) {
        self.cursor_at = Instant::now();
        match cursor::store(&*self.fs, &self.dir, self.cursor, durable) {
            Ok(()) => self.persisted = self.cursor,
            Err(e) => {
                self.stats.write_errors.fetch_add(1, Relaxed);
                diagnostics::warn(
                    "spool",
                    "spool cursor not saved; its frames may be delivered again after a restart",
                    &[
                        ("directory", &self.dir.display().to_string()),
                        ("error", &e.to_string()),
                    ],
                );
            }
        }
    }

    /// The oldest undelivered batch and its sequence number, skipping (and
    /// counting) corrupt frames and deleting read segments on the way.
    pub(crate) fn peek(&mut self) -> Option<(u64, Batch)> {
        self.peeked = None;
        loop {
            let seg = self.segments.front()?.clone();
            let is_active = self.segments.len() == 1;
            let left = seg.len.saturating_sub(self.read_at);
            if left < frame::HEADER as u64 {
                if is_active {
                    // Empty: whatever the gauge guessed for skipped frames, nothing waits.
                    self.stats.pending_lines.store(0, Relaxed);
                    self.stats.oldest_ms.store(0, Relaxed);
                    return None;
                }
                if left > 0 {
                    // A sealed segment that ends inside a frame header.
                    self.stats.corrupt.fetch_add(1, Relaxed);
                }
                if self.delete_head().is_err() {
                    return None;
                }
                continue;
            }
            match self.load(&seg, frame::HEADER) {
                Ok(true) => {}
                Ok(false) => {
                    // Missing or shorter than recorded: the rest counts as read.
                    self.skip_rest(&seg, is_active);
                    if is_active {
                        return None;
                    }
                    continue;
                }
                Err(_) => return None,
            }
            let at = (self.read_at - self.head_from) as usize;
            let need = frame::Header::parse(&self.head[at..]).map_or(frame::HEADER, |h| {
                h.frame_len().min(frame::HEADER + frame::MAX_PAYLOAD + 1)
            });
            if need as u64 <= left && !matches!(self.load(&seg, need), Ok(true)) {
                self.skip_rest(&seg, is_active);
                continue;
            }
            let at = (self.read_at - self.head_from) as usize;
            match segment::step(&self.head, at) {
                Step::Frame(h) => {
                    let end = self.read_at + h.frame_len() as u64;
                    let payload = &self.head[at + frame::HEADER..at + h.frame_len()];
                    if h.seq < self.cursor {
                        self.read_at = end;
                        continue;
                    }
                    match frame::decode(payload) {
                        Some(batch) => {
                            if let Some(t) = frame::spooled_at(payload) {
                                self.stats.oldest_ms.store(ms(t), Relaxed);
                            }
                            self.peeked = Some(Peeked {
                                seq: h.seq,
                                end,
                                lines: batch.len() as u64,
                            });
                            return Some((h.seq, batch));
                        }
                        None => {
                            sub(&self.stats.pending_lines, frame::line_count(payload));
                            self.stats.corrupt.fetch_add(1, Relaxed);
                            self.read_at = end;
                        }
                    }
                }
                Step::Corrupt(len) => {
                    self.stats.corrupt.fetch_add(1, Relaxed);
                    let payload = &self.head[at + frame::HEADER..at + len];
                    sub(&self.stats.pending_lines, frame::line_count(payload));
                    self.read_at += len as u64;
                }
                Step::Unframeable | Step::End => {
                    self.stats.corrupt.fetch_add(1, Relaxed);
                    self.skip_rest(&seg, is_active);
                }
            }
        }
    }

    fn skip_rest(&mut self, seg: &Segment, is_active: bool) {
        if is_active {
            // The writer's own segment: new frames start at its end.
            self.read_at = seg.len;
        } else {
            self.read_at = seg.len;
            let _ = self.delete_head();
        }
    }

    /// Makes `head` hold `need` bytes from `read_at` of `seg`; `Ok(false)`
    /// when the file does not have them.
    fn load(&mut self, seg: &Segment, need: usize) -> io::Result<bool> {
        let have = self.head_seg == Some(seg.first_seq)
            && self.read_at >= self.head_from
            && self.read_at + need as u64 <= self.head_from + self.head.len() as u64;
        if have {
            return Ok(true);
        }
        let left = seg.len.saturating_sub(self.read_at) as usize;
        let want = need.max(READ_CHUNK).min(left.max(need));
        match self.fs.read_at(&seg.path, self.read_at, want) {
            Ok(b) => {
                self.head = b;
                self.head_from = self.read_at;
                self.head_seg = Some(seg.first_seq);
                Ok(self.head.len() >= need)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The batch `seq` that `peek` returned was delivered.
    pub(crate) fn ack(&mut self, seq: u64) {
        let Some(p) = self.peeked.take() else { return };
        if p.seq != seq {
            return;
        }
        self.read_at = p.end;
        self.cursor = seq + 1;
        sub(&self.stats.pending_lines, p.lines);
        self.stats.replayed.fetch_add(p.lines, Relaxed);
        if self.is_empty() {
            self.stats.oldest_ms.store(0, Relaxed);
            self.stats.pending_lines.store(0, Relaxed);
        }
        if self.opts.fsync == SpoolFsync::EveryBatch && self.cursor_at.elapsed() >= CURSOR_EVERY {
            // Rename without fsync (and at most every CURSOR_EVERY: ext4
            // flushes on a rename over a file): a kill -9 repeats at most
            // that much; a power loss, what followed the last durable cursor.
            self.persist_cursor(false);
        }
        // A read-out sealed segment goes at once.
        if self.segments.len() > 1 && self.read_at >= self.segments[0].len {
            let _ = self.delete_head();
        }
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

/// Crash points for the fault suite, in debug builds only: with
/// `FAPILOG_SPOOL_CRASH_AT` naming a step (`after_cursor`, `after_unlink`)
/// the process aborts there, leaving the files as a crash at that step
/// would. Read once.
fn hook(step: &str) {
    #[cfg(debug_assertions)]
    {
        static AT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
        let at = AT.get_or_init(|| std::env::var("FAPILOG_SPOOL_CRASH_AT").ok());
        if at.as_deref() == Some(step) {
            std::process::abort();
        }
    }
    let _ = step;
}
