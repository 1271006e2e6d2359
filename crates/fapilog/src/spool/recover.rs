//! Opening a spool: the lock, the segments on disk, the cursor, the
//! newest segment's torn tail, and the segments a crash left below the
//! cursor.

use std::collections::VecDeque;
use std::io;
use std::path::Path;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use super::fs::{self, Fs};
use super::segment::{self, Segment};
use super::{cursor, frame, lock, ms, OpenError, Spool, SpoolOptions};
use crate::diagnostics;
use crate::metrics::spool::SpoolCounters;

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
            // Past a corrupt last frame too: a new frame must never reuse
            // its number (the reader skips numbers below its cursor).
            next_seq = next_seq.max(last.first_seq + scan.frames);
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
            evicted: None,
            last_sync: Instant::now(),
            cursor_at: Instant::now(),
            unsynced: false,
            failing: false,
            released: false,
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

    /// Walks the frames of `seg` from offset `from` by their headers,
    /// reading `extra` payload bytes of each and no more, and hands `each`
    /// the payload start of every frame not yet delivered (sequence at or
    /// past the cursor); stops at the first unreadable or implausible
    /// header.
    pub(super) fn undelivered_heads(
        &self,
        seg: &Segment,
        mut from: u64,
        extra: usize,
        mut each: impl FnMut(&[u8]),
    ) {
        while from + (frame::HEADER + extra) as u64 <= seg.len {
            let Ok(b) = self.fs.read_at(&seg.path, from, frame::HEADER + extra) else {
                break;
            };
            let Some(h) = frame::Header::parse(&b) else {
                break;
            };
            if h.len as usize > frame::MAX_PAYLOAD {
                break;
            }
            if h.seq >= self.cursor {
                each(&b[frame::HEADER..]);
            }
            from += h.frame_len() as u64;
        }
    }

    /// Walks the frame headers of every segment to count the lines not
    /// yet delivered and find the oldest one's age (no payload is read).
    pub(super) fn count_pending(&mut self) {
        let mut lines = 0;
        let mut oldest = None;
        for seg in &self.segments {
            self.undelivered_heads(seg, 0, 14, |p| {
                lines += frame::line_count(p);
                if oldest.is_none() {
                    oldest = frame::spooled_at(p);
                }
            });
        }
        self.stats.pending_lines.store(lines, Relaxed);
        self.stats.oldest_ms.store(oldest.map_or(0, ms), Relaxed);
        self.publish_size();
    }
}
