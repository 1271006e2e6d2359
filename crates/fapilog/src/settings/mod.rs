//! Settings: one value behind the builder, from code, from `FAPILOG_*`
//! environment variables with fapilog's names, and from a TOML file.
//!
//! # Precedence
//! From lowest to highest: **default < preset < TOML file < environment <
//! builder**. A key set by a higher source wins, whatever order the calls
//! were made in; a key no source sets keeps the preset's value, or the
//! default. The preset itself is chosen by the builder
//! ([`PipelineBuilder::preset`](crate::PipelineBuilder::preset)), else
//! `FAPILOG_PRESET`, else the file's top-level `preset` key. The file is the
//! one passed in ([`Loader::file`], `PipelineBuilder::config_file`), else the
//! one `FAPILOG_CONFIG` names.
//!
//! Every key has one dotted path (`core.max_queue_size`), which is its TOML
//! name (`[core]` table, `max_queue_size` key) and, upper-cased with `.` →
//! `__` behind `FAPILOG_`, its environment variable
//! (`FAPILOG_CORE__MAX_QUEUE_SIZE`). The full list, generated from the same
//! registry the parsers use, is `docs/settings.md` ([`keys::all`],
//! [`markdown_table`]).
//!
//! # Validation
//! Every name fapilog 0.18.1 reads is accepted with fapilog's type and
//! default. A wrong type or an out-of-range value fails with the key's full
//! name (the variable, or the file, line and path), the value and what is
//! allowed; nothing is half-applied. An unknown `FAPILOG_*` variable (a
//! Python sibling's `FAPILOG_FASTAPI__ENABLED`, a typo) is a warning with a
//! "did you mean" suggestion ([`LoadReport::notes`]); with
//! `FAPILOG_STRICT=true` or [`Loader::strict`] it is an error. An unknown
//! key in a TOML file or in [`Settings::set`] is always an error. Settings
//! that mean nothing here are kept and reported ([`keys::Effect`]); the
//! settings of network sinks are kept for them: the fapilog-sinks crate
//! reads them once registered with
//! [`PipelineBuilder::sink_factory`](crate::PipelineBuilder::sink_factory). Values of secret-looking keys and
//! passwords inside URLs are masked in errors.
//!
//! ```
//! use fapilog::settings::{Preset, Settings};
//!
//! let s = Settings::from_env_vars([
//!     ("FAPILOG_PRESET", "production"),
//!     ("FAPILOG_CORE__MAX_QUEUE_SIZE", "2048"),
//!     ("FAPILOG_CORE__BATCH_TIMEOUT_SECONDS", "100ms"),
//! ])?;
//! assert_eq!(s.core.max_queue_size, 2048);
//! assert_eq!(s.core.batch_timeout_seconds, 0.1);
//! assert_eq!(s.core.worker_count, Preset::Production.settings().core.worker_count);
//!
//! let err = Settings::from_env_vars([("FAPILOG_CORE__MAX_QUEUE_SIZE", "lots")]).unwrap_err();
//! assert!(err.to_string().contains("FAPILOG_CORE__MAX_QUEUE_SIZE"));
//! // An unknown name is a warning, unless strict.
//! assert!(Settings::from_env_vars([("FAPILOG_CORE__MAX_QUEUE", "1")]).is_ok());
//! let err = Settings::from_env_vars([("FAPILOG_CORE__MAX_QUEUE", "1"), ("FAPILOG_STRICT", "true")])
//!     .unwrap_err();
//! assert!(err.to_string().contains("did you mean FAPILOG_CORE__MAX_QUEUE_SIZE"));
//! # Ok::<(), fapilog::Error>(())
//! ```

mod fleet;
pub mod keys;
mod load;
mod presets;
mod reload;
pub(crate) mod rust_log;
mod secrets;

pub use fleet::AcceptedSettings;
pub(crate) use load::Layers;
pub use load::{markdown_table, LoadReport, Loader, Note, Origin, Origins};
pub use presets::{Preset, UnknownPreset};
pub use reload::{ReloadReport, Reloader, WatchGuard, LIVE_KEYS};
pub use rust_log::Directives;

