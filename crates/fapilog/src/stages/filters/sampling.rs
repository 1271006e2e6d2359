//! Probabilistic filters: uniform sampling per level, and trace-aware
//! sampling that keeps or drops whole traces.

use std::collections::BTreeMap;

use crate::config_serde::settings_serde;

use crate::envelope::Event;
use crate::error::Error;
use crate::level::Level;
use crate::stages::runtime::{self, Counter, Rng};
use crate::stages::{Filter, StageError, Verdict};
use crate::value::Value;

/// Levels that pass sampling and rate limits unless configured otherwise.
pub(crate) fn protected() -> Vec<Level> {
    vec![Level::ERROR, Level::CRITICAL]
}

pub(crate) fn check_rate(key: &str, v: f64) -> Result<f64, Error> {
    if v.is_finite() && (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(Error::InvalidSetting {
            key: key.to_owned(),
            value: v.to_string(),
            expected: "a rate between 0.0 and 1.0".to_owned(),
        })
    }
}

/// Settings of the `sampling` filter (`filter_config.sampling`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SamplingConfig {
    /// Fraction of events kept (1.0).
    pub sample_rate: f64,
    /// Per-level rates that replace `sample_rate` for that level
    /// (`{"DEBUG": 0.01, "INFO": 0.1}`).
    pub level_rates: BTreeMap<String, f64>,
    /// Levels never sampled (`[WARNING, ERROR, CRITICAL]`): empty it to sample them too.
    pub always_pass_levels: Vec<Level>,
    /// Seed for a reproducible sequence (random when unset).
    pub seed: Option<u64>,
}

settings_serde!(SamplingConfig {
    sample_rate,
    level_rates,
    always_pass_levels,
    seed
});

impl Default for SamplingConfig {
    fn default() -> Self {
        SamplingConfig {
            sample_rate: 1.0,
            level_rates: BTreeMap::new(),
            always_pass_levels: vec![Level::WARNING, Level::ERROR, Level::CRITICAL],
            seed: None,
        }
    }
}

/// Keeps a fraction of events, per level; WARNING and above always pass
/// unless [`SamplingConfig::always_pass_levels`] says otherwise.
pub struct SamplingFilter {
    default_rate: f64,
    rates: Vec<(u8, f64)>,
    always: Vec<u8>,
    rng: Rng,
}

impl SamplingFilter {
    /// Keeps `rate` of the events below WARNING.
    pub fn new(rate: f64) -> Result<SamplingFilter, Error> {
        SamplingFilter::from_config(&SamplingConfig {
            sample_rate: rate,
            ..SamplingConfig::default()
        })
    }

    /// From its settings.
    pub fn from_config(c: &SamplingConfig) -> Result<SamplingFilter, Error> {
        let default_rate = check_rate("filter_config.sampling.sample_rate", c.sample_rate)?;
        let mut rates = Vec::new();
        for (name, r) in &c.level_rates {
            let key = format!("filter_config.sampling.level_rates.{name}");
            let level: Level = name.parse().map_err(|_| Error::InvalidSetting {
                key: key.clone(),
                value: name.clone(),
                expected: "a level name (DEBUG, INFO, WARNING, ERROR, CRITICAL)".to_owned(),
            })?;
            rates.push((level.priority(), check_rate(&key, *r)?));
        }
        Ok(SamplingFilter {
            default_rate,
            rates,
            always: c.always_pass_levels.iter().map(|l| l.priority()).collect(),
            rng: Rng::new(c.seed),
        })
    }
}

impl Filter for SamplingFilter {
    fn name(&self) -> &str {
        "sampling"
    }

    fn filter(&self, event: &Event<'_>) -> Result<Verdict, StageError> {
        let p = event.level.priority();
        if self.always.contains(&p) {
            return Ok(Verdict::Keep);
        }
        let rate = self
            .rates
            .iter()
            .find(|(l, _)| *l == p)
            .map_or(self.default_rate, |(_, r)| *r);
        if rate >= 1.0 || self.rng.next_f64() < rate {
            Ok(Verdict::Keep)
        } else {
            runtime::count(Counter::SampledOut, 1);
            Ok(Verdict::Drop)
        }
    }
}

/// Settings of the `trace_sampling` filter (`filter_config.trace_sampling`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct TraceSamplingConfig {
    /// Fraction of traces kept (0.1).
    pub sample_rate: f64,
    /// Field holding the trace id, looked up in `context` then `data` (`trace_id`).
    pub trace_id_field: String,
    /// Levels kept whatever their trace (`[ERROR, CRITICAL]`).
    pub always_pass_levels: Vec<Level>,
}

settings_serde!(TraceSamplingConfig {
    sample_rate,
    trace_id_field,
    always_pass_levels
});

impl Default for TraceSamplingConfig {
    fn default() -> Self {
        TraceSamplingConfig {
            sample_rate: 0.1,
            trace_id_field: "trace_id".to_owned(),
            always_pass_levels: protected(),
        }
    }
}

/// Keeps or drops whole traces, deciding by the trace id alone so every
/// event of a trace (on every service) gets the same answer.
///
/// A 32-hex-digit W3C trace id is decided as OpenTelemetry's ratio sampler
/// does (its last 16 hex digits, as a number, against `rate · 2⁶⁴`); any
/// other id by its FNV-1a hash. Events without a trace id are kept
/// (fapilog falls back to random sampling because it looks for the id at
/// the envelope root, where it never is; we look in `context`, then `data`).
pub struct TraceSamplingFilter {
    threshold: u64,
    keep_all: bool,
    field: String,
    always: Vec<u8>,
}

impl TraceSamplingFilter {
    /// Keeps `rate` of the traces.
    pub fn new(rate: f64) -> Result<TraceSamplingFilter, Error> {
        TraceSamplingFilter::from_config(&TraceSamplingConfig {
            sample_rate: rate,
            ..TraceSamplingConfig::default()
        })
    }

    /// From its settings.
    pub fn from_config(c: &TraceSamplingConfig) -> Result<TraceSamplingFilter, Error> {
        let rate = check_rate("filter_config.trace_sampling.sample_rate", c.sample_rate)?;
        Ok(TraceSamplingFilter {
            threshold: (rate * u64::MAX as f64) as u64,
            keep_all: rate >= 1.0,
            field: c.trace_id_field.clone(),
            always: c.always_pass_levels.iter().map(|l| l.priority()).collect(),
        })
    }

    /// Whether the trace `id` is kept.
    pub fn keeps(&self, id: &str) -> bool {
        self.keep_all || trace_hash(id) < self.threshold
    }
}

/// The trace id's sampling number.
fn trace_hash(id: &str) -> u64 {
    let b = id.as_bytes();
    if b.len() == 32 && b.iter().all(u8::is_ascii_hexdigit) {
        if let Ok(v) = u64::from_str_radix(&id[16..], 16) {
            return v;
        }
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &x in b {
        h ^= u64::from(x);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl Filter for TraceSamplingFilter {
    fn name(&self) -> &str {
        "trace_sampling"
    }

    fn filter(&self, event: &Event<'_>) -> Result<Verdict, StageError> {
        if self.keep_all || self.always.contains(&event.level.priority()) {
            return Ok(Verdict::Keep);
        }
        let id = event
            .context
            .get(&self.field)
            .or_else(|| event.data.get(&self.field));
        match id {
            Some(Value::Str(t)) if !t.is_empty() => {
                if self.keeps(t) {
                    Ok(Verdict::Keep)
                } else {
                    runtime::count(Counter::SampledOut, 1);
                    Ok(Verdict::Drop)
                }
            }
            _ => Ok(Verdict::Keep),
        }
    }
}
