//! The size guard: caps an event's serialized size.

use std::cell::RefCell;

use crate::config_serde::{settings_enum_serde, settings_serde};

use crate::encode::{Format, TraceName};
use crate::envelope::Event;
use crate::error::Error;
use crate::stages::redactors::cut;
use crate::stages::runtime::{self, Counter};
use crate::stages::{Processor, StageError, Verdict};
use crate::value::{Map, Text, Value};

/// What the size guard does with an event over the limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SizeAction {
    /// Shorten the largest strings first (then replace the largest fields)
    /// until it fits; marks `data._truncated` and `data._original_size`.
    #[default]
    Truncate,
    /// Drop the event (counted in `size_guard_dropped` and as filtered).
    Drop,
    /// Let it through, counting it as truncated would have been: nothing changes.
    Warn,
}

settings_enum_serde!(SizeAction { Truncate = "truncate", Drop = "drop", Warn = "warn" });

/// Settings of the `size_guard` processor (`processor_config.size_guard`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SizeGuardConfig {
    /// Largest serialized envelope, bytes (256000, at least 100). CloudWatch
    /// takes 256 KiB per event, Loki 256 KB per line by default.
    pub max_bytes: usize,
    /// Truncate, drop or warn (`truncate`).
    pub action: SizeAction,
    /// Fields never shortened or removed (`[level, timestamp, logger,
    /// correlation_id]`; the first three are never touched anyway). Names
    /// are keys in `data`, `context` or `diagnostics`.
    pub preserve_fields: Vec<String>,
    /// Appended to a shortened string, and the value of a removed field (`[truncated]`).
    pub marker: String,
}

settings_serde!(SizeGuardConfig {
    max_bytes,
    action,
    preserve_fields,
    marker
});

impl Default for SizeGuardConfig {
    fn default() -> Self {
        SizeGuardConfig {
            max_bytes: 256_000,
            action: SizeAction::Truncate,
            preserve_fields: ["level", "timestamp", "logger", "correlation_id"]
                .map(String::from)
                .to_vec(),
            marker: "[truncated]".to_owned(),
        }
    }
}

/// Caps the serialized size of every event (the JSON envelope).
///
/// An event whose raw text is far below the limit is passed after a cheap
/// length sum; only candidates are encoded to be measured exactly.
pub struct SizeGuard {
    max: usize,
    action: SizeAction,
    preserve: Vec<String>,
    marker: String,
}

