//! Routing: which sinks take which lines, by level, logger-name prefix and
//! optionally a field value. Decided once per event, as a bit mask of sinks.

use crate::error::Error;
use crate::level::Level;

/// One routing rule: the lines it matches go to the sinks it names.
///
/// A rule matches a line when every condition it has holds. Without any
/// rule every sink takes every line; with rules, a sink that no rule (and
/// no fallback) names still takes every line, so adding a route never
/// silences a sink by accident.
///
/// ```
/// use fapilog::{Level, Pipeline};
/// use fapilog::sinks::Route;
/// use fapilog::testing::CaptureSink;
///
/// let (all, all_lines) = CaptureSink::named("all", fapilog::Format::Json);
/// let (errors, error_lines) = CaptureSink::named("errors", fapilog::Format::Json);
/// let pipeline = Pipeline::builder()
///     .sink(all)
///     .sink(errors)
///     .route(Route::to(&["errors"]).min_level(Level::ERROR))
///     .build()?;
/// let log = pipeline.logger("app");
/// fapilog::info!(log, "fine");
/// fapilog::error!(log, "broken");
/// pipeline.flush(std::time::Duration::from_secs(5))?;
/// assert_eq!(all_lines.messages(), ["fine", "broken"]);
/// assert_eq!(error_lines.messages(), ["broken"]);
/// # Ok::<(), fapilog::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub struct Route {
    pub(crate) sinks: Vec<String>,
    pub(crate) levels: Option<Vec<Level>>,
    pub(crate) min_level: Option<Level>,
    pub(crate) logger_prefix: Option<String>,
    pub(crate) field: Option<(String, String)>,
}

impl Route {
    /// A rule sending what it matches to `sinks` (it matches every line
    /// until conditions are added).
    pub fn to(sinks: &[&str]) -> Route {
        Route {
            sinks: sinks.iter().map(|s| (*s).to_owned()).collect(),
            ..Route::default()
        }
    }

    /// Matches these levels only (fapilog's `levels` list).
    pub fn levels(mut self, levels: &[Level]) -> Self {
        self.levels = Some(levels.to_vec());
        self
    }

    /// Matches this level and above.
    pub fn min_level(mut self, level: Level) -> Self {
        self.min_level = Some(level);
        self
    }

    /// Matches loggers whose name starts with `prefix` (`payments` matches
    /// `payments` and `payments.refunds`).
    pub fn logger_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.logger_prefix = Some(prefix.into());
        self
    }

    /// Matches lines whose `data` field (or bound context value) `key` is
    /// the string or number `value`.
    pub fn field_equals(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.field = Some((key.into(), value.into()));
        self
    }

    fn matches(&self, level: Level, logger: &str, field: &dyn Fn(&str) -> Option<String>) -> bool {
        if let Some(ls) = &self.levels {
            if !ls.contains(&level) {
                return false;
            }
        }
        if let Some(min) = self.min_level {
            if level < min {
                return false;
            }
        }
        if let Some(p) = &self.logger_prefix {
            let rest = match logger.strip_prefix(p.as_str()) {
                Some(r) => r,
                None => return false,
            };
            if !(rest.is_empty()
                || rest.starts_with('.')
                || rest.starts_with("::")
                || p.ends_with('.'))
            {
                return false;
            }
        }
        if let Some((k, v)) = &self.field {
            if field(k).as_deref() != Some(v.as_str()) {
                return false;
            }
        }
        true
    }
}

/// The routing table resolved against the pipeline's sinks: one bit per sink.
#[derive(Clone, Debug)]
pub(crate) struct Router {
    rules: Vec<(Route, u64)>,
    /// Sinks no rule names: they take every line.
    unnamed: u64,
    /// Where a line that no rule matches goes (besides the unnamed sinks).
    fallback: u64,
    overlap: bool,
    /// Some rule looks at a field (the direct path cannot decide it).
    pub(crate) reads_fields: bool,
}

/// The routing settings as the builder collects them.
#[derive(Clone, Debug, Default)]
pub(crate) struct RoutingConfig {
    pub(crate) rules: Vec<Route>,
    pub(crate) overlap: bool,
    pub(crate) fallback: Vec<String>,
}

