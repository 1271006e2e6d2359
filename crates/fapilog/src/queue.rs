//! The bounded queue between callers and workers, and the backpressure
//! policy that applies when it is full: here and only here.
//!
//! # What each policy can lose
//!
//! Every event a call submits ends in exactly one place: written, filtered,
//! or counted as dropped with a [`DropReason`] (in the metrics and in the
//! periodic in-band `logs dropped` WARNING).
//!
//! - [`Backpressure::Block`] loses nothing: a call waits for room however
//!   long it takes. Only a call still waiting when the pipeline shuts down
//!   (or made after it) is dropped, as `shutdown`.
//! - [`Backpressure::Wait`] loses an event only when its call found no room
//!   for the whole timeout (`wait_timeout`), or at shutdown (`shutdown`).
//!   Waiting callers park and are woken as the worker frees room, first come
//!   first served, so a worker that keeps draining does not make a call time
//!   out. (What can still pass the deadline is a queue that really stays
//!   full: a sink or stage that holds the worker, or a machine so loaded
//!   that the worker, or a caller preempted between claiming a slot and
//!   filling it, gets no CPU for the whole timeout.)
//! - [`Backpressure::Drop`] never waits: an event that finds its shard full
//!   is dropped (`queue_full`), and a protected event whose reserve is full
//!   *evicts* the oldest queued lower-level event (`evicted`, counted at
//!   the evicted event's level) instead. Eviction happens under `Drop` only.
//!
//! Under every policy, levels below INFO are admitted only while the main
//! ring is less than three quarters full, so under pressure they are shed
//! (`Drop`) or held back (`Wait`, `Block`) first.
//!
//! # Shards: one per worker
//!
//! The queue is split into one shard per worker; each worker drains its own
//! shard, and each producer thread always uses the same shard (a
//! thread-local index handed out round robin at the thread's first log
//! call, the same index for every pipeline). So each thread's lines keep
//! their call order with any number of workers. A shard has:
//!
//! - a **main** ring of `ceil(max_queue_size / workers)` slots;
//! - a **protected** ring with a reserve of
//!   `ceil(protected_queue_size / workers)` slots that only the protected
//!   levels (ERROR and CRITICAL by default) take. Past its reserve a
//!   protected event takes main-ring room like any other event (`Wait`,
//!   `Block`) or evicts (`Drop`; the protected ring then has the main
//!   ring's size again in extra slots, for exactly this).
//!
//! The worker merges the two rings of its shard by timestamp, so a thread's
//! lines keep their call order whatever their levels. A single busy thread
//! can fill only its own shard: with `n` workers it has `1/n` of the queue.
//!
//! Memory is bounded by `workers × (main + reserve)` record slots under
//! `Wait` and `Block`, and by `workers × (2 × main + reserve)` under `Drop`,
//! whatever the burst; slots are allocated once, at build time.
//!
//! # Waiting (`Wait`, `Block`)
//!
//! A call that finds no room spins very briefly (no `yield_now`: on a busy
//! machine one yield can cost a whole scheduler tick), then takes a ticket
//! in its shard's line of parked producers. Room goes to the line in
//! ticket order: a waiter tries the queue when it is at the front, or when
//! there is room for everyone ahead of it too; the worker unparks as many
//! waiters as it freed room for, and one that leaves the front unparks the
//! next. A newcomer does not take the room the line waits for: while
//! producers are parked it queues up behind them, unless there are more
//! free slots than parked producers, or it holds a protected event and a
//! reserve slot is free while no protected event waits (the parked ones
//! cannot use those slots). The `Wait` deadline is checked at every
//! wake-up; a waiter whose deadline has passed makes one last try out of
//! turn before the event is dropped. Async calls
//! ([`Logger::log_async`](crate::Logger::log_async)) await room instead of
//! parking (outside the line); their deadlines are kept by a timer thread.
//!
//! A successful push never wakes the worker unless the worker is parked and
//! the event is protected or the shard has passed the wake threshold: waking
//! a parked thread costs the caller microseconds, so the worker polls instead.

