//! The pipeline's builder: every option, checked by `build`, which starts
//! the sink drivers and the workers.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::batch::BatchLimits;
use crate::encode::Format;
use crate::envelope::Info;
use crate::level::{Gate, Level};
use crate::metrics::Metrics;
use crate::queue::{Backpressure, Queue};
use crate::settings::Settings;
use crate::shared::{Control, Shared};
use crate::sinks::driver::{Driver, DriverClock, Spec};
use crate::sinks::{Route, Router, RoutingConfig, Sink, SinkOptions, WhenFull};
use crate::stages::{
    Enricher, Filter, ManualClock, Processor, RedactionFailMode, Redactor, Stages,
};
use crate::worker::direct::DirectPlan;
use crate::worker::{self, Core};

use crate::error::Error;
use crate::stages::filters::{LevelFilter, LevelOverrides};
use crate::stages::redactors::{redaction_for, FieldMaskConfig, RedactionPreset, RegexMaskConfig};
use crate::stages::settings::StageSettings;

use super::{Inner, Pipeline};

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
    pub(crate) sinks: super::SinkList,
    pub(crate) routing: RoutingConfig,
    pub(crate) sink_clock: Option<ManualClock>,
    /// Opens the network sinks `core.sinks` names.
    pub(crate) factories: Vec<Box<dyn crate::SinkFactory>>,
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

    /// Opens the network sinks `core.sinks` names (`loki`, `http`,
    /// `postgres`…) from the settings, when no sink is added in code:
    /// `fapilog_sinks::factory()` is the one for the fapilog-sinks crate.
    /// Factories registered later win for a name two of them open.
    pub fn sink_factory(mut self, factory: impl crate::SinkFactory) -> Self {
        self.factories.insert(0, Box::new(factory));
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
            factories,
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
            sinks = settings.open_sinks_with(&factories)?;
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
        // A sole sink has nothing to be protected from: a full buffer blocks,
        // and the callers' backpressure policy decides (see `WhenFull`).
        let sole = sinks.len() == 1;
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
            resolved.push(
                options.resolve(s.name(), if sole { WhenFull::Block } else { s.when_full() })?,
            );
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
        let mut spools = open_spools(&sinks, &resolved)?;
        for (s, _) in &mut sinks {
            s.start().map_err(|source| Error::SinkStart {
                sink: s.name().to_owned(),
                source,
            })?;
        }
        let spool_stats = spool_counters(&spools);
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
                    spool: spools[index].take(),
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
            metrics: Arc::new(Metrics::new(names).with_spools(spool_stats)),
            gate: Arc::new(Gate::new(c.log_level)),
            control: Control::new(workers),
        });
        stages.attach(&shared.gate)?;
        let levels = stages.level_handle();
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
                levels,
                shutdown_timeout: Duration::from_secs_f64(c.shutdown_timeout_seconds),
                stopped: AtomicBool::new(false),
                report: Mutex::new(None),
                started: Instant::now(),
            }),
        })
    }
}

