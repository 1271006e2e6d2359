//! A bounded lock-free ring of records into which a caller can capture a
//! record in place: claim a slot, write the record there, publish it.
//!
//! The protocol is crossbeam's `ArrayQueue` (Dmitry Vyukov's bounded MPMC
//! queue with per-slot stamps), written here so that a slot can be claimed
//! before its record exists: the common log call then builds its record
//! once, in the slot the worker will read, instead of on the stack and
//! copied in (the record is a few hundred bytes).
//!
//! A stamp is `lap | index`. A free slot's stamp equals the tail position
//! that may write it; a written slot's stamp is that position `+ 1`, which is
//! the head position that may read it; reading sets it to the position one
//! lap later. Claiming moves the tail first (a compare-and-swap), so between
//! claim and publish the slot belongs to one producer alone.
//!
//! A claimed slot must be published, or the consumers stop at it. [`Claim`]
//! and [`Filling`] publish on drop: a capture that panics (a user's
//! `Display` impl) publishes a slot marked dead, which consumers drop and
//! skip without counting.

use std::cell::UnsafeCell;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{fence, AtomicUsize, Ordering};

use crossbeam_utils::{Backoff, CachePadded};

use crate::level::Level;
use crate::record::Record;

/// `repr(C)`: the stamp shares a cache line with the record's header.
#[repr(C)]
struct Slot {
    stamp: AtomicUsize,
    /// `false` when the record must be skipped (its capture panicked).
    live: UnsafeCell<bool>,
    record: UnsafeCell<MaybeUninit<Record>>,
}

pub(crate) struct Ring {
    head: CachePadded<AtomicUsize>,
    tail: CachePadded<AtomicUsize>,
    slots: Box<[Slot]>,
    cap: usize,
    /// A power of two above `cap`: the low bits of a position are its index.
    one_lap: usize,
}

// SAFETY: a slot's contents are touched only by the one thread that owns it
// under the stamp protocol (the producer between claim and publish, the
// consumer between its head CAS and the release store), and the Release
// store / Acquire load of the stamp order those accesses. Records are `Send`.
unsafe impl Sync for Ring {}
// SAFETY: as above; the ring owns its records, which are `Send`.
unsafe impl Send for Ring {}

const _: () = {
    const fn send<T: Send>() {}
    send::<Record>();
};

impl Ring {
    pub(crate) fn new(cap: usize) -> Ring {
        let cap = cap.max(1);
        let slots = (0..cap)
            .map(|i| Slot {
                stamp: AtomicUsize::new(i),
                live: UnsafeCell::new(false),
                record: UnsafeCell::new(MaybeUninit::uninit()),
            })
            .collect();
        Ring {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            slots,
            cap,
            one_lap: (cap + 1).next_power_of_two(),
        }
    }

    /// The position after `pos`.
    #[inline]
    fn next(&self, pos: usize) -> usize {
        let index = pos & (self.one_lap - 1);
        if index + 1 < self.cap {
            pos + 1
        } else {
            (pos & !(self.one_lap - 1)).wrapping_add(self.one_lap)
        }
    }

    #[inline]
    fn slot(&self, pos: usize) -> &Slot {
        // The index bits of a position are always below `cap`.
        &self.slots[pos & (self.one_lap - 1)]
    }

