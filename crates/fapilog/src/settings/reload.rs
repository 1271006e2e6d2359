//! Changes a running pipeline can take without a restart, from code or by
//! reloading the configuration file.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use super::keys;
use super::load::Loader;
use super::Settings;
use crate::error::Error;
use crate::level::Level;
use crate::pipeline::Pipeline;

/// Keys a running pipeline applies at once; every other change waits for a
/// restart (and is listed as such by [`Reloader::apply`]).
/// `filter_config.level.*` (the level filter's global minimum and per-logger
/// overrides) is live when the pipeline runs a level filter. Sampling rates
/// are not live in this version: the sampling filters have no run-time
/// handle yet, so a changed `filter_config.sampling` is reported as needing
/// a restart.
pub const LIVE_KEYS: [&str; 2] = ["core.log_level", "filter_config.level"];

/// What a reload did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReloadReport {
    /// Keys applied to the running pipeline, with their new values.
    pub applied: Vec<(&'static str, String)>,
    /// Keys whose new value takes effect only after a restart.
    pub needs_restart: Vec<&'static str>,
}

impl ReloadReport {
    /// `true` when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.applied.is_empty() && self.needs_restart.is_empty()
    }
}

type MakeLoader = Arc<dyn Fn() -> Loader + Send + Sync>;

/// The handle an application keeps to change a running pipeline: the level
/// now, and the configuration file's live keys whenever it changes.
///
/// ```
/// use fapilog::settings::{Loader, Reloader, Settings};
/// use fapilog::{Level, Pipeline};
///
/// let (sink, _captured) = fapilog::testing::CaptureSink::new();
/// let settings = Settings::default();
/// let pipeline = Pipeline::builder().settings(settings.clone()).sink(sink).build()?;
/// let mut handle = Reloader::new(&pipeline, settings);
/// handle.set_level(Level::DEBUG);
/// assert_eq!(handle.level(), Level::DEBUG);
///
/// // New settings: live keys are applied, the others reported.
/// let next = Loader::new()
///     .env_vars([("FAPILOG_CORE__LOG_LEVEL", "ERROR"), ("FAPILOG_CORE__WORKER_COUNT", "4")])
///     .load()?;
/// let report = handle.apply(next);
/// assert_eq!(report.applied, vec![("core.log_level", "ERROR".to_owned())]);
/// assert_eq!(report.needs_restart, vec!["core.worker_count"]);
/// # Ok::<(), fapilog::Error>(())
/// ```
pub struct Reloader {
    pipeline: Pipeline,
    current: Settings,
    loader: MakeLoader,
    file: Option<PathBuf>,
    seen: Option<SystemTime>,
}

impl std::fmt::Debug for Reloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reloader")
            .field("file", &self.file)
            .field("level", &self.current.core.log_level)
            .finish_non_exhaustive()
    }
}

impl Reloader {
    /// A handle on `pipeline`, which was built from `settings`.
    pub fn new(pipeline: &Pipeline, settings: Settings) -> Reloader {
        Reloader {
            pipeline: pipeline.clone(),
            current: settings,
            loader: Arc::new(|| Loader::new().process_env()),
            file: None,
            seen: None,
        }
    }

    /// Reloads from this TOML file (plus the process environment, which
    /// still wins over it) in [`Reloader::reload`] and
    /// [`Reloader::reload_if_changed`].
    pub fn with_file(mut self, path: impl Into<PathBuf>) -> Reloader {
        let path = path.into();
        self.seen = modified(&path);
        let p = path.clone();
        self.loader = Arc::new(move || Loader::new().file(&p).process_env());
        self.file = Some(path);
        self
    }

    /// Reloads with the settings `make` resolves (for tests and custom sources).
    pub fn with_loader(mut self, make: impl Fn() -> Loader + Send + Sync + 'static) -> Reloader {
        self.loader = Arc::new(make);
        self
    }

    /// The settings in force (live keys as last applied).
    pub fn settings(&self) -> &Settings {
        &self.current
    }

    /// The lowest level logged now.
    pub fn level(&self) -> Level {
        self.current.core.log_level
    }

    /// Changes the lowest level logged, at once, for every logger without
    /// an override.
    pub fn set_level(&mut self, level: Level) {
        self.current.core.log_level = level;
        self.push_level();
    }

