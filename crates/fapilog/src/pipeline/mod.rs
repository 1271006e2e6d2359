//! The pipeline: its handle, its health, the drain report and the global
//! pipeline set up by [`init`]; its builder, [`PipelineBuilder`], has a
//! module of its own.

mod builder;

pub use builder::PipelineBuilder;

/// The sinks of a pipeline being built, each with its own options, if any.
pub(crate) type SinkList = Vec<crate::settings::OpenedSink>;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::level::Level;
use crate::logger::Logger;
use crate::metrics::{DropReason, MetricsSnapshot};
use crate::shared::Shared;
use crate::sinks::driver::Driver;
use crate::sinks::SinkHealth;

/// A running pipeline. Cheap to clone; when the last clone drops, the queue
/// is drained (bounded by the shutdown timeout) and anything that could not
/// be written is reported on stderr.
#[derive(Clone)]
pub struct Pipeline {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) shared: Arc<Shared>,
    handles: Mutex<Vec<JoinHandle<()>>>,
    drivers: Mutex<Vec<Driver>>,
    /// The level filter's handle, when the pipeline has one.
    pub(crate) levels: Option<crate::stages::filters::LevelHandle>,
    shutdown_timeout: Duration,
    stopped: AtomicBool,
    report: Mutex<Option<DrainReport>>,
    started: Instant,
}

/// Each sink's state, from [`Pipeline::health`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Health {
    /// Each sink's name and state, in sink order.
    pub sinks: Vec<(String, SinkHealth)>,
    /// Events in the queue now.
    pub queue_depth: usize,
    /// The queue's capacity.
    pub queue_capacity: usize,
    /// The pipeline has shut down.
    pub stopped: bool,
    /// Lines waiting in each sink's disk spool, for the sinks that have one
    /// (cargo feature `spool`), in sink order.
    pub spooled: Vec<(String, u64)>,
}

impl Health {
    /// `true` while the pipeline runs and every sink takes batches (none
    /// has its circuit breaker open or has stopped). A sink that is
    /// retrying still counts as ready.
    pub fn is_ready(&self) -> bool {
        !self.stopped
            && self
                .sinks
                .iter()
                .all(|(_, h)| matches!(h, SinkHealth::Healthy | SinkHealth::Retrying))
    }
}

/// What one sink's driver did, as the drain report tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SinkDrain {
    /// The sink's name.
    pub name: String,
    /// Lines it accepted.
    pub written: u64,
    /// Lines it gave up on that the divert chain took: its fallback sink
    /// or stderr. Lines stderr refused (over budget) are in `dropped`, so
    /// `written + diverted + dropped + spooled` counts each line once.
    pub diverted: u64,
    /// Lines lost for this sink (buffer full, left at the deadline, stderr
    /// over budget, refused or dropped by its spool's size policy).
    pub dropped: u64,
    /// Lines left in the sink's disk spool (cargo feature `spool`): kept on
    /// disk and delivered when a pipeline starts again on the same directory.
    pub spooled: u64,
    /// Its state at the end (`Stopped` unless it was stuck at the deadline).
    pub health: SinkHealth,
}

/// What a shutdown drained, and what it could not.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DrainReport {
    /// Log calls that passed the level gate.
    pub submitted: u64,
    /// Events at least one sink accepted.
    pub written: u64,
    /// Events no sink accepted (dropped or diverted to stderr by every sink).
    pub failed: u64,
    /// Events removed by filters.
    pub filtered: u64,
    /// Events dropped, by reason (non-zero only).
    pub dropped: Vec<(DropReason, u64)>,
    /// Events still queued or in flight when the timeout passed.
    pub unflushed: u64,
    /// What each sink's driver wrote, diverted and dropped.
    pub sinks: Vec<SinkDrain>,
    /// `true` when the workers did not finish within the timeout.
    pub timed_out: bool,
    /// Time the shutdown took.
    pub elapsed: Duration,
}

