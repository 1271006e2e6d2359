//! Encoders: an event written once, as bytes, into a batch buffer.
//!
//! - [`Format::Json`]: the v1.1 envelope, one compact line per event.
//! - [`Format::Flat`]: the inner `log` object alone, for aggregators that
//!   want top-level fields.
//! - [`Format::Pretty`]: a human line for a terminal.
//!
//! The JSON writer is a byte writer in the manner of serde_json's: an escape
//! table, `itoa`/`ryu` for numbers, no intermediate `serde_json::Value`.

pub(crate) mod json;
pub(crate) mod pretty;
pub(crate) mod time;

pub use pretty::colors_for;
pub use time::write_rfc3339_millis;

use crate::envelope::Event;

/// How a sink wants its events written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Format {
    /// The v1.1 envelope: `{"schema_version":"1.1","log":{…}}`.
    #[default]
    Json,
    /// The inner `log` object alone.
    Flat,
    /// One human-readable line; ANSI colours when `color` is set.
    Pretty {
        /// Colour the level and keys.
        color: bool,
    },
}

/// How `TRACE` is named in the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TraceName {
    /// `DEBUG`, the nearest of the five envelope levels (the default).
    #[default]
    Debug,
    /// `TRACE`.
    Trace,
}

/// Options of the JSON encoders.
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct JsonOptions {
    /// Write the inner object alone ([`Format::Flat`]).
    pub flat: bool,
    /// How `TRACE` is named.
    pub trace_name: TraceName,
}

/// Writes `event` in `format` followed by a newline.
pub fn write_event(out: &mut Vec<u8>, event: &Event<'_>, format: Format, trace_name: TraceName) {
    match format {
        Format::Json | Format::Flat => json::write_event(
            out,
            event,
            &JsonOptions {
                flat: format == Format::Flat,
                trace_name,
            },
        ),
        Format::Pretty { color } => pretty::write_event(out, event, color, trace_name),
    }
    out.push(b'\n');
}

/// Writes a JSON envelope read back from a log line in the human format
/// of [`Format::Pretty`] (followed by a newline), for tools such as
/// `fapilog pretty`. Accepts the v1.1 envelope (`{"schema_version", "log"}`)
/// and the flat form (the `log` object alone); returns `false`, writing
/// nothing, for any other value. The timestamp is written as read.
///
/// ```
/// use fapilog::Value;
/// let line = r#"{"log":{"context":{"correlation_id":null,"message_id":"m","request_id":"r1"},"data":{"n":3},"diagnostics":{},"level":"INFO","logger":"app","message":"hi","timestamp":"2026-11-25T10:30:00.123Z"},"schema_version":"1.1"}"#;
/// let mut out = Vec::new();
/// assert!(fapilog::encode::write_pretty_value(&mut out, &Value::from_json(line).unwrap(), false));
/// assert_eq!(out, b"2026-11-25T10:30:00.123Z | INFO     | app | hi | request_id=r1 n=3\n");
/// assert!(!fapilog::encode::write_pretty_value(&mut out, &Value::from_json("[1]").unwrap(), false));
/// ```
pub fn write_pretty_value(out: &mut Vec<u8>, envelope: &crate::Value<'_>, color: bool) -> bool {
    let Some(top) = envelope.as_map() else {
        return false;
    };
    let log = match top.get("log") {
        Some(crate::Value::Map(log)) => log,
        _ => top,
    };
    if pretty::write_envelope(out, log, color) {
        out.push(b'\n');
        true
    } else {
        false
    }
}

/// Writes `text` for a terminal: every character a terminal would act on
/// (C0 controls, DEL, C1, the bidi controls and marks, the Unicode line
/// separators) as a visible escape, the rest as it is. The pretty format
/// writes every key and value this way.
///
/// ```
/// let mut out = Vec::new();
/// fapilog::encode::write_terminal_safe(&mut out, "a\x1b]0;owned\x07\r\u{202e}b");
/// assert_eq!(out, br"a\u{1b}]0;owned\u{7}\r\u{202e}b");
/// ```
pub fn write_terminal_safe(out: &mut Vec<u8>, text: &str) {
    pretty::push_clean(out, text);
}

pub(crate) fn level_name(level: crate::Level, trace_name: TraceName) -> &'static str {
    if level == crate::Level::TRACE && trace_name == TraceName::Debug {
        "DEBUG"
    } else {
        level.name()
    }
}

/// The string written for a float JSON cannot hold.
pub(crate) fn non_finite_name(v: f64) -> &'static str {
    if v.is_nan() {
        "NaN"
    } else if v > 0.0 {
        "inf"
    } else {
        "-inf"
    }
}
