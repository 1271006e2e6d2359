//! The pretty format never lets a logged string act on the terminal: every
//! control character (C0, DEL, C1), bidi control and line separator in a
//! key or value is written as a visible escape, and one event is one line.

use std::time::Duration;

use fapilog::encode::{write_event, write_pretty_value, write_terminal_safe};
use fapilog::testing::CaptureSink;
use fapilog::{Event, FieldValue, Format, Level, Map, Pipeline, TraceName, Value};
use proptest::prelude::*;

/// The characters a terminal acts on instead of showing.
fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\0'..='\x1f' | '\x7f'..='\u{9f}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        | '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{2028}' | '\u{2029}')
}

/// Strings rich in the dangerous characters, mixed with ordinary text.
fn hostile() -> impl Strategy<Value = String> {
    let dangerous = prop_oneof![
        (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap_or('?')),
        (0x7fu32..0xa0).prop_map(|c| char::from_u32(c).unwrap_or('?')),
        (0x202au32..0x202f).prop_map(|c| char::from_u32(c).unwrap_or('?')),
        (0x2066u32..0x206a).prop_map(|c| char::from_u32(c).unwrap_or('?')),
        Just('\u{2028}'),
        Just('\u{200f}'),
        any::<char>(),
        Just('"'),
        Just('\\'),
        Just('='),
    ];
    prop_oneof![
        any::<String>(),
        prop::collection::vec(prop_oneof![dangerous, any::<char>()], 0..24)
            .prop_map(|v| v.into_iter().collect()),
        Just("\x1b]0;pwned\x07\x1b[2J\r\x1b[1A".to_owned()),
    ]
}

/// Colour codes this writer adds itself: `ESC [ digits;… m`.
fn strip_sgr(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\x1b' && it.peek() == Some(&'[') {
            it.next();
            let mut ok = false;
            for d in it.by_ref() {
                if d == 'm' {
                    ok = true;
                    break;
                }
                assert!(d.is_ascii_digit() || d == ';', "not a colour code in {s:?}");
            }
            assert!(ok, "unterminated escape in {s:?}");
        } else {
            out.push(c);
        }
    }
    out
}

fn assert_one_safe_line(bytes: &[u8], color: bool) {
    let text = std::str::from_utf8(bytes).expect("UTF-8 out");
    let text = if color {
        strip_sgr(text)
    } else {
        text.to_owned()
    };
    let body = text.strip_suffix('\n').expect("ends with a newline");
    if let Some(c) = body.chars().find(|c| is_unsafe(*c)) {
        panic!("unsafe {c:?} reached the output: {body:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_key_and_value_is_escaped(
        logger in hostile(),
        message in hostile(),
        key in hostile(),
        value in hostile(),
        nested_key in hostile(),
        nested in hostile(),
        color in any::<bool>(),
    ) {
        let mut ev = Event::new(Level::WARNING, message.clone());
        ev.logger = logger.clone().into();
        ev.context.insert("request_id", Value::from(value.clone()));
        ev.data.insert(key.clone(), Value::from(value.clone()));
        let mut inner = Map::new();
        inner.insert(nested_key.clone(), Value::from(nested.clone()));
        inner.insert("list", Value::Array(vec![Value::from(nested.clone()), Value::I64(1)]));
        ev.data.insert("inner", Value::Map(inner.clone()));
        ev.data.insert("deep", Value::Array(vec![Value::Map(inner)]));
        let mut out = Vec::new();
        write_event(&mut out, &ev, Format::Pretty { color }, TraceName::Debug);
        assert_one_safe_line(&out, color);
    }

    #[test]
    fn an_envelope_read_back_is_escaped(message in hostile(), key in hostile(), value in hostile()) {
        let line = serde_json::json!({"schema_version": "1.1", "log": {
            "timestamp": "2026-11-25T10:30:00.123Z", "level": "INFO", "logger": value,
            "message": message, "context": {"request_id": value},
            "data": {key.clone(): value, "n": [key, 1]}, "diagnostics": {}}}).to_string();
        let mut out = Vec::new();
        prop_assert!(write_pretty_value(&mut out, &Value::from_json(&line).unwrap(), false));
        assert_one_safe_line(&out, false);
    }

    #[test]
    fn plain_text_is_escaped(text in hostile()) {
        let mut out = Vec::new();
        write_terminal_safe(&mut out, &text);
        out.push(b'\n');
        assert_one_safe_line(&out, false);
    }
}

#[test]
fn ordinary_text_is_unchanged_and_escapes_are_readable() {
    let mut ev = Event::new(Level::INFO, "héllo wörld ✓");
    ev.data.insert("k", Value::from("a\u{202e}b\x1b[31m\u{85}"));
    let mut out = Vec::new();
    write_event(
        &mut out,
        &ev,
        Format::Pretty { color: false },
        TraceName::Debug,
    );
    let line = String::from_utf8(out).unwrap();
    assert!(line.contains("| héllo wörld ✓ |"), "{line}");
    assert!(line.contains(r#"k="a\u{202e}b\u{1b}[31m\u{85}""#), "{line}");
}

#[test]
fn the_pretty_sink_writes_one_safe_line_per_event() {
    let (sink, captured) = CaptureSink::named("pretty", Format::Pretty { color: false });
    let pipeline = Pipeline::builder().sink(sink).build().unwrap();
    let log = pipeline.logger("app\x1b[2J");
    let evil = "line1\nline2\r\x1b]0;title\x07\u{9b}31m\u{2067}";
    fapilog::info!(log, "user {evil} done", field = evil, "k\u{202e}ey" = 1);
    log.info(evil, &[("k", FieldValue::Str(evil))]);
    pipeline.flush(Duration::from_secs(10)).unwrap();
    let lines = captured.lines();
    assert_eq!(lines.len(), 2, "{lines:?}");
    for l in &lines {
        let mut bytes = l.clone().into_bytes();
        if !l.ends_with('\n') {
            bytes.push(b'\n');
        }
        assert_one_safe_line(&bytes, false);
    }
}
