//! The driver's side of the disk spool: spilling batches to it in order,
//! and replaying them to the sink (cargo feature `spool`; without it the
//! spool type is uninhabited and none of this runs).
//!
//! The rule that keeps a sink's order: once a batch is spooled, every later
//! batch is too (`Buffer::spilling`) until the reader has emptied the
//! spool. The worker appends under the buffer's lock, so the driver cannot
//! see the spool empty between the decision and the append.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{lock, Buffer, Channel, Delivery, DriverClock, Item, Outcome, Runner};
use crate::metrics::{DivertReason, SinkDropReason};

#[cfg(feature = "spool")]
pub(crate) use crate::spool::{Appended, Spool};

/// Without the `spool` feature no sink has a spool: this type has no values.
#[cfg(not(feature = "spool"))]
pub(crate) enum Spool {}

#[cfg(not(feature = "spool"))]
#[allow(dead_code)]
pub(crate) enum Appended {
    Spooled,
    Dropped,
    Blocked,
}

#[cfg(not(feature = "spool"))]
#[allow(clippy::unused_self)]
impl Spool {
    pub(crate) fn append(&mut self, _: &crate::batch::Batch) -> Appended {
        match *self {}
    }
    pub(crate) fn peek(&mut self) -> Option<(u64, crate::batch::Batch)> {
        match *self {}
    }
    pub(crate) fn ack(&mut self, _: u64) {
        match *self {}
    }
    pub(crate) fn is_empty(&self) -> bool {
        match *self {}
    }
    pub(crate) fn maintain(&mut self) {
        match *self {}
    }
    pub(crate) fn release(&mut self) {
        match *self {}
    }
    pub(crate) fn next_seq(&self) -> u64 {
        match *self {}
    }
    pub(crate) fn cursor(&self) -> u64 {
        match *self {}
    }
}

/// How long the worker waits before trying a full (`Block`) spool again.
const FULL_RETRY: Duration = Duration::from_millis(20);

impl Channel {
    fn spool(&self) -> Option<MutexGuard<'_, Spool>> {
        self.spool.as_ref().map(lock)
    }

    /// `true` when `d` must go to the spool rather than the buffer.
    pub(super) fn spills(&self, b: &Buffer, fits: bool) -> bool {
        self.spool.is_some()
            && (self.always || b.spilling || (!fits && self.when_full == super::WhenFull::Spill))
    }

    /// The worker's side: appends `d` to the spool, waiting while a
    /// `Block` spool is full. `b` is held throughout, except while waiting.
    pub(super) fn spill(&self, mut b: MutexGuard<'_, Buffer>, d: Delivery) {
        let Some(spool) = &self.spool else { return };
        loop {
            if b.closed {
                // The driver has stopped (or is stopping): too late for the spool.
                drop(b);
                self.counters()
                    .drop_lines(SinkDropReason::Shutdown, d.batch().levels());
                return;
            }
            let out = lock(spool).append(d.batch());
            match out {
                Appended::Spooled => {
                    b.spilling = true;
                    drop(b);
                    // The spool took them: they count as accepted.
                    d.job.accept(&d.lines);
                    self.work.notify_one();
                    return;
                }
                Appended::Dropped => {
                    drop(b);
                    self.counters()
                        .drop_lines(SinkDropReason::SpoolFull, d.batch().levels());
                    return;
                }
                Appended::Blocked => {
                    b = match self.room.wait_timeout(b, FULL_RETRY) {
                        Ok((g, _)) => g,
                        Err(p) => p.into_inner().0,
                    };
                }
            }
        }
    }

    /// The driver's side: `d` (given up on, or left at the deadline) goes
    /// to the spool, and with it every batch still buffered, in order.
    /// `Err` hands `d` back when the spool did not take it.
    pub(super) fn spill_back(&self, d: Delivery) -> Result<(), Delivery> {
        let Some(spool) = &self.spool else {
            return Err(d);
        };
        let mut b = lock(&self.buffer);
        let mut sp = lock(spool);
        match sp.append(d.batch()) {
            Appended::Spooled => d.job.accept(&d.lines),
            Appended::Dropped => {
                self.counters()
                    .drop_lines(SinkDropReason::SpoolFull, d.batch().levels());
                return Ok(());
            }
            Appended::Blocked => return Err(d),
        }
        b.spilling = true;
        let items = std::mem::take(&mut b.items);
        for item in items {
            match item {
                Item::Batch(later) => {
                    b.bytes -= later.batch().byte_len();
                    b.batches -= 1;
                    match sp.append(later.batch()) {
                        Appended::Spooled => later.job.accept(&later.lines),
                        _ => self
                            .counters()
                            .drop_lines(SinkDropReason::SpoolFull, later.batch().levels()),
                    }
                }
                Item::Flush(ack, _) => b.items.push_back(Item::Flush(ack, Some(sp.next_seq()))),
                Item::Spooled => {}
            }
        }
        self.counters().observe_buffer(b.batches);
        drop(sp);
        drop(b);
        self.room.notify_all();
        Ok(())
    }

    /// With a spool: `Some(Item::Spooled)` when it holds frames to replay;
    /// clears `spilling` once it is empty. Called under the buffer's lock.
    pub(super) fn spooled_item(&self, b: &mut Buffer, allow: bool) -> Option<Item> {
        if !(b.spilling || self.always) {
            return None;
        }
        let empty = self.spool()?.is_empty();
        if !empty {
            let past = b.deadline.is_some_and(|t| Instant::now() >= t);
            return (allow && !past).then_some(Item::Spooled);
        }
        if !self.always {
            b.spilling = false;
        }
        None
    }

    /// `true` when a batch the sink gave up on must stay in memory: newer
    /// batches are in the spool, and the channel is still open.
    pub(super) fn holds_back(&self) -> bool {
        let b = lock(&self.buffer);
        if b.closed || !(b.spilling || self.always) {
            return false;
        }
        self.spool().is_some_and(|s| !s.is_empty())
    }

    /// The spool's next sequence number, for a flush to wait for.
    pub(super) fn spool_mark(&self, b: &Buffer) -> Option<u64> {
        if !(b.spilling || self.always) {
            return None;
        }
        self.spool().map(|s| s.next_seq())
    }

    /// The interval fsync and cursor, while the driver is idle.
    pub(super) fn maintain_spool(&self) {
        if let Some(mut s) = self.spool() {
            s.maintain();
        }
    }

    /// The driver stops: the spool is synced, its cursor saved, and its
    /// directory let go of.
    pub(super) fn close_spool(&self) {
        if let Some(mut s) = self.spool() {
            s.release();
        }
    }
}

