//! One shard of the queue: the part one worker drains and a fixed set of
//! producer threads fill (see the module docs of [`crate::queue`]).
//!
//! A shard holds a main ring and a protected ring. Its worker hands their
//! events over merged by timestamp, so one thread's lines keep their call
//! order whatever their levels.

use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::Thread;

use crossbeam_utils::CachePadded;

use super::line::Line;
use super::ring::Ring;
use super::waiters::AsyncWaiters;
use crate::level::Level;
use crate::metrics::{DropReason, Metrics};
use crate::record::Record;

/// Sizes of one shard.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sizes {
    /// Main-ring slots.
    pub(crate) capacity: usize,
    /// Protected-ring slots lower levels never take.
    pub(crate) reserve: usize,
    /// Queued events from which a parked worker is woken.
    pub(crate) wake_threshold: usize,
    /// A protected event may evict the oldest main-ring event (`Drop` only).
    pub(crate) evict: bool,
}

/// Records the worker took from the rings but has not handed over yet,
/// because the other ring may still hold an older one.
#[derive(Default)]
struct Held {
    main: Option<Record>,
    protected: Option<Record>,
}

pub(crate) struct Shard {
    pub(crate) main: Ring,
    pub(super) protected: Ring,
    capacity: usize,
    reserve: usize,
    pub(crate) low_level_limit: usize,
    wake_threshold: usize,
    /// Free main-ring slots from which the worker unparks the line.
    wake_line_room: usize,
    evict: bool,
    /// Producer threads parked for room.
    pub(crate) line: Line,
    worker_parked: CachePadded<AtomicBool>,
    worker: OnceLock<Thread>,
    held: Mutex<Held>,
    held_len: AtomicUsize,
    /// Async callers waiting for room (one list for all shards).
    async_waiters: Arc<AsyncWaiters>,
}

impl Shard {
    pub(crate) fn new(s: Sizes, async_waiters: Arc<AsyncWaiters>) -> Shard {
        let capacity = s.capacity.max(1);
        // Eviction puts a protected event where a main-ring event was: the
        // protected ring then needs room for the whole main ring too.
        let protected_slots = if s.evict {
            s.reserve + capacity
        } else {
            s.reserve
        };
        Shard {
            main: Ring::new(capacity),
            protected: Ring::new(protected_slots),
            capacity,
            reserve: s.reserve,
            low_level_limit: (capacity - capacity / 4).max(1),
            wake_line_room: (capacity / 8).max(1),
            wake_threshold: s.wake_threshold.clamp(1, capacity),
            evict: s.evict,
            line: Line::default(),
            worker_parked: CachePadded::new(AtomicBool::new(false)),
            worker: OnceLock::new(),
            held: Mutex::new(Held::default()),
            held_len: AtomicUsize::new(0),
            async_waiters,
        }
    }

