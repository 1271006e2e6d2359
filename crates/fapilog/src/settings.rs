//! Settings: one value behind the builder, filled from code or from
//! `FAPILOG_*` environment variables with fapilog's names.
//!
//! ```
//! use fapilog::Settings;
//! let s = Settings::from_env_vars([
//!     ("FAPILOG_CORE__MAX_QUEUE_SIZE", "2048"),
//!     ("FAPILOG_CORE__LOG_LEVEL", "DEBUG"),
//! ])
//! .unwrap();
//! assert_eq!(s.core.max_queue_size, 2048);
//!
//! let err = Settings::from_env_vars([("FAPILOG_CORE__MAX_QUEUE_SIZE", "lots")]).unwrap_err();
//! assert!(err.to_string().contains("FAPILOG_CORE__MAX_QUEUE_SIZE"));
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::encode::TraceName;
use crate::error::Error;
use crate::level::Level;
use crate::queue::Backpressure;
use crate::stages::RedactionFailMode;

/// Everything a pipeline is built from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Settings {
    /// Service name in `diagnostics.service` (`FAPILOG_SERVICE`, default `fapilog`).
    pub service: String,
    /// Deployment environment in `diagnostics.env` (`FAPILOG_ENV`, else `ENV`, default `dev`).
    pub env: String,
    /// Service version in `diagnostics.version` (`FAPILOG_VERSION`), omitted when unset.
    pub version: Option<String>,
    /// The core pipeline.
    pub core: CoreSettings,
}

/// The core pipeline's settings (`FAPILOG_CORE__*`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct CoreSettings {
    /// Lowest level logged (`INFO`).
    pub log_level: Level,
    /// Capacity of the main queue, in events (10000).
    pub max_queue_size: usize,
    /// Slots reserved for protected levels; default `max(100, max_queue_size / 10)`.
    pub protected_queue_size: Option<usize>,
    /// Levels that are never shed for lower ones (`[ERROR, CRITICAL]`).
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
    /// Sinks by name when none are given in code: `stdout_json` (default),
    /// `stdout_pretty`, `stdout_flat`.
    pub sinks: Vec<String>,
    /// How TRACE is written (`DEBUG`).
    pub trace_level_name: TraceNameSetting,
    /// Shortest interval between two in-band `logs dropped` reports, seconds (1.0).
    pub drop_summary_window_seconds: f64,
    /// What a failing redactor does to its event (`closed`).
    pub redaction_fail_mode: FailModeSetting,
}

/// The backpressure policy by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub enum TraceNameSetting {
    /// Write TRACE as `DEBUG`.
    #[default]
    #[serde(rename = "DEBUG")]
    Debug,
    /// Write TRACE as `TRACE`.
    #[serde(rename = "TRACE")]
    Trace,
}

/// [`RedactionFailMode`] as a setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
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
            service: "fapilog".to_owned(),
            env: "dev".to_owned(),
            version: None,
            core: CoreSettings::default(),
        }
    }
}

impl Default for CoreSettings {
    fn default() -> Self {
        CoreSettings {
            log_level: Level::INFO,
            max_queue_size: 10_000,
            protected_queue_size: None,
            protected_levels: vec![Level::ERROR, Level::CRITICAL],
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
            drop_summary_window_seconds: 1.0,
            redaction_fail_mode: FailModeSetting::Closed,
        }
    }
}

/// Largest queue accepted: 10 M events (several GB of slots), beyond which
/// a configuration is almost certainly a typo.
const MAX_QUEUE: usize = 10_000_000;

fn invalid(key: &str, value: impl ToString, expected: &str) -> Error {
    Error::InvalidSetting {
        key: key.to_owned(),
        value: value.to_string(),
        expected: expected.to_owned(),
    }
}

impl Settings {
    /// Defaults overlaid with the `FAPILOG_*` variables of this process.
    pub fn from_env() -> Result<Settings, Error> {
        Settings::from_env_vars(std::env::vars())
    }

    /// Defaults overlaid with the given variables (for tests and tools).
    pub fn from_env_vars<K: AsRef<str>, V: AsRef<str>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Settings, Error> {
        let mut s = Settings::default();
        s.apply_env(vars)?;
        Ok(s)
    }

