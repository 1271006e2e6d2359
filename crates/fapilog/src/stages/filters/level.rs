//! The level filter: a global minimum plus per-logger overrides, both
//! changeable at run time through a [`LevelHandle`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};

use crate::config_serde::settings_serde;

use crate::envelope::Event;
use crate::error::Error;
use crate::level::Gate;
use crate::level::Level;
use crate::stages::{Filter, StageError, Verdict};

/// Settings of the `level` filter (`filter_config.level`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct LevelConfig {
    /// Lowest level kept for loggers without an override (`INFO`).
    pub min_level: Level,
    /// Per-logger minimums: a map `{"app.db": "DEBUG"}` or a string
    /// `"app.db=debug,hyper=warning"`. An override applies to the logger of
    /// that name and to its children (`app.db.pool`), with `.` and `::` as
    /// the same separator, so `my_crate::db` matches the `tracing` target
    /// `my_crate::db::pool` and the logger `my_crate.db`; the longest
    /// matching name wins. Setting overrides turns the level filter on
    /// (with `core.log_level` as its global minimum) even when
    /// `core.filters` does not list `level`.
    pub overrides: LevelOverrides,
}

settings_serde!(LevelConfig {
    min_level,
    overrides
});

impl Default for LevelConfig {
    fn default() -> Self {
        LevelConfig {
            min_level: Level::INFO,
            overrides: LevelOverrides::default(),
        }
    }
}

/// Per-logger level overrides (logger name → lowest level kept).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LevelOverrides(pub BTreeMap<String, Level>);

impl LevelOverrides {
    /// Parses `"app.db=debug,hyper=warning"`. A bare level (`"info,app=debug"`)
    /// is returned as the global level.
    pub fn parse(spec: &str) -> Result<(Option<Level>, LevelOverrides), Error> {
        let mut global = None;
        let mut map = BTreeMap::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = || Error::InvalidSetting {
                key: "filter_config.level.overrides".to_owned(),
                value: part.to_owned(),
                expected: "logger=level pairs separated by commas, e.g. app.db=debug,hyper=warning"
                    .to_owned(),
            };
            match part.split_once('=') {
                Some((logger, level)) => {
                    let level: Level = level.trim().parse().map_err(|_| bad())?;
                    map.insert(logger.trim().to_owned(), level);
                }
                None => global = Some(part.parse().map_err(|_| bad())?),
            }
        }
        Ok((global, LevelOverrides(map)))
    }
}

impl serde::Serialize for LevelOverrides {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// A map of logger to level, or fapilog's `logger=level,…` string.
impl<'de> serde::Deserialize<'de> for LevelOverrides {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        match <serde_json::Value as serde::Deserialize>::deserialize(d)? {
            serde_json::Value::String(s) => match LevelOverrides::parse(&s) {
                Ok((None, o)) => Ok(o),
                Ok((Some(_), _)) => Err(D::Error::custom(
                    "overrides take logger=level pairs only; set min_level for the global level",
                )),
                Err(e) => Err(D::Error::custom(e)),
            },
            map @ serde_json::Value::Object(_) => serde_json::from_value(map)
                .map(LevelOverrides)
                .map_err(D::Error::custom),
            other => Err(D::Error::custom(format_args!(
                "overrides take a map of logger to level or a \"logger=level,…\" string, not {other}"
            ))),
        }
    }
}

pub(crate) struct LevelState {
    global: AtomicU8,
    has_overrides: AtomicBool,
    /// Longest name first, so the first prefix match is the most specific.
    overrides: RwLock<Vec<(String, u8)>>,
    gate: Mutex<Option<Weak<Gate>>>,
}

impl LevelState {
    fn floor(&self) -> u8 {
        let g = self.global.load(Ordering::Relaxed);
        let o = match self.overrides.read() {
            Ok(o) => o.iter().map(|(_, l)| *l).min(),
            Err(p) => p.into_inner().iter().map(|(_, l)| *l).min(),
        };
        o.map_or(g, |o| o.min(g))
    }

    /// Keeps the caller-side gate at the lowest level any logger may log.
    fn sync_gate(&self) {
        let gate = match self.gate.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        };
        if let Some(gate) = gate.and_then(|w| w.upgrade()) {
            gate.set_priority(self.floor());
        }
    }

    fn min_for(&self, logger: &str) -> u8 {
        if self.has_overrides.load(Ordering::Relaxed) {
            let o = match self.overrides.read() {
                Ok(o) => o,
                Err(p) => p.into_inner(),
            };
            for (name, lvl) in o.iter() {
                if crate::settings::rust_log::is_within(logger, name) {
                    return *lvl;
                }
            }
        }
        self.global.load(Ordering::Relaxed)
    }

    fn set_overrides(&self, map: &BTreeMap<String, Level>) {
        let mut v: Vec<(String, u8)> = map.iter().map(|(k, l)| (k.clone(), l.priority())).collect();
        v.sort_by_key(|e| std::cmp::Reverse(e.0.len()));
        let any = !v.is_empty();
        match self.overrides.write() {
            Ok(mut o) => *o = v,
            Err(p) => *p.into_inner() = v,
        }
        self.has_overrides.store(any, Ordering::Relaxed);
    }
}