    /// Claims the next free slot; `None` when the ring is full.
    #[inline]
    pub(crate) fn claim(&self) -> Option<Claim<'_>> {
        let backoff = Backoff::new();
        let mut tail = self.tail.load(Ordering::Relaxed);
        loop {
            let slot = self.slot(tail);
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == tail {
                match self.tail.compare_exchange_weak(
                    tail,
                    self.next(tail),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return Some(Claim { slot, pos: tail }),
                    Err(t) => {
                        tail = t;
                        backoff.spin();
                    }
                }
            } else if stamp.wrapping_add(self.one_lap) == tail + 1 {
                // The slot still holds last lap's record: full, unless a
                // consumer is just taking it.
                fence(Ordering::SeqCst);
                if self.head.load(Ordering::Relaxed).wrapping_add(self.one_lap) == tail {
                    return None;
                }
                backoff.spin();
                tail = self.tail.load(Ordering::Relaxed);
            } else {
                // Another producer moved the tail under us.
                backoff.snooze();
                tail = self.tail.load(Ordering::Relaxed);
            }
        }
    }

    /// Pushes a record built elsewhere; hands it back when the ring is full.
    pub(crate) fn push(&self, record: Record) -> Result<(), Record> {
        match self.claim() {
            Some(claim) => {
                claim.fill(record).publish();
                Ok(())
            }
            None => Err(record),
        }
    }

    /// Takes the oldest published record. `None` when the ring is empty, or
    /// when the oldest slot is claimed but not yet published (its producer
    /// is still capturing): the consumer comes back for it later rather than
    /// spin behind a thread that may be descheduled.
    pub(crate) fn pop(&self) -> Option<Record> {
        let backoff = Backoff::new();
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            let slot = self.slot(head);
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == head + 1 {
                match self.head.compare_exchange_weak(
                    head,
                    self.next(head),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: the stamp says the slot was published for
                        // position `head`, and the CAS made this thread its
                        // only reader: the record is initialized, and nobody
                        // writes the slot until the release store below.
                        let (record, live) =
                            unsafe { ((*slot.record.get()).assume_init_read(), *slot.live.get()) };
                        slot.stamp
                            .store(head.wrapping_add(self.one_lap), Ordering::Release);
                        if live {
                            return Some(record);
                        }
                        drop(record);
                        head = self.head.load(Ordering::Relaxed);
                    }
                    Err(h) => {
                        head = h;
                        backoff.spin();
                    }
                }
            } else if stamp == head {
                fence(Ordering::SeqCst);
                if self.tail.load(Ordering::Relaxed) == head || backoff.is_completed() {
                    return None;
                }
                backoff.snooze();
                head = self.head.load(Ordering::Relaxed);
            } else {
                // Another consumer moved the head under us.
                backoff.snooze();
                head = self.head.load(Ordering::Relaxed);
            }
        }
    }

    /// Claimed slots, published or not.
    pub(crate) fn len(&self) -> usize {
        loop {
            let tail = self.tail.load(Ordering::SeqCst);
            let head = self.head.load(Ordering::SeqCst);
            if self.tail.load(Ordering::SeqCst) == tail {
                let hix = head & (self.one_lap - 1);
                let tix = tail & (self.one_lap - 1);
                return if hix < tix {
                    tix - hix
                } else if hix > tix {
                    self.cap - hix + tix
                } else if tail == head {
                    0
                } else {
                    self.cap
                };
            }
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        let head = self.head.load(Ordering::SeqCst);
        self.tail.load(Ordering::SeqCst) == head
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // No producer is left (`&mut self`), so every claimed slot is published.
        while self.pop().is_some() {}
    }
}

/// A claimed, still empty slot. Fill it with [`Claim::fill`]; dropped
/// unfilled, it publishes a dead placeholder.
pub(crate) struct Claim<'a> {
    slot: &'a Slot,
    pos: usize,
}

impl<'a> Claim<'a> {
    /// Moves `record` into the slot.
    #[inline(always)]
    pub(crate) fn fill(self, record: Record) -> Filling<'a> {
        self.fill_with(|slot| slot.write(record))
    }

    /// Initializes the slot with `init`, which must return the record it
    /// wrote there; capture then continues in place.
    #[inline(always)]
    pub(crate) fn fill_with(
        self,
        init: impl FnOnce(&mut MaybeUninit<Record>) -> &mut Record,
    ) -> Filling<'a> {
        // SAFETY: the claim owns the slot until it publishes, so this is
        // the only reference to it.
        let slot = unsafe { &mut *self.slot.record.get() };
        let at = slot.as_ptr();
        let written: *const Record = init(slot);
        // Safe code can only make a `&mut Record` at the slot's address by
        // initializing it; anything else is a bug (and publishes a dead
        // placeholder through `Claim::drop` as this panics).
        assert!(
            std::ptr::eq(written, at),
            "a queue slot's initializer must return the record it wrote"
        );
        let this = ManuallyDrop::new(self);
        Filling {
            slot: this.slot,
            pos: this.pos,
        }
    }
}

