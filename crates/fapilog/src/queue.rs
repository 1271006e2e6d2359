//! The bounded queue between callers and workers, and the backpressure
//! policy that applies when it is full: here and only here.
//!
//! Two lock-free bounded rings (`ring::Ring`, crossbeam's `ArrayQueue`
//! protocol with slots that can be claimed before they are written; slots are
//! allocated once at build time):
//!
//! - the **main** queue (`capacity` slots) takes every level that is not
//!   protected;
//! - the **protected** queue takes the protected levels (ERROR and CRITICAL
//!   by default). It has a reserve of `protected_capacity` slots that lower
//!   levels can never take. When the reserve is full, a protected event
//!   *evicts* the oldest event of the main queue (which only ever holds
//!   unprotected levels), counted as dropped with reason `evicted`, and takes
//!   its place; the protected queue has `capacity` extra slots for exactly
//!   this. Only when the main queue is empty too does a protected event meet
//!   the backpressure policy.
//!
//! Among unprotected levels, those below INFO (DEBUG, TRACE) are admitted only
//! while the main queue is less than three quarters full, so under pressure
//! they are shed first and INFO/WARNING keep the last quarter.
//!
//! Memory is therefore bounded by `(2 × capacity + protected_capacity)`
//! record slots whatever the burst.
//!
//! A successful push never wakes the worker unless the worker is parked and
//! the event is protected or the queue has passed the wake threshold: waking
//! a parked thread costs the caller microseconds, so the worker polls instead.

// Pushes hand a record back by value when it cannot be queued, so the
// caller can retry or count it; boxing it would allocate on the hot path.
#![allow(clippy::result_large_err)]

use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::task::Waker;
use std::thread::Thread;
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use crate::level::Level;
use crate::metrics::{DropReason, Metrics};
use crate::record::{Head, Record};

#[allow(unsafe_code)]
mod ring;
mod waiters;
use ring::Ring;
use waiters::AsyncWaiters;

/// What a log call does when the queue is full.
///
/// The default is `Wait { timeout: 50ms }`: a burst that outruns the worker
/// for a moment slows the caller a little instead of losing lines, while a
/// sink that is truly stuck costs each call at most the timeout, never a hang.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backpressure {
    /// Drop the event at once and count it.
    Drop,
    /// Spin briefly, then park, until there is room or `timeout` passes; then
    /// drop and count. The async log calls await room instead of parking.
    Wait {
        /// Longest a call waits.
        timeout: Duration,
    },
    /// Wait for room however long it takes (until shutdown).
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
    main: Ring,
    protected: Ring,
    capacity: usize,
    protected_reserve: usize,
    low_level_limit: usize,
    protected_levels: [bool; 256],
    pub(crate) policy: Backpressure,
    wake_threshold: usize,
    worker_parked: CachePadded<AtomicBool>,
    workers: OnceLock<Vec<Thread>>,
    closed: AtomicBool,
    // Producers parked on a full queue.
    space_lock: Mutex<()>,
    space: Condvar,
    sync_waiters: AtomicUsize,
    async_waiters: Arc<AsyncWaiters>,
}

impl Queue {
    pub(crate) fn new(
        capacity: usize,
        protected_capacity: usize,
        protected_levels: &[Level],
        policy: Backpressure,
        wake_threshold: usize,
    ) -> Queue {
        let mut table = [false; 256];
        for l in protected_levels {
            table[l.priority() as usize] = true;
        }
        Queue {
            main: Ring::new(capacity),
            protected: Ring::new(protected_capacity + capacity),
            capacity,
            protected_reserve: protected_capacity,
            low_level_limit: (capacity - capacity / 4).max(1),
            protected_levels: table,
            policy,
            wake_threshold: wake_threshold.clamp(1, capacity),
            worker_parked: CachePadded::new(AtomicBool::new(false)),
            workers: OnceLock::new(),
            closed: AtomicBool::new(false),
            space_lock: Mutex::new(()),
            space: Condvar::new(),
            sync_waiters: AtomicUsize::new(0),
            async_waiters: Arc::new(AsyncWaiters::default()),
        }
    }

    pub(crate) fn set_workers(&self, threads: Vec<Thread>) {
        let _ = self.workers.set(threads);
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    pub(crate) fn len(&self) -> usize {
        self.main.len() + self.protected.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.main.is_empty() && self.protected.is_empty()
    }

    #[inline]
    pub(crate) fn is_protected(&self, level: Level) -> bool {
        self.protected_levels[level.priority() as usize]
    }

    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.notify_space();
        self.async_waiters.close();
    }

    /// One attempt, no waiting.
    #[inline]
    fn try_push(&self, record: Record, metrics: &Metrics) -> Result<(), Record> {
        let level = record.level;
        if self.is_protected(level) {
            return self.try_push_protected(record, metrics);
        }
        if level < Level::INFO && self.main.len() >= self.low_level_limit {
            return Err(record);
        }
        self.main.push(record)
    }

