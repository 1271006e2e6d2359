//! The event: the owned, mutable form of one log line after the queue, which
//! every stage can read and change and the encoder writes once.
//!
//! Its shape follows fapilog's v1.1 envelope: `context` (who and which
//! request), `diagnostics` (where it ran), `data` (the caller's fields).
//! Building an event from a record borrows the record's text and reuses the
//! worker's vectors, so the common case allocates nothing.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use crate::clock::Anchor;
use crate::level::Level;
use crate::record::{Location, Raw, Record};
use crate::value::{Map, Text, Value};

/// Keys that belong in `context` rather than `data` when bound or logged.
pub const CONTEXT_KEYS: [&str; 6] = [
    "request_id",
    "user_id",
    "tenant_id",
    "trace_id",
    "span_id",
    "correlation_id",
];

/// `true` when a field named `key` goes to the envelope's `context`.
#[inline]
pub fn is_context_key(key: &str) -> bool {
    // Every context key ends in `_id`: most data keys are rejected by that alone.
    key.ends_with("_id") && CONTEXT_KEYS.contains(&key)
}

/// A unique id per event (a random UUID, version 4).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageId([u8; 16]);

impl MessageId {
    /// The id with these 16 bytes (the spool's replay).
    #[cfg_attr(not(feature = "spool"), allow(dead_code))]
    pub(crate) fn from_bytes(bytes: [u8; 16]) -> MessageId {
        MessageId(bytes)
    }

    /// The 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Writes the hyphenated form (36 bytes) into `out`.
    pub fn write_hyphenated(&self, out: &mut [u8; 36]) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut j = 0;
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                out[j] = b'-';
                j += 1;
            }
            out[j] = HEX[(b >> 4) as usize];
            out[j + 1] = HEX[(b & 0xf) as usize];
            j += 2;
        }
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 36];
        self.write_hyphenated(&mut buf);
        f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Random UUIDs from `fastrand` (wyrand, seeded from the OS-keyed hasher):
/// unique, not for cryptography.
pub(crate) struct IdGen(fastrand::Rng);

impl IdGen {
    pub(crate) fn new() -> IdGen {
        IdGen(fastrand::Rng::new())
    }

    fn next_u64(&mut self) -> u64 {
        self.0.u64(..)
    }

    pub(crate) fn next_id(&mut self) -> MessageId {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        b[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        MessageId(b)
    }
}

/// One log event on its way to the sinks.
///
/// Stages change it in place; the encoder writes `message_id` and
/// `correlation_id` first in `context` whatever the stages did, so every line
/// keeps the fields the v1.1 schema requires.
///
/// ```
/// use fapilog::{Event, Level, Value};
/// let mut ev = Event::new(Level::INFO, "user login");
/// ev.data.insert("user_id", Value::I64(7));
/// let line = ev.to_json();
/// assert!(line.contains(r#""data":{"user_id":7}"#));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Event<'a> {
    /// When the call was made.
    pub timestamp: SystemTime,
    /// Severity.
    pub level: Level,
    /// Logger name.
    pub logger: Text<'a>,
    /// Human-readable message.
    pub message: Text<'a>,
    /// Unique id of this line.
    pub message_id: MessageId,
    /// Request/trace identity: `correlation_id`, `request_id`, `user_id`, …
    pub context: Map<'a>,
    /// Where it ran: service, env, host, pid, exception, …
    pub diagnostics: Map<'a>,
    /// The caller's fields and bound non-context fields.
    pub data: Map<'a>,
    /// Free-form tags (omitted from the output when empty).
    pub tags: Vec<Text<'a>>,
    /// Call site, when known.
    pub location: Option<&'static Location>,
}

impl<'a> Event<'a> {
    /// A new event stamped now, logger `root`, with `correlation_id: null`
    /// (for tests and for stages that emit events of their own).
    pub fn new(level: Level, message: impl Into<Text<'a>>) -> Event<'a> {
        let mut context = Map::new();
        context.insert("correlation_id", Value::Null);
        Event {
            timestamp: SystemTime::now(),
            level,
            logger: Text::Borrowed("root"),
            message: message.into(),
            message_id: IdGen::new().next_id(),
            context,
            diagnostics: Map::new(),
            data: Map::new(),
            tags: Vec::new(),
            location: None,
        }
    }

    /// The envelope as one JSON line (without the newline), with default options.
    pub fn to_json(&self) -> String {
        let mut out = Vec::new();
        crate::encode::json::write_event(&mut out, self, &crate::encode::JsonOptions::default());
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// What every event of a pipeline carries in `diagnostics`.
#[derive(Debug, Clone)]
pub(crate) struct Info {
    pub(crate) service: Arc<str>,
    pub(crate) env: Arc<str>,
    pub(crate) version: Option<Arc<str>>,
    pub(crate) host: Arc<str>,
    pub(crate) pid: u32,
    pub(crate) include_location: bool,
}

type Entries<'a> = Vec<(Text<'a>, Value<'a>)>;

/// Reuses an emptied vector's allocation for another lifetime.
fn recycle<'b>(mut v: Entries<'_>) -> Entries<'b> {
    v.clear();
    // In-place collection: same element layout, so the allocation is kept.
    v.into_iter()
        .map(|_| -> (Text<'b>, Value<'b>) { unreachable!() })
        .collect()
}

/// Builds events from records, keeping its vectors between events.
pub(crate) struct EventBuilder {
    ids: IdGen,
    context: Entries<'static>,
    diagnostics: Entries<'static>,
    data: Entries<'static>,
}

impl EventBuilder {
    pub(crate) fn new() -> EventBuilder {
        EventBuilder {
            ids: IdGen::new(),
            context: Vec::with_capacity(8),
            diagnostics: Vec::with_capacity(8),
            data: Vec::with_capacity(16),
        }
    }

