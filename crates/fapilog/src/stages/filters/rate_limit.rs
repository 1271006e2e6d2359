//! Token-bucket rate limiting per key, with bounded key memory and a count
//! of what was suppressed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config_serde::{settings_enum_serde, settings_serde};

use super::sampling::protected;
use crate::envelope::Event;
use crate::error::Error;
use crate::level::Level;
use crate::stages::clock::{self, SharedClock};
use crate::stages::runtime::{self, Counter};
use crate::stages::{Filter, StageClock, StageError, Verdict};
use crate::value::Value;

/// What happens to an event over its key's limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OverflowAction {
    /// Drop it (counted; the next event of the key that passes carries
    /// `data.rate_limit_suppressed` = how many were dropped).
    #[default]
    Drop,
    /// Keep it with `data.rate_limited = true`.
    Mark,
}

settings_enum_serde!(OverflowAction { Drop = "drop", Mark = "mark" });

/// Settings of the `rate_limit` filter (`filter_config.rate_limit`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RateLimitConfig {
    /// Burst size: tokens a bucket holds (10).
    pub capacity: u32,
    /// Tokens added per second (5.0).
    pub refill_rate_per_sec: f64,
    /// What a bucket is per: unset = one bucket for everything; `logger`,
    /// `message` (the message template), `level`; any other name is a field
    /// looked up in `context`, then `data` (dotted paths allowed).
    pub key_field: Option<String>,
    /// Most keys remembered (10000); beyond it idle keys are forgotten first.
    pub max_keys: usize,
    /// Drop or mark events over the limit (`drop`).
    pub overflow_action: OverflowAction,
    /// Levels never limited (`[ERROR, CRITICAL]`).
    pub always_pass_levels: Vec<Level>,
}

settings_serde!(RateLimitConfig {
    capacity,
    refill_rate_per_sec,
    key_field,
    max_keys,
    overflow_action,
    always_pass_levels
});

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            capacity: 10,
            refill_rate_per_sec: 5.0,
            key_field: None,
            max_keys: 10_000,
            overflow_action: OverflowAction::Drop,
            always_pass_levels: protected(),
        }
    }
}

struct Bucket {
    tokens: f64,
    last: Duration,
    suppressed: u64,
}

enum Key {
    Global,
    Logger,
    Message,
    Level,
    Field(String),
}

/// Limits events per key with a token bucket.
pub struct RateLimitFilter {
    capacity: f64,
    refill: f64,
    key: Key,
    max_keys: usize,
    action: OverflowAction,
    always: Vec<u8>,
    buckets: Mutex<HashMap<u64, Bucket>>,
    clock: SharedClock,
}

fn fnv(h: &mut u64, bytes: &[u8]) {
    for &b in bytes {
        *h ^= u64::from(b);
        *h = h.wrapping_mul(0x0100_0000_01b3);
    }
}

pub(crate) const FNV_SEED: u64 = 0xcbf2_9ce4_8422_2325;

/// Hashes a value for keying (strings by content, others by their JSON-ish form).
pub(crate) fn hash_value(h: &mut u64, v: Option<&Value<'_>>) {
    match v {
        None => fnv(h, &[0]),
        Some(Value::Str(t)) => fnv(h, t.as_bytes()),
        Some(Value::I64(i)) => fnv(h, &i.to_le_bytes()),
        Some(Value::U64(u)) => fnv(h, &u.to_le_bytes()),
        Some(Value::F64(f)) => fnv(h, &f.to_bits().to_le_bytes()),
        Some(Value::Bool(b)) => fnv(h, &[u8::from(*b) + 1]),
        Some(other) => {
            let s = serde_json::to_string(other).unwrap_or_default();
            fnv(h, s.as_bytes())
        }
    }
}

pub(crate) fn field<'e>(ev: &'e Event<'_>, name: &str) -> Option<&'e Value<'e>> {
    ev.context.get_path(name).or_else(|| ev.data.get_path(name))
}

impl RateLimitFilter {
    /// From its settings, on the system clock.
    pub fn from_config(c: &RateLimitConfig) -> Result<RateLimitFilter, Error> {
        RateLimitFilter::with_clock(c, clock::system())
    }

