//! The key registry: every setting by its dotted path, with its type, its
//! default and its documentation. The environment parser, the TOML parser,
//! validation, `fapilog check` and `docs/settings.md` all read this one
//! table, so a setting cannot exist in one and be missing from another.
//!
//! ```
//! use fapilog::settings::keys;
//! let k = keys::lookup("core.max_queue_size").unwrap();
//! assert_eq!(k.env_name(), "FAPILOG_CORE__MAX_QUEUE_SIZE");
//! assert_eq!(k.default, "10000");
//! assert_eq!(keys::lookup_env("FAPILOG_LOKI__URL").unwrap().alias, Some("sink_config.loki.url"));
//! ```

use std::fmt;

use super::{FailModeSetting, PolicyName, Settings, TraceNameSetting};
use crate::level::Level;
use crate::sinks::FsyncPolicy;

/// A value as a source gave it: environment variables give text, TOML files
/// give typed values. Every parser accepts both.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Raw {
    /// Text (every environment variable, TOML strings).
    Str(String),
    /// A TOML integer.
    Int(i64),
    /// A TOML float.
    Float(f64),
    /// A TOML boolean.
    Bool(bool),
    /// A TOML array.
    List(Vec<Raw>),
}

impl fmt::Display for Raw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Raw::Str(s) => f.write_str(s),
            Raw::Int(i) => write!(f, "{i}"),
            Raw::Float(x) => write!(f, "{x}"),
            Raw::Bool(b) => write!(f, "{b}"),
            Raw::List(items) => {
                f.write_str("[")?;
                for (i, r) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    match r {
                        Raw::Str(s) => write!(f, "{s:?}")?,
                        other => write!(f, "{other}")?,
                    }
                }
                f.write_str("]")
            }
        }
    }
}

/// What a setting does in this version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Effect {
    /// It takes effect.
    Active,
    /// fapilog has it; it means nothing here (a Python integration, an
    /// asyncio knob, a setting fapilog itself ignores) or is not implemented.
    /// Accepted, kept, and reported by `fapilog check` and once at debug
    /// level with this reason.
    NoEffect(&'static str),
    /// A setting of this network sink, which the fapilog-sinks crate reads:
    /// validated and kept for it.
    SinkNotBuilt(&'static str),
}

/// One setting (or, for a path ending in `.*`, a whole group).
#[derive(Clone)]
#[non_exhaustive]
pub struct Key {
    /// Dotted path, as in TOML: `core.max_queue_size`; `loki.*` for a group.
    pub path: &'static str,
    /// What values are allowed.
    pub ty: &'static str,
    /// The default, as text (empty when unset).
    pub default: &'static str,
    /// What the setting does.
    pub doc: &'static str,
    /// Values are secrets: never printed.
    pub secret: bool,
    /// `Some(why)` for settings fapilog has that this version rejects.
    pub unavailable: Option<&'static str>,
    /// What setting it does here.
    pub effect: Effect,
    /// For an alias (`loki.url`), the path of its long form
    /// (`sink_config.loki.url`).
    pub alias: Option<&'static str>,
    /// Parses a raw value for the path (the key's own, or one path of a
    /// group) and sets it.
    pub(super) apply: fn(&Key, &mut Settings, &str, &Raw) -> Result<(), String>,
    /// The current value, as text.
    pub(super) show: fn(&Key, &Settings) -> String,
    /// Copies the value from one settings to another.
    pub(super) copy: fn(&Key, &Settings, &mut Settings),
    /// The type of a kept fleet setting: one table entry and three shared
    /// functions per key instead of three closures each (see `fleet`).
    pub(super) kind: Option<&'static super::fleet::Kind>,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("path", &self.path)
            .field("ty", &self.ty)
            .field("default", &self.default)
            .finish_non_exhaustive()
    }
}

impl Key {
    /// The environment variable: `FAPILOG_` + the path upper-cased with
    /// `.` → `__` (`FAPILOG_LOKI__*` for a group).
    pub fn env_name(&self) -> String {
        let mut s = String::from("FAPILOG_");
        s.push_str(&self.path.to_ascii_uppercase().replace('.', "__"));
        s
    }

    /// `true` for one of fapilog's settings kept as text in
    /// [`Settings::accepted`](super::Settings::accepted) (or an alias of one).
    pub fn kept_as_text(&self) -> bool {
        super::fleet::FLEET.iter().any(|k| k.path == self.path)
    }

    /// `true` for a `group.*` entry.
    pub fn is_group(&self) -> bool {
        self.path.ends_with(".*")
    }

    /// The current value in `settings`, as text (`***` for a secret).
    pub fn display(&self, settings: &Settings) -> String {
        if self.secret {
            return "***".to_owned();
        }
        self.shown(settings)
    }

    /// The current value in `settings`, as text (secrets too).
    pub(super) fn shown(&self, settings: &Settings) -> String {
        (self.show)(self, settings)
    }

