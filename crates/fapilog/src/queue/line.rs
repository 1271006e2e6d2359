//! The line of producer threads parked on a full shard, served in arrival
//! order.
//!
//! A producer that finds no room takes a ticket and parks. Room goes to the
//! line in ticket order: a producer tries the queue only when it is at the
//! front, or when there is room for everyone ahead of it too (so a front
//! that is slow to be scheduled does not hold up the rest). The worker
//! unparks as many producers from the front as it freed room for; one that
//! leaves the front unparks the next. A newcomer sees a non-empty line (one
//! relaxed load on the caller's path) and queues up behind it instead of
//! taking the room the line waits for.
//!
//! No wake-up is lost: a producer publishes itself in [`Line::len`] (a
//! `SeqCst` store) before it tries the queue, and the worker frees room
//! before it reads `len` behind a `SeqCst` fence, so either the producer
//! sees the room or the worker sees the producer and unparks it (an unpark
//! that comes before the park makes the park return at once).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::thread::Thread;

/// The ticket of nobody: the front of an empty line.
const NOBODY: u64 = u64::MAX;

struct Waiter {
    ticket: u64,
    thread: Thread,
    protected: bool,
}

#[derive(Default)]
struct State {
    next: u64,
    waiting: VecDeque<Waiter>,
}

pub(crate) struct Line {
    state: Mutex<State>,
    /// Producers in line.
    len: AtomicUsize,
    /// Producers in line with a protected event.
    protected: AtomicUsize,
    /// The ticket at the front.
    front: AtomicU64,
}

impl Default for Line {
    fn default() -> Line {
        Line {
            state: Mutex::default(),
            len: AtomicUsize::new(0),
            protected: AtomicUsize::new(0),
            front: AtomicU64::new(NOBODY),
        }
    }
}

impl Line {
    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// `true` when nobody is parked: the caller's fast-path check.
    #[inline(always)]
    pub(crate) fn is_empty(&self) -> bool {
        self.len.load(Ordering::Relaxed) == 0
    }

    /// Producers in line.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::SeqCst)
    }

    /// Producers in line with a protected event.
    pub(crate) fn protected_waiting(&self) -> usize {
        self.protected.load(Ordering::Relaxed)
    }

    /// Joins the back of the line; returns the ticket to leave with.
    pub(crate) fn join(&self, protected: bool) -> u64 {
        let mut st = self.lock();
        let ticket = st.next;
        st.next += 1;
        st.waiting.push_back(Waiter {
            ticket,
            thread: std::thread::current(),
            protected,
        });
        if protected {
            self.protected.fetch_add(1, Ordering::SeqCst);
        }
        self.len.store(st.waiting.len(), Ordering::SeqCst);
        self.publish_front(&st);
        ticket
    }

    /// `true` when `ticket` is at the front: its turn to try the queue.
    #[cfg(test)]
    pub(crate) fn is_front(&self, ticket: u64) -> bool {
        self.front.load(Ordering::Acquire) == ticket
    }

    /// How many producers are ahead of `ticket` (0 at the front).
    pub(crate) fn ahead_of(&self, ticket: u64) -> usize {
        if self.front.load(Ordering::Acquire) == ticket {
            return 0;
        }
        let st = self.lock();
        st.waiting
            .iter()
            .position(|w| w.ticket == ticket)
            .unwrap_or(0)
    }

    /// Leaves the line (got in, timed out or shut out); the next one in
    /// line, if this was the front, is unparked to try its turn.
    pub(crate) fn leave(&self, ticket: u64) {
        let mut st = self.lock();
        let Some(at) = st.waiting.iter().position(|w| w.ticket == ticket) else {
            return;
        };
        if let Some(w) = st.waiting.remove(at) {
            if w.protected {
                self.protected.fetch_sub(1, Ordering::SeqCst);
            }
        }
        self.len.store(st.waiting.len(), Ordering::SeqCst);
        self.publish_front(&st);
        if at == 0 {
            if let Some(next) = st.waiting.front() {
                next.thread.unpark();
            }
        }
    }

    fn publish_front(&self, st: &State) {
        let front = st.waiting.front().map_or(NOBODY, |w| w.ticket);
        self.front.store(front, Ordering::Release);
    }

    /// Room appeared for `room` events: unparks that many producers from
    /// the front of the line (the caller freed the room before a `SeqCst`
    /// fence).
    pub(crate) fn wake_first(&self, room: usize) {
        if self.len.load(Ordering::SeqCst) == 0 {
            return;
        }
        for w in self.lock().waiting.iter().take(room.max(1)) {
            w.thread.unpark();
        }
    }

    /// Unparks everyone (the queue closed).
    pub(crate) fn wake_all(&self) {
        for w in &self.lock().waiting {
            w.thread.unpark();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_serves_tickets_in_arrival_order_and_skips_those_who_left() {
        let line = Line::default();
        assert!(line.is_empty());
        let a = line.join(false);
        let b = line.join(true);
        let c = line.join(false);
        assert_eq!(line.protected_waiting(), 1);
        assert!(line.is_front(a) && !line.is_front(b));
        assert_eq!(
            (line.ahead_of(a), line.ahead_of(b), line.ahead_of(c)),
            (0, 1, 2)
        );
        // A waiter in the middle gives up: the front does not change.
        line.leave(b);
        assert_eq!(line.protected_waiting(), 0);
        assert!(line.is_front(a));
        line.leave(a);
        assert!(line.is_front(c));
        line.leave(c);
        assert!(line.is_empty());
        assert!(!line.is_front(c));
    }
}
