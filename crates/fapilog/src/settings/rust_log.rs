//! `RUST_LOG`: the directive syntax of `tracing-subscriber`'s `EnvFilter`
//! (and `env_logger`), read by [`crate::init`], `PipelineBuilder::from_env`
//! and every [`super::Loader`] that reads the process environment.
//!
//! `RUST_LOG=info,my_crate=debug,hyper::proto=warn` sets the global level
//! (`core.log_level`) to INFO and adds per-target overrides
//! (`filter_config.level.overrides`), which turn the level filter on; the
//! caller-side gate follows the lowest level any directive enables.
//!
//! # Syntax
//! Comma-separated directives, each one of:
//! - `level`: the global level (`trace`, `debug`, `info`, `warn`/`warning`,
//!   `error`, `critical`, `off`, or `0`–`5` as `EnvFilter` reads them);
//! - `target=level`: that level for the target and its children; a target
//!   is a `tracing` target or module path (`my_crate::db`) or a dotted
//!   logger name (`app.db`), and `::` and `.` match each other;
//! - `target` alone: everything from that target (TRACE).
//!
//! A directive with a span or field filter (`my_crate[span{field=1}]=debug`)
//! cannot be evaluated without the span tree; it is left out and listed in
//! [`Directives::ignored`] (`fapilog check` prints it). A level name that
//! is not a level fails, naming `RUST_LOG` and the directive.
//!
//! # Precedence
//! `RUST_LOG` is read with the environment, just below the `FAPILOG_*`
//! variables: `FAPILOG_CORE__LOG_LEVEL` outranks its global level and
//! `FAPILOG_FILTER_CONFIG__LEVEL__OVERRIDES` replaces its per-target list.
//! The builder outranks both, as for every key.
//!
//! ```
//! use fapilog::settings::{Directives, Settings};
//! use fapilog::Level;
//!
//! let d = Directives::parse("info,my_crate=debug,hyper::proto=warn").unwrap();
//! assert_eq!(d.default, Some(Level::INFO));
//! assert_eq!(d.targets[0], ("my_crate".to_owned(), Level::DEBUG));
//!
//! let s = Settings::from_env_vars([("RUST_LOG", "warn,my_crate::db=trace")])?;
//! assert_eq!(s.core.log_level, Level::WARNING);
//! assert_eq!(s.stages.filter_config.level.overrides.0["my_crate::db"], Level::TRACE);
//!
//! // The fapilog variable outranks RUST_LOG.
//! let s = Settings::from_env_vars([("RUST_LOG", "debug"), ("FAPILOG_CORE__LOG_LEVEL", "ERROR")])?;
//! assert_eq!(s.core.log_level, Level::ERROR);
//! # Ok::<(), fapilog::Error>(())
//! ```

use crate::error::Error;
use crate::level::Level;

use super::{Origin, Settings};

/// `off`: above every level, so nothing passes.
pub const OFF: Level = Level::custom(u8::MAX, "OFF");

/// Parsed `RUST_LOG` directives.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Directives {
    /// The global level, when a bare level was given (the last one wins).
    pub default: Option<Level>,
    /// Per-target levels, in the order given (a later one for the same
    /// target replaces an earlier one).
    pub targets: Vec<(String, Level)>,
    /// Directives left out because they filter on spans or fields.
    pub ignored: Vec<String>,
}

fn level(text: &str) -> Option<Level> {
    Some(match text.trim().to_ascii_lowercase().as_str() {
        "off" | "0" => OFF,
        "error" | "1" => Level::ERROR,
        "warn" | "warning" | "2" => Level::WARNING,
        "info" | "3" => Level::INFO,
        "debug" | "4" => Level::DEBUG,
        "trace" | "5" => Level::TRACE,
        "critical" => Level::CRITICAL,
        _ => return None,
    })
}