    pub(crate) fn set_worker(&self, thread: Thread) {
        let _ = self.worker.set(thread);
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    pub(crate) fn len(&self) -> usize {
        self.main.len() + self.protected.len() + self.held_len.load(Ordering::SeqCst)
    }

    /// `true` when nothing is queued here (the worker's check before it
    /// acknowledges a flush, stops or parks).
    pub(crate) fn is_empty(&self) -> bool {
        self.main.is_empty()
            && self.protected.is_empty()
            && self.held_len.load(Ordering::SeqCst) == 0
    }

    /// `true` when the main ring has more free slots than producers parked
    /// in line.
    pub(crate) fn room_beyond_line(&self) -> bool {
        self.free_main() > self.line.len()
    }

    /// Free main-ring slots.
    pub(crate) fn free_main(&self) -> usize {
        self.capacity.saturating_sub(self.main.len())
    }

    /// One attempt, no waiting.
    #[inline]
    pub(crate) fn try_push(
        &self,
        record: Record,
        protected: bool,
        metrics: &Metrics,
    ) -> Result<(), Record> {
        if protected {
            return self.try_push_protected(record, metrics);
        }
        if record.level < Level::INFO && self.main.len() >= self.low_level_limit {
            return Err(record);
        }
        self.main.push(record)
    }

    #[cold]
    fn try_push_protected(&self, record: Record, metrics: &Metrics) -> Result<(), Record> {
        let record = match self.try_reserve(record) {
            Ok(()) => return Ok(()),
            Err(r) => r,
        };
        if !self.evict {
            // `Wait` and `Block`: past its reserve, a protected event takes
            // main-ring room like any other, or waits for it.
            return self.main.push(record);
        }
        // `Drop`: take the place of the oldest main-ring event (the main
        // ring holds only unprotected levels under `Drop`). The slot is
        // claimed first, so nothing is evicted for an event that then finds
        // no room after all.
        let Some(claim) = self.protected.claim() else {
            return Err(record);
        };
        match self.main.pop() {
            Some(victim) => {
                metrics.count_drop(victim.level, DropReason::Evicted, 1);
                drop(victim);
                claim.fill(record).publish();
                Ok(())
            }
            // Unfilled, the claim publishes a placeholder the worker skips.
            None => Err(record),
        }
    }

    /// A slot of the protected reserve, if one is free.
    pub(crate) fn try_reserve(&self, record: Record) -> Result<(), Record> {
        if self.protected.len() < self.reserve {
            return self.protected.push(record);
        }
        Err(record)
    }

    /// After a push: wakes a parked worker when the event is protected or
    /// the shard has passed the wake threshold.
    #[inline]
    pub(crate) fn maybe_wake(&self, protected: bool) {
        if self.worker_parked.load(Ordering::Relaxed)
            && (protected || self.main.len() >= self.wake_threshold)
        {
            self.wake_worker();
        }
    }

    /// Wakes the worker when it is parked.
    #[cold]
    pub(crate) fn wake_worker(&self) {
        if self.worker_parked.swap(false, Ordering::AcqRel) {
            if let Some(t) = self.worker.get() {
                t.unpark();
            }
        }
    }

    /// Wakes the worker whether or not it is parked (flush, shutdown).
    pub(crate) fn kick_worker(&self) {
        self.worker_parked.store(false, Ordering::Release);
        if let Some(t) = self.worker.get() {
            t.unpark();
        }
    }

    /// The worker's side: hands up to about `max` records to `each`, oldest
    /// first, then tells waiting producers there is room. Returns how many.
    ///
    /// In the common case (no protected event waiting) records go to `each`
    /// straight from the main ring, without a copy. Otherwise the two rings
    /// are merged by timestamp, see [`Shard::drain_merged`].
    pub(crate) fn drain(&self, max: usize, mut each: impl FnMut(&Record)) -> usize {
        let mut n = 0;
        if self.held_len.load(Ordering::Relaxed) == 0 {
            while n < max {
                let Some(r) = self.main.pop() else {
                    break;
                };
                // Checked after the pop: a protected event pushed before `r`
                // (by `r`'s thread) is visible now, and must be written first.
                if !self.protected.is_empty() {
                    n += self.drain_merged(Some(r), max - n, &mut each);
                    break;
                }
                each(&r);
                n += 1;
            }
            if n == 0 && !self.protected.is_empty() {
                n = self.drain_merged(None, max, &mut each);
            }
        } else {
            n = self.drain_merged(None, max, &mut each);
        }
        if n > 0 {
            self.notify_space();
        }
        n
    }

    fn held(&self) -> MutexGuard<'_, Held> {
        match self.held.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Merges the two rings by timestamp, holding one record of each (the
    /// heads) until it is known that the other ring holds nothing older
    /// from the same thread:
    ///
    /// - a head is handed over only after the other ring was looked at
    ///   *after* that head was taken (anything its thread queued before it
    ///   is visible by then) and found empty: not merely without a
    ///   published head, as a slot claimed by a producer that is still
    ///   capturing (or was descheduled) hides the published events behind
    ///   it, and the drain then stops until that slot is published;
    /// - when both heads are there, the older goes first: the other ring
    ///   cannot hide an even older event of its thread behind its head, as
    ///   that event was queued after the head was stamped.
    ///
    /// Heads not handed over when `max` is reached stay held for the next
    /// call (counted in [`Shard::len`]).
    #[cold]
    fn drain_merged(
        &self,
        first_main: Option<Record>,
        max: usize,
        each: &mut impl FnMut(&Record),
    ) -> usize {
        let mut held = self.held();
        let mut m = held.main.take().or(first_main);
        let mut p = held.protected.take();
        let mut n = 0;
        while n < max {
            if p.is_none() {
                p = self.protected.pop();
            }
            if m.is_none() {
                m = self.main.pop();
                if m.is_some() && p.is_none() {
                    // Look again now that `m` is taken.
                    p = self.protected.pop();
                }
            }
            let take_protected = match (&m, &p) {
                (None, None) => break,
                // A ring that gave nothing may still hold a claimed slot
                // whose producer is still capturing, with published events
                // behind it: one of those may be older than the other head,
                // from the same thread. Hand a lone head over only when the
                // other ring holds no claimed slot at all.
                (Some(_), None) if self.protected.is_empty() => false,
                (None, Some(_)) if self.main.is_empty() => true,
                (Some(_), None) | (None, Some(_)) => break,
                (Some(mr), Some(pr)) => pr.time <= mr.time,
            };
            let slot = if take_protected { &mut p } else { &mut m };
            if let Some(r) = slot.take() {
                each(&r);
                n += 1;
            }
        }
        let still = usize::from(m.is_some()) + usize::from(p.is_some());
        held.main = m;
        held.protected = p;
        self.held_len.store(still, Ordering::SeqCst);
        n
    }

    /// Room appeared: unparks as many producers from the front of the line
    /// as there is room for, once an eighth of the main ring is free (a producer that wakes then has room for a run of
    /// calls, so a burst costs a wake-up per run, not per event; a waiter
    /// whose deadline comes first still tries once), and wakes the async
    /// callers.
    fn notify_space(&self) {
        fence(Ordering::SeqCst);
        let room = self.free_main();
        if room >= self.wake_line_room {
            self.line.wake_first(room);
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

    /// Empties the shard, counting what is discarded.
    pub(crate) fn discard_all(&self, metrics: &Metrics) -> u64 {
        let mut n = 0;
        let mut count = |r: Record| {
            metrics.count_drop(r.level, DropReason::Shutdown, 1);
            n += 1;
        };
        {
            let mut held = self.held();
            held.main.take().into_iter().for_each(&mut count);
            held.protected.take().into_iter().for_each(&mut count);
            self.held_len.store(0, Ordering::SeqCst);
        }
        while let Some(r) = self.protected.pop().or_else(|| self.main.pop()) {
            count(r);
        }
        self.notify_space();
        n
    }
}
