//! `fapilog pretty` never lets a log line act on the terminal: envelope
//! fields and non-JSON lines alike come out with every control character
//! (ESC, bare CR, C1, bidi controls) as a visible escape, one line per input
//! line; `--color auto` honours `NO_COLOR` and `CLICOLOR_FORCE`.

use std::io::Write;
use std::process::{Command, Stdio};

use fapilog_cli::pretty::{Filter, Renderer};
use proptest::prelude::*;

fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\0'..='\x1f' | '\x7f'..='\u{9f}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        | '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{2028}' | '\u{2029}')
}

fn hostile() -> impl Strategy<Value = String> {
    let dangerous = prop_oneof![
        (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap_or('?')),
        (0x7fu32..0xa0).prop_map(|c| char::from_u32(c).unwrap_or('?')),
        (0x202au32..0x202f).prop_map(|c| char::from_u32(c).unwrap_or('?')),
        (0x2066u32..0x206a).prop_map(|c| char::from_u32(c).unwrap_or('?')),
        any::<char>(),
    ];
    prop_oneof![
        any::<String>(),
        prop::collection::vec(dangerous, 0..24).prop_map(|v| v.into_iter().collect()),
    ]
}

/// One rendered input line: exactly one newline, at the end, and no
/// unsafe character before it.
fn assert_one_safe_line(out: &[u8]) {
    let text = std::str::from_utf8(out).expect("UTF-8 out");
    let body = text.strip_suffix('\n').expect("ends with a newline");
    if let Some(c) = body.chars().find(|c| is_unsafe(*c)) {
        panic!("unsafe {c:?} reached the output: {body:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn non_json_lines_are_escaped(raw in prop::collection::vec(any::<u8>(), 0..64), text in hostile()) {
        for line in [raw, text.into_bytes()] {
            // One input line: what the reader splits on ends it.
            let line: Vec<u8> = line.into_iter().filter(|b| *b != b'\n').collect();
            let mut out = Vec::new();
            prop_assert!(Renderer::new(Filter::default(), false).line(&line, &mut out));
            assert_one_safe_line(&out);
        }
    }

    #[test]
    fn envelope_fields_are_escaped(message in hostile(), key in hostile(), value in hostile()) {
        let line = serde_json::json!({"schema_version": "1.1", "log": {
            "timestamp": "2026-11-25T10:30:00.123Z", "level": "ERROR", "logger": key,
            "message": message, "context": {"request_id": value, "correlation_id": null},
            "data": {key.clone(): value, "nested": {key: [value]}}, "diagnostics": {}}}).to_string();
        let mut out = Vec::new();
        prop_assert!(Renderer::new(Filter::default(), false).line(line.as_bytes(), &mut out));
        assert_one_safe_line(&out);
    }
}

fn pretty(input: &[u8], env: &[(&str, &str)]) -> Vec<u8> {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fapilog"));
    c.env_clear().envs(env.iter().copied());
    c.args(["pretty", "-"]);
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run fapilog");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write");
    child.wait_with_output().expect("output").stdout
}

const ENVELOPE: &str = r#"{"schema_version":"1.1","log":{"timestamp":"2026-11-25T10:30:00.123Z","level":"ERROR","logger":"app","message":"boom\u001b]0;t\u0007","context":{"correlation_id":null},"data":{},"diagnostics":{}}}"#;

#[test]
fn the_binary_escapes_raw_lines_and_envelopes() {
    let input = format!("plain\x1b[2J\rover\u{85}\u{202e}txt\n{ENVELOPE}\n");
    let out = pretty(input.as_bytes(), &[]);
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0], r"plain\u{1b}[2J\rover\u{85}\u{202e}txt",
        "{text:?}"
    );
    assert!(lines[1].contains(r"boom\u{1b}]0;t\u{7}"), "{text:?}");
    assert!(!text.contains('\x1b'), "{text:?}");
}

#[test]
fn colour_follows_no_color_and_clicolor_force() {
    let input = format!("{ENVELOPE}\n");
    // Not a terminal: no colour.
    assert!(!pretty(input.as_bytes(), &[]).contains(&0x1b));
    // Forced on, then NO_COLOR wins over nothing else set.
    assert!(pretty(input.as_bytes(), &[("CLICOLOR_FORCE", "1")]).contains(&0x1b));
    assert!(!pretty(input.as_bytes(), &[("NO_COLOR", "1")]).contains(&0x1b));
}