impl DrainReport {
    /// All drops.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.iter().map(|(_, n)| n).sum()
    }

    /// `true` when every submitted event was written or deliberately
    /// filtered, and no sink lost, diverted or left a line in its spool.
    pub fn is_complete(&self) -> bool {
        self.failed == 0
            && self.dropped_total() == 0
            && self.unflushed == 0
            && !self.timed_out
            && self
                .sinks
                .iter()
                .all(|s| s.dropped == 0 && s.diverted == 0 && s.spooled == 0)
    }
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("queue_depth", &self.inner.shared.queue.len())
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    /// A builder with every option at its default.
    pub fn builder() -> PipelineBuilder {
        PipelineBuilder::default()
    }

    /// A logger named `name` (names are interned: use a bounded set of them).
    pub fn logger(&self, name: &str) -> Logger {
        Logger::new(Arc::clone(&self.inner.shared), crate::logger::intern(name))
    }

    /// Changes the lowest level logged, at once, for every logger.
    ///
    /// With a level filter configured (per-logger overrides), this sets its
    /// global minimum, and the caller-side gate follows the lowest level any
    /// logger still accepts.
    pub fn set_level(&self, level: Level) {
        match self.levels() {
            Some(handle) => handle.set_global(level),
            None => self.inner.shared.gate.set_priority(level.priority()),
        }
    }

    /// Writes out everything logged before this call and flushes the sinks:
    /// returns once every sink's driver has written (or given up on) those
    /// lines and flushed its sink, or fails at `timeout`.
    pub fn flush(&self, timeout: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + timeout;
        if self.inner.shared.flush(timeout) && self.inner.flush_drivers(deadline) {
            Ok(())
        } else {
            Err(Error::FlushTimeout(timeout))
        }
    }

    /// Each sink's state, for readiness probes.
    ///
    /// ```
    /// use fapilog::sinks::SinkHealth;
    /// use fapilog::testing::CaptureSink;
    ///
    /// let pipeline = fapilog::Pipeline::builder().sink(CaptureSink::new().0).build()?;
    /// let health = pipeline.health();
    /// assert!(health.is_ready());
    /// assert_eq!(health.sinks, [("capture".to_string(), SinkHealth::Healthy)]);
    /// # Ok::<(), fapilog::Error>(())
    /// ```
    pub fn health(&self) -> Health {
        let s = &self.inner.shared;
        Health {
            sinks: s
                .metrics
                .sinks
                .iter()
                .map(|c| (c.name.clone(), c.health()))
                .collect(),
            queue_depth: s.queue.len(),
            queue_capacity: s.queue.capacity(),
            stopped: self.inner.stopped.load(Ordering::SeqCst),
            spooled: s
                .metrics
                .sinks
                .iter()
                .filter_map(|c| {
                    let spool = c.spool.as_ref()?;
                    Some((
                        c.name.clone(),
                        spool
                            .pending_lines
                            .load(std::sync::atomic::Ordering::Relaxed),
                    ))
                })
                .collect(),
        }
    }

    /// Stops accepting events, drains the queue for at most `timeout`, stops
    /// the sinks, and says what happened. Later calls return the same report.
    pub fn shutdown(&self, timeout: Duration) -> DrainReport {
        self.inner.shutdown(timeout)
    }

    /// A snapshot of the metrics.
    pub fn metrics(&self) -> MetricsSnapshot {
        let s = &self.inner.shared;
        s.metrics.snapshot(s.queue.len(), s.queue.capacity())
    }

    /// How long dropping the last handle may spend draining
    /// (`core.shutdown_timeout_seconds`): the bound to pass to
    /// [`Pipeline::shutdown`] and [`Pipeline::flush`] at exit.
    pub fn shutdown_timeout(&self) -> Duration {
        self.inner.shutdown_timeout
    }

    /// How long the pipeline has been running.
    pub fn uptime(&self) -> Duration {
        self.inner.started.elapsed()
    }
}