    /// From its settings, on a clock of your choice.
    pub fn with_clock(
        c: &RateLimitConfig,
        clock: Arc<dyn StageClock>,
    ) -> Result<RateLimitFilter, Error> {
        let bad = |key: &str, value: String, expected: &str| Error::InvalidSetting {
            key: format!("filter_config.rate_limit.{key}"),
            value,
            expected: expected.to_owned(),
        };
        if c.capacity == 0 {
            return Err(bad("capacity", "0".into(), "at least 1"));
        }
        if !(c.refill_rate_per_sec.is_finite() && c.refill_rate_per_sec >= 0.0) {
            return Err(bad(
                "refill_rate_per_sec",
                c.refill_rate_per_sec.to_string(),
                "a number of tokens per second, 0 or more",
            ));
        }
        if c.max_keys == 0 {
            return Err(bad("max_keys", "0".into(), "at least 1"));
        }
        let key = match c.key_field.as_deref() {
            None | Some("") => Key::Global,
            Some("logger") => Key::Logger,
            Some("message") => Key::Message,
            Some("level") => Key::Level,
            Some(f) => Key::Field(f.to_owned()),
        };
        Ok(RateLimitFilter {
            capacity: f64::from(c.capacity),
            refill: c.refill_rate_per_sec,
            key,
            max_keys: c.max_keys,
            action: c.overflow_action,
            always: c.always_pass_levels.iter().map(|l| l.priority()).collect(),
            buckets: Mutex::new(HashMap::new()),
            clock,
        })
    }

    fn key_of(&self, ev: &Event<'_>) -> u64 {
        let mut h = FNV_SEED;
        match &self.key {
            Key::Global => {}
            Key::Logger => fnv(&mut h, ev.logger.as_bytes()),
            Key::Message => fnv(&mut h, ev.message.as_bytes()),
            Key::Level => fnv(&mut h, &[ev.level.priority()]),
            Key::Field(f) => hash_value(&mut h, field(ev, f)),
        }
        h
    }

    fn evict(&self, map: &mut HashMap<u64, Bucket>, now: Duration) {
        // Full buckets are indistinguishable from new ones: forget them first.
        let refill = self.refill;
        let cap = self.capacity;
        map.retain(|_, b| {
            let t = b.tokens + now.saturating_sub(b.last).as_secs_f64() * refill;
            t < cap || b.suppressed > 0
        });
        if map.len() >= self.max_keys {
            if let Some(oldest) = map.iter().min_by_key(|(_, b)| b.last).map(|(k, _)| *k) {
                map.remove(&oldest);
            }
        }
    }
}

impl Filter for RateLimitFilter {
    fn name(&self) -> &str {
        "rate_limit"
    }

    fn filter(&self, event: &Event<'_>) -> Result<Verdict, StageError> {
        if self.always.contains(&event.level.priority()) {
            return Ok(Verdict::Keep);
        }
        let key = self.key_of(event);
        let now = self.clock.now();
        let mut map = match self.buckets.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if !map.contains_key(&key) && map.len() >= self.max_keys {
            self.evict(&mut map, now);
        }
        let b = map.entry(key).or_insert(Bucket {
            tokens: self.capacity,
            last: now,
            suppressed: 0,
        });
        let dt = now.saturating_sub(b.last).as_secs_f64();
        b.tokens = (b.tokens + dt * self.refill).min(self.capacity);
        b.last = now;
        let verdict = if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            if b.suppressed > 0 {
                runtime::annotate("rate_limit_suppressed", Value::U64(b.suppressed));
                b.suppressed = 0;
            }
            Verdict::Keep
        } else {
            runtime::count(Counter::RateLimited, 1);
            match self.action {
                OverflowAction::Drop => {
                    b.suppressed += 1;
                    Verdict::Drop
                }
                OverflowAction::Mark => {
                    runtime::annotate("rate_limited", Value::Bool(true));
                    Verdict::Keep
                }
            }
        };
        runtime::gauge_keys_tracked(map.len());
        Ok(verdict)
    }
}