impl Directives {
    /// Parses a `RUST_LOG` value.
    pub fn parse(spec: &str) -> Result<Directives, Error> {
        let mut d = Directives::default();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = || Error::InvalidSetting {
                key: "RUST_LOG".to_owned(),
                value: part.to_owned(),
                expected: "comma-separated directives: level, target=level or target \
                           (levels: off, error, warn, info, debug, trace)"
                    .to_owned(),
            };
            if part.contains('[') || part.contains('{') {
                d.ignored.push(part.to_owned());
                continue;
            }
            match part.rsplit_once('=') {
                Some((target, lvl)) => {
                    let lvl = level(lvl).ok_or_else(bad)?;
                    let target = target.trim();
                    if target.is_empty() || target.contains(char::is_whitespace) {
                        return Err(bad());
                    }
                    d.set(target, lvl);
                }
                None => match level(part) {
                    Some(l) => d.default = Some(l),
                    None if part.contains(char::is_whitespace) => return Err(bad()),
                    None => d.set(part, Level::TRACE),
                },
            }
        }
        Ok(d)
    }

    fn set(&mut self, target: &str, level: Level) {
        match self.targets.iter_mut().find(|(t, _)| t == target) {
            Some(slot) => slot.1 = level,
            None => self.targets.push((target.to_owned(), level)),
        }
    }

    /// The lowest level any directive lets through (the caller-side gate).
    pub fn floor(&self, global: Level) -> Level {
        let g = self.default.unwrap_or(global);
        self.targets.iter().map(|(_, l)| *l).fold(g, Level::min)
    }

    /// Writes the directives into `s`: the global level into
    /// `core.log_level` (and `filter_config.level.min_level`), the targets
    /// into `filter_config.level.overrides`.
    pub(crate) fn apply(&self, s: &mut Settings, record: &mut dyn FnMut(&str, &Origin)) {
        let origin = Origin::Env("RUST_LOG".to_owned());
        if let Some(l) = self.default {
            s.core.log_level = l;
            s.stages.filter_config.level.min_level = l;
            record("core.log_level", &origin);
            record("filter_config.level.min_level", &origin);
        }
        if !self.targets.is_empty() {
            let o = &mut s.stages.filter_config.level.overrides.0;
            for (t, l) in &self.targets {
                o.insert(t.clone(), *l);
            }
            record("filter_config.level.overrides", &origin);
        }
    }
}

/// `true` when `name` is `prefix` or one of its children, where `.` and
/// `::` are the same separator (`my_crate::db` matches `my_crate::db::pool`
/// and `my_crate.db.pool`). No allocation: it runs per event in the level
/// filter.
pub(crate) fn is_within(name: &str, prefix: &str) -> bool {
    let (n, p) = (name.as_bytes(), prefix.as_bytes());
    let sep = |s: &[u8], i: usize| -> usize {
        match s.get(i) {
            Some(b'.') => 1,
            Some(b':') if s.get(i + 1) == Some(&b':') => 2,
            _ => 0,
        }
    };
    let (mut i, mut j) = (0, 0);
    while j < p.len() {
        let (sn, sp) = (sep(n, i), sep(p, j));
        if sn > 0 && sp > 0 {
            i += sn;
            j += sp;
        } else if i < n.len() && n[i] == p[j] {
            i += 1;
            j += 1;
        } else {
            return false;
        }
    }
    i == n.len() || sep(n, i) > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_envfilter_directives() {
        let d = Directives::parse("warn, a::b=debug,c.d=TRACE,e,off_target=off,x[s]=info").unwrap();
        assert_eq!(d.default, Some(Level::WARNING));
        assert_eq!(
            d.targets,
            vec![
                ("a::b".to_owned(), Level::DEBUG),
                ("c.d".to_owned(), Level::TRACE),
                ("e".to_owned(), Level::TRACE),
                ("off_target".to_owned(), OFF),
            ]
        );
        assert_eq!(d.ignored, vec!["x[s]=info".to_owned()]);
        assert_eq!(d.floor(Level::INFO), Level::TRACE);
        assert_eq!(Directives::parse("").unwrap(), Directives::default());
        let e = Directives::parse("info,a=loud").unwrap_err().to_string();
        assert!(e.contains("RUST_LOG") && e.contains("a=loud"), "{e}");
    }

    #[test]
    fn targets_match_with_either_separator() {
        assert!(is_within("my_crate", "my_crate"));
        assert!(is_within("my_crate::db", "my_crate"));
        assert!(is_within("my_crate::db::pool", "my_crate::db"));
        assert!(is_within("my_crate.db.pool", "my_crate::db"));
        assert!(is_within("app::db", "app.db"));
        assert!(!is_within("my_crate_other", "my_crate"));
        assert!(!is_within("my_crate:", "my_crate::db"));
        assert!(!is_within("my", "my_crate"));
        assert!(!is_within("app.dbx", "app.db"));
    }
}
