//! Every redaction preset through the public API (field names at any depth
//! and in any case, value kinds in the message and nested strings), and a
//! property test: whatever the event, nothing planted reaches the output.

use std::sync::OnceLock;
use std::time::Duration;

use fapilog::stages::redactors::presets::{self, RedactionPreset, ALL_PRESETS};
use fapilog::stages::redactors::ValueKind;
use fapilog::testing::{CaptureSink, Captured};
use fapilog::{json, Pipeline};
use proptest::prelude::*;
use serde_json::{json as j, Map as JMap, Value as J};

/// Samples of each value kind: (what is logged, the part that must vanish).
fn samples(kind: ValueKind) -> Vec<(&'static str, &'static str)> {
    match kind {
        ValueKind::Email => vec![("jane.doe@example.org", "jane.doe@example.org")],
        ValueKind::CreditCard => vec![
            ("4111 1111 1111 1111", "4111 1111 1111 1111"),
            ("5500-0000-0000-0004", "5500-0000-0000-0004"),
            ("378282246310005", "378282246310005"),
        ],
        ValueKind::Jwt => vec![(
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpM",
            "eyJzdWIiOiIxMjM0NTY3ODkwIn0",
        )],
        ValueKind::AwsAccessKey => vec![("AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE")],
        ValueKind::BearerToken => vec![("Bearer abcDEF123456xyz", "abcDEF123456xyz")],
        ValueKind::PrivateKey => vec![(
            "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----",
            "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
        )],
        ValueKind::SecretAssignment => vec![("password=hunter2xyz", "hunter2xyz")],
        ValueKind::Iban => vec![
            ("DE89 3704 0044 0532 0130 00", "3704 0044 0532"),
            ("GB82WEST12345698765432", "GB82WEST12345698765432"),
        ],
        ValueKind::UsSsn => vec![("123-45-6789", "123-45-6789")],
        ValueKind::UkNino => vec![("AB 12 34 56 C", "AB 12 34 56 C")],
        ValueKind::Phone => vec![("+1 415 555 2671", "415 555 2671"), ("(415) 555-2671", "555-2671")],
        ValueKind::Ipv4 => vec![("192.168.10.25", "192.168.10.25")],
        _ => vec![],
    }
}

fn pipeline(preset: &'static RedactionPreset) -> (Pipeline, Captured) {
    let (sink, captured) = CaptureSink::new();
    let p = Pipeline::builder()
        .redaction_preset(preset)
        .sink(sink)
        .build()
        .expect("valid pipeline");
    (p, captured)
}

fn variants(name: &str) -> [String; 3] {
    [
        name.to_owned(),
        name.to_ascii_uppercase(),
        name.replace('_', "-"),
    ]
}

#[test]
fn every_preset_masks_its_fields_and_values() {
    for preset in ALL_PRESETS {
        let resolved = preset.resolve();
        assert!(!resolved.fields.is_empty(), "{} has fields", preset.name);
        let (p, captured) = pipeline(preset);
        let log = p.logger("app");
        let mut secrets = Vec::new();
        for (i, name) in resolved.fields.iter().enumerate() {
            for (v, key) in variants(name).iter().enumerate() {
                let secret = format!("planted{i}x{v}q");
                let nested = j!({"outer": {"list": [{ key.as_str(): &secret }, "ok"]}, key.as_str(): [&secret]});
                fapilog::info!(log, "fields", nested = json(&nested));
                secrets.push(secret);
            }
        }
        for kind in &resolved.value_kinds {
            for (text, part) in samples(*kind) {
                let msg = format!("Zoë says {text} ✓");
                let nested = j!({"notes": [format!("see {text} now")], "deep": {"x": msg.clone()}});
                fapilog::info!(log, "{msg}", nested = json(&nested));
                secrets.push(part.to_owned());
            }
        }
        fapilog::info!(
            log,
            "clean",
            request_id = "req-1",
            status = 200,
            path = "/api/health"
        );
        p.flush(Duration::from_secs(10)).expect("flushed");
        let lines = captured.lines();
        for s in &secrets {
            for l in &lines {
                assert!(
                    !l.contains(s.as_str()),
                    "{}: {s:?} leaked in {l}",
                    preset.name
                );
            }
        }
        let last = &captured.envelopes()[lines.len() - 1]["log"];
        assert_eq!(last["message"], "clean");
        assert_eq!(last["data"]["path"], "/api/health");
        assert_eq!(last["context"]["request_id"], "req-1");
        assert!(p.stage_counters().redacted_fields >= secrets.len() as u64);
    }
}