/// Keeps events at or above a minimum level, per logger.
///
/// When added with [`crate::PipelineBuilder::level_filter`] (or through
/// [`crate::stages::settings::StageSettings`]), the pipeline's caller-side
/// gate follows the lowest level any logger may log, so an override below
/// the global minimum works (those calls then reach the queue and are
/// filtered on the worker). Added with the plain `filter` method, the gate
/// stays at `core.log_level`.
///
/// ```
/// use fapilog::stages::filters::LevelFilter;
/// use fapilog::Level;
/// let filter = LevelFilter::new(Level::WARNING).with_override("app.db", Level::DEBUG);
/// let handle = filter.handle();
/// handle.set_override("hyper", Level::ERROR);
/// assert_eq!(handle.level_for("app.db.pool"), Level::DEBUG);
/// assert_eq!(handle.level_for("app"), Level::WARNING);
/// ```
pub struct LevelFilter {
    state: Arc<LevelState>,
}

/// Changes a [`LevelFilter`]'s levels while the pipeline runs.
///
/// The filter runs on the worker, so a change applies to the events it
/// processes after the change, including ones logged just before it and
/// still queued; the caller-side gate follows at once.
#[derive(Clone)]
pub struct LevelHandle {
    state: Arc<LevelState>,
}

impl std::fmt::Debug for LevelHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LevelHandle")
            .field("global", &self.state.global.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl LevelFilter {
    /// Keeps `min` and above for every logger.
    pub fn new(min: Level) -> LevelFilter {
        LevelFilter {
            state: Arc::new(LevelState {
                global: AtomicU8::new(min.priority()),
                has_overrides: AtomicBool::new(false),
                overrides: RwLock::new(Vec::new()),
                gate: Mutex::new(None),
            }),
        }
    }

    /// From its settings.
    pub fn from_config(c: &LevelConfig) -> LevelFilter {
        let f = LevelFilter::new(c.min_level);
        f.state.set_overrides(&c.overrides.0);
        f
    }

    /// Adds an override for `logger` and its children.
    pub fn with_override(self, logger: &str, level: Level) -> LevelFilter {
        self.handle().set_override(logger, level);
        self
    }

    /// A handle that changes this filter's levels at run time.
    pub fn handle(&self) -> LevelHandle {
        LevelHandle {
            state: Arc::clone(&self.state),
        }
    }
}

impl LevelHandle {
    /// Sets the global minimum.
    pub fn set_global(&self, level: Level) {
        self.state.global.store(level.priority(), Ordering::Relaxed);
        self.state.sync_gate();
    }

    /// Sets (or replaces) the minimum for `logger` and its dotted children.
    pub fn set_override(&self, logger: &str, level: Level) {
        let mut map = self.overrides();
        map.insert(logger.to_owned(), level);
        self.state.set_overrides(&map);
        self.state.sync_gate();
    }

    /// Removes the override for `logger`.
    pub fn clear_override(&self, logger: &str) {
        let mut map = self.overrides();
        map.remove(logger);
        self.state.set_overrides(&map);
        self.state.sync_gate();
    }

    /// Replaces every override with `spec` (`"app.db=debug,hyper=warning"`;
    /// a bare level also sets the global minimum).
    pub fn apply_spec(&self, spec: &str) -> Result<(), Error> {
        let (global, o) = LevelOverrides::parse(spec)?;
        if let Some(g) = global {
            self.state.global.store(g.priority(), Ordering::Relaxed);
        }
        self.state.set_overrides(&o.0);
        self.state.sync_gate();
        Ok(())
    }

    /// The current overrides.
    pub fn overrides(&self) -> BTreeMap<String, Level> {
        let o = match self.state.overrides.read() {
            Ok(o) => o.clone(),
            Err(p) => p.into_inner().clone(),
        };
        o.into_iter().map(|(k, p)| (k, level_of(p))).collect()
    }

    /// The lowest level kept for `logger` now.
    pub fn level_for(&self, logger: &str) -> Level {
        level_of(self.state.min_for(logger))
    }

    pub(crate) fn attach(&self, gate: &Arc<Gate>) {
        match self.state.gate.lock() {
            Ok(mut g) => *g = Some(Arc::downgrade(gate)),
            Err(p) => *p.into_inner() = Some(Arc::downgrade(gate)),
        }
        self.state.sync_gate();
    }
}

fn level_of(priority: u8) -> Level {
    Level::BUILTIN
        .into_iter()
        .chain([crate::settings::rust_log::OFF])
        .find(|l| l.priority() == priority)
        .unwrap_or(Level::custom(priority, "CUSTOM"))
}

impl Filter for LevelFilter {
    fn name(&self) -> &str {
        "level"
    }

    fn filter(&self, event: &Event<'_>) -> Result<Verdict, StageError> {
        if event.level.priority() >= self.state.min_for(&event.logger) {
            Ok(Verdict::Keep)
        } else {
            Ok(Verdict::Drop)
        }
    }
}