    /// Parses `raw` for `path` (this key's own, or one path of its group)
    /// and sets it in `settings`.
    pub(super) fn set(&self, settings: &mut Settings, path: &str, raw: &Raw) -> Result<(), String> {
        (self.apply)(self, settings, path, raw)
    }

    /// Copies this key's value from one settings to another.
    pub(super) fn copy_into(&self, from: &Settings, to: &mut Settings) {
        (self.copy)(self, from, to)
    }

    fn matches(&self, path: &str) -> bool {
        match self.path.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => self.path == path,
        }
    }
}

/// Every key, in documentation order: this library's own, then the rest
/// of fapilog's names ([`super::AcceptedSettings`]).
pub fn all() -> &'static [Key] {
    static ALL: std::sync::OnceLock<Vec<Key>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| KEYS.iter().chain(super::fleet::FLEET).cloned().collect())
}

/// The key for a dotted path (a group entry matches every path under it
/// that no key names exactly). fapilog's long form of the file sink's keys,
/// `sink_config.rotating_file.<key>`, is the same key as `file.<key>`.
pub fn lookup(path: &str) -> Option<&'static Key> {
    let canonical;
    let path = match path.strip_prefix(ROTATING_FILE_ALIAS) {
        Some(rest) => {
            canonical = format!("file.{rest}");
            canonical.as_str()
        }
        None => path,
    };
    let all = all();
    all.iter()
        .find(|k| k.path == path)
        .or_else(|| all.iter().find(|k| k.matches(path)))
}

/// The known environment variable nearest to `name` (edit distance at most
/// a third of its length), for "did you mean".
pub fn suggest(name: &str) -> Option<String> {
    let upper = name.to_ascii_uppercase();
    let mut best: Option<(usize, String)> = None;
    for k in all().iter().filter(|k| !k.is_group()) {
        let cand = k.env_name();
        let d = edit_distance(&upper, &cand);
        if best.as_ref().is_none_or(|(bd, _)| d < *bd) {
            best = Some((d, cand));
        }
    }
    best.filter(|(d, _)| *d <= upper.len().saturating_sub(8).max(3) / 3 + 1)
        .map(|(_, n)| n)
}

/// Levenshtein distance over bytes (names are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The long form of `file.*`, as fapilog spells it under `sink_config`.
const ROTATING_FILE_ALIAS: &str = "sink_config.rotating_file.";

/// The key for an environment variable name (any case).
pub fn lookup_env(name: &str) -> Option<&'static Key> {
    env_to_path(name).and_then(|p| lookup(&p))
}

/// `FAPILOG_CORE__LOG_LEVEL` → `core.log_level`; `None` without the prefix.
pub fn env_to_path(name: &str) -> Option<String> {
    let upper = name.to_ascii_uppercase();
    let rest = upper.strip_prefix("FAPILOG_")?;
    Some(rest.to_ascii_lowercase().replace("__", "."))
}

/// The known keys of the group `path` belongs to, for "what is allowed".
pub(super) fn siblings(path: &str) -> String {
    let group = path.split_once('.').map(|(g, _)| g);
    let names: Vec<&str> = all()
        .iter()
        .filter(|k| k.unavailable.is_none() && k.effect == Effect::Active && k.alias.is_none())
        .filter(|k| match group {
            Some(g) => k.path.split_once('.').map(|(kg, _)| kg) == Some(g),
            None => !k.path.contains('.'),
        })
        .map(|k| k.path)
        .collect();
    if names.is_empty() {
        let groups: Vec<&str> = {
            let mut g: Vec<&str> = KEYS
                .iter()
                .filter(|k| k.unavailable.is_none())
                .map(|k| k.path.split_once('.').map_or(k.path, |(g, _)| g))
                .collect();
            g.dedup();
            g
        };
        format!(
            "a known key; top-level keys and groups are {}",
            groups.join(", ")
        )
    } else {
        format!("one of {}", names.join(", "))
    }
}

// ---------------------------------------------------------------- parsers
// Each returns the value or the description of what is allowed.

fn text(raw: &Raw) -> Option<&str> {
    match raw {
        Raw::Str(s) => Some(s.trim()),
        _ => None,
    }
}

pub(super) fn int(raw: &Raw, min: u64, max: u64) -> Result<u64, String> {
    let expected = || format!("an integer from {min} to {max}");
    let v = match raw {
        Raw::Int(i) => u64::try_from(*i).map_err(|_| expected())?,
        Raw::Str(s) => s.trim().parse::<u64>().map_err(|_| expected())?,
        _ => return Err(expected()),
    };
    if v < min || v > max {
        return Err(expected());
    }
    Ok(v)
}

fn opt_int(raw: &Raw, min: u64, max: u64) -> Result<Option<u64>, String> {
    match text(raw) {
        Some("") => Ok(None),
        _ => int(raw, min, max).map(Some),
    }
}