use std::time::Duration;

use crate::encode::{Format, TraceName};
use crate::error::Error;
use crate::level::Level;
use crate::queue::Backpressure;
use crate::sinks::{
    FsyncPolicy, RotatingFileBuilder, RotatingFileSink, Sink, StderrSink, StdoutSink,
};
use crate::stages::settings::{normalize_name, StageSettings};
use crate::stages::{RedactionFailMode, Stages};

use keys::Raw;

/// Everything a pipeline is built from.
///
/// Build one with [`Settings::load`], [`Settings::from_env_vars`],
/// [`Settings::loader`] or [`Preset::settings`]; change fields freely, then
/// hand it to [`PipelineBuilder::settings`](crate::PipelineBuilder::settings).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Settings {
    /// The preset these settings started from (`preset`, `FAPILOG_PRESET`).
    pub preset: Option<Preset>,
    /// Service name in `diagnostics.service` (`FAPILOG_SERVICE`, default `fapilog`).
    pub service: String,
    /// Deployment environment in `diagnostics.env` (`FAPILOG_ENV`, else `ENV`, default `dev`).
    pub env: String,
    /// Service version in `diagnostics.version` (`FAPILOG_VERSION`), omitted when unset.
    pub version: Option<String>,
    /// The core pipeline (`FAPILOG_CORE__*`).
    pub core: CoreSettings,
    /// The rotating file sink (`FAPILOG_FILE__*`, `FAPILOG_SINK_CONFIG__ROTATING_FILE__*`).
    pub file: FileSettings,
    /// The disk spool of the pipeline's sinks (`FAPILOG_SPOOL__*`, cargo
    /// feature `spool`; Rust only).
    pub spool: SpoolSettings,
    /// The built-in stages: `core.filters`, `core.enrichers`,
    /// `core.redactors`, `core.processors` and the `*_config` groups.
    pub stages: StageSettings,
    /// The rest of fapilog's settings, validated and kept as text (network
    /// sinks' settings, which fapilog-sinks reads; settings that mean nothing here); see
    /// [`keys::Effect`].
    pub accepted: AcceptedSettings,
}

/// The core pipeline's settings (`FAPILOG_CORE__*`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct CoreSettings {
    /// Lowest level logged (`INFO`).
    pub log_level: Level,
    /// Capacity of the main queue, in events (10000).
    pub max_queue_size: usize,
    /// Slots reserved for protected levels; default `max(100, max_queue_size / 10)`.
    pub protected_queue_size: Option<usize>,
    /// Levels that are never shed for lower ones (`[ERROR, CRITICAL, AUDIT,
    /// SECURITY]`, fapilog's default; its `FATAL` is `CRITICAL` here).
    pub protected_levels: Vec<Level>,
    /// Events per batch (256).
    pub batch_max_size: usize,
    /// Encoded bytes per batch (1 MiB).
    pub batch_max_bytes: usize,
    /// Longest an event waits in a batch, seconds (0.25).
    pub batch_timeout_seconds: f64,
    /// What a call does on a full queue (`wait`).
    pub backpressure_policy: PolicyName,
    /// fapilog's switch: `true` forces the `drop` policy (default `false`, unlike
    /// fapilog's `true`: losing lines by default is not what this library does).
    pub drop_on_full: bool,
    /// The `wait` policy's timeout, milliseconds (50).
    pub backpressure_wait_ms: u64,
    /// Worker threads (1).
    pub worker_count: usize,
    /// Time the drain on drop of the last pipeline handle may take, seconds (3.0).
    pub shutdown_timeout_seconds: f64,
    /// Sinks by name when none are given in code: `stdout_json`,
    /// `stdout_pretty`, `stdout_flat`, `rotating_file` (or `file`),
    /// `stderr_json`, `stderr_pretty`. Empty: `rotating_file` when
    /// `file.directory` is set, else `stdout_json`.
    pub sinks: Vec<String>,
    /// How TRACE is written (`DEBUG`).
    pub trace_level_name: TraceNameSetting,
    /// Write the call site as `diagnostics.location` (`false`).
    pub include_location: bool,
    /// Shortest interval between two in-band `logs dropped` reports, seconds (1.0).
    pub drop_summary_window_seconds: f64,
    /// What a failing redactor does to its event (`closed`).
    pub redaction_fail_mode: FailModeSetting,
    /// fapilog's Prometheus switch (`false`); no effect here: metrics are
    /// always counted in process and exported only when read.
    pub enable_metrics: bool,
}

