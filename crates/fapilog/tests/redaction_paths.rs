//! One redaction on every path of the native API: secrets of every shape
//! the `production` and `hardened` presets know, planted in the message, a
//! string field, a nested value, JSON text carried as a string, `Debug`
//! text, the logger's bound fields and the task/thread context, never reach
//! a sink (JSON through the direct path, JSON and pretty through the event
//! path); text that only looks like a secret comes out unchanged; a value
//! too deep to inspect is masked whole.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use common::secrets::{pii, secret, Planted, NEGATIVE};
use common::{Counted, EventPath};
use fapilog::settings::Preset;
use fapilog::testing::{CaptureSink, Captured};
use fapilog::{FieldValue, Format, Level, Logger, Pipeline};
use proptest::prelude::*;
use serde_json::{json as j, Value as J};

const LONG: Duration = Duration::from_secs(30);

struct Rig {
    pipeline: Pipeline,
    outputs: Vec<Captured>,
    /// `true` when the preset masks personal data too.
    hardened: bool,
}

/// production (direct path), production (event path, JSON and pretty),
/// hardened (event path, JSON and pretty; direct path).
fn rigs() -> &'static [Rig] {
    static RIGS: OnceLock<Vec<Rig>> = OnceLock::new();
    RIGS.get_or_init(build_rigs)
}

fn build_rigs() -> Vec<Rig> {
    {
        let mut out = Vec::new();
        for (preset, hardened) in [(Preset::Production, false), (Preset::Hardened, true)] {
            for forced in [false, true] {
                let (json, json_lines) = CaptureSink::new();
                let mut b = Pipeline::builder()
                    .stage_settings(&preset.settings().stages)
                    .expect("preset stages")
                    .sink(json);
                let mut outputs = vec![json_lines];
                if forced {
                    let (pretty, pretty_lines) =
                        CaptureSink::named("pretty", Format::Pretty { color: false });
                    b = b.enricher(EventPath).sink(pretty);
                    outputs.push(pretty_lines);
                }
                out.push(Rig {
                    pipeline: b.build().expect("pipeline"),
                    outputs,
                    hardened,
                });
            }
        }
        out
    }
}

#[derive(Debug)]
#[allow(dead_code)] // read through Debug
struct Wrapper<'a> {
    id: u32,
    inner: &'a str,
}

/// Logs `text` at `position` through `log`.
fn log_at(log: &Logger, position: u8, depth: usize, text: &str) {
    match position {
        0 => log.log(Level::INFO, &format!("start {text} end"), &[]),
        1 => log.log(Level::INFO, "field", &[("note", FieldValue::Str(text))]),
        2 => {
            let mut v = j!({"c": [1, text]});
            for i in 0..depth {
                v = if i % 2 == 0 { j!({"k": v}) } else { j!([0, v]) };
            }
            log.log(Level::INFO, "nested", &[("body", fapilog::json(&v))]);
        }
        3 => {
            let doc = j!({"note": text, "n": 1}).to_string();
            log.log(Level::INFO, "json text", &[("doc", FieldValue::Str(&doc))]);
        }
        4 => {
            let w = Wrapper { id: 7, inner: text };
            log.log(Level::WARNING, "debug", &[("w", fapilog::debug(&w))]);
        }
        5 => log
            .bind(&[("note", FieldValue::Str(text))])
            .log(Level::INFO, "bound", &[]),
        6 => {
            let _g = fapilog::context::bind(&[("note", FieldValue::Str(text))]);
            log.log(Level::INFO, "context", &[]);
        }
        _ => {
            let _g = fapilog::context::bind(&[("request_id", FieldValue::Str(text))]);
            log.log(Level::ERROR, "context id", &[]);
        }
    }
}

fn flush_all() {
    for r in rigs() {
        r.pipeline.flush(LONG).expect("flushed");
    }
}

fn leaks(rig: &Rig, needles: &[String]) -> Option<String> {
    for out in &rig.outputs {
        for line in out.lines() {
            if let Some(n) = needles.iter().find(|n| line.contains(n.as_str())) {
                return Some(format!("{n:?} in {line}"));
            }
        }
    }
    None
}