pub(super) fn boolean(raw: &Raw) -> Result<bool, String> {
    let expected = || "a boolean (true/false, 1/0, yes/no, on/off)".to_owned();
    match raw {
        Raw::Bool(b) => Ok(*b),
        Raw::Int(0) => Ok(false),
        Raw::Int(1) => Ok(true),
        Raw::Str(s) => match s.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            _ => Err(expected()),
        },
        _ => Err(expected()),
    }
}

/// Seconds as a number (`0.25`) or with a unit (`250ms`, `5s`, `2m`, `1h`, `1d`).
pub(super) fn seconds(raw: &Raw, min: f64, max: f64) -> Result<f64, String> {
    let expected = || {
        format!("a duration from {min} to {max} seconds: a number of seconds or 250ms, 5s, 2m, 1h")
    };
    let v = match raw {
        Raw::Int(i) => *i as f64,
        Raw::Float(x) => *x,
        Raw::Str(s) => {
            let (n, unit) = number_and_unit(s).ok_or_else(expected)?;
            let scale = match unit.as_str() {
                "" | "s" | "sec" | "secs" | "seconds" => 1.0,
                "ms" => 0.001,
                "us" | "µs" => 0.000_001,
                "m" | "min" => 60.0,
                "h" => 3600.0,
                "d" => 86_400.0,
                _ => return Err(expected()),
            };
            n * scale
        }
        _ => return Err(expected()),
    };
    if !v.is_finite() || v < min || v > max {
        return Err(expected());
    }
    Ok(v)
}

/// A rotation interval in seconds: a duration (`3600`, `1h`, `2w`) or
/// fapilog's `hourly`, `daily`, `weekly`; 0 is off.
fn interval(raw: &Raw) -> Result<f64, String> {
    const MAX: f64 = 315_360_000.0;
    let expected = || {
        format!("a rotation interval from 0 to {MAX} seconds: a number of seconds, 1h, 1d, 1w, hourly, daily or weekly")
    };
    if let Some(t) = text(raw).map(str::to_ascii_lowercase) {
        let named = match t.as_str() {
            "hourly" => Some(3600.0),
            "daily" => Some(86_400.0),
            "weekly" => Some(604_800.0),
            _ => None,
        };
        if let Some(v) = named {
            return Ok(v);
        }
        if let Some(weeks) = t.strip_suffix('w') {
            return seconds(&Raw::Str(weeks.to_owned()), 0.0, MAX / 604_800.0)
                .map(|w| w * 604_800.0)
                .map_err(|_| expected());
        }
    }
    seconds(raw, 0.0, MAX).map_err(|_| expected())
}

/// Bytes as a number or with a unit, 1024-based as in fapilog (`10 MB`,
/// `10MiB`, `512kb`, `1.5 GB`).
pub(super) fn size(raw: &Raw, min: u64, max: u64) -> Result<u64, String> {
    let expected = || format!("a size from {min} to {max} bytes: a number or 512 KB, 10 MiB, 1 GB");
    let v = match raw {
        Raw::Int(i) => u64::try_from(*i).map_err(|_| expected())?,
        Raw::Str(s) => {
            let (n, unit) = number_and_unit(s).ok_or_else(expected)?;
            let scale: f64 = match unit.as_str() {
                "" | "b" => 1.0,
                "k" | "kb" | "kib" => 1024.0,
                "m" | "mb" | "mib" => 1024.0 * 1024.0,
                "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
                "t" | "tb" | "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
                _ => return Err(expected()),
            };
            let b = (n * scale).round();
            if !(0.0..=u64::MAX as f64).contains(&b) {
                return Err(expected());
            }
            b as u64
        }
        _ => return Err(expected()),
    };
    if v < min || v > max {
        return Err(expected());
    }
    Ok(v)
}

fn number_and_unit(s: &str) -> Option<(f64, String)> {
    let t = s.trim().to_ascii_lowercase();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return None;
    }
    Some((num.parse().ok()?, unit.trim().to_owned()))
}

/// A list: a TOML array, a JSON list (`["a","b"]`, fapilog's form) or a
/// comma-separated one.
pub(super) fn list(raw: &Raw) -> Result<Vec<String>, String> {
    let expected =
        || "a list of names: a TOML array, a JSON list or a comma-separated list".to_owned();
    match raw {
        Raw::List(items) => items
            .iter()
            .map(|r| match r {
                Raw::Str(s) => Ok(s.trim().to_owned()),
                _ => Err(expected()),
            })
            .collect(),
        Raw::Str(s) => {
            let t = s.trim();
            if t.starts_with('[') {
                return serde_json::from_str::<Vec<String>>(t).map_err(|_| expected());
            }
            Ok(t.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect())
        }
        _ => Err(expected()),
    }
}

const LEVELS: &str = "one of TRACE, DEBUG, INFO, WARNING, ERROR, CRITICAL";

pub(super) fn level(raw: &Raw) -> Result<Level, String> {
    text(raw)
        .and_then(|s| s.parse::<Level>().ok())
        .ok_or_else(|| LEVELS.to_owned())
}

/// fapilog's two levels above CRITICAL, as custom levels.
const AUDIT: Level = Level::custom(60, "AUDIT");
const SECURITY: Level = Level::custom(70, "SECURITY");

