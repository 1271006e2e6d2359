//! The reading side of a spool: the oldest batch not yet delivered,
//! acknowledgements, and deleting what was read (cursor first).

use std::io;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use super::segment::{self, Segment, Step};
use super::{cursor, frame, hook, ms, sub, Peeked, Spool, SpoolFsync, CURSOR_EVERY, READ_CHUNK};
use crate::batch::Batch;
use crate::diagnostics;

impl Spool {
    /// Deletes the oldest segment under `DropOldest`, counting its
    /// undelivered lines; `false` when only the active segment is left.
    pub(super) fn drop_oldest(&mut self) -> bool {
        if self.segments.len() < 2 {
            return false;
        }
        let from = if self.head_is_read_from() {
            self.read_at
        } else {
            0
        };
        // The frame being delivered now is lost only if that delivery
        // fails; until then its lines still count as pending.
        self.settle_evicted();
        self.evicted = self.peeked.take().filter(|p| p.end <= self.segments[0].len);
        let in_flight = self.evicted.as_ref().map_or(0, |p| p.lines);
        let lines = self.lines_in(0, from).saturating_sub(in_flight);
        sub(&self.stats.pending_lines, lines);
        self.stats.dropped_oldest.fetch_add(lines, Relaxed);
        self.cursor = self.cursor.max(self.segments[1].first_seq);
        self.delete_head().is_ok()
    }

    /// An evicted frame's delivery did not succeed: its lines are dropped.
    pub(super) fn settle_evicted(&mut self) {
        if let Some(e) = self.evicted.take() {
            sub(&self.stats.pending_lines, e.lines);
            self.stats.dropped_oldest.fetch_add(e.lines, Relaxed);
        }
    }

    fn head_is_read_from(&self) -> bool {
        self.head_seg == self.segments.front().map(|s| s.first_seq)
    }

    /// Lines of the frames of segment `i` from `from`, by their headers.
    fn lines_in(&self, i: usize, from: u64) -> u64 {
        let mut lines = 0;
        self.undelivered_heads(&self.segments[i], from, 6, |p| {
            lines += frame::line_count(p);
        });
        lines
    }

    /// Persists a cursor past the head segment, then unlinks it: a crash
    /// in between leaves a segment the next open deletes as read.
    pub(super) fn delete_head(&mut self) -> io::Result<()> {
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

    pub(super) fn persist_cursor(&mut self, durable: bool) {
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
        self.settle_evicted();
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
        if let Some(e) = self.evicted.take_if(|e| e.seq == seq) {
            // Delivered after all: its segment is gone, its lines count.
            sub(&self.stats.pending_lines, e.lines);
            self.stats.replayed.fetch_add(e.lines, Relaxed);
            return;
        }
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
}