impl Drop for Claim<'_> {
    #[cold]
    fn drop(&mut self) {
        // Unfilled (whatever made the record panicked): publish a dead
        // placeholder so consumers do not wait on the slot forever.
        let placeholder = Record::empty(0, Level::INFO, "", None, None, None);
        self.fill_dead(placeholder);
    }
}

impl Claim<'_> {
    fn fill_dead(&self, record: Record) {
        // SAFETY: as in `fill`; the slot is still owned by this claim.
        unsafe {
            (*self.slot.record.get()).write(record);
            *self.slot.live.get() = false;
        }
        self.slot.stamp.store(self.pos + 1, Ordering::Release);
    }
}

/// A claimed slot holding a record under capture; [`Filling::publish`]
/// hands it to the consumers. Dropped unpublished (the capture panicked), it
/// publishes the slot as dead.
pub(crate) struct Filling<'a> {
    slot: &'a Slot,
    pos: usize,
}

impl Filling<'_> {
    /// Makes the record visible to the consumers.
    #[inline(always)]
    pub(crate) fn publish(self) {
        let this = ManuallyDrop::new(self);
        this.release(true);
    }

    #[inline(always)]
    fn release(&self, live: bool) {
        // SAFETY: the slot is owned by this filling until the store below.
        unsafe {
            *self.slot.live.get() = live;
        }
        self.slot.stamp.store(self.pos + 1, Ordering::Release);
    }
}

impl Drop for Filling<'_> {
    #[cold]
    fn drop(&mut self) {
        self.release(false);
    }
}

impl Deref for Filling<'_> {
    type Target = Record;

    #[inline(always)]
    fn deref(&self) -> &Record {
        // SAFETY: `fill` initialized the record, and the slot is ours
        // until it is published.
        unsafe { (*self.slot.record.get()).assume_init_ref() }
    }
}

