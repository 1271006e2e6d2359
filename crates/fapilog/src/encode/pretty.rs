//! The human format: `timestamp | LEVEL    | logger | message | key=value …`.
//!
//! Timestamps are UTC (the `Z` says so); context keys come first, then
//! `data` flattened with dots, then the exception, if any. Strings with
//! spaces, quotes or `=` are quoted. `message_id` and the diagnostics the
//! pipeline adds to every line (service, env, host, pid) are left out: they
//! are noise to a reader and stay in the JSON formats.
//!
//! Terminal safety: every character that could move the cursor, end the
//! line, send a terminal command or reorder the text (C0 controls, DEL, the
//! C1 range U+0080–U+009F, the bidi controls U+202A–U+202E and
//! U+2066–U+2069, the marks U+200E, U+200F, U+061C and the separators
//! U+2028, U+2029) is written as a visible escape (`\n`, `\u{1b}`), in
//! every key and value, so one event is always one line and only the
//! colours this writer adds reach the terminal.

use std::io::Write as _;

use anstyle::{AnsiColor, Effects, Style};

use super::json::write_value;
use super::{level_name, time::write_rfc3339_millis, TraceName};
use crate::envelope::Event;
use crate::value::{Map, Value};
use crate::Level;

const DIM: Style = Style::new().effects(Effects::DIMMED);

fn level_style(level: Level) -> Style {
    let c = |c: AnsiColor| Style::new().fg_color(Some(c.into()));
    match level.priority() {
        0..=10 => c(AnsiColor::Blue),
        11..=20 => c(AnsiColor::Green),
        21..=30 => c(AnsiColor::Yellow),
        31..=40 => c(AnsiColor::Red),
        _ => c(AnsiColor::Red).bold(),
    }
}

fn start(out: &mut Vec<u8>, style: Style) {
    let _ = write!(out, "{}", style.render());
}

fn end(out: &mut Vec<u8>, style: Style) {
    let _ = write!(out, "{}", style.render_reset());
}

/// Whether a terminal on `stream` should get colours: it is a terminal,
/// `NO_COLOR` is unset or empty, and `TERM` is not `dumb` (`CLICOLOR_FORCE`
/// forces them on, as the `anstream` family of crates does).
pub fn colors_for(stream: &impl std::io::IsTerminal) -> bool {
    if anstyle_query::clicolor_force() {
        return true;
    }
    if anstyle_query::no_color() {
        return false;
    }
    stream.is_terminal() && anstyle_query::term_supports_color()
}

pub(crate) fn write_event(out: &mut Vec<u8>, ev: &Event<'_>, color: bool, trace_name: TraceName) {
    write_rfc3339_millis(out, ev.timestamp);
    out.extend_from_slice(b" | ");
    let name = level_name(ev.level, trace_name);
    let style = level_style(ev.level);
    if color {
        start(out, style);
    }
    out.extend_from_slice(name.as_bytes());
    for _ in name.len()..8 {
        out.push(b' ');
    }
    if color {
        end(out, style);
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
    let style = level_style(level.parse::<Level>().unwrap_or(Level::INFO));
    if color {
        start(out, style);
    }
    push_clean(out, level);
    for _ in level.chars().count()..8 {
        out.push(b' ');
    }
    if color {
        end(out, style);
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

/// The characters a terminal would act on instead of showing: C0, DEL,
/// C1, the bidi embeddings, overrides and isolates, the bidi marks and the
/// Unicode line and paragraph separators.
#[inline]
pub(crate) fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\0'..='\x1f' | '\x7f'..='\u{9f}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        | '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{2028}' | '\u{2029}')
}

/// `true` when `s` holds no byte that can start an unsafe character (a
/// fast pass over the bytes: C0, DEL, and the lead bytes of C1, U+061C
/// and the U+20xx controls).
#[inline]
fn all_safe(s: &str) -> bool {
    s.bytes()
        .all(|b| b >= 0x20 && b != 0x7f && b != 0xc2 && b != 0xd8 && b != 0xe2)
        || !s.chars().any(is_unsafe)
}

fn push_escape(out: &mut Vec<u8>, c: char) {
    match c {
        '\n' => out.extend_from_slice(b"\\n"),
        '\r' => out.extend_from_slice(b"\\r"),
        '\t' => out.extend_from_slice(b"\\t"),
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// Writes `s` with every unsafe character escaped.
pub(crate) fn push_clean(out: &mut Vec<u8>, s: &str) {
    if all_safe(s) {
        out.extend_from_slice(s.as_bytes());
        return;
    }
    for c in s.chars() {
        if is_unsafe(c) {
            push_escape(out, c);
        } else {
            let mut b = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
        }
    }
}

/// Writes `s` in double quotes: `"` and `\` escaped, unsafe characters as
/// in [`push_clean`].
fn push_quoted(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            c if is_unsafe(c) => push_escape(out, c),
            c => {
                let mut b = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
    out.push(b'"');
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
        start(out, DIM);
    }
    push_clean(out, prefix);
    push_clean(out, k);
    out.push(b'=');
    if color {
        end(out, DIM);
    }
    match v {
        Value::Str(t) => {
            let s = t.as_str();
            let plain = !s.is_empty()
                && !s.chars().any(|c| {
                    c.is_whitespace()
                        || c.is_control()
                        || is_unsafe(c)
                        || matches!(c, '"' | '=' | '\'')
                });
            if plain {
                out.extend_from_slice(s.as_bytes());
            } else {
                push_quoted(out, s);
            }
        }
        other => {
            // JSON escapes C0 already; DEL, C1 and the bidi controls pass
            // through it, so the text is cleaned once more.
            let mut json = Vec::new();
            write_value(&mut json, other, 0);
            match std::str::from_utf8(&json) {
                Ok(text) => push_clean(out, text),
                Err(_) => push_clean(out, &String::from_utf8_lossy(&json)),
            }
        }
    }
}