impl Inner {
    /// Asks every driver to write out what it holds and flush its sink;
    /// `true` when all answered by `deadline`.
    fn flush_drivers(&self, deadline: Instant) -> bool {
        let (all, fallbacks): (Vec<_>, Vec<_>) = {
            let drivers = match self.drivers.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            let all = drivers.iter().map(|d| Arc::clone(&d.channel)).collect();
            let fb = drivers
                .iter()
                .filter(|d| d.is_fallback)
                .map(|d| Arc::clone(&d.channel))
                .collect();
            (all, fb)
        };
        // Then once more the fallbacks, which may have received lines the
        // other drivers gave up on while they flushed.
        [all, fallbacks].iter().all(|round| {
            let acks: Vec<_> = round.iter().map(|c| c.flush()).collect();
            acks.iter().all(|a| a.wait(deadline))
        })
    }

    /// Waits for the drivers to drain and stop, until `deadline` (closing
    /// their channels first if the workers could not); `true` when they all did.
    fn stop_drivers(&self, deadline: Instant) -> bool {
        let mut drivers = match self.drivers.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        // A little grace past the deadline for a sink's final stop.
        let grace = deadline + Duration::from_millis(200);
        let mut all = true;
        // Fallbacks last: the others may still divert lines to them.
        for fallbacks in [false, true] {
            for d in drivers.iter().filter(|d| d.is_fallback == fallbacks) {
                d.channel.close(deadline);
            }
            for d in drivers.iter_mut().filter(|d| d.is_fallback == fallbacks) {
                all &= d.join(grace);
            }
        }
        all
    }

    fn shutdown(&self, timeout: Duration) -> DrainReport {
        let mut slot = match self.report.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if let Some(r) = slot.as_ref() {
            return r.clone();
        }
        let started = Instant::now();
        let finished = self.shared.shutdown(timeout);
        let drivers_stopped = self.stop_drivers(started + timeout);
        let finished = finished && drivers_stopped;
        if finished {
            let handles = match self.handles.lock() {
                Ok(mut g) => std::mem::take(&mut *g),
                Err(p) => std::mem::take(&mut *p.into_inner()),
            };
            for h in handles {
                let _ = h.join();
            }
        }
        self.stopped.store(true, Ordering::SeqCst);
        let m = self
            .shared
            .metrics
            .snapshot(self.shared.queue.len(), self.shared.queue.capacity());
        let dropped: Vec<(DropReason, u64)> = DropReason::ALL
            .iter()
            .map(|r| (*r, m.dropped_for(*r)))
            .filter(|(_, n)| *n > 0)
            .collect();
        let accounted = m.written + m.failed + m.filtered + m.dropped_total;
        let report = DrainReport {
            submitted: m.submitted,
            written: m.written,
            failed: m.failed,
            filtered: m.filtered,
            dropped,
            unflushed: m.submitted.saturating_sub(accounted),
            sinks: m
                .sinks
                .iter()
                .map(|s| SinkDrain {
                    name: s.name.clone(),
                    written: s.written,
                    diverted: s.diverted_to_fallback + s.diverted_to_stderr,
                    dropped: s.dropped_total() + s.spool.as_ref().map_or(0, |p| p.dropped_oldest),
                    spooled: s.spool.as_ref().map_or(0, |p| p.pending),
                    health: s.health,
                })
                .collect(),
            timed_out: !finished,
            elapsed: started.elapsed(),
        };
        *slot = Some(report.clone());
        // From now on a log call is a loss: say so once on stderr.
        self.shared.metrics.mark_shut_down();
        report
    }

    /// Shuts down within the configured timeout and says on stderr what
    /// could not be written, if anything.
    fn shutdown_and_report(&self) -> DrainReport {
        let r = self.shutdown(self.shutdown_timeout);
        if !r.is_complete() {
            let dropped: Vec<String> = r
                .dropped
                .iter()
                .map(|(reason, n)| format!("{}={n}", reason.as_str()))
                .collect();
            eprintln!(
                "fapilog: shutdown left events unwritten: submitted={} written={} failed={} dropped={} [{}] unflushed={} timed_out={}",
                r.submitted,
                r.written,
                r.failed,
                r.dropped_total(),
                dropped.join(" "),
                r.unflushed,
                r.timed_out
            );
        }
        r
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if self.stopped.load(Ordering::SeqCst) {
            return;
        }
        self.shutdown_and_report();
    }
}

