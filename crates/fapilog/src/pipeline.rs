//! The pipeline: its builder, its handle, the drain report and the global
//! pipeline set up by [`init`].

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::batch::BatchLimits;
use crate::encode::direct::DirectPlan;
use crate::encode::Format;
use crate::envelope::Info;
use crate::error::Error;
use crate::level::Level;
use crate::logger::Logger;
use crate::metrics::{DropReason, Metrics, MetricsSnapshot};
use crate::queue::{Backpressure, Queue};
use crate::settings::Settings;
use crate::sinks::Sink;
use crate::stages::{Enricher, Filter, Processor, RedactionFailMode, Redactor, Stages};
use crate::worker::{self, Control, Core, Shared, SinkSlot};

/// Builds a [`Pipeline`]. Every option has a default; `build` checks them all.
///
/// ```
/// use std::time::Duration;
/// use fapilog::{Backpressure, Level, Pipeline};
/// use fapilog::testing::CaptureSink;
///
/// let (sink, captured) = CaptureSink::new();
/// let pipeline = Pipeline::builder()
///     .service("api")
///     .level(Level::DEBUG)
///     .queue_capacity(4096)
///     .backpressure(Backpressure::Wait { timeout: Duration::from_millis(20) })
///     .sink(sink)
///     .build()
///     .expect("valid settings");
///
/// fapilog::info!(pipeline.logger("app"), "ready", port = 8080);
/// pipeline.flush(Duration::from_secs(5)).unwrap();
/// assert_eq!(captured.envelopes()[0]["log"]["data"]["port"], 8080);
///
/// let err = Pipeline::builder().queue_capacity(0).build().unwrap_err();
/// assert!(err.to_string().contains("core.max_queue_size"));
/// ```
#[must_use = "a builder does nothing until `build` is called"]
#[derive(Default)]
pub struct PipelineBuilder {
    pub(crate) settings: Settings,
    pub(crate) sinks: Vec<Box<dyn Sink>>,
    pub(crate) stages: Stages,
    pub(crate) fail_mode: Option<RedactionFailMode>,
    pub(crate) backpressure: Option<Backpressure>,
    /// Which settings the builder set, and the other sources to read.
    pub(crate) layers: crate::settings::Layers,
}