fn hostname() -> String {
    hostname::get()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

impl PipelineBuilder {
    /// Adds a redaction preset ([`crate::stages::redactors::presets`]). Presets
    /// compose: every preset added is merged into one field mask and one
    /// regex mask, which run before the other redactors.
    ///
    /// ```
    /// use fapilog::stages::redactors::presets::{CREDENTIALS, PCI_DSS};
    /// let builder = fapilog::Pipeline::builder()
    ///     .redaction_preset(&CREDENTIALS)
    ///     .redaction_preset(&PCI_DSS);
    /// # drop(builder);
    /// ```
    pub fn redaction_preset(mut self, preset: &'static RedactionPreset) -> Self {
        if !self.stages.presets.iter().any(|p| std::ptr::eq(*p, preset)) {
            self.stages.presets.push(preset);
        }
        match redaction_for(
            &self.stages.presets,
            &FieldMaskConfig::default(),
            &RegexMaskConfig::default(),
        ) {
            Ok((fm, rm)) => {
                self.stages.preset_redactors = vec![Box::new(fm), Box::new(rm)];
            }
            Err(e) => self.stages.error = Some(e),
        }
        self
    }

    /// Adds the stages described by `settings` (after any added so far, in
    /// each kind's order). Invalid names or values fail here, naming the key.
    pub fn stage_settings(mut self, settings: &StageSettings) -> Result<Self, Error> {
        let built = settings.build()?;
        self.stages.filters.extend(built.filters);
        self.stages.enrichers.extend(built.enrichers);
        self.stages.redactors.extend(built.redactors);
        self.stages.processors.extend(built.processors);
        if let Some(h) = built.level {
            self.stages.levels.push(h);
        }
        Ok(self)
    }

    /// Adds a level filter whose handle steers the caller-side level gate
    /// (so an override below the global level takes effect). Change its
    /// levels later through [`Pipeline::levels`] or [`LevelFilter::handle`].
    pub fn level_filter(mut self, filter: LevelFilter) -> Self {
        self.stages.levels.push(filter.handle());
        self.stages.filters.push(Box::new(filter));
        self
    }

    /// Adds a level filter with per-logger overrides: `"app.db=debug,hyper=warning"`
    /// (a bare level, as in `"info,app.db=debug"`, sets the global minimum;
    /// otherwise it is `core.log_level`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use fapilog::testing::CaptureSink;
    ///
    /// let (sink, captured) = CaptureSink::new();
    /// let pipeline = fapilog::Pipeline::builder()
    ///     .level_overrides("warning,app.db=debug")?
    ///     .sink(sink)
    ///     .build()?;
    /// fapilog::debug!(pipeline.logger("app.db"), "query");
    /// fapilog::info!(pipeline.logger("app"), "hidden");
    /// // Level changes apply to what the worker processes after them.
    /// pipeline.flush(Duration::from_secs(5))?;
    /// pipeline.levels().unwrap().set_override("app", fapilog::Level::INFO);
    /// fapilog::info!(pipeline.logger("app"), "shown");
    /// pipeline.flush(Duration::from_secs(5))?;
    /// assert_eq!(captured.messages(), ["query", "shown"]);
    /// # Ok::<(), fapilog::Error>(())
    /// ```
    pub fn level_overrides(self, spec: &str) -> Result<Self, Error> {
        let (global, o) = LevelOverrides::parse(spec)?;
        let mut f = LevelFilter::new(global.unwrap_or(self.settings.core.log_level));
        for (logger, level) in o.0 {
            f = f.with_override(&logger, level);
        }
        Ok(self.level_filter(f))
    }
}

/// Opens (and recovers) the spool of every sink that has one, failing
/// fast when another process holds a spool directory.
#[cfg(feature = "spool")]
fn open_spools(
    sinks: &super::SinkList,
    resolved: &[crate::sinks::options::Resolved],
) -> Result<Vec<Option<crate::sinks::driver::Spool>>, Error> {
    use crate::spool::{OpenError, Spool};
    sinks
        .iter()
        .zip(resolved)
        .map(|((s, _), r)| {
            let Some(options) = &r.spool else {
                return Ok(None);
            };
            let dir = options.sink_dir(s.name());
            let stats = Arc::new(crate::metrics::spool::SpoolCounters::default());
            Spool::open_dir(&dir, options, stats)
                .map(Some)
                .map_err(|e| match e {
                    OpenError::Locked(d) => Error::SpoolLocked {
                        sink: s.name().to_owned(),
                        directory: d.display().to_string(),
                    },
                    OpenError::Io(d, source) => Error::SpoolOpen {
                        sink: s.name().to_owned(),
                        directory: d.display().to_string(),
                        source,
                    },
                })
        })
        .collect()
}

#[cfg(not(feature = "spool"))]
fn open_spools(
    sinks: &super::SinkList,
    _: &[crate::sinks::options::Resolved],
) -> Result<Vec<Option<crate::sinks::driver::Spool>>, Error> {
    Ok(sinks.iter().map(|_| None).collect())
}

/// The counters of each sink's spool, for the metrics.
#[cfg(feature = "spool")]
fn spool_counters(
    spools: &[Option<crate::sinks::driver::Spool>],
) -> Vec<Option<Arc<crate::metrics::spool::SpoolCounters>>> {
    spools
        .iter()
        .map(|s| s.as_ref().map(|s| Arc::clone(&s.stats)))
        .collect()
}

#[cfg(not(feature = "spool"))]
fn spool_counters(
    spools: &[Option<crate::sinks::driver::Spool>],
) -> Vec<Option<Arc<crate::metrics::spool::SpoolCounters>>> {
    spools.iter().map(|_| None).collect()
}