    /// Applies the `FAPILOG_*` variables among `vars` on top of `self`.
    pub fn apply_env<K: AsRef<str>, V: AsRef<str>>(
        &mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Result<(), Error> {
        let mut env_fallback = None;
        for (k, v) in vars {
            let (k, v) = (k.as_ref(), v.as_ref());
            let upper = k.to_ascii_uppercase();
            if upper == "ENV" {
                env_fallback = Some(v.to_owned());
                continue;
            }
            if upper.starts_with("FAPILOG_") {
                self.set_env(&upper, v)?;
            }
        }
        if let Some(e) = env_fallback {
            if self.env == "dev" && std::env::var_os("FAPILOG_ENV").is_none() {
                self.env = e;
            }
        }
        self.validate()
    }

    /// Sets one variable; the one place where names map to fields.
    fn set_env(&mut self, key: &str, v: &str) -> Result<(), Error> {
        let c = &mut self.core;
        match key {
            "FAPILOG_SERVICE" => self.service = v.to_owned(),
            "FAPILOG_ENV" => self.env = v.to_owned(),
            "FAPILOG_VERSION" => self.version = Some(v.to_owned()),
            "FAPILOG_CORE__LOG_LEVEL" => {
                c.log_level = v.parse().map_err(|_| {
                    invalid(
                        key,
                        v,
                        "one of TRACE, DEBUG, INFO, WARNING, ERROR, CRITICAL",
                    )
                })?
            }
            "FAPILOG_CORE__MAX_QUEUE_SIZE" => c.max_queue_size = parse_int(key, v)?,
            "FAPILOG_CORE__PROTECTED_QUEUE_SIZE" => {
                c.protected_queue_size = Some(parse_int(key, v)?)
            }
            "FAPILOG_CORE__PROTECTED_LEVELS" => {
                c.protected_levels = parse_list(key, v)?
                    .iter()
                    .map(|s| {
                        s.parse::<Level>()
                            .map_err(|_| invalid(key, v, "a list of level names"))
                    })
                    .collect::<Result<_, _>>()?
            }
            "FAPILOG_CORE__BATCH_MAX_SIZE" => c.batch_max_size = parse_int(key, v)?,
            "FAPILOG_CORE__BATCH_MAX_BYTES" => c.batch_max_bytes = parse_size(key, v)?,
            "FAPILOG_CORE__BATCH_TIMEOUT_SECONDS" => {
                c.batch_timeout_seconds = parse_seconds(key, v)?
            }
            "FAPILOG_CORE__BACKPRESSURE_POLICY" => {
                c.backpressure_policy = match v.trim().to_ascii_lowercase().as_str() {
                    "wait" => PolicyName::Wait,
                    "drop" => PolicyName::Drop,
                    "block" => PolicyName::Block,
                    _ => return Err(invalid(key, v, "one of wait, drop, block")),
                }
            }
            "FAPILOG_CORE__DROP_ON_FULL" => c.drop_on_full = parse_bool(key, v)?,
            "FAPILOG_CORE__BACKPRESSURE_WAIT_MS" => c.backpressure_wait_ms = parse_int(key, v)?,
            "FAPILOG_CORE__WORKER_COUNT" => c.worker_count = parse_int(key, v)?,
            "FAPILOG_CORE__SHUTDOWN_TIMEOUT_SECONDS" => {
                c.shutdown_timeout_seconds = parse_seconds(key, v)?
            }
            "FAPILOG_CORE__SINKS" => c.sinks = parse_list(key, v)?,
            "FAPILOG_CORE__TRACE_LEVEL_NAME" => {
                c.trace_level_name = match v.trim().to_ascii_uppercase().as_str() {
                    "DEBUG" => TraceNameSetting::Debug,
                    "TRACE" => TraceNameSetting::Trace,
                    _ => return Err(invalid(key, v, "DEBUG or TRACE")),
                }
            }
            "FAPILOG_CORE__DROP_SUMMARY_WINDOW_SECONDS" => {
                c.drop_summary_window_seconds = parse_seconds(key, v)?
            }
            "FAPILOG_CORE__REDACTION_FAIL_MODE" => {
                c.redaction_fail_mode = match v.trim().to_ascii_lowercase().as_str() {
                    "closed" => FailModeSetting::Closed,
                    "warn" => FailModeSetting::Warn,
                    "open" => FailModeSetting::Open,
                    _ => return Err(invalid(key, v, "one of closed, warn, open")),
                }
            }
            // Other groups (sinks, stages, presets) are read by the parts that own them.
            _ => {}
        }
        Ok(())
    }

    /// Checks every value; the error names the first bad one.
    pub fn validate(&self) -> Result<(), Error> {
        let c = &self.core;
        if c.max_queue_size == 0 || c.max_queue_size > MAX_QUEUE {
            return Err(invalid(
                "core.max_queue_size",
                c.max_queue_size,
                "an integer from 1 to 10000000",
            ));
        }
        if let Some(p) = c.protected_queue_size {
            if p == 0 || p > MAX_QUEUE {
                return Err(invalid(
                    "core.protected_queue_size",
                    p,
                    "an integer from 1 to 10000000",
                ));
            }
        }
        if c.batch_max_size == 0 || c.batch_max_size > 1_000_000 {
            return Err(invalid(
                "core.batch_max_size",
                c.batch_max_size,
                "an integer from 1 to 1000000",
            ));
        }
        if c.batch_max_bytes < 1024 {
            return Err(invalid(
                "core.batch_max_bytes",
                c.batch_max_bytes,
                "at least 1024 bytes",
            ));
        }
        check_seconds(
            "core.batch_timeout_seconds",
            c.batch_timeout_seconds,
            0.0001,
            3600.0,
        )?;
        check_seconds(
            "core.shutdown_timeout_seconds",
            c.shutdown_timeout_seconds,
            0.0,
            3600.0,
        )?;
        check_seconds(
            "core.drop_summary_window_seconds",
            c.drop_summary_window_seconds,
            0.001,
            86_400.0,
        )?;
        if c.worker_count == 0 || c.worker_count > 64 {
            return Err(invalid(
                "core.worker_count",
                c.worker_count,
                "an integer from 1 to 64",
            ));
        }
        if c.backpressure_wait_ms > 3_600_000 {
            return Err(invalid(
                "core.backpressure_wait_ms",
                c.backpressure_wait_ms,
                "at most 3600000 (one hour)",
            ));
        }
        for s in &c.sinks {
            if !matches!(s.as_str(), "stdout_json" | "stdout_pretty" | "stdout_flat") {
                return Err(invalid(
                    "core.sinks",
                    s,
                    "one of stdout_json, stdout_pretty, stdout_flat (add other sinks in code)",
                ));
            }
        }
        if self.service.is_empty() {
            return Err(invalid("service", "", "a non-empty service name"));
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

    pub(crate) fn trace_name(&self) -> TraceName {
        match self.core.trace_level_name {
            TraceNameSetting::Debug => TraceName::Debug,
            TraceNameSetting::Trace => TraceName::Trace,
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

fn check_seconds(key: &str, v: f64, min: f64, max: f64) -> Result<(), Error> {
    if !v.is_finite() || v < min || v > max {
        return Err(invalid(
            key,
            v,
            &format!("a number of seconds from {min} to {max}"),
        ));
    }
    Ok(())
}

fn parse_int<T: std::str::FromStr>(key: &str, v: &str) -> Result<T, Error> {
    v.trim()
        .parse()
        .map_err(|_| invalid(key, v, "a non-negative integer"))
}

fn parse_bool(key: &str, v: &str) -> Result<bool, Error> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(invalid(
            key,
            v,
            "a boolean (true/false, 1/0, yes/no, on/off)",
        )),
    }
}

/// A JSON list (`["a","b"]`, fapilog's form) or a comma-separated one.
fn parse_list(key: &str, v: &str) -> Result<Vec<String>, Error> {
    let t = v.trim();
    if t.starts_with('[') {
        return serde_json::from_str(t)
            .map_err(|_| invalid(key, v, "a JSON list of strings or a comma-separated list"));
    }
    Ok(t.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect())
}

/// Seconds as a number (`0.25`) or with a unit (`250ms`, `5s`, `1m`, `1h`).
pub(crate) fn parse_seconds(key: &str, v: &str) -> Result<f64, Error> {
    let t = v.trim().to_ascii_lowercase();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| {
        invalid(
            key,
            v,
            "seconds, as a number or with a unit (250ms, 5s, 1m, 1h)",
        )
    })?;
    let scale = match unit.trim() {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" => 60.0,
        "h" => 3600.0,
        _ => {
            return Err(invalid(
                key,
                v,
                "seconds, as a number or with a unit (250ms, 5s, 1m, 1h)",
            ))
        }
    };
    Ok(n * scale)
}

/// Bytes as a number or with a unit (`10 MB`, `10MiB`, `512kb`; 1024-based).
pub(crate) fn parse_size(key: &str, v: &str) -> Result<usize, Error> {
    let t = v.trim().to_ascii_lowercase();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| invalid(key, v, "a size in bytes (1048576, 512 KB, 10 MiB)"))?;
    let scale: f64 = match unit.trim() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return Err(invalid(key, v, "a size in bytes (1048576, 512 KB, 10 MiB)")),
    };
    Ok((n * scale) as usize)
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
        for (k, v, want) in [
            ("FAPILOG_CORE__MAX_QUEUE_SIZE", "0", "core.max_queue_size"),
            ("FAPILOG_CORE__LOG_LEVEL", "LOUD", "FAPILOG_CORE__LOG_LEVEL"),
            (
                "FAPILOG_CORE__DROP_ON_FULL",
                "maybe",
                "FAPILOG_CORE__DROP_ON_FULL",
            ),
            ("FAPILOG_CORE__WORKER_COUNT", "0", "core.worker_count"),
            ("FAPILOG_CORE__SINKS", "kafka", "core.sinks"),
            (
                "FAPILOG_CORE__BATCH_TIMEOUT_SECONDS",
                "5 parsecs",
                "FAPILOG_CORE__BATCH_TIMEOUT_SECONDS",
            ),
        ] {
            let e = Settings::from_env_vars([(k, v)]).unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
            assert!(e.contains(v), "{e}");
            assert!(e.contains("expected"), "{e}");
        }
    }
}