    #[cold]
    fn try_push_protected(&self, record: Record, metrics: &Metrics) -> Result<(), Record> {
        let record = if self.protected.len() < self.protected_reserve {
            match self.protected.push(record) {
                Ok(()) => return Ok(()),
                Err(r) => r,
            }
        } else {
            record
        };
        // The reserve is full: take the place of the oldest unprotected event.
        match self.main.pop() {
            Some(victim) => {
                metrics.count_drop(victim.level, DropReason::Evicted, 1);
                drop(victim);
                self.protected.push(record)
            }
            None => Err(record),
        }
    }

    /// Offers a record under the configured policy; the caller's path.
    #[inline]
    pub(crate) fn offer(&self, record: Record, metrics: &Metrics) -> Offer {
        if self.closed.load(Ordering::Relaxed) {
            return self.refuse(record, DropReason::Shutdown, metrics);
        }
        // Fairness: while producers are parked waiting for room, a newcomer
        // queues up behind them instead of taking the room they wait for.
        if self.sync_waiters.load(Ordering::Relaxed) > 0 && self.policy != Backpressure::Drop {
            return self.offer_slow(record, metrics);
        }
        let level = record.level;
        match self.try_push(record, metrics) {
            Ok(()) => {
                self.maybe_wake(level);
                Offer::Queued
            }
            Err(record) => self.offer_slow(record, metrics),
        }
    }