/// The rotating file sink's settings: `FAPILOG_FILE__*`, or fapilog's long
/// form `FAPILOG_SINK_CONFIG__ROTATING_FILE__*` (the same keys).
///
/// Files are named as fapilog names them,
/// `<directory>/<filename_prefix>-<UTC %Y%m%d-%H%M%S>[-N].jsonl` (`.log` in
/// text mode), so one shipper glob matches Python and Rust services. See
/// [`RotatingFileSink`] for the rules.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct FileSettings {
    /// Directory of the files; setting it makes the file sink the default.
    pub directory: Option<String>,
    /// Start of the file names (`fapilog`).
    pub filename_prefix: String,
    /// `json` (the envelope, `.jsonl`) or `text` (the human line, `.log`).
    pub mode: String,
    /// Rotate before a write that would pass this size (10 MiB; 0: no size rotation).
    pub max_bytes: u64,
    /// Rotate at multiples of this many seconds since the epoch (0: off).
    pub interval_seconds: f64,
    /// Rotated files kept besides the active one (0: all).
    pub max_files: usize,
    /// Total bytes of rotated files kept (0: no cap).
    pub max_total_bytes: u64,
    /// Rotated files older than this many seconds are deleted (0: never).
    pub max_age_seconds: f64,
    /// Gzip rotated files (`false`).
    pub compress_rotated: bool,
    /// When to sync to disk ([`FsyncPolicy::OnRotate`]).
    pub fsync: FsyncPolicy,
}

/// The disk spool of the sinks a pipeline opens from its settings, or adds
/// without options of their own (`FAPILOG_SPOOL__*`, cargo feature
/// `spool`; Rust only, not in fapilog). Nothing is spooled unless
/// `directory` is set; see `docs/spool.md`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SpoolSettings {
    /// Root directory; each sink spools under `<directory>/<sink name>`.
    pub directory: Option<String>,
    /// Most bytes of segments per sink (256 MiB).
    pub max_bytes: u64,
    /// Size past which a segment is sealed (8 MiB).
    pub segment_bytes: u64,
    /// `never`, `every_batch`, or the interval in seconds (`0.5`).
    pub fsync: String,
    /// At `max_bytes` or on a refused write: `block`, `drop_oldest`, `drop_newest`.
    pub when_full: String,
    /// `overflow` (what does not fit the sink's buffer) or `always`.
    pub mode: String,
}

impl Default for SpoolSettings {
    fn default() -> Self {
        SpoolSettings {
            directory: None,
            max_bytes: 256 << 20,
            segment_bytes: 8 << 20,
            fsync: "0.5".to_owned(),
            when_full: "block".to_owned(),
            mode: "overflow".to_owned(),
        }
    }
}

/// The backpressure policy by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PolicyName {
    /// [`Backpressure::Wait`] with `backpressure_wait_ms`.
    #[default]
    Wait,
    /// [`Backpressure::Drop`].
    Drop,
    /// [`Backpressure::Block`].
    Block,
}

/// [`TraceName`] as a setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TraceNameSetting {
    /// Write TRACE as `DEBUG`.
    #[default]
    Debug,
    /// Write TRACE as `TRACE`.
    Trace,
}

/// [`RedactionFailMode`] as a setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FailModeSetting {
    /// Withhold the event.
    #[default]
    Closed,
    /// Pass it on, report on stderr.
    Warn,
    /// Pass it on.
    Open,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            preset: None,
            service: "fapilog".to_owned(),
            env: "dev".to_owned(),
            version: None,
            core: CoreSettings::default(),
            file: FileSettings::default(),
            spool: SpoolSettings::default(),
            stages: StageSettings::default(),
            accepted: AcceptedSettings::default(),
        }
    }
}