impl PipelineBuilder {
    /// Replaces all settings (options set later still apply on top). These
    /// are the builder's own values: every key of them outranks the
    /// environment, the file and the preset.
    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self.layers.touch_all();
        self
    }

    /// Reads the `FAPILOG_*` environment variables, the file `FAPILOG_CONFIG`
    /// names and the preset `FAPILOG_PRESET` names. Precedence, whatever the
    /// order of the calls: builder > environment > file > preset > default
    /// (see [`crate::settings`]). Fails at once when a variable is invalid.
    pub fn from_env(mut self) -> Result<Self, Error> {
        self.layers.env = true;
        self.layers.resolve(&self.settings)?;
        Ok(self)
    }

    /// Starts from a preset (it outranks `FAPILOG_PRESET` and the file's
    /// `preset`; every other source still overrides its keys).
    pub fn preset(mut self, preset: crate::settings::Preset) -> Self {
        self.layers.preset = Some(preset);
        self
    }

    /// Reads this TOML file (instead of the one `FAPILOG_CONFIG` names);
    /// its keys rank above the preset and below the environment.
    pub fn config_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.layers.file = Some(path.into());
        self
    }

    /// Lowest level logged (default INFO).
    pub fn level(mut self, level: Level) -> Self {
        self.settings.core.log_level = level;
        self.layers.touch("core.log_level");
        self
    }

    /// Capacity of the main queue in events (default 10000).
    pub fn queue_capacity(mut self, events: usize) -> Self {
        self.settings.core.max_queue_size = events;
        self.layers.touch("core.max_queue_size");
        self
    }

    /// Slots reserved for protected levels (default `max(100, capacity / 10)`).
    pub fn protected_queue_capacity(mut self, events: usize) -> Self {
        self.settings.core.protected_queue_size = Some(events);
        self.layers.touch("core.protected_queue_size");
        self
    }

    /// Levels that lower levels can never crowd out (default ERROR, CRITICAL).
    pub fn protected_levels(mut self, levels: &[Level]) -> Self {
        self.settings.core.protected_levels = levels.to_vec();
        self.layers.touch("core.protected_levels");
        self
    }

    /// What a log call does when the queue is full (default `Wait { 50ms }`).
    pub fn backpressure(mut self, policy: Backpressure) -> Self {
        self.backpressure = Some(policy);
        self
    }

    /// Events per batch (default 256).
    pub fn batch_max_events(mut self, events: usize) -> Self {
        self.settings.core.batch_max_size = events;
        self.layers.touch("core.batch_max_size");
        self
    }

    /// Encoded bytes per batch (default 1 MiB).
    pub fn batch_max_bytes(mut self, bytes: usize) -> Self {
        self.settings.core.batch_max_bytes = bytes;
        self.layers.touch("core.batch_max_bytes");
        self
    }

    /// Longest an event waits in a batch (default 250 ms).
    pub fn batch_max_age(mut self, age: Duration) -> Self {
        self.settings.core.batch_timeout_seconds = age.as_secs_f64();
        self.layers.touch("core.batch_timeout_seconds");
        self
    }

    /// Worker threads (default 1). The queue is split into one shard per
    /// worker and each thread logs into one shard, so a thread's lines keep
    /// their call order; one thread alone can fill only its shard
    /// (see [`crate::queue`]).
    pub fn workers(mut self, n: usize) -> Self {
        self.settings.core.worker_count = n;
        self.layers.touch("core.worker_count");
        self
    }

    /// `diagnostics.service`.
    pub fn service(mut self, name: impl Into<String>) -> Self {
        self.settings.service = name.into();
        self.layers.touch("service");
        self
    }

    /// `diagnostics.env`.
    pub fn env(mut self, env: impl Into<String>) -> Self {
        self.settings.env = env.into();
        self.layers.touch("env");
        self
    }

    /// `diagnostics.version`.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.settings.version = Some(version.into());
        self.layers.touch("version");
        self
    }

    /// How long dropping the last handle may spend draining (default 3 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.settings.core.shutdown_timeout_seconds = timeout.as_secs_f64();
        self.layers.touch("core.shutdown_timeout_seconds");
        self
    }

    /// Write each call site as `diagnostics.location` (`file`, `line`,
    /// `module`) when the call has one (default off: it adds about 60 bytes
    /// and one allocation per event).
    pub fn include_location(mut self, on: bool) -> Self {
        self.settings.core.include_location = on;
        self.layers.touch("core.include_location");
        self
    }

    /// Shortest interval between two in-band `logs dropped` reports (default 1 s).
    pub fn drop_summary_interval(mut self, interval: Duration) -> Self {
        self.settings.core.drop_summary_window_seconds = interval.as_secs_f64();
        self.layers.touch("core.drop_summary_window_seconds");
        self
    }

    /// Adds a sink. Without any, the pipeline writes JSON to stdout.
    pub fn sink(mut self, sink: impl Sink) -> Self {
        self.sinks.push(Box::new(sink));
        self
    }

    /// Adds a filter (runs first).
    pub fn filter(mut self, f: impl Filter) -> Self {
        self.stages.filters.push(Box::new(f));
        self
    }

    /// Adds an enricher.
    pub fn enricher(mut self, e: impl Enricher) -> Self {
        self.stages.enrichers.push(Box::new(e));
        self
    }

    /// Adds a redactor.
    pub fn redactor(mut self, r: impl Redactor) -> Self {
        self.stages.redactors.push(Box::new(r));
        self
    }

    /// Adds a processor (runs last).
    pub fn processor(mut self, p: impl Processor) -> Self {
        self.stages.processors.push(Box::new(p));
        self
    }

    /// What a failing redactor does to its event (default closed: withheld).
    pub fn redaction_fail_mode(mut self, mode: RedactionFailMode) -> Self {
        self.fail_mode = Some(mode);
        self
    }

    /// Checks the settings, starts the sinks and the workers.
    pub fn build(self) -> Result<Pipeline, Error> {
        let PipelineBuilder {
            settings,
            mut sinks,
            mut stages,
            fail_mode,
            backpressure,
            layers,
        } = self;
        let settings = layers.resolve(&settings)?;
        settings.install_stages(&mut stages)?;
        let c = &settings.core;
        if sinks.is_empty() {
            sinks = settings.open_sinks()?;
        }
        let mut names: Vec<String> = Vec::new();
        for s in &sinks {
            let n = s.name().to_owned();
            if names.contains(&n) {
                return Err(Error::DuplicateSink(n));
            }
            names.push(n);
        }
        for s in &mut sinks {
            s.start().map_err(|source| Error::SinkStart {
                sink: s.name().to_owned(),
                source,
            })?;
        }
        let mut formats: Vec<Format> = Vec::new();
        let slots = sinks
            .into_iter()
            .map(|s| {
                let f = s.format();
                let idx = match formats.iter().position(|x| *x == f) {
                    Some(i) => i,
                    None => {
                        formats.push(f);
                        formats.len() - 1
                    }
                };
                SinkSlot {
                    sink: Mutex::new(s),
                    format: idx,
                }
            })
            .collect();
        stages.fail_mode = fail_mode.unwrap_or_else(|| settings.fail_mode());

        let workers = c.worker_count;
        let limits = BatchLimits {
            max_events: c.batch_max_size,
            max_bytes: c.batch_max_bytes,
            max_age: Duration::from_secs_f64(c.batch_timeout_seconds),
        };
        let policy = backpressure.unwrap_or_else(|| settings.backpressure());
        // Producers wake a parked worker only when the queue is half full: the
        // worker polls on its own every millisecond while traffic is recent.
        let wake_threshold = (c.max_queue_size / 2).max(1);
        let shared = Arc::new(Shared {
            queue: Queue::new(
                c.max_queue_size,
                settings.protected_queue_size(),
                &c.protected_levels,
                policy,
                wake_threshold,
                workers,
            ),
            metrics: Metrics::new(names),
            min_level: AtomicU8::new(c.log_level.priority()),
            control: Control::new(workers),
        });
        stages.attach(&shared)?;
        let info = Info {
            service: settings.service.as_str().into(),
            env: settings.env.as_str().into(),
            version: settings.version.as_deref().map(Into::into),
            host: hostname().into(),
            pid: std::process::id(),
            include_location: c.include_location,
        };
        let direct = DirectPlan::new(&stages, &info, &formats, &shared.metrics);
        let core = Arc::new(Core {
            info,
            direct,
            stages,
            sinks: slots,
            formats,
            limits,
            trace_name: settings.trace_name(),
            drop_summary_interval: Duration::from_secs_f64(c.drop_summary_window_seconds),
        });
        let mut handles = Vec::with_capacity(workers);
        for id in 0..workers {
            match worker::spawn(id, Arc::clone(&shared), Arc::clone(&core)) {
                Ok(h) => handles.push(h),
                Err(e) => {
                    shared.queue.set_workers(
                        handles
                            .iter()
                            .map(|h: &JoinHandle<()>| h.thread().clone())
                            .collect(),
                    );
                    shared.shutdown(Duration::from_millis(100));
                    return Err(Error::Spawn(e));
                }
            }
        }
        shared
            .queue
            .set_workers(handles.iter().map(|h| h.thread().clone()).collect());
        Ok(Pipeline {
            inner: Arc::new(Inner {
                shared,
                handles: Mutex::new(handles),
                shutdown_timeout: Duration::from_secs_f64(c.shutdown_timeout_seconds),
                stopped: AtomicBool::new(false),
                report: Mutex::new(None),
                started: Instant::now(),
            }),
        })
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "unknown".to_owned())
}

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
    shutdown_timeout: Duration,
    stopped: AtomicBool,
    report: Mutex<Option<DrainReport>>,
    started: Instant,
}