#[test]
fn presets_compose_and_match_fapilogs_counts() {
    let count = |p: &'static RedactionPreset| p.resolve().fields.len();
    assert_eq!(count(&presets::CONTACT_INFO), 23);
    assert_eq!(count(&presets::PERSONAL_IDENTIFIERS), 16);
    assert_eq!(count(&presets::ONLINE_IDENTIFIERS), 18);
    assert_eq!(count(&presets::FINANCIAL_IDENTIFIERS), 9);
    assert_eq!(count(&presets::US_GOVERNMENT_IDS), 10);
    assert_eq!(count(&presets::UK_GOVERNMENT_IDS), 8);
    assert_eq!(count(&presets::EU_GOVERNMENT_IDS), 11);
    assert_eq!(count(&presets::GDPR_PII), 80);
    assert_eq!(count(&presets::PCI_DSS), 24);
    assert!(count(&presets::GDPR_PII_UK) > count(&presets::GDPR_PII));
    assert_eq!(
        RedactionPreset::by_name("gdpr-pii-uk").map(|p| p.name),
        Some("GDPR_PII_UK")
    );

    let (sink, captured) = CaptureSink::new();
    let p = Pipeline::builder()
        .redaction_preset(&presets::CREDENTIALS)
        .redaction_preset(&presets::PCI_DSS)
        .sink(sink)
        .build()
        .unwrap();
    fapilog::info!(
        p.logger("app"),
        "pay",
        password = "pw1",
        cvv = "123",
        author = "ann",
        card = "4111111111111111"
    );
    p.flush(Duration::from_secs(10)).unwrap();
    let d = &captured.envelopes()[0]["log"]["data"];
    assert_eq!(d["password"], "***");
    assert_eq!(d["cvv"], "***");
    assert_eq!(d["card"], "***");
    assert_eq!(
        d["author"], "ann",
        "unlike fapilog's `auth` pattern, `author` is not a credential"
    );
}

// ---- property test ----

static PIPES: OnceLock<Vec<(Pipeline, Captured)>> = OnceLock::new();

fn pipes() -> &'static Vec<(Pipeline, Captured)> {
    PIPES.get_or_init(|| ALL_PRESETS.iter().map(|p| pipeline(p)).collect())
}

fn benign_tree() -> impl Strategy<Value = J> {
    let leaf = prop_oneof![
        "[a-z ]{0,12}".prop_map(J::from),
        any::<i32>().prop_map(J::from),
        any::<bool>().prop_map(J::from),
        Just(J::Null),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(J::Array),
            prop::collection::btree_map("k[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| J::Object(m.into_iter().collect::<JMap<_, _>>())),
        ]
    })
}

#[derive(Debug, Clone)]
struct Plant {
    name: usize,
    variant: usize,
    shape: u8,
    depth: Vec<String>,
    in_array: bool,
}

fn plant() -> impl Strategy<Value = Plant> {
    (
        any::<usize>(),
        0..3usize,
        0..3u8,
        prop::collection::vec("w[a-z]{1,5}", 0..4),
        any::<bool>(),
    )
        .prop_map(|(name, variant, shape, depth, in_array)| Plant {
            name,
            variant,
            shape,
            depth,
            in_array,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, .. ProptestConfig::default() })]

    #[test]
    fn nothing_planted_reaches_the_output(
        preset in 0..ALL_PRESETS.len(),
        tree in benign_tree(),
        plants in prop::collection::vec(plant(), 1..5),
        kind_picks in prop::collection::vec(any::<usize>(), 0..4),
        filler in "[a-z ]{0,10}",
        token in "[A-Za-z0-9]{10}",
    ) {
        let (p, captured) = &pipes()[preset];
        let resolved = ALL_PRESETS[preset].resolve();
        captured.clear();
        let mut secrets = Vec::new();
        let mut data = JMap::new();
        data.insert("tree".into(), tree);
        for (i, pl) in plants.iter().enumerate() {
            let name = resolved.fields[pl.name % resolved.fields.len()];
            let key = variants(name)[pl.variant].clone();
            let secret = format!("PLANT{i}{token}");
            let value = match pl.shape {
                0 => J::from(secret.clone()),
                1 => j!({"inner": secret.clone()}),
                _ => j!([secret.clone(), 1]),
            };
            let mut node = j!({ key: value });
            if pl.in_array {
                node = J::Array(vec![J::from(filler.clone()), node]);
            }
            for step in pl.depth.iter().rev() {
                node = j!({ step.as_str(): node });
            }
            data.insert(format!("p{i}"), node);
            secrets.push(secret);
        }
        let mut message = format!("start {filler}");
        let all: Vec<(&str, &str)> = resolved.value_kinds.iter().flat_map(|k| samples(*k)).collect();
        for (i, pick) in kind_picks.iter().enumerate() {
            if all.is_empty() {
                break;
            }
            let (text, part) = all[pick % all.len()];
            if i % 2 == 0 {
                message.push_str(&format!(" {text} {filler}"));
            } else {
                data.insert(format!("s{i}"), j!([format!("{filler} {text} end")]));
            }
            secrets.push(part.to_owned());
        }
        let data = J::Object(data);
        fapilog::info!(p.logger("prop"), "{message}", payload_tree = json(&data));
        p.flush(Duration::from_secs(10)).unwrap();
        let lines = captured.lines();
        prop_assert_eq!(lines.len(), 1);
        for s in &secrets {
            prop_assert!(!lines[0].contains(s.as_str()), "{} leaked {:?} in {}", ALL_PRESETS[preset].name, s, lines[0]);
        }
    }
}