impl Default for CoreSettings {
    fn default() -> Self {
        CoreSettings {
            log_level: Level::INFO,
            max_queue_size: 10_000,
            protected_queue_size: None,
            protected_levels: vec![
                Level::ERROR,
                Level::CRITICAL,
                Level::custom(60, "AUDIT"),
                Level::custom(70, "SECURITY"),
            ],
            batch_max_size: 256,
            batch_max_bytes: 1 << 20,
            batch_timeout_seconds: 0.25,
            backpressure_policy: PolicyName::Wait,
            drop_on_full: false,
            backpressure_wait_ms: 50,
            worker_count: 1,
            shutdown_timeout_seconds: 3.0,
            sinks: Vec::new(),
            trace_level_name: TraceNameSetting::Debug,
            include_location: false,
            drop_summary_window_seconds: 1.0,
            redaction_fail_mode: FailModeSetting::Closed,
            enable_metrics: false,
        }
    }
}

impl Default for FileSettings {
    fn default() -> Self {
        FileSettings {
            directory: None,
            filename_prefix: "fapilog".to_owned(),
            mode: "json".to_owned(),
            max_bytes: crate::sinks::rotating::DEFAULT_MAX_BYTES,
            interval_seconds: 0.0,
            max_files: 0,
            max_total_bytes: 0,
            max_age_seconds: 0.0,
            compress_rotated: false,
            fsync: FsyncPolicy::OnRotate,
        }
    }
}

impl SpoolSettings {
    /// `options` with the spool these settings describe (none without a directory).
    #[cfg(feature = "spool")]
    fn apply(&self, options: crate::sinks::SinkOptions) -> crate::sinks::SinkOptions {
        use crate::sinks::{SpoolFsync, SpoolMode, SpoolOptions, SpoolWhenFull, WhenFull};
        let Some(dir) = &self.directory else {
            return options;
        };
        // The values were checked when they were read.
        let fsync = match self.fsync.as_str() {
            "never" => SpoolFsync::Never,
            "every_batch" => SpoolFsync::EveryBatch,
            secs => SpoolFsync::Interval(std::time::Duration::from_secs_f64(
                secs.parse::<f64>().unwrap_or(0.5),
            )),
        };
        let when_full = match self.when_full.as_str() {
            "drop_oldest" => SpoolWhenFull::DropOldest,
            "drop_newest" => SpoolWhenFull::DropNewest,
            _ => SpoolWhenFull::Block,
        };
        let mode = match self.mode.as_str() {
            "always" => SpoolMode::Always,
            _ => SpoolMode::Overflow,
        };
        let spool = SpoolOptions::new(dir)
            .max_bytes(self.max_bytes)
            .segment_bytes(self.segment_bytes)
            .fsync(fsync)
            .when_full(when_full)
            .mode(mode);
        let options = options.spool(spool);
        if mode == SpoolMode::Overflow {
            options.when_full(WhenFull::Spill)
        } else {
            options
        }
    }

    /// Without the `spool` feature a directory fails `validate` first.
    #[cfg(not(feature = "spool"))]
    fn apply(&self, options: crate::sinks::SinkOptions) -> crate::sinks::SinkOptions {
        options
    }
}

impl FileSettings {
    /// The rotating file sink these settings describe, ready to build (or
    /// to adjust first); `None` without a directory.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let mut s = fapilog::Settings::from_env_vars([
    ///     ("FAPILOG_FILE__DIRECTORY", dir.path().to_str().unwrap()),
    ///     ("FAPILOG_FILE__MAX_BYTES", "1 MB"),
    /// ])?;
    /// let sink = s.file.sink_builder().expect("a directory is set").build()?;
    /// assert!(sink.current_path().starts_with(dir.path()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sink_builder(&self) -> Option<RotatingFileBuilder> {
        let dir = self.directory.as_ref()?;
        let mut b = RotatingFileSink::builder(dir)
            .filename_prefix(self.filename_prefix.clone())
            .format(if self.mode == "text" {
                Format::Pretty { color: false }
            } else {
                Format::Json
            })
            .compress(self.compress_rotated)
            .fsync(self.fsync);
        b = match self.max_bytes {
            0 => b.no_size_limit(),
            n => b.max_bytes(n),
        };
        if self.interval_seconds > 0.0 {
            b = b.interval(Duration::from_secs_f64(self.interval_seconds));
        }
        if self.max_files > 0 {
            b = b.max_files(self.max_files);
        }
        if self.max_total_bytes > 0 {
            b = b.max_total_bytes(self.max_total_bytes);
        }
        if self.max_age_seconds > 0.0 {
            b = b.max_age(Duration::from_secs_f64(self.max_age_seconds));
        }
        Some(b)
    }
}

