//! First-occurrence (dedupe): an identical event within a window is written
//! once; the next one written after the window carries the count of repeats.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config_serde::settings_serde;

use super::rate_limit::{field, hash_value, FNV_SEED};
use super::sampling::check_rate;
use crate::envelope::Event;
use crate::error::Error;
use crate::stages::clock::{self, SharedClock};
use crate::stages::runtime::{self, Counter, Rng};
use crate::stages::{Filter, StageClock, StageError, Verdict};
use crate::value::Value;

/// Settings of the `first_occurrence` filter (`filter_config.first_occurrence`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct FirstOccurrenceConfig {
    /// What makes two events identical (`[message]`): `message`, `logger`,
    /// `level`, or field names looked up in `context` then `data`.
    pub key_fields: Vec<String>,
    /// How long repeats are suppressed after the first, seconds (60).
    pub window_seconds: f64,
    /// Most distinct events remembered (10000); expired and oldest are forgotten first.
    pub max_keys: usize,
    /// Fraction of repeats still written (0.0).
    pub subsequent_sample_rate: f64,
    /// Seed for `subsequent_sample_rate` (random when unset).
    pub seed: Option<u64>,
}

settings_serde!(FirstOccurrenceConfig {
    key_fields,
    window_seconds,
    max_keys,
    subsequent_sample_rate,
    seed
});

impl Default for FirstOccurrenceConfig {
    fn default() -> Self {
        FirstOccurrenceConfig {
            key_fields: vec!["message".to_owned()],
            window_seconds: 60.0,
            max_keys: 10_000,
            subsequent_sample_rate: 0.0,
            seed: None,
        }
    }
}

struct Seen {
    first: Duration,
    repeats: u64,
}

/// Writes the first of identical events in a window and counts the rest.
///
/// When an event comes back after its window, it is written with
/// `data.repeats_suppressed` = the repeats dropped in the window before.
pub struct FirstOccurrenceFilter {
    keys: Vec<String>,
    window: Duration,
    max_keys: usize,
    rate: f64,
    rng: Rng,
    seen: Mutex<HashMap<u64, Seen>>,
    clock: SharedClock,
}

impl FirstOccurrenceFilter {
    /// From its settings, on the system clock.
    pub fn from_config(c: &FirstOccurrenceConfig) -> Result<FirstOccurrenceFilter, Error> {
        FirstOccurrenceFilter::with_clock(c, clock::system())
    }

    /// From its settings, on a clock of your choice.
    pub fn with_clock(
        c: &FirstOccurrenceConfig,
        clock: Arc<dyn StageClock>,
    ) -> Result<FirstOccurrenceFilter, Error> {
        let k = "filter_config.first_occurrence";
        if !(c.window_seconds.is_finite() && c.window_seconds > 0.0) {
            return Err(Error::InvalidSetting {
                key: format!("{k}.window_seconds"),
                value: c.window_seconds.to_string(),
                expected: "a positive number of seconds".to_owned(),
            });
        }
        if c.max_keys == 0 || c.key_fields.is_empty() {
            let (key, value) = if c.max_keys == 0 {
                ("max_keys", "0".to_owned())
            } else {
                ("key_fields", "[]".to_owned())
            };
            return Err(Error::InvalidSetting {
                key: format!("{k}.{key}"),
                value,
                expected: "at least one".to_owned(),
            });
        }
        Ok(FirstOccurrenceFilter {
            keys: c.key_fields.clone(),
            window: Duration::from_secs_f64(c.window_seconds),
            max_keys: c.max_keys,
            rate: check_rate(
                &format!("{k}.subsequent_sample_rate"),
                c.subsequent_sample_rate,
            )?,
            rng: Rng::new(c.seed),
            seen: Mutex::new(HashMap::new()),
            clock,
        })
    }

    fn key_of(&self, ev: &Event<'_>) -> u64 {
        let mut h = FNV_SEED;
        for k in &self.keys {
            match k.as_str() {
                "message" => hash_value(&mut h, Some(&Value::str(&ev.message))),
                "logger" => hash_value(&mut h, Some(&Value::str(&ev.logger))),
                "level" => hash_value(&mut h, Some(&Value::U64(ev.level.priority().into()))),
                f => hash_value(&mut h, field(ev, f)),
            }
            h = h.rotate_left(7) ^ 0x9e37_79b9_7f4a_7c15;
        }
        h
    }
}

impl Filter for FirstOccurrenceFilter {
    fn name(&self) -> &str {
        "first_occurrence"
    }

    fn filter(&self, event: &Event<'_>) -> Result<Verdict, StageError> {
        let key = self.key_of(event);
        let now = self.clock.now();
        let mut map = match self.seen.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if let Some(s) = map.get_mut(&key) {
            if now.saturating_sub(s.first) < self.window {
                if self.rate > 0.0 && self.rng.next_f64() < self.rate {
                    return Ok(Verdict::Keep);
                }
                s.repeats += 1;
                runtime::count(Counter::Deduplicated, 1);
                return Ok(Verdict::Drop);
            }
            if s.repeats > 0 {
                runtime::annotate("repeats_suppressed", Value::U64(s.repeats));
            }
            s.first = now;
            s.repeats = 0;
            return Ok(Verdict::Keep);
        }
        if map.len() >= self.max_keys {
            let window = self.window;
            map.retain(|_, s| now.saturating_sub(s.first) < window);
            if map.len() >= self.max_keys {
                if let Some(k) = map.iter().min_by_key(|(_, s)| s.first).map(|(k, _)| *k) {
                    map.remove(&k);
                }
            }
        }
        map.insert(
            key,
            Seen {
                first: now,
                repeats: 0,
            },
        );
        Ok(Verdict::Keep)
    }
}