impl Router {
    /// `None` when there are no rules: every sink takes every line.
    pub(crate) fn new(config: &RoutingConfig, sinks: &[String]) -> Result<Option<Router>, Error> {
        if config.rules.is_empty() {
            return Ok(None);
        }
        if sinks.len() > 64 {
            return Err(Error::InvalidSetting {
                key: "sink_routing.rules".into(),
                value: format!("{} sinks", sinks.len()),
                expected: "at most 64 sinks when routing rules are set".into(),
            });
        }
        let bit = |context: &str, name: &str| -> Result<u64, Error> {
            match sinks.iter().position(|s| s == name) {
                Some(i) => Ok(1u64 << i),
                None => Err(Error::UnknownSink {
                    context: context.to_owned(),
                    sink: name.to_owned(),
                    known: sinks.join(", "),
                }),
            }
        };
        let mut named = 0u64;
        let mut rules = Vec::new();
        for (i, r) in config.rules.iter().enumerate() {
            let mut mask = 0;
            for s in &r.sinks {
                mask |= bit(&format!("routing rule {}", i + 1), s)?;
            }
            named |= mask;
            rules.push((r.clone(), mask));
        }
        let mut fallback = 0;
        for s in &config.fallback {
            fallback |= bit("sink_routing.fallback_sinks", s)?;
        }
        named |= fallback;
        let all = if sinks.len() == 64 {
            u64::MAX
        } else {
            (1u64 << sinks.len()) - 1
        };
        Ok(Some(Router {
            reads_fields: config.rules.iter().any(|r| r.field.is_some()),
            rules,
            unnamed: all & !named,
            fallback,
            overlap: config.overlap,
        }))
    }

    /// The sinks that take a line.
    pub(crate) fn mask(
        &self,
        level: Level,
        logger: &str,
        field: &dyn Fn(&str) -> Option<String>,
    ) -> u64 {
        let mut mask = 0;
        let mut matched = false;
        for (r, m) in &self.rules {
            if r.matches(level, logger, field) {
                mask |= m;
                matched = true;
                if !self.overlap {
                    break;
                }
            }
        }
        if !matched {
            mask |= self.fallback;
        }
        mask | self.unnamed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        ["a", "b", "c"].iter().map(|s| s.to_string()).collect()
    }

    fn none(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn unnamed_sinks_take_everything_and_rules_pick_the_rest() {
        let cfg = RoutingConfig {
            rules: vec![Route::to(&["b"]).min_level(Level::ERROR)],
            ..RoutingConfig::default()
        };
        let r = Router::new(&cfg, &names()).unwrap().unwrap();
        assert_eq!(r.mask(Level::INFO, "x", &none), 0b101);
        assert_eq!(r.mask(Level::ERROR, "x", &none), 0b111);
    }

    #[test]
    fn overlap_decides_between_first_match_and_union() {
        let rules = vec![
            Route::to(&["a"]).levels(&[Level::ERROR]),
            Route::to(&["b"]).logger_prefix("pay"),
        ];
        let mut cfg = RoutingConfig {
            rules,
            overlap: false,
            fallback: vec!["c".into()],
        };
        let first = Router::new(&cfg, &names()).unwrap().unwrap();
        assert_eq!(first.mask(Level::ERROR, "pay.refund", &none), 0b001);
        assert_eq!(
            first.mask(Level::INFO, "payments", &none),
            0b100,
            "pay is not a prefix of payments: fallback"
        );
        assert_eq!(first.mask(Level::INFO, "pay", &none), 0b010);
        assert_eq!(first.mask(Level::INFO, "web", &none), 0b100, "fallback");
        cfg.overlap = true;
        let union = Router::new(&cfg, &names()).unwrap().unwrap();
        assert_eq!(union.mask(Level::ERROR, "pay.refund", &none), 0b011);
        assert_eq!(union.mask(Level::ERROR, "pay::refund", &none), 0b011);
    }

    #[test]
    fn field_rules_compare_the_value() {
        let cfg = RoutingConfig {
            rules: vec![Route::to(&["a"]).field_equals("tenant", "acme")],
            ..RoutingConfig::default()
        };
        let r = Router::new(&cfg, &names()).unwrap().unwrap();
        assert!(r.reads_fields);
        let acme = |k: &str| (k == "tenant").then(|| "acme".to_string());
        assert_eq!(r.mask(Level::INFO, "x", &acme), 0b111);
        assert_eq!(r.mask(Level::INFO, "x", &none), 0b110);
    }

    #[test]
    fn an_unknown_sink_is_named_in_the_error() {
        let cfg = RoutingConfig {
            rules: vec![Route::to(&["nope"])],
            ..RoutingConfig::default()
        };
        let err = Router::new(&cfg, &names()).unwrap_err().to_string();
        assert!(err.contains("\"nope\"") && err.contains("a, b, c"), "{err}");
    }
}