/// A JSON value as the environment would spell it: strings bare, the rest as JSON.
pub(crate) fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

const LEVEL_KEYS: [&str; 2] = ["core.log_level", "core.protected_levels"];

/// A sink opened from the settings, with its delivery options (`None`: the
/// pipeline's defaults).
pub(crate) type OpenedSink = (Box<dyn Sink>, Option<crate::SinkOptions>);

pub(crate) fn invalid(key: &str, value: impl ToString, expected: &str) -> Error {
    Error::InvalidSetting {
        key: key.to_owned(),
        value: secrets::mask_value(key, &value.to_string()),
        expected: expected.to_owned(),
    }
}

impl Settings {
    /// Resolves the settings of this process: the preset named by
    /// `FAPILOG_PRESET`, the TOML file named by `FAPILOG_CONFIG`, then the
    /// `FAPILOG_*` variables.
    pub fn load() -> Result<Settings, Error> {
        Loader::new().process_env().load()
    }

    /// Like [`Settings::load`], reading the process environment.
    pub fn from_env() -> Result<Settings, Error> {
        Settings::load()
    }

    /// Like [`Settings::load`], with the given variables instead of the
    /// process environment (for tests and tools): `FAPILOG_PRESET` and
    /// `FAPILOG_CONFIG` among them are honoured.
    pub fn from_env_vars<K: AsRef<str>, V: AsRef<str>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Settings, Error> {
        Loader::new().env_vars(vars).load()
    }

    /// A loader to combine a preset, a file and variables explicitly.
    pub fn loader() -> Loader {
        Loader::new()
    }

