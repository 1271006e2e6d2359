//! The human format: `timestamp | LEVEL    | logger | message | key=value …`.
//!
//! Timestamps are UTC (the `Z` says so); context keys come first, then
//! `data` flattened with dots, then the exception, if any. Strings with
//! spaces, quotes or `=` are quoted. `message_id` and the diagnostics the
//! pipeline adds to every line (service, env, host, pid) are left out: they
//! are noise to a reader and stay in the JSON formats.

use super::json::{write_str, write_value};
use super::{level_name, time::write_rfc3339_millis, TraceName};
use crate::envelope::Event;
use crate::value::{Map, Value};
use crate::Level;

const RESET: &str = "\x1b[0m";
const DIM: &str = "\x1b[2m";

fn level_color(level: Level) -> &'static str {
    match level.priority() {
        0..=10 => "\x1b[34m",
        11..=20 => "\x1b[32m",
        21..=30 => "\x1b[33m",
        31..=40 => "\x1b[31m",
        _ => "\x1b[1;31m",
    }
}

pub(crate) fn write_event(out: &mut Vec<u8>, ev: &Event<'_>, color: bool, trace_name: TraceName) {
    write_rfc3339_millis(out, ev.timestamp);
    out.extend_from_slice(b" | ");
    let name = level_name(ev.level, trace_name);
    if color {
        out.extend_from_slice(level_color(ev.level).as_bytes());
    }
    out.extend_from_slice(name.as_bytes());
    for _ in name.len()..8 {
        out.push(b' ');
    }
    if color {
        out.extend_from_slice(RESET.as_bytes());
    }
    out.extend_from_slice(b" | ");
    push_clean(out, &ev.logger);
    out.extend_from_slice(b" | ");
    push_clean(out, &ev.message);
    let mut first = true;
    for (k, v) in ev.context.iter() {
        if v.is_null() || k == "message_id" {
            continue;
        }
        // correlation_id repeats request_id in the common case.
        if k == "correlation_id" && ev.context.get("request_id") == Some(v) {
            continue;
        }
        write_pair(out, &mut first, "", k, v, color);
    }
    write_flat(out, &mut first, "", &ev.data, color);
    if let Some(Value::Map(ex)) = ev.diagnostics.get("exception") {
        write_flat(out, &mut first, "", ex, color);
    }
}

/// The same line from an envelope read back from JSON (the `log` object):
/// the timestamp is written as it was read. `false` (nothing written) when
/// the object lacks a string `timestamp`, `level` or `message`.
pub(crate) fn write_envelope(out: &mut Vec<u8>, log: &Map<'_>, color: bool) -> bool {
    let (Some(ts), Some(level), Some(message)) = (
        log.get("timestamp").and_then(Value::as_str),
        log.get("level").and_then(Value::as_str),
        log.get("message").and_then(Value::as_str),
    ) else {
        return false;
    };
    push_clean(out, ts);
    out.extend_from_slice(b" | ");
    if color {
        let l = level.parse::<Level>().unwrap_or(Level::INFO);
        out.extend_from_slice(level_color(l).as_bytes());
    }
    push_clean(out, level);
    for _ in level.chars().count()..8 {
        out.push(b' ');
    }
    if color {
        out.extend_from_slice(RESET.as_bytes());
    }
    out.extend_from_slice(b" | ");
    push_clean(out, log.get("logger").and_then(Value::as_str).unwrap_or(""));
    out.extend_from_slice(b" | ");
    push_clean(out, message);
    let mut first = true;
    if let Some(Value::Map(context)) = log.get("context") {
        for (k, v) in context.iter() {
            if v.is_null() || k == "message_id" {
                continue;
            }
            if k == "correlation_id" && context.get("request_id") == Some(v) {
                continue;
            }
            write_pair(out, &mut first, "", k, v, color);
        }
    }
    if let Some(Value::Map(data)) = log.get("data") {
        write_flat(out, &mut first, "", data, color);
    }
    if let Some(Value::Map(diag)) = log.get("diagnostics") {
        if let Some(Value::Map(ex)) = diag.get("exception") {
            write_flat(out, &mut first, "", ex, color);
        }
    }
    true
}

/// Control characters would break the one-line-per-event promise.
fn push_clean(out: &mut Vec<u8>, s: &str) {
    for ch in s.chars() {
        match ch {
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if c.is_control() => {
                out.extend_from_slice(format!("\\u{{{:x}}}", c as u32).as_bytes())
            }
            c => {
                let mut b = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
}

fn write_flat(out: &mut Vec<u8>, first: &mut bool, prefix: &str, m: &Map<'_>, color: bool) {
    for (k, v) in m.iter() {
        match v {
            Value::Map(inner) if !inner.is_empty() && prefix.len() < 256 => {
                let p = format!("{prefix}{k}.");
                write_flat(out, first, &p, inner, color);
            }
            _ => write_pair(out, first, prefix, k, v, color),
        }
    }
}

fn write_pair(
    out: &mut Vec<u8>,
    first: &mut bool,
    prefix: &str,
    k: &str,
    v: &Value<'_>,
    color: bool,
) {
    out.extend_from_slice(if *first { b" | " } else { b" " });
    *first = false;
    if color {
        out.extend_from_slice(DIM.as_bytes());
    }
    push_clean(out, prefix);
    push_clean(out, k);
    out.push(b'=');
    if color {
        out.extend_from_slice(RESET.as_bytes());
    }
    match v {
        Value::Str(t) => {
            let s = t.as_str();
            let plain = !s.is_empty()
                && !s
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '=' | '\''));
            if plain {
                out.extend_from_slice(s.as_bytes());
            } else {
                write_str(out, s);
            }
        }
        other => write_value(out, other, 0),
    }
}
