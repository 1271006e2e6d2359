//! What callers and workers share: the queue, the metrics, the level gate,
//! and the flush and shutdown hand-shakes between the pipeline handle and
//! the workers.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::level::Gate;
use crate::metrics::{DropReason, Metrics};
use crate::queue::Queue;

/// State shared by callers and workers.
pub(crate) struct Shared {
    pub(crate) queue: Queue,
    pub(crate) metrics: Arc<Metrics>,
    /// The caller-side level gate (loggers hold it too, for the hot path).
    pub(crate) gate: Arc<Gate>,
    pub(crate) control: Control,
}

/// Flush and shutdown hand-shakes between the pipeline handle and the workers.
pub(crate) struct Control {
    pub(crate) flush_requested: AtomicU64,
    pub(crate) acks: Vec<AtomicU64>,
    pub(crate) shutdown: AtomicBool,
    pub(crate) deadline: Mutex<Option<Instant>>,
    pub(crate) exited: AtomicUsize,
    pub(crate) lock: Mutex<()>,
    pub(crate) changed: Condvar,
    pub(crate) reported: Mutex<[[u64; DropReason::ALL.len()]; 7]>,
}

impl Control {
    pub(crate) fn new(workers: usize) -> Control {
        Control {
            flush_requested: AtomicU64::new(0),
            acks: (0..workers).map(|_| AtomicU64::new(0)).collect(),
            shutdown: AtomicBool::new(false),
            deadline: Mutex::new(None),
            exited: AtomicUsize::new(0),
            lock: Mutex::new(()),
            changed: Condvar::new(),
            reported: Mutex::new([[0; DropReason::ALL.len()]; 7]),
        }
    }

    pub(crate) fn notify(&self) {
        let _g = self.lock.lock();
        self.changed.notify_all();
    }

    /// Waits until `done()` or the deadline; `true` when done.
    fn wait_until(&self, deadline: Instant, done: impl Fn() -> bool) -> bool {
        let mut g = match self.lock.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        loop {
            if done() {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            let slice = (deadline - now).min(Duration::from_millis(5));
            g = match self.changed.wait_timeout(g, slice) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }
}

impl Shared {
    /// Asks every worker to drain the queue and flush its sinks; waits for it.
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let target = self.control.flush_requested.fetch_add(1, Ordering::SeqCst) + 1;
        self.queue.kick_workers();
        self.control.wait_until(deadline, || {
            self.control.exited.load(Ordering::SeqCst) == self.control.acks.len()
                || self
                    .control
                    .acks
                    .iter()
                    .all(|a| a.load(Ordering::SeqCst) >= target)
        })
    }

    /// Closes the queue, lets the workers drain until `timeout`, and waits
    /// for them to stop; `true` when they all stopped in time.
    pub(crate) fn shutdown(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        if let Ok(mut d) = self.control.deadline.lock() {
            d.get_or_insert(deadline);
        }
        self.control.shutdown.store(true, Ordering::SeqCst);
        self.queue.close();
        self.queue.kick_workers();
        // A little grace past the deadline for the final discard and sink stop.
        let n = self.control.acks.len();
        self.control
            .wait_until(deadline + Duration::from_millis(200), || {
                self.control.exited.load(Ordering::SeqCst) == n
            })
    }
}
