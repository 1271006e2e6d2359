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
pub const LIVE_KEYS: [&str; 1] = ["core.log_level"];

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

    /// Changes the lowest level logged, at once, for every logger.
    pub fn set_level(&mut self, level: Level) {
        self.pipeline.set_level(level);
        self.current.core.log_level = level;
    }

    /// Applies the live keys of `next` and lists the other keys that differ.
    pub fn apply(&mut self, next: Settings) -> ReloadReport {
        let mut report = ReloadReport::default();
        for k in keys::all() {
            if k.unavailable.is_some() || k.is_group() || k.path == "preset" {
                continue;
            }
            let new = (k.show)(&next);
            if new == (k.show)(&self.current) {
                continue;
            }
            if LIVE_KEYS.contains(&k.path) {
                (k.copy)(&next, &mut self.current);
                report.applied.push((k.path, k.display(&next)));
            } else {
                report.needs_restart.push(k.path);
            }
        }
        self.pipeline.set_level(self.current.core.log_level);
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