// Pushes hand a record back by value when it cannot be queued, so the
// caller can retry or count it; boxing it would allocate on the hot path.
#![allow(clippy::result_large_err)]

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Waker;
use std::thread::Thread;
use std::time::{Duration, Instant};

use crate::level::Level;
use crate::metrics::{DropReason, Metrics};
use crate::record::{Head, Record};

mod line;
#[allow(unsafe_code)]
mod ring;
mod shard;
mod waiters;
pub(crate) use shard::Shard;
use shard::Sizes;
use waiters::AsyncWaiters;

/// What a log call does when the queue is full.
///
/// The default is `Wait { timeout: 50ms }`: a burst that outruns the worker
/// for a moment slows the caller a little instead of losing lines, while a
/// sink that is truly stuck costs each call at most the timeout, never a hang.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backpressure {
    /// Never wait: drop the event at once and count it (`queue_full`). A
    /// protected event whose reserve is full evicts the oldest queued
    /// lower-level event instead (counted as `evicted`); only this policy
    /// evicts.
    Drop,
    /// Spin briefly, then park in line (first come, first served) until
    /// there is room or `timeout` passes; then drop and count
    /// (`wait_timeout`). The async log calls await room instead of parking.
    Wait {
        /// Longest a call waits.
        timeout: Duration,
    },
    /// Wait for room however long it takes: nothing is lost before
    /// shutdown (a call still waiting then is counted as `shutdown`).
    Block,
}

impl Default for Backpressure {
    fn default() -> Self {
        Backpressure::Wait {
            timeout: Duration::from_millis(50),
        }
    }
}

/// The result of offering a record to the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Offer {
    Queued,
    Dropped(DropReason),
}

pub(crate) struct Queue {
    shards: Box<[Shard]>,
    protected_levels: [bool; 256],
    pub(crate) policy: Backpressure,
    closed: AtomicBool,
    async_waiters: Arc<AsyncWaiters>,
}

/// Spins a call makes for room before it parks (no `yield_now`: on a busy
/// machine one yield can cost a whole scheduler tick).
const SPINS: u32 = 64;

/// Longest a `Block` call parks between two looks at the queue (a safety
/// net: it is unparked as soon as room appears).
const BLOCK_SLICE: Duration = Duration::from_millis(100);