    /// The caller's path for a record captured here: when it can go
    /// straight into a free slot of the main queue (the common case: an
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
        let level = head.level;
        let drop_when_full = self.policy == Backpressure::Drop;
        // (Under `Drop` nobody waits, so there is no queue of waiters to join.)
        if !self.closed.load(Ordering::Relaxed)
            && (drop_when_full || self.sync_waiters.load(Ordering::Relaxed) == 0)
            && !self.is_protected(level)
        {
            if level >= Level::INFO || self.main.len() < self.low_level_limit {
                if let Some(claim) = self.main.claim() {
                    let mut slot = claim.fill_with(|slot| Record::init_in(slot, head));
                    body(&mut slot);
                    slot.publish();
                    self.maybe_wake(level);
                    return Offer::Queued;
                }
            }
            if drop_when_full {
                return self.refuse_uncaptured(level, metrics);
            }
        }
        self.offer_captured(head, body, metrics)
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
        head: Head,
        body: impl FnOnce(&mut Record),
        metrics: &Metrics,
    ) -> Offer {
        let mut record = Record::from_head(head);
        body(&mut record);
        self.offer(record, metrics)
    }

    #[inline]
    fn maybe_wake(&self, level: Level) {
        if self.worker_parked.load(Ordering::Relaxed)
            && (self.is_protected(level) || self.main.len() >= self.wake_threshold)
        {
            self.wake_workers();
        }
    }

    #[cold]
    fn refuse(&self, record: Record, reason: DropReason, metrics: &Metrics) -> Offer {
        metrics.count_drop(record.level, reason, 1);
        Offer::Dropped(reason)
    }

    #[cold]
    #[inline(never)]
    fn offer_slow(&self, record: Record, metrics: &Metrics) -> Offer {
        let deadline = match self.policy {
            Backpressure::Drop => return self.refuse(record, DropReason::QueueFull, metrics),
            Backpressure::Wait { timeout } => Some(Instant::now() + timeout),
            Backpressure::Block => None,
        };
        self.wake_workers();
        let mut record = record;
        // Spin, then yield: the worker usually frees room within microseconds
        // (unless others already wait: then join them, first come first served).
        let spins = if self.sync_waiters.load(Ordering::Relaxed) > 0 {
            0
        } else {
            96
        };
        for i in 0..spins {
            if i < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
            record = match self.try_push(record, metrics) {
                Ok(()) => return Offer::Queued,
                Err(r) => r,
            };
        }
        // Then park until the worker signals room, in short slices so that a
        // missed signal costs at most one slice.
        loop {
            if self.closed.load(Ordering::Acquire) {
                return self.refuse(record, DropReason::Shutdown, metrics);
            }
            let slice = Duration::from_millis(1);
            let wait = match deadline {
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return self.refuse(record, DropReason::WaitTimeout, metrics);
                    }
                    slice.min(d - now)
                }
                None => slice,
            };
            {
                let guard = match self.space_lock.lock() {
                    Ok(g) => g,
                    Err(p) => p.into_inner(),
                };
                self.sync_waiters.fetch_add(1, Ordering::SeqCst);
                record = match self.try_push(record, metrics) {
                    Ok(()) => {
                        self.sync_waiters.fetch_sub(1, Ordering::SeqCst);
                        return Offer::Queued;
                    }
                    Err(r) => r,
                };
                self.wake_workers();
                let _ = self.space.wait_timeout(guard, wait);
                self.sync_waiters.fetch_sub(1, Ordering::SeqCst);
            }
            record = match self.try_push(record, metrics) {
                Ok(()) => return Offer::Queued,
                Err(r) => r,
            };
        }
    }

    /// An async offer: room is awaited, not parked for. Returns the record
    /// back when the caller must wait.
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
        let level = record.level;
        let record = match self.try_push(record, metrics) {
            Ok(()) => {
                self.maybe_wake(level);
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
        self.wake_workers();
        // Room may have appeared between the failed push and registering.
        match self.try_push(record, metrics) {
            Ok(()) => Ok(Offer::Queued),
            Err(r) => Err(r),
        }
    }

    /// Wakes every worker (cold: only when they are parked and there is work).
    #[cold]
    pub(crate) fn wake_workers(&self) {
        if self.worker_parked.swap(false, Ordering::AcqRel) {
            if let Some(ws) = self.workers.get() {
                for t in ws {
                    t.unpark();
                }
            }
        }
    }

    /// Unconditional wake-up (flush, shutdown).
    pub(crate) fn kick_workers(&self) {
        self.worker_parked.store(false, Ordering::Release);
        if let Some(ws) = self.workers.get() {
            for t in ws {
                t.unpark();
            }
        }
    }

    /// The worker's side: hands up to about `max` records to `each`, oldest
    /// first, then tells waiting producers there is room. Returns how many.
    ///
    /// In the common case (no protected event waiting) records go to `each`
    /// straight from the main queue, without an intermediate copy. When
    /// protected events wait, they are merged with every main-queue event
    /// older than them and handed over in timestamp order, so a thread's
    /// lines keep their call order whatever their levels.
    pub(crate) fn drain(
        &self,
        max: usize,
        scratch: &mut Vec<Record>,
        mut each: impl FnMut(&Record),
    ) -> usize {
        let mut n = 0;
        while n < max {
            let Some(r) = self.main.pop() else {
                break;
            };
            // Checked after the pop: a protected event pushed before `r`
            // (by `r`'s thread) is visible now, and must be written first.
            if !self.protected.is_empty() {
                scratch.push(r);
                n += self.drain_merged(max.saturating_sub(n), scratch, &mut each);
                break;
            }
            each(&r);
            n += 1;
        }
        if n == 0 && !self.protected.is_empty() {
            n = self.drain_merged(max, scratch, &mut each);
        }
        if n > 0 {
            self.notify_space();
        }
        n
    }

    /// Merges the protected events with the main-queue events older than
    /// them. `scratch` may already hold main-queue events (popped first).
    #[cold]
    fn drain_merged(
        &self,
        max: usize,
        scratch: &mut Vec<Record>,
        each: &mut impl FnMut(&Record),
    ) -> usize {
        let mut main_run = std::mem::take(scratch);
        let mut protected: Vec<Record> = Vec::new();
        let mut newest = 0;
        while protected.len() < max.max(1) {
            match self.protected.pop() {
                Some(r) => {
                    newest = newest.max(r.time);
                    protected.push(r);
                }
                None => break,
            }
        }
        // Take every main-queue event older than the newest protected one
        // (the main queue is FIFO, so stop at the first newer one).
        if main_run.last().is_none_or(|r| r.time <= newest) {
            while let Some(r) = self.main.pop() {
                let newer = r.time > newest;
                main_run.push(r);
                if newer {
                    break;
                }
            }
        }
        // Merge the two FIFO runs by timestamp; each run keeps its order.
        let (p, m) = (&protected, &main_run);
        let (mut i, mut j) = (0, 0);
        while i < p.len() || j < m.len() {
            let take_p = j == m.len() || (i < p.len() && p[i].time <= m[j].time);
            if take_p {
                each(&p[i]);
                i += 1;
            } else {
                each(&m[j]);
                j += 1;
            }
        }
        let n = p.len() + m.len();
        main_run.clear();
        *scratch = main_run;
        n
    }

    fn notify_space(&self) {
        fence(Ordering::SeqCst);
        if self.sync_waiters.load(Ordering::SeqCst) > 0 {
            let _g = self.space_lock.lock();
            self.space.notify_all();
        }
        self.async_waiters.wake_all();
    }

    /// The worker announces it is about to park; returns `false` (and stays
    /// awake) when work arrived in the meantime.
    pub(crate) fn prepare_park(&self) -> bool {
        self.worker_parked.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        if !self.is_empty() {
            self.worker_parked.store(false, Ordering::SeqCst);
            return false;
        }
        true
    }

    pub(crate) fn unpark_done(&self) {
        self.worker_parked.store(false, Ordering::Relaxed);
    }

    /// Empties the queue, counting what is discarded (shutdown past its deadline).
    pub(crate) fn discard_all(&self, metrics: &Metrics) -> u64 {
        let mut n = 0;
        while let Some(r) = self.protected.pop().or_else(|| self.main.pop()) {
            metrics.count_drop(r.level, DropReason::Shutdown, 1);
            n += 1;
        }
        self.notify_space();
        n
    }
}