/// What a shutdown drained, and what it could not.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DrainReport {
    /// Log calls that passed the level gate.
    pub submitted: u64,
    /// Events every sink accepted.
    pub written: u64,
    /// Events at least one sink failed to write (sent to the stderr fallback).
    pub failed: u64,
    /// Events removed by filters.
    pub filtered: u64,
    /// Events dropped, by reason (non-zero only).
    pub dropped: Vec<(DropReason, u64)>,
    /// Events still queued or in flight when the timeout passed.
    pub unflushed: u64,
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

    /// `true` when every submitted event was written or deliberately filtered.
    pub fn is_complete(&self) -> bool {
        self.failed == 0 && self.dropped_total() == 0 && self.unflushed == 0 && !self.timed_out
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
            None => self
                .inner
                .shared
                .min_level
                .store(level.priority(), Ordering::Relaxed),
        }
    }

    /// Writes out everything logged before this call and flushes the sinks.
    pub fn flush(&self, timeout: Duration) -> Result<(), Error> {
        if self.inner.shared.flush(timeout) {
            Ok(())
        } else {
            Err(Error::FlushTimeout(timeout))
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

    /// How long the pipeline has been running.
    pub fn uptime(&self) -> Duration {
        self.inner.started.elapsed()
    }
}

impl Inner {
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
            timed_out: !finished,
            elapsed: started.elapsed(),
        };
        *slot = Some(report.clone());
        report
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if self.stopped.load(Ordering::SeqCst) {
            return;
        }
        let r = self.shutdown(self.shutdown_timeout);
        if !r.is_complete() {
            eprintln!(
                "fapilog: shutdown left events unwritten: submitted={} written={} failed={} dropped={} unflushed={} timed_out={}",
                r.submitted,
                r.written,
                r.failed,
                r.dropped_total(),
                r.unflushed,
                r.timed_out
            );
        }
    }
}

static GLOBAL: OnceLock<Logger> = OnceLock::new();

/// Keeps the global pipeline running; dropping it drains the queue (bounded
/// by `core.shutdown_timeout_seconds`) and reports on stderr anything that
/// could not be written.
#[must_use = "dropping the guard shuts the global pipeline down"]
pub struct Guard {
    pipeline: Pipeline,
}

impl Guard {
    /// The pipeline behind the global logger.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
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
/// it. Call once, early in `main`, and keep the guard alive.
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
    GLOBAL
        .set(pipeline.logger("root"))
        .map_err(|_| Error::AlreadyInitialized)?;
    Ok(Guard { pipeline })
}

/// The global root logger, once [`init`] has run.
pub fn global() -> Option<&'static Logger> {
    GLOBAL.get()
}

/// A logger of the global pipeline named `name`, once [`init`] has run.
pub fn logger(name: &str) -> Option<Logger> {
    GLOBAL.get().map(|l| l.named(name))
}
