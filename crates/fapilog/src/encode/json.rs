//! The JSON envelope writer.

use super::{level_name, non_finite_name, time::write_rfc3339_millis, JsonOptions};
use std::time::SystemTime;

use crate::envelope::{Event, MessageId};
use crate::value::{Map, Value};

/// Deeper nesting than this is written as a marker string, so a hostile
/// value cannot blow the worker's stack.
const MAX_DEPTH: usize = 64;

/// Context keys the schema types as strings: other values are written as
/// their text, and nulls left out (except `correlation_id`, which is
/// always present).
const STRING_CONTEXT_KEYS: [&str; 5] =
    ["request_id", "user_id", "tenant_id", "trace_id", "span_id"];

pub(crate) fn write_event(out: &mut Vec<u8>, ev: &Event<'_>, opts: &JsonOptions) {
    write_head(
        out,
        opts.flat,
        ev.timestamp,
        level_name(ev.level, opts.trace_name),
        &ev.message,
        &ev.logger,
        ev.message_id,
    );
    match ev.context.get("correlation_id") {
        None | Some(Value::Null) => out.extend_from_slice(b"null"),
        Some(v) => write_as_string(out, v),
    }
    for (k, v) in ev.context.iter() {
        if k == "message_id" || k == "correlation_id" {
            continue;
        }
        if STRING_CONTEXT_KEYS.contains(&k) {
            write_context_string(out, k, v);
        } else {
            out.push(b',');
            write_str(out, k);
            out.push(b':');
            write_value(out, v, 0);
        }
    }
    out.extend_from_slice(br#"},"diagnostics":"#);
    write_map(out, &ev.diagnostics, 0);
    out.extend_from_slice(br#","data":"#);
    write_map(out, &ev.data, 0);
    if !ev.tags.is_empty() {
        out.extend_from_slice(br#","tags":["#);
        for (i, t) in ev.tags.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_str(out, t);
        }
        out.push(b']');
    }
    write_close(out, opts.flat);
}

/// The envelope up to the value of `correlation_id`: the wrapper (unless
/// `flat`), timestamp, level, message, logger, and `context`'s `message_id`.
#[inline]
pub(crate) fn write_head(
    out: &mut Vec<u8>,
    flat: bool,
    timestamp: SystemTime,
    level: &str,
    message: &str,
    logger: &str,
    message_id: MessageId,
) {
    if !flat {
        out.extend_from_slice(br#"{"schema_version":"1.1","log":"#);
    }
    out.extend_from_slice(br#"{"timestamp":""#);
    write_rfc3339_millis(out, timestamp);
    out.extend_from_slice(br#"","level":"#);
    write_str(out, level);
    out.extend_from_slice(br#","message":"#);
    write_str(out, message);
    out.extend_from_slice(br#","logger":"#);
    write_str(out, logger);
    out.extend_from_slice(br#","context":{"message_id":""#);
    let mut id = [0u8; 36];
    message_id.write_hyphenated(&mut id);
    out.extend_from_slice(&id);
    out.extend_from_slice(br#"","correlation_id":"#);
}

/// `,"key":"value"` for a context key the schema types as a string; nothing
/// for a null.
#[inline]
pub(crate) fn write_context_string(out: &mut Vec<u8>, key: &str, v: &Value<'_>) {
    if v.is_null() {
        return;
    }
    out.push(b',');
    write_str(out, key);
    out.push(b':');
    write_as_string(out, v);
}

/// Closes the `log` object and, unless `flat`, the envelope.
#[inline]
pub(crate) fn write_close(out: &mut Vec<u8>, flat: bool) {
    out.extend_from_slice(if flat { b"}" } else { b"}}" });
}

pub(crate) fn write_as_string(out: &mut Vec<u8>, v: &Value<'_>) {
    match v {
        Value::Str(t) => write_str(out, t),
        // Numbers and booleans need no escaping: quote them in place.
        Value::Bool(_) | Value::I64(_) | Value::U64(_) | Value::F64(_) | Value::Null => {
            out.push(b'"');
            let at = out.len();
            write_value(out, v, 0);
            if out[at] == b'"' {
                // A non-finite float is already a string.
                out.remove(at - 1);
            } else {
                out.push(b'"');
            }
        }
        other => {
            let mut tmp = Vec::new();
            write_value(&mut tmp, other, 0);
            write_str(out, &String::from_utf8_lossy(&tmp));
        }
    }
}

pub(crate) fn write_map(out: &mut Vec<u8>, m: &Map<'_>, depth: usize) {
    write_entries(out, m.iter(), depth);
}

/// Entries as a JSON object.
#[inline]
pub(crate) fn write_entries<'a, 'v: 'a>(
    out: &mut Vec<u8>,
    entries: impl Iterator<Item = (&'a str, &'a Value<'v>)>,
    depth: usize,
) {
    out.push(b'{');
    for (i, (k, v)) in entries.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, k);
        out.push(b':');
        write_value(out, v, depth + 1);
    }
    out.push(b'}');
}

pub(crate) fn write_value(out: &mut Vec<u8>, v: &Value<'_>, depth: usize) {
    if depth > MAX_DEPTH {
        out.extend_from_slice(br#""<max depth exceeded>""#);
        return;
    }
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::I64(i) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
        Value::U64(u) => out.extend_from_slice(itoa::Buffer::new().format(*u).as_bytes()),
        Value::F64(f) => {
            if f.is_finite() {
                write_finite_f64(out, *f);
            } else {
                out.push(b'"');
                out.extend_from_slice(non_finite_name(*f).as_bytes());
                out.push(b'"');
            }
        }
        Value::Str(t) => write_str(out, t),
        Value::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, x, depth + 1);
            }
            out.push(b']');
        }
        Value::Map(m) => write_map(out, m, depth),
    }
}

/// Writes a finite float as `ryu` does (the shortest text that reads back
/// as the same float), with a fast path for the common short decimals
/// (latencies, prices): up to three decimal places, below a billion.
#[inline]
pub(crate) fn write_finite_f64(out: &mut Vec<u8>, f: f64) {
    let scaled = f * 1000.0;
    if scaled.abs() < 1e12 && scaled == scaled.trunc() && scaled != 0.0 {
        let n = scaled as i64;
        // The division is correctly rounded: equality means `f` is the float
        // nearest to n/1000, so n/1000's digits are its shortest text (floats
        // this small are far denser than 0.001).
        if n as f64 / 1000.0 == f {
            if n < 0 {
                out.push(b'-');
            }
            let m = n.unsigned_abs();
            out.extend_from_slice(itoa::Buffer::new().format(m / 1000).as_bytes());
            let mut frac = m % 1000;
            out.push(b'.');
            if frac == 0 {
                out.push(b'0');
                return;
            }
            let mut digits = 3;
            while frac % 10 == 0 {
                frac /= 10;
                digits -= 1;
            }
            let text = [
                b'0' + (frac / 100 % 10) as u8,
                b'0' + (frac / 10 % 10) as u8,
                b'0' + (frac % 10) as u8,
            ];
            out.extend_from_slice(&text[3 - digits..]);
            return;
        }
    }
    out.extend_from_slice(ryu::Buffer::new().format_finite(f).as_bytes());
}

// 0 = no escape; b'u' = \u00XX; other = the character after the backslash.
const ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t[0x7f] = b'u';
    t
};

/// `true` when any byte of `w` needs escaping: below 0x20, `"`, `\\` or 0x7f.
/// Eight bytes at a time (the classic "has zero byte" bit tricks).
#[inline]
fn needs_escape(w: u64) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
    let below_space = w.wrapping_sub(LO * 0x20) & !w & HI;
    below_space
        | has_zero(w ^ (LO * b'"' as u64))
        | has_zero(w ^ (LO * b'\\' as u64))
        | has_zero(w ^ (LO * 0x7f))
        != 0
}

/// Index of the first byte of `b` that needs escaping, or `b.len()`.
#[inline]
fn first_escape(b: &[u8]) -> usize {
    let mut i = 0;
    // A word at a time over the clean prefix; most strings are clean.
    for chunk in b.chunks_exact(8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        if needs_escape(u64::from_le_bytes(w)) {
            break;
        }
        i += 8;
    }
    b[i..]
        .iter()
        .position(|&x| ESCAPE[x as usize] != 0)
        .map_or(b.len(), |p| i + p)
}

/// Writes `s` as a JSON string.
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let first = first_escape(bytes);
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    if first == bytes.len() {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    out.extend_from_slice(&bytes[..first]);
    let mut start = first;
    for (i, &b) in bytes.iter().enumerate().skip(first) {
        let esc = ESCAPE[b as usize];
        if esc == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        if esc == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 0xf) as usize]);
        } else {
            out.push(b'\\');
            out.push(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ryu_text(f: f64) -> String {
        ryu::Buffer::new().format_finite(f).to_owned()
    }

    fn fast_text(f: f64) -> String {
        let mut out = Vec::new();
        write_finite_f64(&mut out, f);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn short_decimals_match_ryu() {
        for f in [
            0.25,
            12.5,
            100.0,
            -0.125,
            0.001,
            -0.001,
            0.1,
            0.3,
            999_999_999.999,
            1e9,
            0.0,
            -0.0,
            1.0005,
            123.456,
            5e-324,
            1e300,
        ] {
            assert_eq!(fast_text(f), ryu_text(f), "{f}");
        }
    }

    proptest::proptest! {
        #[test]
        fn floats_match_ryu(
            n in -1_000_000_000_000i64..1_000_000_000_000,
            scale in proptest::sample::select(vec![1.0, 10.0, 100.0, 1000.0, 3.0, 7.0]),
            raw in proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL,
        ) {
            let f = n as f64 / scale;
            proptest::prop_assert_eq!(fast_text(f), ryu_text(f));
            proptest::prop_assert_eq!(fast_text(raw), ryu_text(raw));
        }

        #[test]
        fn strings_round_trip_through_serde_json(s in "\\PC*|[\\x00-\\x1f\"\\\\\u{7f}\u{2028}]{0,20}") {
            let mut out = Vec::new();
            write_str(&mut out, &s);
            let back: String = serde_json::from_slice(&out).unwrap();
            proptest::prop_assert_eq!(back, s);
        }
    }
}
