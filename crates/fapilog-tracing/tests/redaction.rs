//! One redaction on the `tracing` and `log` paths: secrets of every shape
//! planted in event messages, `%Display`, `?Debug` and string fields, JSON
//! text, span fields (recorded at creation and later) and `log` records
//! (message and key-values) never reach a sink under the `production` and
//! `hardened` presets, JSON or pretty; look-alikes come out unchanged.

#[path = "../../fapilog/tests/common/secrets.rs"]
mod secrets;

use std::sync::OnceLock;
use std::time::Duration;

use fapilog::settings::Preset;
use fapilog::testing::{CaptureSink, Captured};
use fapilog::{Format, Pipeline};
use fapilog_tracing::{FapilogLayer, LogBridge};
use log::Log as _;
use proptest::prelude::*;
use secrets::{pii, secret, Planted, NEGATIVE};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Registry;

const LONG: Duration = Duration::from_secs(30);

struct Rig {
    pipeline: Pipeline,
    outputs: Vec<Captured>,
    hardened: bool,
}

fn build_rigs() -> Vec<Rig> {
    let mut out = Vec::new();
    for (preset, hardened) in [(Preset::Production, false), (Preset::Hardened, true)] {
        for pretty in [false, true] {
            let (json, json_lines) = CaptureSink::new();
            let mut b = Pipeline::builder()
                .stage_settings(&preset.settings().stages)
                .expect("preset stages")
                .sink(json);
            let mut outputs = vec![json_lines];
            if pretty {
                let (p, lines) = CaptureSink::named("pretty", Format::Pretty { color: false });
                b = b.sink(p);
                outputs.push(lines);
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

fn rigs() -> &'static [Rig] {
    static RIGS: OnceLock<Vec<Rig>> = OnceLock::new();
    RIGS.get_or_init(build_rigs)
}

#[derive(Debug)]
#[allow(dead_code)] // read through Debug
struct Wrapper<'a> {
    id: u32,
    inner: &'a str,
}

fn log_record(bridge: &LogBridge, text: &str, in_kv: bool) {
    let kvs: &[(&str, log::kv::Value<'_>)] = &[("note", log::kv::Value::from(text))];
    let none: &[(&str, log::kv::Value<'_>)] = &[];
    let args = format_args!("legacy {}", if in_kv { "kv" } else { text });
    bridge.log(
        &log::Record::builder()
            .level(log::Level::Warn)
            .target("legacy")
            .args(args)
            .key_values(if in_kv { &kvs } else { &none })
            .build(),
    );
}

/// Logs `text` at `position` through `tracing` (or the `log` bridge).
fn log_at(rig: &Rig, position: u8, text: &str) {
    let logger = rig.pipeline.logger("app");
    if position >= 8 {
        log_record(&LogBridge::new(logger), text, position == 9);
        return;
    }
    let sub = Registry::default().with(FapilogLayer::new(logger));
    tracing::subscriber::with_default(sub, || match position {
        0 => tracing::info!("start {} end", text),
        1 => tracing::info!(note = %text, "display"),
        2 => tracing::info!(note = text, "str"),
        3 => tracing::info!(w = ?Wrapper { id: 7, inner: text }, "debug"),
        4 => {
            let doc = serde_json::json!({"note": text, "n": 1}).to_string();
            tracing::info!(doc = %doc, "json text");
        }
        5 => {
            let span = tracing::info_span!("request", note = %text);
            let _e = span.enter();
            tracing::info!("in span");
        }
        6 => {
            let span = tracing::info_span!("request", note = tracing::field::Empty, user = "bob");
            span.record("note", text);
            let _e = span.enter();
            tracing::warn!("recorded later");
        }
        _ => {
            let span = tracing::info_span!("request", w = ?Wrapper { id: 1, inner: text });
            let _e = span.enter();
            tracing::error!("debug span field");
        }
    });
}

fn planted() -> impl Strategy<Value = Planted> {
    prop_oneof![3 => secret(), 1 => pii()]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, .. ProptestConfig::default() })]

    #[test]
    fn no_planted_secret_reaches_any_sink(
        plants in prop::collection::vec((planted(), 0u8..10, "[a-z ]{0,8}"), 1..4),
    ) {
        for r in rigs() {
            for o in &r.outputs {
                o.clear();
            }
            for (p, position, filler) in &plants {
                log_at(r, *position, &format!("{filler} {}", p.text));
            }
            r.pipeline.flush(LONG).expect("flushed");
            let needles: Vec<&String> = plants
                .iter()
                .filter(|(p, ..)| r.hardened || !p.pii)
                .flat_map(|(p, ..)| &p.needles)
                .collect();
            for out in &r.outputs {
                prop_assert!(out.len() >= plants.len());
                for line in out.lines() {
                    if let Some(n) = needles.iter().find(|n| line.contains(n.as_str())) {
                        prop_assert!(false, "leak (hardened: {}): {:?} in {}", r.hardened, n, line);
                    }
                }
            }
        }
    }
}

#[test]
fn look_alikes_come_out_unchanged() {
    for r in &build_rigs() {
        let sub = Registry::default().with(FapilogLayer::new(r.pipeline.logger("app")));
        tracing::subscriber::with_default(sub, || {
            for text in NEGATIVE {
                let span = tracing::info_span!("request", span_note = *text);
                let _e = span.enter();
                tracing::info!(note = *text, "{}", text);
            }
        });
        r.pipeline.flush(LONG).expect("flushed");
        let lines = r.outputs[0].envelopes();
        assert_eq!(lines.len(), NEGATIVE.len());
        for (line, text) in lines.iter().zip(NEGATIVE) {
            let log = &line["log"];
            assert_eq!(log["message"], *text, "message changed");
            assert_eq!(log["data"]["note"], *text, "event field changed");
            assert_eq!(log["data"]["span_note"], *text, "span field changed");
        }
    }
}