    /// Gives the event's vectors back for the next event.
    pub(crate) fn recycle(&mut self, ev: Event<'_>) {
        self.context = recycle(ev.context.into_vec());
        self.diagnostics = recycle(ev.diagnostics.into_vec());
        self.data = recycle(ev.data.into_vec());
    }

    /// The next event's id.
    pub(crate) fn next_id(&mut self) -> MessageId {
        self.ids.next_id()
    }

    /// An empty event with the pipeline's diagnostics.
    pub(crate) fn blank<'a>(
        &mut self,
        timestamp: SystemTime,
        level: Level,
        logger: &'a str,
        message: Text<'a>,
        info: &'a Info,
        message_id: MessageId,
    ) -> Event<'a> {
        let mut context = Map::from_vec(recycle(std::mem::take(&mut self.context)));
        let mut diagnostics = Map::from_vec(recycle(std::mem::take(&mut self.diagnostics)));
        let data = Map::from_vec(recycle(std::mem::take(&mut self.data)));
        // Fresh maps: the keys are known to be absent.
        context.push_new(Text::Borrowed("correlation_id"), Value::Null);
        // fapilog's `origin`: this library's own call sites and bridges
        // alike write through the native API.
        diagnostics.push_new(Text::Borrowed("origin"), Value::str("native"));
        diagnostics.push_new(
            Text::Borrowed("service"),
            Value::Str(Text::Borrowed(&info.service)),
        );
        diagnostics.push_new(Text::Borrowed("env"), Value::Str(Text::Borrowed(&info.env)));
        if let Some(v) = &info.version {
            diagnostics.push_new(Text::Borrowed("version"), Value::Str(Text::Borrowed(v)));
        }
        diagnostics.push_new(
            Text::Borrowed("host"),
            Value::Str(Text::Borrowed(&info.host)),
        );
        diagnostics.push_new(Text::Borrowed("pid"), Value::U64(info.pid.into()));
        Event {
            timestamp,
            level,
            logger: Text::Borrowed(logger),
            message,
            message_id,
            context,
            diagnostics,
            data,
            tags: Vec::new(),
            location: None,
        }
    }

    /// The event of a queued record.
    pub(crate) fn build<'a>(
        &mut self,
        r: &'a Record,
        anchor: &Anchor,
        info: &'a Info,
    ) -> Event<'a> {
        let id = self.ids.next_id();
        self.build_with_id(r, anchor, info, id)
    }

    /// The event of a queued record, with the given id.
    pub(crate) fn build_with_id<'a>(
        &mut self,
        r: &'a Record,
        anchor: &Anchor,
        info: &'a Info,
        id: MessageId,
    ) -> Event<'a> {
        let mut ev = self.blank(
            anchor.wall(r.time),
            r.level,
            r.logger,
            Text::Borrowed(r.message()),
            info,
            id,
        );
        ev.location = r.location;
        if let (true, Some(loc)) = (info.include_location, r.location) {
            ev.diagnostics.insert("location", location_value(loc));
        }
        for frame in [&r.context, &r.bound].into_iter().flatten() {
            for (k, v) in &frame.entries {
                route(&mut ev, k.view(), v.view());
            }
        }
        let mut have_exception = false;
        for &(key, raw) in &r.fields {
            let k = Text::Borrowed(r.key(key));
            let v = match raw {
                Raw::Json(s) => {
                    let text = r.text(s);
                    // Only nesting beyond serde_json's 128 levels fails here
                    // (the text was serialized by serde): masked whole, as
                    // no redactor could look inside it (fail closed).
                    Value::from_json(text).unwrap_or(Value::Str(Text::Borrowed(
                        crate::stages::redactors::walk::TOO_DEEP,
                    )))
                }
                Raw::Error(s) => {
                    let parts = r.error_parts(s);
                    if !have_exception {
                        // The first error is the event's exception, as
                        // fapilog's `exc=`: not repeated in `data`.
                        have_exception = true;
                        ev.diagnostics.insert("exception", exception_value(&parts));
                        continue;
                    }
                    Value::str(parts.message)
                }
                scalar => scalar_value(r, scalar).unwrap_or(Value::Null),
            };
            if let ("data", Value::Map(m)) = (&*k, &v) {
                // fapilog flattens `data={...}` into `data` (and lifts its
                // context keys into `context`) rather than nesting `data.data`.
                for (dk, dv) in m.iter() {
                    route(&mut ev, Text::Owned(dk.to_owned()), dv.clone());
                }
                continue;
            }
            route(&mut ev, k, v);
        }
        ev
    }
}

