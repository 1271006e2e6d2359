//! Severity levels: the five of the v1.1 envelope, `TRACE` below them, and
//! custom levels by number and name.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering as AtomicOrdering};

/// A severity level.
///
/// Levels compare by priority (`TRACE` 5, `DEBUG` 10, `INFO` 20, `WARNING` 30,
/// `ERROR` 40, `CRITICAL` 50, the numbers fapilog uses). A custom level is a
/// priority and a name: `Level::custom(60, "AUDIT")`.
///
/// ```
/// use fapilog::Level;
/// assert!(Level::ERROR > Level::INFO);
/// assert_eq!("warn".parse::<Level>().unwrap(), Level::WARNING);
/// assert_eq!(Level::custom(60, "AUDIT").name(), "AUDIT");
/// ```
#[derive(Clone, Copy, Eq)]
pub struct Level {
    priority: u8,
    name: &'static str,
}

impl Level {
    /// Finest detail; written as `DEBUG` in the envelope unless configured otherwise.
    pub const TRACE: Level = Level::custom(5, "TRACE");
    /// Diagnostic detail for developers.
    pub const DEBUG: Level = Level::custom(10, "DEBUG");
    /// Normal operation.
    pub const INFO: Level = Level::custom(20, "INFO");
    /// Something unexpected that the program handled.
    pub const WARNING: Level = Level::custom(30, "WARNING");
    /// An operation failed.
    pub const ERROR: Level = Level::custom(40, "ERROR");
    /// The program or a major part of it cannot go on.
    pub const CRITICAL: Level = Level::custom(50, "CRITICAL");

    /// The six built-in levels, lowest first.
    pub const BUILTIN: [Level; 6] = [
        Level::TRACE,
        Level::DEBUG,
        Level::INFO,
        Level::WARNING,
        Level::ERROR,
        Level::CRITICAL,
    ];

    /// A custom level with a priority (higher is more severe) and a name.
    pub const fn custom(priority: u8, name: &'static str) -> Level {
        Level { priority, name }
    }

    /// The numeric priority.
    pub const fn priority(self) -> u8 {
        self.priority
    }

    /// The name, as given (`TRACE` for [`Level::TRACE`]).
    pub const fn name(self) -> &'static str {
        self.name
    }

    /// Index of the drop-counter bucket this level is counted in: the six
    /// built-in levels, then one bucket for every custom level.
    pub(crate) fn bucket(self) -> usize {
        match self.priority {
            5 => 0,
            10 => 1,
            20 => 2,
            30 => 3,
            40 => 4,
            50 => 5,
            _ => 6,
        }
    }

    /// Names of the drop-counter buckets, in [`Level::bucket`] order.
    pub(crate) const BUCKET_NAMES: [&'static str; 7] = [
        "TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "CUSTOM",
    ];
}

impl PartialEq for Level {
    fn eq(&self, other: &Self) -> bool {
        self.priority == other.priority
    }
}

impl std::hash::Hash for Level {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // Consistent with `PartialEq`: a level is its priority.
        self.priority.hash(state);
    }
}

impl PartialOrd for Level {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Level {
    fn cmp(&self, other: &Self) -> Ordering {
        self.priority.cmp(&other.priority)
    }
}

impl fmt::Debug for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// The error of parsing a [`Level`] from a string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown log level {0:?}: expected one of TRACE, DEBUG, INFO, WARNING (WARN), ERROR, CRITICAL (FATAL)")]
pub struct ParseLevelError(pub String);

impl FromStr for Level {
    type Err = ParseLevelError;

    /// Case-insensitive; accepts `WARN` for `WARNING` and `FATAL` for `CRITICAL`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let level = if t.eq_ignore_ascii_case("trace") {
            Level::TRACE
        } else if t.eq_ignore_ascii_case("debug") {
            Level::DEBUG
        } else if t.eq_ignore_ascii_case("info") {
            Level::INFO
        } else if t.eq_ignore_ascii_case("warning") || t.eq_ignore_ascii_case("warn") {
            Level::WARNING
        } else if t.eq_ignore_ascii_case("error") {
            Level::ERROR
        } else if t.eq_ignore_ascii_case("critical") || t.eq_ignore_ascii_case("fatal") {
            Level::CRITICAL
        } else {
            return Err(ParseLevelError(s.to_owned()));
        };
        Ok(level)
    }
}

impl serde::Serialize for Level {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name)
    }
}

impl<'de> serde::Deserialize<'de> for Level {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_aliases_and_rejects_unknown() {
        assert_eq!("FATAL".parse::<Level>().unwrap(), Level::CRITICAL);
        assert_eq!(" Debug ".parse::<Level>().unwrap(), Level::DEBUG);
        let err = "verbose".parse::<Level>().unwrap_err();
        assert!(err.to_string().contains("\"verbose\""));
    }

    #[test]
    fn buckets_are_distinct_for_builtins() {
        let mut seen: Vec<usize> = Level::BUILTIN.iter().map(|l| l.bucket()).collect();
        seen.dedup();
        assert_eq!(seen.len(), 6);
        assert_eq!(Level::custom(60, "AUDIT").bucket(), 6);
    }
}

/// The caller-side level gate: the lowest level any logger of a pipeline
/// accepts, read with one relaxed load on every log call. The level filter
/// steers it through a shared handle, without knowing the pipeline.
#[derive(Debug)]
pub(crate) struct Gate(AtomicU8);

impl Gate {
    pub(crate) fn new(level: Level) -> Gate {
        Gate(AtomicU8::new(level.priority()))
    }

    /// `true` when a call at `level` passes.
    #[inline(always)]
    pub(crate) fn allows(&self, level: Level) -> bool {
        level.priority() >= self.0.load(AtomicOrdering::Relaxed)
    }

    /// Lets through `priority` and above.
    pub(crate) fn set_priority(&self, priority: u8) {
        self.0.store(priority, AtomicOrdering::Relaxed);
    }
}