fn planted_strategy() -> impl Strategy<Value = Planted> {
    prop_oneof![3 => secret(), 1 => pii()]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn no_planted_secret_reaches_any_sink(
        plants in prop::collection::vec((planted_strategy(), 0u8..8, 0usize..6, "[a-z ]{0,8}"), 1..4),
    ) {
        for r in rigs() {
            for o in &r.outputs {
                o.clear();
            }
        }
        for r in rigs() {
            let log = r.pipeline.logger("app");
            for (p, position, depth, filler) in &plants {
                log_at(&log, *position, *depth, &format!("{filler} {}", p.text));
            }
        }
        flush_all();
        for r in rigs() {
            let needles: Vec<String> = plants
                .iter()
                .filter(|(p, ..)| r.hardened || !p.pii)
                .flat_map(|(p, ..)| p.needles.clone())
                .collect();
            prop_assert!(r.outputs[0].len() >= plants.len());
            if let Some(leak) = leaks(r, &needles) {
                prop_assert!(false, "leak (hardened: {}): {}", r.hardened, leak);
            }
        }
    }
}

#[test]
fn look_alikes_come_out_unchanged() {
    for r in &build_rigs() {
        let log = r.pipeline.logger("app");
        for text in NEGATIVE {
            log.log(Level::INFO, text, &[("note", FieldValue::Str(text))]);
        }
        r.pipeline.flush(LONG).expect("flushed");
        let lines = r.outputs[0].envelopes();
        assert_eq!(lines.len(), NEGATIVE.len());
        for (line, text) in lines.iter().zip(NEGATIVE) {
            assert_eq!(line["log"]["message"], J::from(*text), "message changed");
            assert_eq!(line["log"]["data"]["note"], J::from(*text), "field changed");
        }
    }
}

#[test]
fn clean_records_keep_the_direct_path_under_production() {
    let calls = Arc::new(AtomicUsize::new(0));
    let (sink, lines) = CaptureSink::new();
    let pipeline = Pipeline::builder()
        .stage_settings(&Preset::Production.settings().stages)
        .expect("preset stages")
        .enricher(Counted(Arc::clone(&calls)))
        .sink(sink)
        .build()
        .expect("pipeline");
    let probes = calls.load(Ordering::SeqCst);
    let log = pipeline.logger("app");
    for i in 0..100u64 {
        fapilog::info!(
            log,
            "request handled",
            request_id = "req-0001",
            user_id = i,
            path = "/api/v1/search?q=tea"
        );
    }
    pipeline.flush(LONG).expect("flushed");
    assert_eq!(lines.len(), 100);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        probes,
        "clean records took the event path"
    );
    // A credential key, or a secret in a value, takes the event path.
    fapilog::info!(log, "login", password = "hunter2");
    fapilog::info!(log, "login with token=abc123");
    pipeline.flush(LONG).expect("flushed");
    assert_eq!(calls.load(Ordering::SeqCst), probes + 2);
    let all = lines.envelopes();
    assert_eq!(all[100]["log"]["data"]["password"], "***");
    assert_eq!(all[101]["log"]["message"], "login with token=***");
}

#[test]
fn values_too_deep_to_inspect_are_masked_whole() {
    let (sink, lines) = CaptureSink::new();
    let pipeline = Pipeline::builder()
        .stage_settings(&Preset::Hardened.settings().stages)
        .expect("preset stages")
        .sink(sink)
        .build()
        .expect("pipeline");
    let log = pipeline.logger("app");
    let mut deep = j!({"ssn": "123-45-6789", "note": "ssn 123-45-6789"});
    for _ in 0..200 {
        deep = j!({ "k": deep });
    }
    let mut mid = j!({"note": "card 4111 1111 1111 1111"});
    for _ in 0..80 {
        mid = j!([mid]);
    }
    log.log(
        Level::INFO,
        "deep",
        &[("deep", fapilog::json(&deep)), ("mid", fapilog::json(&mid))],
    );
    pipeline.flush(LONG).expect("flushed");
    let line = &lines.lines()[0];
    // With their separators: bare digits can turn up in a pid or an id.
    assert!(!line.contains("45-6789"), "{line}");
    assert!(!line.contains("4111 1111"), "{line}");
    let env = &lines.envelopes()[0]["log"]["data"];
    assert_eq!(env["deep"], fapilog::stages::redactors::TOO_DEEP);
}

/// Found by the `redact_assignments` fuzz target: one kind's match no
/// longer hides another kind's later in the string.
#[test]
fn every_kind_is_found_in_one_pass() {
    use fapilog::stages::redactors::{RegexMask, ValueKind};
    let all = RegexMask::new(&ValueKind::ALL).unwrap();
    let s = "mail ann@example.org then secret_x=0";
    let once = all.mask_str(s).unwrap();
    assert_eq!(once, "mail *** then secret_x=***");
    assert_eq!(all.mask_str(&once), None);
}