impl DerefMut for Filling<'_> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut Record {
        // SAFETY: as in `deref`; `&mut self` makes this the only reference.
        unsafe { (*self.slot.record.get()).assume_init_mut() }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::context::Fields;

    fn record(time: u64, bound: Option<Arc<Fields>>) -> Record {
        Record::empty(time, Level::INFO, "t", None, bound, None)
    }

    fn times(ring: &Ring) -> Vec<u64> {
        std::iter::from_fn(|| ring.pop()).map(|r| r.time).collect()
    }

    #[test]
    fn ring_keeps_order_across_laps_and_reports_full() {
        // 3 is not a power of two: positions skip to the next lap.
        let ring = Ring::new(3);
        let mut next = 0;
        for _ in 0..4 {
            for _ in 0..3 {
                assert!(ring.push(record(next, None)).is_ok());
                next += 1;
            }
            assert_eq!(ring.len(), 3);
            assert!(ring.push(record(99, None)).is_err());
            assert_eq!(times(&ring), [next - 3, next - 2, next - 1]);
            assert!(ring.is_empty());
        }
    }

    #[test]
    fn ring_captures_in_place() {
        let ring = Ring::new(2);
        let claim = ring.claim().expect("room");
        let mut slot = claim.fill(record(1, None));
        slot.time = 7;
        // Claimed but unpublished: counted, not yet readable.
        assert_eq!(ring.len(), 1);
        assert!(ring.pop().is_none());
        slot.publish();
        assert_eq!(times(&ring), [7]);
    }

    #[test]
    fn ring_builds_a_record_field_by_field_in_its_slot() {
        use crate::field::FieldValue;
        use crate::record::{Head, Raw};
        let bound = Arc::new(Fields::default());
        let ring = Ring::new(2);
        let head = Head {
            time: 5,
            level: Level::WARNING,
            logger: "t",
            location: None,
            bound: Some(Arc::clone(&bound)),
            context: None,
        };
        let mut slot = ring
            .claim()
            .expect("room")
            .fill_with(|s| Record::init_in(s, head));
        slot.capture_call(format_args!("m{}", 1), &[("k", FieldValue::Str("v"))]);
        slot.publish();
        let r = ring.pop().expect("published");
        assert_eq!((r.time, r.level, r.message()), (5, Level::WARNING, "m1"));
        let Raw::Str(v) = r.fields[0].1 else { panic!() };
        assert_eq!((r.key(r.fields[0].0), r.text(v)), ("k", "v"));
        drop(r);
        assert_eq!(Arc::strong_count(&bound), 1);
    }

    #[test]
    fn ring_refuses_an_initializer_that_returns_another_record() {
        let ring = Ring::new(2);
        let elsewhere = Box::into_raw(Box::new(record(1, None)));
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // SAFETY: `elsewhere` is a live, unaliased allocation until freed below.
            ring.claim()
                .expect("room")
                .fill_with(|_| unsafe { &mut *elsewhere });
        }));
        assert!(caught.is_err());
        // SAFETY: made by `Box::into_raw` above, and no reference to it is left.
        drop(unsafe { Box::from_raw(elsewhere) });
        assert!(ring.push(record(2, None)).is_ok());
        assert_eq!(times(&ring), [2]);
    }

    #[test]
    fn ring_skips_and_drops_a_capture_that_panicked() {
        let bound = Arc::new(Fields::default());
        let ring = Ring::new(4);
        assert!(ring.push(record(1, None)).is_ok());
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let claim = ring.claim().expect("room");
            let _slot = claim.fill(record(2, Some(Arc::clone(&bound))));
            panic!("a Display impl panicked");
        }));
        assert!(caught.is_err());
        // Dropped before it was filled: a dead placeholder.
        drop(ring.claim().expect("room"));
        assert!(ring.push(record(3, None)).is_ok());
        assert_eq!(times(&ring), [1, 3]);
        assert_eq!(Arc::strong_count(&bound), 1);
        assert!(ring.is_empty());
    }

    #[test]
    fn ring_drops_what_it_still_holds() {
        let bound = Arc::new(Fields::default());
        let ring = Ring::new(3);
        for t in 0..2 {
            assert!(ring.push(record(t, Some(Arc::clone(&bound)))).is_ok());
        }
        drop(ring);
        assert_eq!(Arc::strong_count(&bound), 1);
    }

    #[test]
    fn ring_hands_every_record_over_once_under_contention() {
        const PER: u64 = 40;
        let ring = Arc::new(Ring::new(5));
        let producers: Vec<_> = (0..2)
            .map(|p| {
                let ring = Arc::clone(&ring);
                std::thread::spawn(move || {
                    for i in 0..PER {
                        let mut r = record(p * 1000 + i, None);
                        loop {
                            match ring.claim() {
                                Some(c) => {
                                    let slot = c.fill(r);
                                    slot.publish();
                                    break;
                                }
                                None => std::thread::yield_now(),
                            }
                            r = record(p * 1000 + i, None);
                        }
                    }
                })
            })
            .collect();
        let mut seen = Vec::new();
        while seen.len() < 2 * PER as usize {
            match ring.pop() {
                Some(r) => seen.push(r.time),
                None => std::thread::yield_now(),
            }
        }
        for p in producers {
            p.join().expect("producer");
        }
        // Each producer's records arrive in its order.
        for p in 0..2 {
            let mine: Vec<u64> = seen.iter().copied().filter(|t| t / 1000 == p).collect();
            assert_eq!(mine, (0..PER).map(|i| p * 1000 + i).collect::<Vec<_>>());
        }
        assert!(ring.is_empty());
    }
}
