//! Async callers waiting for room in the queue.
//!
//! The worker wakes them all when it frees room. Their `Wait` deadlines are
//! kept by a small timer thread, started on first use, so a call gives up on
//! time even while the worker is stuck inside a slow sink.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::Waker;
use std::time::{Duration, Instant};

struct Waiter {
    waker: Waker,
    deadline: Option<Instant>,
}

#[derive(Default)]
pub(crate) struct AsyncWaiters {
    list: Mutex<Vec<Waiter>>,
    waiting: AtomicUsize,
    timer: Condvar,
    timer_started: AtomicBool,
    closed: AtomicBool,
}

impl AsyncWaiters {
    fn lock(&self) -> MutexGuard<'_, Vec<Waiter>> {
        match self.list.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Registers a waker; it is woken when room appears or its deadline passes.
    pub(crate) fn register(self: &Arc<Self>, waker: &Waker, deadline: Option<Instant>) {
        {
            let mut list = self.lock();
            list.push(Waiter {
                waker: waker.clone(),
                deadline,
            });
            self.waiting.store(list.len(), Ordering::SeqCst);
        }
        if deadline.is_some() {
            self.ensure_timer();
            self.timer.notify_one();
        }
    }

    fn ensure_timer(self: &Arc<Self>) {
        if self.timer_started.swap(true, Ordering::AcqRel) {
            return;
        }
        let me = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name("fapilog-async-timer".into())
            .spawn(move || me.run_timer());
        if spawned.is_err() {
            // Without a timer, deadlines are still checked whenever the
            // worker frees room; allow a later call to try again.
            self.timer_started.store(false, Ordering::Release);
        }
    }

    fn run_timer(&self) {
        let mut list = self.lock();
        loop {
            if self.closed.load(Ordering::Acquire) {
                return;
            }
            let now = Instant::now();
            let mut next: Option<Instant> = None;
            let mut i = 0;
            while i < list.len() {
                match list[i].deadline {
                    Some(d) if d <= now => {
                        list.swap_remove(i).waker.wake();
                    }
                    Some(d) => {
                        next = Some(next.map_or(d, |n| n.min(d)));
                        i += 1;
                    }
                    None => i += 1,
                }
            }
            self.waiting.store(list.len(), Ordering::SeqCst);
            let wait = next.map_or(Duration::from_millis(250), |d| {
                d.saturating_duration_since(now)
            });
            list = match self.timer.wait_timeout(list, wait) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }

    /// Wakes every waiter (room appeared, or the queue closed).
    pub(crate) fn wake_all(&self) {
        if self.waiting.load(Ordering::SeqCst) == 0 {
            return;
        }
        let drained: Vec<Waiter> = {
            let mut list = self.lock();
            self.waiting.store(0, Ordering::SeqCst);
            std::mem::take(&mut *list)
        };
        for w in drained {
            w.waker.wake();
        }
    }

    /// Stops the timer thread and wakes everyone.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.timer.notify_all();
        self.wake_all();
    }
}
