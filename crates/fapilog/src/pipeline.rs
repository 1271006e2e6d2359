//! The pipeline: its builder, its handle, the drain report and the global
//! pipeline set up by [`init`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::batch::BatchLimits;
use crate::encode::Format;
use crate::envelope::Info;
use crate::error::Error;
use crate::level::{Gate, Level};
use crate::logger::Logger;
use crate::metrics::{DropReason, Metrics, MetricsSnapshot};
use crate::queue::{Backpressure, Queue};
use crate::settings::Settings;
use crate::shared::{Control, Shared};
use crate::sinks::driver::{Driver, DriverClock, Spec};
use crate::sinks::{Route, Router, RoutingConfig, Sink, SinkHealth, SinkOptions};
use crate::stages::{
    Enricher, Filter, ManualClock, Processor, RedactionFailMode, Redactor, Stages,
};
use crate::worker::direct::DirectPlan;
use crate::worker::{self, Core};

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
    /// Each sink, with its own options (`None`: the settings' defaults).
    pub(crate) sinks: Vec<(Box<dyn Sink>, Option<SinkOptions>)>,
    pub(crate) routing: RoutingConfig,
    pub(crate) sink_clock: Option<ManualClock>,
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

    /// Adds a sink, delivered to with its default options. Without any,
    /// the pipeline writes JSON to stdout.
    pub fn sink(mut self, sink: impl Sink) -> Self {
        self.sinks.push((Box::new(sink), None));
        self
    }

    /// Adds a sink with delivery options of its own: buffer, `when_full`,
    /// retries, circuit breaker, fallback (see [`SinkOptions`]).
    pub fn sink_with(mut self, sink: impl Sink, options: SinkOptions) -> Self {
        self.sinks.push((Box::new(sink), Some(options)));
        self
    }

    /// Adds a routing rule (see [`Route`]). Rules are tried in order.
    pub fn route(mut self, route: Route) -> Self {
        self.routing.rules.push(route);
        self
    }

    /// With `true`, a line goes to the sinks of every rule it matches; with
    /// `false` (the default), to those of the first (fapilog's `overlap`).
    pub fn route_overlap(mut self, overlap: bool) -> Self {
        self.routing.overlap = overlap;
        self
    }

    /// Sinks that take the lines no rule matches (fapilog's `fallback_sinks`).
    pub fn route_fallback(mut self, sinks: &[&str]) -> Self {
        self.routing.fallback = sinks.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// Drives every sink's retries and circuit breaker by this clock instead
    /// of real time: a wait advances it instead of sleeping. For tests.
    pub fn sink_clock(mut self, clock: ManualClock) -> Self {
        self.sink_clock = Some(clock);
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
            routing,
            sink_clock,
            mut stages,
            fail_mode,
            backpressure,
            layers,
        } = self;
        let settings = layers.resolve(&settings)?;
        crate::panics::install_silencer();
        settings.install_stages(&mut stages)?;
        let c = &settings.core;
        if sinks.is_empty() {
            sinks = settings
                .open_sinks()?
                .into_iter()
                .map(|s| (s, None))
                .collect();
        }
        let mut names: Vec<String> = Vec::new();
        for (s, _) in &sinks {
            let n = s.name().to_owned();
            if names.contains(&n) {
                return Err(Error::DuplicateSink(n));
            }
            names.push(n);
        }
        // The builder's routes, else fapilog's `sink_routing.*` settings.
        let routing = if routing.rules.is_empty() && routing.fallback.is_empty() {
            settings.routing()
        } else {
            routing
        };
        let router = Router::new(&routing, &names)?;
        let from_settings = settings.sink_options();
        let mut fallbacks = Vec::with_capacity(sinks.len());
        let mut resolved = Vec::with_capacity(sinks.len());
        for (s, options) in &sinks {
            let options = match options {
                Some(o) => o.clone(),
                // A sink is never its own fallback.
                None if from_settings.fallback.as_deref() == Some(s.name()) => SinkOptions {
                    fallback: None,
                    ..from_settings.clone()
                },
                None => from_settings.clone(),
            };
            resolved.push(options.resolve(s.name(), s.when_full())?);
            fallbacks.push(match &options.fallback {
                None => None,
                Some(f) => {
                    Some(
                        names
                            .iter()
                            .position(|n| n == f)
                            .ok_or_else(|| Error::UnknownSink {
                                context: format!("the fallback of sink {:?}", s.name()),
                                sink: f.clone(),
                                known: names.join(", "),
                            })?,
                    )
                }
            });
        }
        for (s, _) in &mut sinks {
            s.start().map_err(|source| Error::SinkStart {
                sink: s.name().to_owned(),
                source,
            })?;
        }
        let mut formats: Vec<Format> = Vec::new();
        let clock = sink_clock.map_or(DriverClock::System, DriverClock::manual);
        let specs: Vec<Spec> = sinks
            .into_iter()
            .zip(resolved)
            .enumerate()
            .map(|(index, ((sink, _), options))| {
                let f = sink.format();
                let format = match formats.iter().position(|x| *x == f) {
                    Some(i) => i,
                    None => {
                        formats.push(f);
                        formats.len() - 1
                    }
                };
                Spec {
                    sink,
                    options,
                    format,
                    index,
                    clock: clock.clone(),
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
            metrics: Arc::new(Metrics::new(names)),
            gate: Arc::new(Gate::new(c.log_level)),
            control: Control::new(workers),
        });
        stages.attach(&shared.gate, &shared.metrics)?;
        let info = Info {
            service: settings.service.as_str().into(),
            env: settings.env.as_str().into(),
            version: settings.version.as_deref().map(Into::into),
            host: hostname().into(),
            pid: std::process::id(),
            include_location: c.include_location,
        };
        let direct = if router.as_ref().is_some_and(|r| r.reads_fields) {
            None
        } else {
            DirectPlan::new(&stages, &info, &formats, &shared.metrics)
        };
        let drivers = Driver::start_all(specs, fallbacks, &shared.metrics).map_err(Error::Spawn)?;
        let core = Arc::new(Core {
            info,
            direct,
            stages,
            sinks: drivers.iter().map(|d| Arc::clone(&d.channel)).collect(),
            router,
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
                    for sink in &core.sinks {
                        sink.close(Instant::now());
                    }
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
                drivers: Mutex::new(drivers),
                shutdown_timeout: Duration::from_secs_f64(c.shutdown_timeout_seconds),
                stopped: AtomicBool::new(false),
                report: Mutex::new(None),
                started: Instant::now(),
            }),
        })
    }
}

fn hostname() -> String {
    gethostname::gethostname()
        .into_string()
        .ok()
        .filter(|s| !s.is_empty())
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
    drivers: Mutex<Vec<Driver>>,
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
    /// Lines it gave up on and sent down the divert chain (fallback sink, stderr).
    pub diverted: u64,
    /// Lines lost for this sink (buffer full, left at the deadline, stderr over budget).
    pub dropped: u64,
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
    /// filtered, and no sink lost or diverted a line.
    pub fn is_complete(&self) -> bool {
        self.failed == 0
            && self.dropped_total() == 0
            && self.unflushed == 0
            && !self.timed_out
            && self.sinks.iter().all(|s| s.dropped == 0 && s.diverted == 0)
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
                    diverted: s.diverted_total(),
                    dropped: s.dropped_total(),
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
/// [`exit`]), it is shut down: the queue is drained and the sinks are
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