thread_local! {
    /// This thread's shard index (before the modulo), `usize::MAX` until
    /// its first log call.
    static SHARD_INDEX: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// The next shard index to hand out.
static NEXT_SHARD_INDEX: AtomicUsize = AtomicUsize::new(0);

/// This thread's shard index, handed out round robin on first use.
#[inline]
fn thread_shard_index() -> usize {
    SHARD_INDEX
        .try_with(|c| {
            let i = c.get();
            if i != usize::MAX {
                i
            } else {
                assign_shard_index(c)
            }
        })
        .unwrap_or(0)
}

#[cold]
fn assign_shard_index(cell: &Cell<usize>) -> usize {
    let i = NEXT_SHARD_INDEX.fetch_add(1, Ordering::Relaxed) % (usize::MAX / 2);
    cell.set(i);
    i
}

impl Queue {
    /// A queue of `capacity` main slots and `protected_capacity` reserved
    /// ones in all, split into one shard per worker.
    pub(crate) fn new(
        capacity: usize,
        protected_capacity: usize,
        protected_levels: &[Level],
        policy: Backpressure,
        wake_threshold: usize,
        workers: usize,
    ) -> Queue {
        let mut table = [false; 256];
        for l in protected_levels {
            table[l.priority() as usize] = true;
        }
        let n = workers.max(1);
        let sizes = Sizes {
            capacity: capacity.div_ceil(n).max(1),
            reserve: protected_capacity.div_ceil(n),
            wake_threshold: wake_threshold.div_ceil(n),
            evict: policy == Backpressure::Drop,
        };
        let async_waiters = Arc::new(AsyncWaiters::default());
        Queue {
            shards: (0..n)
                .map(|_| Shard::new(sizes, Arc::clone(&async_waiters)))
                .collect(),
            protected_levels: table,
            policy,
            closed: AtomicBool::new(false),
            async_waiters,
        }
    }

    /// The workers' threads, one per shard, in shard order.
    pub(crate) fn set_workers(&self, threads: Vec<Thread>) {
        for (shard, t) in self.shards.iter().zip(threads) {
            shard.set_worker(t);
        }
    }

    /// The shard worker `id` drains.
    pub(crate) fn shard_of_worker(&self, id: usize) -> &Shard {
        &self.shards[id % self.shards.len()]
    }

    /// The calling thread's shard.
    #[inline(always)]
    fn shard(&self) -> &Shard {
        if self.shards.len() == 1 {
            &self.shards[0]
        } else {
            &self.shards[thread_shard_index() % self.shards.len()]
        }
    }

    /// Main-ring slots over all shards.
    pub(crate) fn capacity(&self) -> usize {
        self.shards.iter().map(Shard::capacity).sum()
    }

    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(Shard::len).sum()
    }

    #[inline]
    pub(crate) fn is_protected(&self, level: Level) -> bool {
        self.protected_levels[level.priority() as usize]
    }

    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        for s in self.shards.iter() {
            s.line.wake_all();
        }
        self.async_waiters.close();
    }

    /// Offers a record under the configured policy; the caller's path.
    #[inline]
    pub(crate) fn offer(&self, record: Record, metrics: &Metrics) -> Offer {
        self.offer_in(self.shard(), record, metrics)
    }

    #[inline]
    fn offer_in(&self, shard: &Shard, record: Record, metrics: &Metrics) -> Offer {
        if self.closed.load(Ordering::Relaxed) {
            return self.refuse(record, DropReason::Shutdown, metrics);
        }
        let protected = self.is_protected(record.level);
        // Fairness: while producers are parked waiting for room, a newcomer
        // queues up behind them instead of taking the room they wait for
        // (room beyond one slot per parked producer is free for all: else a
        // producer that just got in would park again on its next call, and
        // the line would never empty).
        if !shard.line.is_empty() && self.policy != Backpressure::Drop && !shard.room_beyond_line()
        {
            let record = if protected && shard.line.protected_waiting() == 0 {
                // The reserve is room no parked (unprotected) producer can use.
                match shard.try_reserve(record) {
                    Ok(()) => {
                        shard.maybe_wake(true);
                        return Offer::Queued;
                    }
                    Err(r) => r,
                }
            } else {
                record
            };
            return self.offer_slow(shard, record, metrics);
        }
        match shard.try_push(record, protected, metrics) {
            Ok(()) => {
                shard.maybe_wake(protected);
                Offer::Queued
            }
            Err(record) => self.offer_slow(shard, record, metrics),
        }
    }

    /// The caller's path for a record captured here: when it can go
    /// straight into a free slot of the main ring (the common case: an
    /// unprotected level, nobody waiting, room), `head` is written into the
    /// slot and `body` completes the capture there, with no copy. When there
    /// is no room under `Drop`, the event is counted as dropped without
    /// being captured at all. Otherwise the record is captured on the stack
    /// and offered as usual.
    #[inline(always)]
    pub(crate) fn offer_with(
        &self,
        head: Head,
        metrics: &Metrics,
        body: impl FnOnce(&mut Record),
    ) -> Offer {
        let shard = self.shard();
        let level = head.level;
        let drop_when_full = self.policy == Backpressure::Drop;
        // (Under `Drop` nobody waits, so there is no line to join.)
        if !self.closed.load(Ordering::Relaxed)
            && (drop_when_full || shard.line.is_empty())
            && !self.is_protected(level)
        {
            if level >= Level::INFO || shard.main.len() < shard.low_level_limit {
                if let Some(claim) = shard.main.claim() {
                    let mut slot = claim.fill_with(|slot| Record::init_in(slot, head));
                    body(&mut slot);
                    slot.publish();
                    shard.maybe_wake(false);
                    return Offer::Queued;
                }
            }
            if drop_when_full {
                return self.refuse_uncaptured(level, metrics);
            }
        }
        self.offer_captured(shard, head, body, metrics)
    }

    /// What `offer` does with an unprotected event that finds no room under
    /// `Drop`, without the capture it would throw away.
    #[cold]
    fn refuse_uncaptured(&self, level: Level, metrics: &Metrics) -> Offer {
        metrics.count_drop(level, DropReason::QueueFull, 1);
        Offer::Dropped(DropReason::QueueFull)
    }

    #[inline(never)]
    fn offer_captured(
        &self,
        shard: &Shard,
        head: Head,
        body: impl FnOnce(&mut Record),
        metrics: &Metrics,
    ) -> Offer {
        let mut record = Record::from_head(head);
        body(&mut record);
        self.offer_in(shard, record, metrics)
    }

    #[cold]
    fn refuse(&self, record: Record, reason: DropReason, metrics: &Metrics) -> Offer {
        metrics.count_drop(record.level, reason, 1);
        Offer::Dropped(reason)
    }

    /// No room (or a line to join): drop under `Drop`; otherwise spin a
    /// little, then park in the shard's line until room appears, the
    /// deadline passes or the queue closes.
    #[cold]
    #[inline(never)]
    fn offer_slow(&self, shard: &Shard, record: Record, metrics: &Metrics) -> Offer {
        let deadline = match self.policy {
            Backpressure::Drop => return self.refuse(record, DropReason::QueueFull, metrics),
            Backpressure::Wait { timeout } => Some(Instant::now() + timeout),
            Backpressure::Block => None,
        };
        let protected = self.is_protected(record.level);
        shard.wake_worker();
        let mut record = record;
        // The worker usually frees room within microseconds; spin for it
        // unless others already wait (then join them, first come first served).
        if shard.line.is_empty() {
            for _ in 0..SPINS {
                std::hint::spin_loop();
                record = match shard.try_push(record, protected, metrics) {
                    Ok(()) => return Offer::Queued,
                    Err(r) => r,
                };
            }
        }
        let ticket = shard.line.join(protected);
        loop {
            if self.closed.load(Ordering::Acquire) {
                shard.line.leave(ticket);
                return self.refuse(record, DropReason::Shutdown, metrics);
            }
            // Our turn: at the front, or room for everyone ahead of us too.
            let ahead = shard.line.ahead_of(ticket);
            if ahead == 0 || shard.free_main() > ahead {
                record = match shard.try_push(record, protected, metrics) {
                    Ok(()) => {
                        shard.line.leave(ticket);
                        return Offer::Queued;
                    }
                    Err(r) => r,
                };
                shard.wake_worker();
            }
            let wait = match deadline {
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        shard.line.leave(ticket);
                        // A last try out of turn: the front may not have
                        // been scheduled yet to take the room it was woken
                        // for, and losing the event is worse than passing it.
                        return match shard.try_push(record, protected, metrics) {
                            Ok(()) => Offer::Queued,
                            Err(r) => self.refuse(r, DropReason::WaitTimeout, metrics),
                        };
                    }
                    d - now
                }
                None => BLOCK_SLICE,
            };
            std::thread::park_timeout(wait);
        }
    }

    /// An async offer: room is awaited, not parked for. Returns the record
    /// back when the caller must wait (its waker is then registered).
    pub(crate) fn offer_async(
        &self,
        record: Record,
        deadline: Option<Instant>,
        waker: &Waker,
        metrics: &Metrics,
    ) -> Result<Offer, Record> {
        if self.closed.load(Ordering::Relaxed) {
            return Ok(self.refuse(record, DropReason::Shutdown, metrics));
        }
        let shard = self.shard();
        let protected = self.is_protected(record.level);
        let record = match shard.try_push(record, protected, metrics) {
            Ok(()) => {
                shard.maybe_wake(protected);
                return Ok(Offer::Queued);
            }
            Err(r) => r,
        };
        match self.policy {
            Backpressure::Drop => return Ok(self.refuse(record, DropReason::QueueFull, metrics)),
            Backpressure::Wait { .. } | Backpressure::Block => {}
        }
        if let Some(d) = deadline {
            if Instant::now() >= d {
                return Ok(self.refuse(record, DropReason::WaitTimeout, metrics));
            }
        }
        self.async_waiters.register(waker, deadline);
        shard.wake_worker();
        // Room may have appeared between the failed push and registering.
        match shard.try_push(record, protected, metrics) {
            Ok(()) => Ok(Offer::Queued),
            Err(r) => Err(r),
        }
    }

    /// Unconditional wake-up of every worker (flush, shutdown).
    pub(crate) fn kick_workers(&self) {
        for s in self.shards.iter() {
            s.kick_worker();
        }
    }

    /// Empties every shard, counting what is discarded (shutdown past its
    /// deadline).
    pub(crate) fn discard_all(&self, metrics: &Metrics) -> u64 {
        self.shards.iter().map(|s| s.discard_all(metrics)).sum()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::*;

    const LONG: Duration = Duration::from_secs(30);

    fn queue(capacity: usize, reserve: usize, policy: Backpressure) -> Arc<Queue> {
        Arc::new(Queue::new(
            capacity,
            reserve,
            &[Level::ERROR, Level::CRITICAL],
            policy,
            capacity,
            1,
        ))
    }

    /// Drops counted for `reason`, all levels.
    fn dropped(m: &Metrics, reason: DropReason) -> u64 {
        let i = DropReason::ALL.iter().position(|r| *r == reason).unwrap();
        m.dropped_matrix().iter().map(|row| row[i]).sum()
    }

    fn record(time: u64, level: Level) -> Record {
        Record::empty(time, level, "t", None, None, None)
    }

    /// Drains everything (at most `max` per call), returning the times.
    fn drain_times(q: &Queue, max: usize) -> Vec<u64> {
        let mut out = Vec::new();
        while q.shard_of_worker(0).drain(max, |r| out.push(r.time)) > 0 {}
        out
    }

    fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + LONG;
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::yield_now();
        }
    }

    /// A producer thread offering one record; returns its outcome.
    fn producer(q: &Arc<Queue>, m: &Arc<Metrics>, time: u64) -> std::thread::JoinHandle<Offer> {
        let (q, m) = (Arc::clone(q), Arc::clone(m));
        std::thread::spawn(move || q.offer(record(time, Level::INFO), &m))
    }

    #[test]
    fn the_oldest_parked_producer_gets_the_room_first() {
        let m = Arc::new(Metrics::new(Vec::new()));
        // `Wait` with a long timeout: a wrong order fails instead of hanging.
        let q = queue(2, 0, Backpressure::Wait { timeout: LONG });
        let shard = q.shard_of_worker(0);
        for t in [1, 2] {
            assert_eq!(q.offer(record(t, Level::INFO), &m), Offer::Queued);
        }
        let a = producer(&q, &m, 100);
        wait_for("a to park", || shard.line.len() == 1);
        let b = producer(&q, &m, 200);
        wait_for("b to park", || shard.line.len() == 2);
        // Room for one: it goes to the first in line.
        assert_eq!(shard.drain(1, |_| {}), 1);
        assert_eq!(a.join().unwrap(), Offer::Queued);
        assert!(!b.is_finished());
        assert_eq!(shard.line.len(), 1);
        assert_eq!(shard.drain(1, |_| {}), 1);
        assert_eq!(b.join().unwrap(), Offer::Queued);
        assert_eq!(drain_times(&q, 8), [100, 200]);
        assert!(shard.line.is_empty());
    }

    #[test]
    fn newcomers_queue_behind_parked_producers_instead_of_taking_their_room() {
        let m = Arc::new(Metrics::new(Vec::new()));
        // `Wait` with a long timeout: a wrong order fails instead of hanging.
        let q = queue(2, 0, Backpressure::Wait { timeout: LONG });
        let shard = q.shard_of_worker(0);
        for t in [1, 2] {
            assert_eq!(q.offer(record(t, Level::INFO), &m), Offer::Queued);
        }
        let a = producer(&q, &m, 100);
        wait_for("a to park", || shard.line.len() == 1);
        let b = producer(&q, &m, 200);
        wait_for("b to park", || shard.line.len() == 2);
        // Room that nobody is told about: a newcomer must not take it.
        assert_eq!(shard.main.pop().map(|r| r.time), Some(1));
        let c = producer(&q, &m, 300);
        wait_for("c to queue up", || shard.line.len() == 3 || c.is_finished());
        assert!(!c.is_finished(), "a newcomer overtook the parked producers");
        assert_eq!(shard.main.len(), 1);
        // The worker frees a second slot: the two oldest waiters get in.
        assert_eq!(shard.drain(1, |_| {}), 1);
        assert_eq!(a.join().unwrap(), Offer::Queued);
        assert_eq!(b.join().unwrap(), Offer::Queued);
        assert_eq!(shard.line.len(), 1);
        // Two only: c may take the room the first of them frees.
        let mut got = Vec::new();
        assert_eq!(shard.drain(2, |r| got.push(r.time)), 2);
        got.sort_unstable();
        assert_eq!(got, [100, 200]);
        assert_eq!(c.join().unwrap(), Offer::Queued);
        assert_eq!(drain_times(&q, 8), [300]);
        assert!(shard.line.is_empty());
    }

    #[test]
    fn a_waiter_gives_up_at_its_deadline_and_the_next_in_line_moves_up() {
        let m = Arc::new(Metrics::new(Vec::new()));
        let q = queue(
            1,
            0,
            Backpressure::Wait {
                timeout: Duration::from_millis(20),
            },
        );
        assert_eq!(q.offer(record(1, Level::INFO), &m), Offer::Queued);
        let outcomes: Vec<Offer> = (0..3)
            .map(|t| producer(&q, &m, t))
            .map(|h| h.join().unwrap())
            .collect();
        assert!(outcomes
            .iter()
            .all(|o| *o == Offer::Dropped(DropReason::WaitTimeout)));
        assert!(q.shard_of_worker(0).line.is_empty());
        assert_eq!(dropped(&m, DropReason::WaitTimeout), 3);
        assert_eq!(drain_times(&q, 8), [1]);
    }

    #[test]
    fn close_sends_parked_producers_away_counted_as_shutdown() {
        let m = Arc::new(Metrics::new(Vec::new()));
        let q = queue(1, 0, Backpressure::Block);
        assert_eq!(q.offer(record(1, Level::INFO), &m), Offer::Queued);
        let a = producer(&q, &m, 2);
        wait_for("a to park", || q.shard_of_worker(0).line.len() == 1);
        q.close();
        assert_eq!(a.join().unwrap(), Offer::Dropped(DropReason::Shutdown));
    }

    #[test]
    fn past_its_reserve_a_protected_event_takes_main_room_and_never_evicts_unless_drop() {
        for policy in [
            Backpressure::Block,
            Backpressure::Wait {
                timeout: Duration::ZERO,
            },
        ] {
            let m = Metrics::new(Vec::new());
            let q = queue(3, 1, policy);
            assert_eq!(q.offer(record(1, Level::INFO), &m), Offer::Queued);
            assert_eq!(q.offer(record(2, Level::ERROR), &m), Offer::Queued);
            assert_eq!(q.offer(record(3, Level::ERROR), &m), Offer::Queued);
            assert_eq!(q.offer(record(4, Level::INFO), &m), Offer::Queued);
            if policy != Backpressure::Block {
                assert_eq!(
                    q.offer(record(5, Level::CRITICAL), &m),
                    Offer::Dropped(DropReason::WaitTimeout)
                );
            }
            assert_eq!(dropped(&m, DropReason::Evicted), 0);
            assert_eq!(drain_times(&q, 8), [1, 2, 3, 4]);
        }
        let m = Metrics::new(Vec::new());
        let q = queue(2, 1, Backpressure::Drop);
        for (t, l) in [
            (1, Level::INFO),
            (2, Level::INFO),
            (3, Level::ERROR),
            (4, Level::ERROR),
        ] {
            assert_eq!(q.offer(record(t, l), &m), Offer::Queued);
        }
        assert_eq!(dropped(&m, DropReason::Evicted), 1);
        assert_eq!(drain_times(&q, 8), [2, 3, 4]);
    }

    #[test]
    fn the_merge_keeps_time_order_when_a_drain_stops_between_the_rings() {
        let m = Metrics::new(Vec::new());
        let q = queue(8, 8, Backpressure::Block);
        let levels = [Level::INFO, Level::ERROR, Level::WARNING, Level::CRITICAL];
        for t in 0..12u64 {
            assert_eq!(
                q.offer(record(t, levels[t as usize % 4]), &m),
                Offer::Queued
            );
        }
        // One at a time: both rings' heads are held between calls.
        let mut got = Vec::new();
        let shard = q.shard_of_worker(0);
        for _ in 0..6 {
            assert_eq!(shard.drain(1, |r| got.push(r.time)), 1);
        }
        assert_eq!(q.len(), 6);
        assert!(!shard.is_empty());
        got.extend(drain_times(&q, 4));
        assert_eq!(got, (0..12).collect::<Vec<_>>());
        assert!(shard.is_empty());
    }

    #[test]
    fn a_slot_claimed_but_not_yet_published_holds_back_the_other_ring_too() {
        // A producer that claimed the head slot of one ring and is still
        // capturing hides the published events queued behind it. An event
        // of another thread, queued behind it, may be older than the other
        // ring's head: it must not be overtaken.
        for (stalled, behind, other) in [
            (Level::INFO, Level::INFO, Level::ERROR),
            (Level::ERROR, Level::ERROR, Level::INFO),
        ] {
            let m = Metrics::new(Vec::new());
            let q = queue(8, 8, Backpressure::Block);
            let shard = q.shard_of_worker(0);
            let ring = if stalled == Level::ERROR {
                &shard.protected
            } else {
                &shard.main
            };
            let claim = ring.claim().unwrap();
            assert_eq!(q.offer(record(2, behind), &m), Offer::Queued);
            assert_eq!(q.offer(record(3, other), &m), Offer::Queued);
            let mut got = Vec::new();
            assert_eq!(shard.drain(8, |r| got.push(r.time)), 0, "{stalled:?}");
            assert!(got.is_empty(), "{stalled:?}: {got:?}");
            assert!(!shard.is_empty());
            claim.fill(record(1, stalled)).publish();
            got.extend(drain_times(&q, 8));
            assert_eq!(got, [1, 2, 3], "{stalled:?}");
            assert!(shard.is_empty());
        }
    }

    #[test]
    fn a_thread_keeps_its_shard_and_the_sizes_are_split_over_the_shards() {
        let q = Queue::new(10, 3, &[Level::ERROR], Backpressure::Block, 4, 4);
        let mine = std::ptr::from_ref(q.shard());
        for _ in 0..10 {
            assert!(std::ptr::eq(q.shard(), mine));
        }
        let index = thread_shard_index();
        assert!(std::ptr::eq(q.shard_of_worker(index % 4), mine));
        // ceil(10 / 4) main slots and ceil(3 / 4) reserved slots per shard.
        assert_eq!(q.capacity(), 12);
        let m = Metrics::new(Vec::new());
        assert_eq!(q.offer(record(1, Level::ERROR), &m), Offer::Queued);
        assert_eq!(
            q.shard()
                .try_reserve(record(2, Level::ERROR))
                .map_err(|r| r.time),
            Err(2)
        );
    }
}