/// The global pipeline: set once by [`init`], alive until the process ends.
static GLOBAL: OnceLock<Global> = OnceLock::new();

struct Global {
    pipeline: Pipeline,
    root: Logger,
}

/// The handle [`init`] returns. The global pipeline does not depend on it:
/// logging goes on after the guard is dropped, and the process exit drains
/// the queue (see [`init`]).
///
/// Dropping the guard flushes what was logged so far (bounded by
/// `core.shutdown_timeout_seconds`), so a guard dropped at the end of `main`
/// leaves nothing behind even where the process exit does not drain.
#[must_use = "dropping the guard flushes the global pipeline; keep it for the life of `main`"]
pub struct Guard {
    pipeline: &'static Pipeline,
}

impl Guard {
    /// The pipeline behind the global logger.
    pub fn pipeline(&self) -> &Pipeline {
        self.pipeline
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.pipeline.flush(self.pipeline.inner.shutdown_timeout);
    }
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("fapilog::Guard")
    }
}

/// Sets up the embedded default: a global pipeline writing v1.1 JSON
/// envelopes to stdout, configured from `FAPILOG_*` environment variables.
///
/// The macros without a logger argument (`fapilog::info!("…")`) log through
/// it. Call once, early in `main`.
///
/// The global pipeline lives until the process ends. When the process
/// exits normally (returning from `main`, [`std::process::exit`],
/// [`exit`](crate::exit)), it is shut down: the queue is drained and the sinks are
/// stopped, within `core.shutdown_timeout_seconds`, and whatever could not
/// be written is reported on stderr. (On Unix and Windows this runs as a C
/// `atexit` handler; it does not run on `kill -9`, on an abort, or when a
/// signal's default action ends the process: see [`install_panic_hook`] and
/// the `signals` module.) A log call after that shutdown is dropped,
/// counted, and reported once on stderr.
///
/// [`install_panic_hook`]: crate::install_panic_hook
///
/// ```no_run
/// fn main() -> Result<(), fapilog::Error> {
///     let _guard = fapilog::init()?;
///     fapilog::info!("service started", port = 8080);
///     Ok(())
/// }
/// ```
pub fn init() -> Result<Guard, Error> {
    init_with(Pipeline::builder().from_env()?)
}

/// Like [`init`], with a builder of your own.
pub fn init_with(builder: PipelineBuilder) -> Result<Guard, Error> {
    if GLOBAL.get().is_some() {
        return Err(Error::AlreadyInitialized);
    }
    let pipeline = builder.build()?;
    let root = pipeline.logger("root");
    GLOBAL
        .set(Global { pipeline, root })
        .map_err(|_| Error::AlreadyInitialized)?;
    let global = GLOBAL.get().ok_or(Error::AlreadyInitialized)?;
    crate::exit::drain_at_exit();
    Ok(Guard {
        pipeline: &global.pipeline,
    })
}

/// The global root logger, once [`init`] has run.
pub fn global() -> Option<&'static Logger> {
    GLOBAL.get().map(|g| &g.root)
}

/// A logger of the global pipeline named `name`, once [`init`] has run.
pub fn logger(name: &str) -> Option<Logger> {
    GLOBAL.get().map(|g| g.root.named(name))
}

/// Flushes the global pipeline, if there is one (bounded by its shutdown
/// timeout); `true` when there was nothing left to write.
pub(crate) fn flush_global() -> bool {
    match GLOBAL.get() {
        Some(g) => g.pipeline.flush(g.pipeline.inner.shutdown_timeout).is_ok(),
        None => true,
    }
}

/// Shuts the global pipeline down, if there is one (bounded by its shutdown
/// timeout), reporting on stderr what could not be written.
pub(crate) fn shutdown_global() -> Option<DrainReport> {
    GLOBAL.get().map(|g| g.pipeline.inner.shutdown_and_report())
}