    /// Sets the lowest level for `logger` and its dotted children
    /// (`app.db` covers `app.db.pool`). Needs a level filter in the pipeline
    /// (`core.filters = ["level"]` or `PipelineBuilder::level_overrides`).
    pub fn set_logger_level(&mut self, logger: &str, level: Level) -> Result<(), Error> {
        let h = self.pipeline.levels().ok_or_else(|| Error::InvalidSetting {
            key: "filter_config.level.overrides".to_owned(),
            value: format!("{logger}={}", level.name()),
            expected: "a pipeline with the `level` filter (core.filters = [\"level\"] or PipelineBuilder::level_overrides)".to_owned(),
        })?;
        h.set_override(logger, level);
        self.current
            .stages
            .filter_config
            .level
            .overrides
            .0
            .insert(logger.to_owned(), level);
        Ok(())
    }

    /// The level filter's handle takes the global level when there is one
    /// (it keeps the caller-side gate low enough for its overrides).
    fn push_level(&self) {
        match self.pipeline.levels() {
            Some(h) => h.set_global(self.current.core.log_level),
            None => self.pipeline.set_level(self.current.core.log_level),
        }
    }

    /// Applies the live keys of `next` and lists the other keys that differ.
    pub fn apply(&mut self, next: Settings) -> ReloadReport {
        let mut report = ReloadReport::default();
        let handle = self.pipeline.levels();
        for k in keys::all() {
            if k.unavailable.is_some() || k.path == "preset" {
                continue;
            }
            let new = k.shown(&next);
            if new == k.shown(&self.current) {
                continue;
            }
            if k.path == "core.log_level" {
                k.copy_into(&next, &mut self.current);
                report.applied.push((k.path, k.display(&next)));
            } else if k.path == "filter_config.*" {
                let level_only = {
                    let mut other = next.stages.filter_config.clone();
                    other.level = self.current.stages.filter_config.level.clone();
                    other == self.current.stages.filter_config
                };
                match (&handle, level_only) {
                    (Some(h), true) => {
                        let lc = &next.stages.filter_config.level;
                        let spec: Vec<String> = lc
                            .overrides
                            .0
                            .iter()
                            .map(|(l, v)| format!("{l}={}", v.name()))
                            .collect();
                        if h.apply_spec(&spec.join(",")).is_ok() {
                            h.set_global(lc.min_level);
                            self.current.stages.filter_config.level = lc.clone();
                            report
                                .applied
                                .push(("filter_config.level", k.display(&next)));
                        } else {
                            report.needs_restart.push(k.path);
                        }
                    }
                    _ => report.needs_restart.push(k.path),
                }
            } else {
                report.needs_restart.push(k.path);
            }
        }
        if handle.is_none() {
            self.pipeline.set_level(self.current.core.log_level);
        } else if report.applied.iter().any(|(k, _)| *k == "core.log_level") {
            self.push_level();
        }
        report
    }

    /// Resolves the settings again (file and environment) and applies them.
    /// On an error, nothing changes.
    pub fn reload(&mut self) -> Result<ReloadReport, Error> {
        let next = (self.loader)().load()?;
        if let Some(f) = &self.file {
            self.seen = modified(f);
        }
        Ok(self.apply(next))
    }

    /// Reloads when the file's modification time changed since the last
    /// look; `Ok(None)` when it did not (or there is no file).
    pub fn reload_if_changed(&mut self) -> Result<Option<ReloadReport>, Error> {
        let Some(f) = &self.file else {
            return Ok(None);
        };
        let now = modified(f);
        if now == self.seen {
            return Ok(None);
        }
        self.seen = now;
        self.reload().map(Some)
    }

    /// Looks at the file every `interval` on a thread of its own and
    /// reloads when it changed; errors are reported on stderr and the
    /// previous settings stay. Dropping the returned guard stops it.
    pub fn watch(mut self, interval: Duration) -> Result<WatchGuard, Error> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("fapilog-reload".to_owned())
            .spawn(move || {
                while !flag.load(Ordering::Acquire) {
                    std::thread::park_timeout(interval);
                    if flag.load(Ordering::Acquire) {
                        break;
                    }
                    if let Err(e) = self.reload_if_changed() {
                        crate::diagnostics::warn(
                            "settings",
                            "reload failed; previous settings kept",
                            &[("error", &e.to_string())],
                        );
                    }
                }
            })
            .map_err(Error::Spawn)?;
        Ok(WatchGuard {
            stop,
            thread: Some(thread),
        })
    }
}

fn modified(path: &std::path::Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Stops [`Reloader::watch`]'s thread when dropped.
#[must_use = "dropping the guard stops watching"]
#[derive(Debug)]
pub struct WatchGuard {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}
