//! The clock that windowed stages (rate limit, dedupe, adaptive sampling)
//! read: injectable, so tests step time instead of sleeping.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Monotonic time for stages: the time elapsed since an arbitrary origin.
pub trait StageClock: Send + Sync + 'static {
    /// Time since this clock's origin; never goes backwards.
    fn now(&self) -> Duration;
}

/// The real monotonic clock ([`Instant`]).
#[derive(Clone, Copy, Debug)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// A clock whose origin is now.
    pub fn new() -> SystemClock {
        SystemClock {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock::new()
    }
}

impl StageClock for SystemClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A clock that moves only when told to: for deterministic tests.
///
/// Clones share the same time.
///
/// ```
/// use std::time::Duration;
/// use fapilog::stages::{ManualClock, StageClock};
/// let clock = ManualClock::new();
/// clock.advance(Duration::from_secs(2));
/// assert_eq!(clock.now(), Duration::from_secs(2));
/// ```
#[derive(Clone, Debug, Default)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock at zero.
    pub fn new() -> ManualClock {
        ManualClock::default()
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let n = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_add(n, Ordering::SeqCst);
    }

    /// Sets the clock to `to` (it may go backwards; stages treat that as no time passing).
    pub fn set(&self, to: Duration) {
        let n = u64::try_from(to.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.store(n, Ordering::SeqCst);
    }
}

impl StageClock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
}

/// A shared clock handle as the built-ins hold it.
pub(crate) type SharedClock = Arc<dyn StageClock>;

/// The default clock for built-ins.
pub(crate) fn system() -> SharedClock {
    Arc::new(SystemClock::new())
}