/// Wraps the spool in the channel's mutex.
pub(super) fn shared(spool: Option<Spool>) -> Option<Mutex<Spool>> {
    spool.map(Mutex::new)
}

impl Runner {
    /// Delivers the spool's oldest batch; `false` when the sink gave up on
    /// it (it stays in the spool) or the spool is empty.
    pub(super) fn replay_one(&mut self) -> bool {
        let channel = Arc::clone(&self.channel);
        let Some(spool) = &channel.spool else {
            return false;
        };
        let Some((seq, batch)) = lock(spool).peek() else {
            return false;
        };
        let refused = match self.attempt(&batch) {
            Outcome::Written => Vec::new(),
            Outcome::Partial(refused) => refused,
            Outcome::Rejected | Outcome::Panicked => (0..batch.len()).collect(),
            Outcome::GaveUp(_) => {
                self.stalled();
                return false;
            }
        };
        let kept: Vec<usize> = (0..batch.len())
            .filter(|i| refused.binary_search(i).is_err())
            .collect();
        self.count_written(&batch, Some(&kept));
        if !refused.is_empty() {
            // Bad lines would fail again: they leave the spool for stderr.
            let ix: Vec<u32> = refused.iter().map(|&i| i as u32).collect();
            let part = batch.select(&ix);
            self.counters()
                .divert(DivertReason::Rejected, part.len() as u64);
            self.to_stderr(&part);
        }
        lock(spool).ack(seq);
        self.channel.room.notify_all();
        true
    }

    /// The sink gave up on the spool's head: wait before the next try
    /// (doubling, within the retry policy's bounds); at shutdown, stop.
    fn stalled(&mut self) {
        if lock(&self.channel.buffer).closed {
            self.replay_stopped = true;
            return;
        }
        self.hold_off();
    }

    /// Waits before the next try of a batch the sink gave up on: doubling,
    /// within the retry policy's bounds, and never past the shutdown deadline.
    pub(super) fn hold_off(&mut self) {
        let r = self.options.retry;
        self.spool_wait = (self.spool_wait * 2).clamp(r.initial, r.max_delay.max(r.initial));
        match &self.clock {
            DriverClock::System => self.channel.pause(self.spool_wait),
            DriverClock::Manual(c, _) => c.advance(self.spool_wait),
        }
    }

    /// Replays until the spool's cursor reaches `mark` (a flush's), or
    /// the sink gives up.
    pub(super) fn replay_until(&mut self, mark: u64) {
        while !self.replay_stopped {
            let done = self
                .channel
                .spool()
                .is_none_or(|s| s.is_empty() || s.cursor() >= mark);
            if done || !self.replay_one() {
                return;
            }
        }
    }
}