thread_local! {
    static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The encoded size of `ev` as a JSON envelope line.
fn measure(ev: &Event<'_>) -> usize {
    BUF.with(|b| {
        let mut b = b.borrow_mut();
        b.clear();
        crate::encode::write_event(&mut b, ev, Format::Json, TraceName::Debug);
        let n = b.len();
        if b.capacity() > 1 << 20 {
            *b = Vec::new();
        }
        n
    })
}

fn raw_len(v: &Value<'_>) -> usize {
    match v {
        Value::Str(t) => t.len() + 2,
        Value::Map(m) => raw_map_len(m),
        Value::Array(a) => a.iter().map(|x| raw_len(x) + 1).sum::<usize>() + 2,
        _ => 24,
    }
}

fn raw_map_len(m: &Map<'_>) -> usize {
    m.iter()
        .map(|(k, v)| k.len() + 4 + raw_len(v))
        .sum::<usize>()
        + 2
}

/// Where a value lives: section (0 context, 1 diagnostics, 2 data, 3 message) and indices.
type Loc = (usize, Vec<usize>);

impl SizeGuard {
    /// Caps events at `max_bytes`, truncating.
    pub fn new(max_bytes: usize) -> Result<SizeGuard, Error> {
        SizeGuard::from_config(&SizeGuardConfig {
            max_bytes,
            ..SizeGuardConfig::default()
        })
    }

    /// From its settings.
    pub fn from_config(c: &SizeGuardConfig) -> Result<SizeGuard, Error> {
        if c.max_bytes < 100 {
            return Err(Error::InvalidSetting {
                key: "processor_config.size_guard.max_bytes".to_owned(),
                value: c.max_bytes.to_string(),
                expected: "at least 100 bytes".to_owned(),
            });
        }
        Ok(SizeGuard {
            max: c.max_bytes,
            action: c.action,
            preserve: c.preserve_fields.clone(),
            marker: c.marker.clone(),
        })
    }

    fn sections<'e, 'a>(ev: &'e mut Event<'a>) -> [&'e mut Map<'a>; 3] {
        [&mut ev.context, &mut ev.diagnostics, &mut ev.data]
    }

    /// The largest string (`strings`) or largest field (`!strings`) not preserved.
    fn largest(&self, ev: &mut Event<'_>, strings: bool) -> Option<(Loc, usize)> {
        let mut best: Option<(Loc, usize)> = None;
        if strings {
            best = Some(((3, Vec::new()), ev.message.len()));
        }
        for (si, m) in Self::sections(ev).into_iter().enumerate() {
            let mut path = Vec::new();
            self.scan_map(m, si, &mut path, strings, &mut best, 0);
        }
        best.filter(|(_, n)| *n > self.marker.len() + 8)
    }

    fn scan_map(
        &self,
        m: &Map<'_>,
        si: usize,
        path: &mut Vec<usize>,
        strings: bool,
        best: &mut Option<(Loc, usize)>,
        depth: usize,
    ) {
        for (i, (k, v)) in m.iter().enumerate() {
            if depth == 0 && self.preserve.iter().any(|p| p == k) {
                continue;
            }
            path.push(i);
            self.scan_value(v, si, path, strings, best, depth);
            path.pop();
        }
    }

    fn scan_value(
        &self,
        v: &Value<'_>,
        si: usize,
        path: &mut Vec<usize>,
        strings: bool,
        best: &mut Option<(Loc, usize)>,
        depth: usize,
    ) {
        let size = match v {
            Value::Str(t) => t.len(),
            _ if strings => 0,
            other => raw_len(other),
        };
        if size > best.as_ref().map_or(0, |b| b.1) {
            *best = Some(((si, path.clone()), size));
        }
        if depth > 32 {
            return;
        }
        match v {
            Value::Map(m) => self.scan_map(m, si, path, strings, best, depth + 1),
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    path.push(i);
                    self.scan_value(x, si, path, strings, best, depth + 1);
                    path.pop();
                }
            }
            _ => {}
        }
    }

    fn at<'e, 'a>(ev: &'e mut Event<'a>, loc: &Loc) -> Option<&'e mut Value<'a>> {
        let (si, path) = loc;
        let m = Self::sections(ev).into_iter().nth(*si)?;
        let (first, rest) = path.split_first()?;
        let mut cur = m.iter_mut().nth(*first)?.1;
        for &i in rest {
            cur = match cur {
                Value::Map(m) => m.iter_mut().nth(i)?.1,
                Value::Array(a) => a.get_mut(i)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    fn shorten(&self, t: &mut Text<'_>, excess: usize) {
        let keep = t.len().saturating_sub(excess + self.marker.len() + 16);
        let mut s = String::with_capacity(keep + self.marker.len());
        s.push_str(cut(t, keep));
        s.push_str(&self.marker);
        *t = Text::Owned(s);
    }

    fn truncate(&self, ev: &mut Event<'_>, original: usize) -> bool {
        let mut size = original;
        for _ in 0..64 {
            let excess = size - self.max + 64;
            if let Some((loc, _)) = self.largest(ev, true) {
                if loc.0 == 3 {
                    self.shorten(&mut ev.message, excess);
                } else if let Some(Value::Str(t)) = Self::at(ev, &loc) {
                    self.shorten(t, excess);
                }
            } else if let Some((loc, _)) = self.largest(ev, false) {
                if let Some(v) = Self::at(ev, &loc) {
                    *v = Value::from(self.marker.clone());
                }
            } else {
                return false;
            }
            size = measure(ev) + 48;
            if size <= self.max {
                ev.data.insert("_truncated", Value::Bool(true));
                ev.data
                    .insert("_original_size", Value::U64(original as u64));
                return true;
            }
        }
        false
    }
}

impl Processor for SizeGuard {
    fn name(&self) -> &str {
        "size_guard"
    }

    fn process(&self, event: &mut Event<'_>) -> Result<Verdict, StageError> {
        let raw = 300
            + event.message.len()
            + event.logger.len()
            + raw_map_len(&event.context)
            + raw_map_len(&event.diagnostics)
            + raw_map_len(&event.data)
            + event.tags.iter().map(|t| t.len() + 3).sum::<usize>();
        // JSON escaping grows a string by at most 6x (`\u00XX`).
        if raw.saturating_mul(6) <= self.max {
            return Ok(Verdict::Keep);
        }
        let size = measure(event);
        if size <= self.max {
            return Ok(Verdict::Keep);
        }
        match self.action {
            SizeAction::Warn => Ok(Verdict::Keep),
            SizeAction::Drop => {
                runtime::count(Counter::SizeGuardDropped, 1);
                Ok(Verdict::Drop)
            }
            SizeAction::Truncate => {
                if self.truncate(event, size) {
                    runtime::count(Counter::SizeGuardTruncated, 1);
                    Ok(Verdict::Keep)
                } else {
                    runtime::count(Counter::SizeGuardDropped, 1);
                    Ok(Verdict::Drop)
                }
            }
        }
    }
}