/// `diagnostics.exception` as fapilog writes it: `error.type`,
/// `error.message`, `error.stack` (the error and its causes, then the
/// backtrace when one was captured), `error.frames` (from the backtrace:
/// `file`, `line`, `function`, `code`) and `error.cause` (the first
/// `source()`; its message, since a cause's type is not known at run time
/// here, where fapilog writes the cause's class name).
pub(crate) fn exception_value<'a>(parts: &crate::record::ErrorParts<'a>) -> Value<'a> {
    let mut ex = Map::new();
    ex.push_new(Text::Borrowed("error.type"), Value::str(parts.type_name));
    ex.push_new(Text::Borrowed("error.message"), Value::str(parts.message));
    let mut stack = String::with_capacity(64);
    stack.push_str(parts.type_name);
    stack.push_str(": ");
    stack.push_str(parts.message);
    stack.push('\n');
    for cause in &parts.sources {
        stack.push_str(CAUSED_BY);
        stack.push_str(cause);
        stack.push('\n');
    }
    let frames = parts.backtrace.map(backtrace_frames);
    if let Some(bt) = parts.backtrace {
        stack.push_str("stack backtrace:\n");
        stack.push_str(bt);
    }
    ex.push_new(
        Text::Borrowed("error.stack"),
        Value::Str(Text::Owned(stack)),
    );
    if let Some(frames) = frames.filter(|f| !f.is_empty()) {
        ex.push_new(Text::Borrowed("error.frames"), Value::Array(frames));
    }
    if let Some(cause) = parts.sources.first() {
        ex.push_new(Text::Borrowed("error.cause"), Value::str(cause));
    }
    Value::Map(ex)
}

/// How `error.stack` introduces each `source()` of an error.
pub(crate) const CAUSED_BY: &str = "Caused by: ";

/// The frames of a `std::backtrace::Backtrace` as text: `N: function`
/// lines, each followed by an `at file:line:column` line when known.
fn backtrace_frames(bt: &str) -> Vec<Value<'_>> {
    let mut frames = Vec::new();
    let mut lines = bt.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        let digits = t.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || t.as_bytes().get(digits) != Some(&b':') {
            continue;
        }
        let function = t[digits + 1..].trim();
        let (mut file, mut line_no) = ("", 0u64);
        if let Some(at) = lines
            .peek()
            .and_then(|l| l.trim_start().strip_prefix("at "))
        {
            lines.next();
            // `file:line:column`; a file name may itself hold colons.
            let mut it = at.rsplitn(3, ':');
            let _column = it.next();
            match (it.next().and_then(|l| l.parse().ok()), it.next()) {
                (Some(l), Some(f)) => (file, line_no) = (f, l),
                _ => file = at,
            }
        }
        let mut f = Map::new();
        f.push_new(Text::Borrowed("file"), Value::str(file));
        f.push_new(Text::Borrowed("line"), Value::U64(line_no));
        f.push_new(Text::Borrowed("function"), Value::str(function));
        f.push_new(Text::Borrowed("code"), Value::str(""));
        frames.push(Value::Map(f));
    }
    frames
}

/// The value of a captured scalar or string; `None` for a serde value or
/// an error, which need more than a conversion.
#[inline]
pub(crate) fn scalar_value(r: &Record, raw: Raw) -> Option<Value<'_>> {
    Some(match raw {
        Raw::Null => Value::Null,
        Raw::Bool(b) => Value::Bool(b),
        Raw::I64(i) => Value::I64(i),
        Raw::U64(u) => Value::U64(u),
        Raw::F64(f) => Value::F64(f),
        Raw::Str(s) => Value::Str(Text::Borrowed(r.text(s))),
        Raw::Json(_) | Raw::Error(_) => return None,
    })
}

/// `diagnostics.location`: `{"file", "line", "module"}`.
pub(crate) fn location_value(loc: &Location) -> Value<'_> {
    let mut at = Map::new();
    at.push_new(Text::Borrowed("file"), Value::str(loc.file));
    at.push_new(Text::Borrowed("line"), Value::U64(loc.line.into()));
    at.push_new(Text::Borrowed("module"), Value::str(loc.module));
    Value::Map(at)
}

fn route<'a>(ev: &mut Event<'a>, key: Text<'a>, value: Value<'a>) {
    if is_context_key(&key) {
        ev.context.insert(key, value);
    } else {
        ev.data.insert(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_v4_and_distinct() {
        let mut g = IdGen::new();
        let a = g.next_id();
        let b = g.next_id();
        assert_ne!(a, b);
        let s = a.to_string();
        assert_eq!(s.len(), 36);
        assert_eq!(&s[14..15], "4");
        assert!(matches!(&s[19..20], "8" | "9" | "a" | "b"));
    }
}