    /// Applies the `FAPILOG_*` variables among `vars` on top of `self`
    /// (other variables are ignored; `FAPILOG_PRESET` and `FAPILOG_CONFIG`
    /// are not read here: use a [`Loader`] for those).
    pub fn apply_env<K: AsRef<str>, V: AsRef<str>>(
        &mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Result<(), Error> {
        let mut next = self.clone();
        let env = load::EnvVars::collect(vars);
        env.apply(&mut next)?;
        next.validate()?;
        *self = next;
        Ok(())
    }

    /// Sets one key by dotted path from text, as an environment variable
    /// would (`set("core.log_level", "DEBUG")`).
    pub fn set(&mut self, path: &str, value: &str) -> Result<(), Error> {
        load::apply_one(self, path, &Raw::Str(value.to_owned()), &Origin::Code)
    }

    /// The value of one key as text (`***` for a secret), `None` for an
    /// unknown path. Options inside the `*_config` groups are reached by
    /// their full path (`filter_config.sampling.sample_rate`).
    pub fn get(&self, path: &str) -> Option<String> {
        let k = keys::lookup(path).filter(|k| k.unavailable.is_none())?;
        if !k.is_group() || path == k.path {
            return Some(k.display(self));
        }
        let rest = path.strip_prefix(k.path.trim_end_matches('*'))?;
        let group: serde_json::Value = serde_json::from_str(&k.shown(self)).ok()?;
        let mut v = &group;
        for seg in rest.split('.') {
            v = v.get(seg)?;
        }
        Some(json_text(v))
    }

    /// Every available key with its current value (secrets masked), in
    /// documentation order: what `fapilog check` prints.
    pub fn effective(&self) -> Vec<(String, String)> {
        keys::all()
            .iter()
            .filter(|k| k.unavailable.is_none() && !k.is_group())
            .map(|k| (k.env_name(), k.display(self)))
            .collect()
    }

    /// Checks every value; the error names the first bad one by its path.
    ///
    /// Each key's current value goes back through the parser that reads it
    /// from the environment, so code, files and variables share one set of
    /// ranges.
    pub fn validate(&self) -> Result<(), Error> {
        let mut scratch = self.clone();
        for k in keys::all() {
            // A `Level` in code is valid by construction, custom ones too
            // (the environment knows only the built-in names).
            if k.unavailable.is_some() || k.is_group() || LEVEL_KEYS.contains(&k.path) {
                continue;
            }
            let shown = k.shown(self);
            k.set(&mut scratch, k.path, &Raw::Str(shown.clone()))
                .map_err(|expected| invalid(k.path, shown, &expected))?;
        }
        self.stages.build()?;
        if let Some(dir) = &self.spool.directory {
            if !cfg!(feature = "spool") {
                return Err(invalid(
                    "spool.directory",
                    dir,
                    "a build with the cargo feature `spool` (or no spool.directory)",
                ));
            }
        }
        if self
            .core
            .sinks
            .iter()
            .any(|s| s == "file" || s == "rotating_file")
            && self.file.directory.is_none()
        {
            return Err(invalid(
                "core.sinks",
                self.core.sinks.join(","),
                "file.directory (FAPILOG_FILE__DIRECTORY or FAPILOG_SINK_CONFIG__ROTATING_FILE__DIRECTORY) to be set when core.sinks names `rotating_file`",
            ));
        }
        Ok(())
    }

    /// The backpressure policy these settings describe.
    pub fn backpressure(&self) -> Backpressure {
        if self.core.drop_on_full {
            return Backpressure::Drop;
        }
        match self.core.backpressure_policy {
            PolicyName::Wait => Backpressure::Wait {
                timeout: Duration::from_millis(self.core.backpressure_wait_ms),
            },
            PolicyName::Drop => Backpressure::Drop,
            PolicyName::Block => Backpressure::Block,
        }
    }

    /// The protected reserve's size.
    pub fn protected_queue_size(&self) -> usize {
        self.core
            .protected_queue_size
            .unwrap_or_else(|| (self.core.max_queue_size / 10).max(100))
    }

    /// The sinks `core.sinks` names (or the default one), opened. A network
    /// sink (`loki`, `http`…) needs its factory: see
    /// [`PipelineBuilder::sink_factory`](crate::PipelineBuilder::sink_factory);
    /// without one, naming it is [`Error::SinkNotRegistered`].
    pub fn open_sinks(&self) -> Result<Vec<Box<dyn Sink>>, Error> {
        Ok(self
            .open_sinks_with(&[])?
            .into_iter()
            .map(|(s, _)| s)
            .collect())
    }

    /// [`open_sinks`](Settings::open_sinks), asking `factories` for the
    /// names this crate does not open itself.
    pub(crate) fn open_sinks_with(
        &self,
        factories: &[Box<dyn crate::SinkFactory>],
    ) -> Result<Vec<OpenedSink>, Error> {
        let names: Vec<&str> = if !self.core.sinks.is_empty() {
            self.core.sinks.iter().map(String::as_str).collect()
        } else if self.file.directory.is_some() {
            vec!["rotating_file"]
        } else {
            vec!["stdout_json"]
        };
        let mut out: Vec<OpenedSink> = Vec::with_capacity(names.len());
        for n in names {
            if let Some(f) = factories.iter().find(|f| f.names().contains(&n)) {
                out.push(f.open(n, self)?);
                continue;
            }
            if keys::NETWORK_SINKS.contains(&n) {
                return Err(Error::SinkNotRegistered { sink: n.to_owned() });
            }
            let sink: Box<dyn Sink> = match n {
                "stdout_pretty" => Box::new(StdoutSink::pretty()),
                "stdout_flat" => Box::new(StdoutSink::flat()),
                "stderr_json" => Box::new(StderrSink::json()),
                "stderr_pretty" => Box::new(StderrSink::pretty()),
                "file" | "rotating_file" => {
                    let builder = self
                        .file
                        .sink_builder()
                        .ok_or_else(|| invalid("core.sinks", n, "file.directory to be set"))?;
                    Box::new(builder.build()?)
                }
                _ => Box::new(StdoutSink::json()),
            };
            out.push((sink, None));
        }
        Ok(out)
    }

    /// Builds the stages these settings name and puts them before the
    /// ones added in code. A stage added in code outranks the settings' stage
    /// of the same name (builder over settings), which is then left out; a
    /// level filter added in code stays the one that steers the caller-side
    /// gate.
    pub(crate) fn install_stages(&self, stages: &mut Stages) -> Result<(), Error> {
        fn merge<T: ?Sized>(
            from_settings: Vec<Box<T>>,
            in_code: &mut Vec<Box<T>>,
            name: impl Fn(&T) -> &str,
        ) {
            let kept: Vec<Box<T>> = from_settings
                .into_iter()
                .filter(|s| !in_code.iter().any(|c| name(c) == name(s)))
                .collect();
            in_code.splice(0..0, kept);
        }
        // Overrides turn the level filter on by themselves, with
        // core.log_level as its global minimum.
        let auto_level = !self.stages.filter_config.level.overrides.0.is_empty()
            && !self
                .stages
                .filters
                .iter()
                .any(|f| normalize_name(f) == "level");
        let built = if auto_level {
            let mut st = self.stages.clone();
            st.filters.insert(0, "level".to_owned());
            st.filter_config.level.min_level = self.core.log_level;
            st.build()?
        } else {
            self.stages.build()?
        };
        let code_has_level = stages.filters.iter().any(|f| f.name() == "level");
        merge(built.filters, &mut stages.filters, |f| f.name());
        merge(built.enrichers, &mut stages.enrichers, |e| e.name());
        merge(built.redactors, &mut stages.redactors, |r| r.name());
        merge(built.processors, &mut stages.processors, |p| p.name());
        if let (Some(h), false) = (built.level, code_has_level) {
            stages.levels.insert(0, h);
        }
        Ok(())
    }

    pub(crate) fn trace_name(&self) -> TraceName {
        match self.core.trace_level_name {
            TraceNameSetting::Debug => TraceName::Debug,
            TraceNameSetting::Trace => TraceName::Trace,
        }
    }

    /// The routing fapilog's `sink_routing.*` settings describe (empty
    /// unless `sink_routing.enabled`).
    pub(crate) fn routing(&self) -> crate::sinks::RoutingConfig {
        let a = &self.accepted;
        let mut config = crate::sinks::RoutingConfig {
            overlap: a.get("sink_routing.overlap") != Some("false"),
            ..crate::sinks::RoutingConfig::default()
        };
        if a.get("sink_routing.enabled") != Some("true") {
            return config;
        }
        let rules: Vec<fleet::RouteRule> = a
            .get("sink_routing.rules")
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default();
        config.fallback = a
            .get("sink_routing.fallback_sinks")
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default();
        for r in rules {
            let sinks: Vec<&str> = r.sinks.iter().map(String::as_str).collect();
            if r.levels.iter().any(|l| l == "*") {
                config.fallback.extend(r.sinks.iter().cloned());
                continue;
            }
            // The levels were checked when the setting was read.
            let levels: Vec<Level> = r.levels.iter().filter_map(|l| l.parse().ok()).collect();
            let route = crate::sinks::Route::to(&sinks);
            config.rules.push(if r.levels.is_empty() {
                route
            } else {
                route.levels(&levels)
            });
        }
        config
    }

    /// The delivery options fapilog's `core.sink_circuit_breaker_*`
    /// settings give the sinks added without options of their own: what a
    /// [`SinkFactory`](crate::SinkFactory) starts from before applying a
    /// sink's own settings (`max_retries`, `circuit_breaker_threshold`…).
    ///
    /// ```
    /// let s = fapilog::Settings::from_env_vars([
    ///     ("FAPILOG_CORE__SINK_CIRCUIT_BREAKER_FAILURE_THRESHOLD", "7"),
    /// ]).unwrap();
    /// use fapilog::sinks::{BreakerPolicy, SinkOptions};
    /// assert_eq!(
    ///     s.sink_options(),
    ///     SinkOptions::new().breaker(BreakerPolicy::default().failure_threshold(7))
    /// );
    /// ```
    pub fn sink_options(&self) -> crate::sinks::SinkOptions {
        use crate::sinks::BreakerPolicy;
        let a = &self.accepted;
        let mut breaker = BreakerPolicy::default();
        if let Some(n) = a
            .get("core.sink_circuit_breaker_failure_threshold")
            .and_then(|t| t.parse::<u32>().ok())
        {
            breaker = breaker.failure_threshold(n);
        }
        if let Some(secs) = a
            .get("core.sink_circuit_breaker_recovery_timeout_seconds")
            .and_then(|t| t.parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
        {
            let d = std::time::Duration::from_secs_f64(secs);
            breaker = breaker
                .cooldown(d)
                .max_cooldown(d.max(breaker.max_cooldown));
        }
        if a.get("core.sink_circuit_breaker_enabled") == Some("false") {
            breaker = BreakerPolicy::off();
        }
        let options = self
            .spool
            .apply(crate::sinks::SinkOptions::new().breaker(breaker));
        match a.get("core.sink_circuit_breaker_fallback_sink") {
            Some(name) if !name.is_empty() => options.fallback(name),
            _ => options,
        }
    }

    pub(crate) fn fail_mode(&self) -> RedactionFailMode {
        match self.core.redaction_fail_mode {
            FailModeSetting::Closed => RedactionFailMode::Closed,
            FailModeSetting::Warn => RedactionFailMode::Warn,
            FailModeSetting::Open => RedactionFailMode::Open,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names_map_to_fields() {
        let s = Settings::from_env_vars([
            ("FAPILOG_CORE__BATCH_TIMEOUT_SECONDS", "500ms"),
            (
                "FAPILOG_CORE__PROTECTED_LEVELS",
                r#"["ERROR","CRITICAL","WARNING"]"#,
            ),
            ("FAPILOG_CORE__DROP_ON_FULL", "yes"),
            ("FAPILOG_CORE__BATCH_MAX_BYTES", "2 MiB"),
            ("FAPILOG_SERVICE", "api"),
            ("UNRELATED", "x"),
        ])
        .unwrap();
        assert_eq!(s.core.batch_timeout_seconds, 0.5);
        assert_eq!(s.core.protected_levels.len(), 3);
        assert_eq!(s.backpressure(), Backpressure::Drop);
        assert_eq!(s.core.batch_max_bytes, 2 << 20);
        assert_eq!(s.service, "api");
    }

    #[test]
    fn bad_values_name_key_value_and_expectation() {
        for (k, v) in [
            ("FAPILOG_CORE__MAX_QUEUE_SIZE", "0"),
            ("FAPILOG_CORE__LOG_LEVEL", "LOUD"),
            ("FAPILOG_CORE__DROP_ON_FULL", "maybe"),
            ("FAPILOG_CORE__WORKER_COUNT", "0"),
            ("FAPILOG_CORE__SINKS", "kafka"),
            ("FAPILOG_CORE__BATCH_TIMEOUT_SECONDS", "5 parsecs"),
        ] {
            let e = Settings::from_env_vars([(k, v)]).unwrap_err().to_string();
            assert!(e.contains(k), "{e}");
            assert!(e.contains(v), "{e}");
            assert!(e.contains("expected"), "{e}");
        }
    }

    #[test]
    fn validate_uses_the_parsers_ranges() {
        let mut s = Settings::default();
        s.core.max_queue_size = 0;
        let e = s.validate().unwrap_err().to_string();
        assert!(e.contains("core.max_queue_size"), "{e}");
        let mut s = Settings::default();
        s.core.sinks = vec!["rotating_file".into()];
        assert!(s.validate().is_err());
        s.file.directory = Some("/tmp".into());
        assert!(s.validate().is_ok());
    }
}