fn levels(raw: &Raw) -> Result<Vec<Level>, String> {
    let expected =
        || format!("a list of levels, each {LEVELS}, FATAL (= CRITICAL), AUDIT or SECURITY");
    let mut out: Vec<Level> = Vec::new();
    for s in list(raw).map_err(|_| expected())? {
        let l = match s.to_ascii_uppercase().as_str() {
            "AUDIT" => AUDIT,
            "SECURITY" => SECURITY,
            _ => s.parse::<Level>().map_err(|_| expected())?,
        };
        // FATAL is CRITICAL: fapilog's default names both.
        if !out.contains(&l) {
            out.push(l);
        }
    }
    Ok(out)
}

fn one_of<'a>(raw: &Raw, allowed: &[&'a str]) -> Result<&'a str, String> {
    let t = text(raw).map(str::to_ascii_lowercase);
    allowed
        .iter()
        .find(|a| Some(a.to_ascii_lowercase()) == t)
        .copied()
        .ok_or_else(|| format!("one of {}", allowed.join(", ")))
}

/// Names of an enumerated setting, in the order they are documented.
type Choices<T> = [(&'static str, T)];

const POLICIES: &Choices<PolicyName> = &[
    ("wait", PolicyName::Wait),
    ("drop", PolicyName::Drop),
    ("block", PolicyName::Block),
];
const TRACE_NAMES: &Choices<TraceNameSetting> = &[
    ("DEBUG", TraceNameSetting::Debug),
    ("TRACE", TraceNameSetting::Trace),
];
const FSYNC: &Choices<FsyncPolicy> = &[
    ("never", FsyncPolicy::Never),
    ("on_rotate", FsyncPolicy::OnRotate),
    ("every_batch", FsyncPolicy::EveryBatch),
];
const FAIL_MODES: &Choices<FailModeSetting> = &[
    ("closed", FailModeSetting::Closed),
    ("warn", FailModeSetting::Warn),
    ("open", FailModeSetting::Open),
];

/// Parses one of `choices` by name (case-insensitive).
fn choice<T: Copy>(raw: &Raw, choices: &Choices<T>) -> Result<T, String> {
    let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
    let name = one_of(raw, &names)?;
    choices
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
        .ok_or_else(|| format!("one of {}", names.join(", ")))
}

/// The name of `value` among `choices`.
fn choice_name<T: PartialEq>(value: &T, choices: &Choices<T>) -> String {
    choices
        .iter()
        .find(|(_, v)| v == value)
        .map_or_else(String::new, |(n, _)| (*n).to_owned())
}

fn string(raw: &Raw) -> Result<String, String> {
    match raw {
        Raw::Str(s) => Ok(s.clone()),
        _ => Err("a string".to_owned()),
    }
}

fn non_empty(raw: &Raw) -> Result<String, String> {
    match text(raw) {
        Some(s) if !s.is_empty() => Ok(s.to_owned()),
        _ => Err("a non-empty string".to_owned()),
    }
}

fn opt_string(raw: &Raw) -> Result<Option<String>, String> {
    string(raw).map(|s| if s.is_empty() { None } else { Some(s) })
}

fn sinks(raw: &Raw) -> Result<Vec<String>, String> {
    let names = list(raw)?;
    for n in &names {
        let n = n.to_ascii_lowercase().replace('-', "_");
        if !SINK_NAMES.contains(&n.as_str()) && !NETWORK_SINKS.contains(&n.as_str()) {
            return Err(match UNAVAILABLE_SINKS.iter().find(|s| **s == n) {
                Some(s) => format!(
                    "a list of available sinks ({}, {}); sink {s} is not built in this version",
                    SINK_NAMES.join(", "),
                    NETWORK_SINKS.join(", ")
                ),
                None => format!(
                    "a list of sinks, each one of {}, {}",
                    SINK_NAMES.join(", "),
                    NETWORK_SINKS.join(", ")
                ),
            });
        }
    }
    Ok(names
        .into_iter()
        .map(|n| n.to_ascii_lowercase().replace('-', "_"))
        .collect())
}

/// Sinks `core.sinks` may name that this crate opens itself (`file` is
/// another name for `rotating_file`).
pub const SINK_NAMES: [&str; 7] = [
    "stdout_json",
    "stdout_pretty",
    "stdout_flat",
    "rotating_file",
    "file",
    "stderr_json",
    "stderr_pretty",
];

/// Network sinks `core.sinks` may name: the fapilog-sinks crate opens them,
/// once registered with
/// [`PipelineBuilder::sink_factory`](crate::PipelineBuilder::sink_factory).
pub const NETWORK_SINKS: [&str; 8] = [
    "http",
    "webhook",
    "loki",
    "cloudwatch",
    "postgres",
    "otlp",
    "syslog",
    "nats",
];

/// fapilog's sink names that this version does not have.
const UNAVAILABLE_SINKS: [&str; 3] = ["sealed", "audit", "routing"];

/// Sets `rest` (`sampling.sample_rate`) inside a serde-typed group: the
/// value as JSON where it parses as JSON, else as a string; the group's own
/// `Deserialize` (with `deny_unknown_fields`) decides what is allowed.
fn set_in<T>(target: &mut T, rest: &str, raw: &Raw) -> Result<(), String>
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    let root = serde_json::to_value(&*target).map_err(|e| e.to_string())?;
    let segs: Vec<&str> = rest.split('.').collect();
    if segs.iter().any(|s| s.is_empty()) {
        return Err("an option name after the group".to_owned());
    }
    let mut first_err = None;
    for candidate in json_candidates(raw) {
        let mut trial = root.clone();
        let mut cur = &mut trial;
        for seg in &segs {
            let obj = cur
                .as_object_mut()
                .ok_or_else(|| format!("a table above {seg}"))?;
            cur = obj
                .entry((*seg).to_owned())
                .or_insert_with(|| serde_json::Value::Object(Default::default()));
        }
        *cur = candidate;
        match serde_json::from_value::<T>(trial) {
            Ok(t) => {
                *target = t;
                return Ok(());
            }
            Err(e) => {
                first_err.get_or_insert(e.to_string());
            }
        }
    }
    Err(format!(
        "a valid option value ({})",
        first_err.unwrap_or_else(|| "no value".to_owned())
    ))
}

fn json_candidates(raw: &Raw) -> Vec<serde_json::Value> {
    fn plain(raw: &Raw) -> serde_json::Value {
        match raw {
            Raw::Str(s) => serde_json::Value::String(s.clone()),
            Raw::Int(i) => serde_json::Value::from(*i),
            Raw::Float(f) => serde_json::Value::from(*f),
            Raw::Bool(b) => serde_json::Value::Bool(*b),
            Raw::List(items) => serde_json::Value::Array(items.iter().map(plain).collect()),
        }
    }
    match raw {
        Raw::Str(s) => match serde_json::from_str::<serde_json::Value>(s.trim()) {
            Ok(v) if !v.is_string() => vec![v, plain(raw)],
            _ => vec![plain(raw)],
        },
        _ => vec![plain(raw)],
    }
}

// ---------------------------------------------------------------- shows

fn show<T: fmt::Display>(v: &T) -> String {
    v.to_string()
}

fn show_opt<T: fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

fn show_list(v: &[String]) -> String {
    v.join(",")
}

fn show_levels(v: &[Level]) -> String {
    v.iter().map(|l| l.name()).collect::<Vec<_>>().join(",")
}

// ---------------------------------------------------------------- the table

macro_rules! key {
    ($path:literal, $($f:ident).+, $ty:literal, $default:literal, $doc:literal,
     parse $parse:expr, show $show:expr) => {
        key!($path, $($f).+, $ty, $default, $doc, parse $parse, show $show, effect Effect::Active)
    };
    ($path:literal, $($f:ident).+, $ty:literal, $default:literal, $doc:literal,
     parse $parse:expr, show $show:expr, effect $effect:expr) => {
        Key {
            path: $path,
            ty: $ty,
            default: $default,
            doc: $doc,
            secret: false,
            unavailable: None,
            effect: $effect,
            alias: None,
            apply: |_, s, _path, raw| {
                s.$($f).+ = ($parse)(raw)?;
                Ok(())
            },
            show: |_, s| ($show)(&s.$($f).+),
            copy: |_, from, to| to.$($f).+ = from.$($f).+.clone(),
            kind: None,
        }
    };
}

macro_rules! group {
    ($path:literal, $($f:ident).+, $doc:literal) => {
        Key {
            path: $path,
            ty: "options of the named stage (see docs)",
            default: "",
            doc: $doc,
            secret: false,
            unavailable: None,
            effect: Effect::Active,
            alias: None,
            apply: |_, s, path, raw| {
                let rest = path.strip_prefix(&$path[..$path.len() - 1]).unwrap_or(path);
                set_in(&mut s.$($f).+, rest, raw)
            },
            show: |_, s| serde_json::to_string(&s.$($f).+).unwrap_or_default(),
            copy: |_, from, to| to.$($f).+ = from.$($f).+.clone(),
            kind: None,
        }
    };
}

static KEYS: &[Key] = &[
    Key {
        path: "preset",
        ty: "dev, production, serverless, hardened, minimal",
        default: "",
        doc: "The preset under every other source (file, environment, builder); see the presets section. Only `FAPILOG_PRESET`, the file's top-level key and the builder choose it.",
        secret: false,
        unavailable: None,
        effect: Effect::Active,
        alias: None,
        apply: |_, s, _path, raw| {
            if text(raw) == Some("") {
                s.preset = None;
                return Ok(());
            }
            // Naming a preset in code starts over from it.
            let name = one_of(raw, &super::presets::Preset::NAMES)?;
            if let Ok(p) = name.parse::<super::presets::Preset>() {
                *s = p.settings();
            }
            Ok(())
        },
        show: |_, s| s.preset.map(|p| p.name().to_owned()).unwrap_or_default(),
        copy: |_, from, to| to.preset = from.preset,
        kind: None,
    },
    key!("service", service, "non-empty string", "fapilog",
        "Service name, written as `diagnostics.service`.",
        parse non_empty, show show),
    key!("env", env, "string", "dev",
        "Deployment environment, written as `diagnostics.env`; when unset, the plain `ENV` variable is used.",
        parse string, show show),
    key!("version", version, "string", "",
        "Service version, written as `diagnostics.version` (omitted when empty).",
        parse opt_string, show show_opt),
    key!("core.log_level", core.log_level, "TRACE, DEBUG, INFO, WARNING, ERROR, CRITICAL", "INFO",
        "Lowest level logged; changeable at run time (`Pipeline::set_level`, `settings::Reloader`).",
        parse level, show |l: &Level| l.name().to_owned()),
    key!("core.max_queue_size", core.max_queue_size, "integer 1..=10000000", "10000",
        "Capacity of the main queue, in events.",
        parse |r| int(r, 1, 10_000_000).map(|v| v as usize), show show),
    key!("core.protected_queue_size", core.protected_queue_size, "integer 1..=10000000", "",
        "Slots reserved for protected levels; empty means max(100, max_queue_size / 10).",
        parse |r| opt_int(r, 1, 10_000_000).map(|v| v.map(|v| v as usize)), show show_opt),
    key!("core.protected_levels", core.protected_levels, "list of levels", "ERROR,CRITICAL,AUDIT,SECURITY",
        "Levels that lower levels can never crowd out of the queue. fapilog's default names `FATAL` too, which is `CRITICAL` here; `AUDIT` and `SECURITY` are the custom levels 60 and 70.",
        parse levels, show |v: &Vec<Level>| show_levels(v)),
    key!("core.batch_max_size", core.batch_max_size, "integer 1..=1000000", "256",
        "Events per batch handed to the sinks.",
        parse |r| int(r, 1, 1_000_000).map(|v| v as usize), show show),
    key!("core.batch_max_bytes", core.batch_max_bytes, "size 1 KiB..=1 GiB", "1048576",
        "Encoded bytes per batch (`1 MiB`, `512 KB`).",
        parse |r| size(r, 1024, 1 << 30).map(|v| v as usize), show show),
    key!("core.batch_timeout_seconds", core.batch_timeout_seconds, "duration 0.0001..=3600 s", "0.25",
        "Longest an event waits in a batch (`0.25`, `250ms`).",
        parse |r| seconds(r, 0.0001, 3600.0), show show),
    key!("core.backpressure_policy", core.backpressure_policy, "wait, drop, block", "wait",
        "What a log call does on a full queue: wait up to `backpressure_wait_ms` then drop, drop at once, or block.",
        parse |r| choice(r, POLICIES), show |p: &PolicyName| choice_name(p, POLICIES)),
    key!("core.drop_on_full", core.drop_on_full, "boolean", "false",
        "fapilog's switch: `true` forces the `drop` policy. Default `false` (fapilog: `true`): this library does not lose lines by default.",
        parse boolean, show show),
    key!("core.backpressure_wait_ms", core.backpressure_wait_ms, "integer 0..=3600000", "50",
        "The `wait` policy's timeout, in milliseconds.",
        parse |r| int(r, 0, 3_600_000), show show),
    key!("core.worker_count", core.worker_count, "integer 1..=64", "1",
        "Worker threads.",
        parse |r| int(r, 1, 64).map(|v| v as usize), show show),
    key!("core.shutdown_timeout_seconds", core.shutdown_timeout_seconds, "duration 0..=3600 s", "3",
        "Longest the drain may take when the last pipeline handle (or `init`'s guard) is dropped.",
        parse |r| seconds(r, 0.0, 3600.0), show show),
    key!("core.sinks", core.sinks, "list of stdout_json, stdout_pretty, stdout_flat, rotating_file (or file), stderr_json, stderr_pretty", "",
        "Sinks when none are added in code; empty means `rotating_file` when `file.directory` is set, else `stdout_json`.",
        parse sinks, show |v: &Vec<String>| show_list(v)),
    key!("core.trace_level_name", core.trace_level_name, "DEBUG, TRACE", "DEBUG",
        "How TRACE events are named in the output.",
        parse |r| choice(r, TRACE_NAMES), show |t: &TraceNameSetting| choice_name(t, TRACE_NAMES)),
    key!("core.include_location", core.include_location, "boolean", "false",
        "Write each call site as `diagnostics.location` (`file`, `line`, `module`) when the call has one (the macros and the `tracing` layer with file and line do).",
        parse boolean, show show),
    key!("core.drop_summary_window_seconds", core.drop_summary_window_seconds, "duration 0.001..=86400 s", "1",
        "Shortest interval between two in-band `logs dropped` reports.",
        parse |r| seconds(r, 0.001, 86_400.0), show show),
    key!("core.redaction_fail_mode", core.redaction_fail_mode, "closed, warn, open", "closed",
        "What a failing redactor does to its event: withhold it (closed), pass it and report on stderr (warn), or pass it (open).",
        parse |r| choice(r, FAIL_MODES), show |m: &FailModeSetting| choice_name(m, FAIL_MODES)),
    key!("core.enable_metrics", core.enable_metrics, "boolean", "false",
        "fapilog's switch for its Prometheus collector; accepted, no effect here: metrics are always counted in process at no cost on the caller's path and exported only when read (`Pipeline::metrics()`, `MetricsSnapshot::to_prometheus()`).",
        parse boolean, show show,
        effect Effect::NoEffect("metrics are always counted in process and exported only when read")),
    key!("core.filters", stages.filters, "list of level, sampling, rate_limit, adaptive_sampling, trace_sampling, first_occurrence", "",
        "Built-in filters, in order (options under `filter_config.<name>.*`).",
        parse list, show |v: &Vec<String>| show_list(v)),
    key!("core.enrichers", stages.enrichers, "list of runtime_info, context_vars, kubernetes, static_fields", "runtime_info,context_vars",
        "Built-in enrichers, in order (options under `enricher_config.<name>.*`).",
        parse list, show |v: &Vec<String>| show_list(v)),
    key!("core.redactors", stages.redactors, "list of field_mask, regex_mask, url_credentials, field_blocker, string_truncate", "url_credentials",
        "Built-in redactors, in order (options and redaction presets under `redactor_config.*`).",
        parse list, show |v: &Vec<String>| show_list(v)),
    key!("core.processors", stages.processors, "list of size_guard, exceptions, zero_copy", "exceptions",
        "Built-in processors, in order (options under `processor_config.<name>.*`).",
        parse list, show |v: &Vec<String>| show_list(v)),
    group!("filter_config.*", stages.filter_config,
        "Filter options: `filter_config.<filter>.<option>`, e.g. `FAPILOG_FILTER_CONFIG__SAMPLING__SAMPLE_RATE=0.1`, `FAPILOG_FILTER_CONFIG__LEVEL__OVERRIDES=app.db=debug`. Values are JSON where they parse as JSON, else text; unknown options are errors."),
    group!("enricher_config.*", stages.enricher_config,
        "Enricher options: `enricher_config.<enricher>.<option>`."),
    group!("redactor_config.*", stages.redactor_config,
        "Redactor options: `redactor_config.<redactor>.<option>`, and `redactor_config.presets` (e.g. `[\"CREDENTIALS\", \"PCI_DSS\"]`)."),
    group!("processor_config.*", stages.processor_config,
        "Processor options: `processor_config.<processor>.<option>`, e.g. `FAPILOG_PROCESSOR_CONFIG__SIZE_GUARD__MAX_BYTES=256000`."),
    key!("file.directory", file.directory, "path", "",
        "Directory of the rotating file sink (created if missing); setting it makes the file sink the default when `core.sinks` is empty, as in fapilog. Files are named `<filename_prefix>-<UTC %Y%m%d-%H%M%S>[-N].jsonl` (`.log` in text mode). Also `FAPILOG_SINK_CONFIG__ROTATING_FILE__DIRECTORY` (every `file.*` key has that long form too; when both are set, the long form wins).",
        parse opt_string, show show_opt),
    key!("file.filename_prefix", file.filename_prefix, "non-empty file name", "fapilog",
        "Start of the file names, before `-<time>`.",
        parse |r| non_empty(r).and_then(|s| {
            if s.contains(['/', '\\']) {
                Err("a file name without a path separator".to_owned())
            } else {
                Ok(s)
            }
        }), show show),
    key!("file.mode", file.mode, "json, text", "json",
        "Format of the file sink: the JSON envelope (`.jsonl`), or the human (pretty, uncoloured) line (`.log`).",
        parse |r| one_of(r, &["json", "text"]).map(str::to_owned), show show),
    key!("file.max_bytes", file.max_bytes, "size", "10485760",
        "Rotate before a write that would take the file past this size (`10 MB`); 0 turns size rotation off.",
        parse |r| size(r, 0, u64::MAX), show show),
    key!("file.interval_seconds", file.interval_seconds, "duration, hourly, daily, weekly", "0",
        "Also rotate at every multiple of this interval since the epoch, UTC (`3600`, `1h`, `daily`); 0 turns it off.",
        parse interval, show show),
    key!("file.max_files", file.max_files, "integer 0..=1000000", "0",
        "Rotated files kept besides the active one; 0 keeps all. Applied at start-up and after each rotation.",
        parse |r| int(r, 0, 1_000_000).map(|v| v as usize), show show),
    key!("file.max_total_bytes", file.max_total_bytes, "size", "0",
        "Total size of the rotated files kept (the newest first); 0 means no cap.",
        parse |r| size(r, 0, u64::MAX), show show),
    key!("file.max_age_seconds", file.max_age_seconds, "duration 0..=315360000 s", "0",
        "Delete rotated files closed longer ago than this (`7d`); 0 keeps them. Not in fapilog.",
        parse |r| seconds(r, 0.0, 315_360_000.0), show show),
    key!("file.compress_rotated", file.compress_rotated, "boolean", "false",
        "Gzip rotated files to `<name>.gz` on a background thread (needs the `gzip` cargo feature; without it, `true` is an error naming the feature).",
        parse boolean, show show),
    key!("file.fsync", file.fsync, "never, on_rotate, every_batch", "on_rotate",
        "When the file sink syncs to disk: never, when a file is closed, or after every batch. Not in fapilog (which never syncs).",
        parse |r| choice(r, FSYNC), show |p: &FsyncPolicy| choice_name(p, FSYNC)),
    key!("spool.directory", spool.directory, "path", "",
        "Rust only (cargo feature `spool`): a disk spool for the sinks the settings open (and those added without options), under `<directory>/<sink name>`; unset, nothing is spooled. One process per directory: a second one fails to start with a lock error. See docs/spool.md.",
        parse opt_string, show show_opt),
    key!("spool.max_bytes", spool.max_bytes, "size 4 KiB..", "268435456",
        "Rust only: most bytes of segment files per sink (`256 MiB`); usage stays within this plus one segment. At least `spool.segment_bytes`.",
        parse |r| size(r, 4096, u64::MAX), show show),
    key!("spool.segment_bytes", spool.segment_bytes, "size 4 KiB..=1 GiB", "8388608",
        "Rust only: a segment is sealed past this size and deleted once delivered (`8 MiB`).",
        parse |r| size(r, 4096, 1 << 30), show show),
    key!("spool.fsync", spool.fsync, "never, every_batch, or an interval (duration)", "0.5",
        "Rust only: when the spool syncs to disk. Every policy keeps what was written across `kill -9`; across a power loss `never` may lose everything since the kernel's last writeback, an interval (`500ms`) at most that interval, `every_batch` nothing.",
        parse spool_fsync, show show),
    key!("spool.when_full", spool.when_full, "block, drop_oldest, drop_newest", "block",
        "Rust only: at `spool.max_bytes` or on a refused write (disk full): the worker waits, the oldest whole segment is deleted, or the new batch is dropped; each counted.",
        parse |r| one_of(r, &["block", "drop_oldest", "drop_newest"]).map(str::to_owned), show show),
    key!("spool.mode", spool.mode, "overflow, always", "overflow",
        "Rust only: `overflow` spools what does not fit a sink's buffer (and what it gives up on) until the spool drains; `always` passes every batch through the spool (at least once across crashes).",
        parse |r| one_of(r, &["overflow", "always"]).map(str::to_owned), show show),
];

/// `never`, `every_batch`, or an interval: kept as the seconds.
fn spool_fsync(raw: &Raw) -> Result<String, String> {
    const EXPECTED: &str = "never, every_batch, or an interval above 0 (`500ms`, `0.5`)";
    match one_of(raw, &["never", "every_batch"]) {
        Ok(name) => Ok(name.to_owned()),
        Err(_) => match seconds(raw, 0.001, 3600.0) {
            Ok(secs) => Ok(secs.to_string()),
            Err(_) => Err(EXPECTED.to_owned()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations() {
        let s = |t: &str| size(&Raw::Str(t.into()), 0, u64::MAX);
        assert_eq!(s("10 MB"), Ok(10 << 20));
        assert_eq!(s("10MiB"), Ok(10 << 20));
        assert_eq!(s("512kb"), Ok(512 << 10));
        assert_eq!(s("1.5 GB"), Ok(3 << 29));
        assert_eq!(s("42"), Ok(42));
        assert!(s("ten").is_err());
        assert!(s("10 parsecs").is_err());
        let d = |t: &str| seconds(&Raw::Str(t.into()), 0.0, 1e9);
        assert_eq!(d("250ms"), Ok(0.25));
        assert_eq!(d("5s"), Ok(5.0));
        assert_eq!(d("1h"), Ok(3600.0));
        assert_eq!(d("2m"), Ok(120.0));
        assert_eq!(d("0.5"), Ok(0.5));
        assert!(d("soon").is_err());
        assert!(d("").is_err());
    }

    #[test]
    fn spool_fsync_names_its_choices() {
        let f = |t: &str| spool_fsync(&Raw::Str(t.into()));
        assert_eq!(f("EVERY_BATCH").as_deref(), Ok("every_batch"));
        assert_eq!(f("250ms").as_deref(), Ok("0.25"));
        assert!(f("sometimes").unwrap_err().contains("every_batch"));
    }

    #[test]
    fn env_names_round_trip() {
        for k in all() {
            if !k.is_group() {
                let p = env_to_path(&k.env_name());
                assert_eq!(p.as_deref(), Some(k.path));
                assert!(
                    std::ptr::eq(lookup(k.path).unwrap_or(&KEYS[0]), k),
                    "{}",
                    k.path
                );
            }
        }
    }
}
