//! StageSettings: names, defaults, errors, and stages built into a pipeline.

use std::time::Duration;

use fapilog::stages::settings::{StageSettings, FILTER_NAMES, REDACTOR_NAMES};
use fapilog::stages::ManualClock;
use fapilog::testing::CaptureSink;
use fapilog::{Error, Level, Pipeline};
use serde_json::json as j;

fn settings(v: serde_json::Value) -> StageSettings {
    serde_json::from_value(v).expect("valid stage settings")
}

fn invalid(s: &StageSettings) -> (String, String, String) {
    match s.build() {
        Err(Error::InvalidSetting {
            key,
            value,
            expected,
        }) => (key, value, expected),
        Err(other) => panic!("unexpected error {other}"),
        Ok(b) => panic!("expected an error, built {b:?}"),
    }
}

#[test]
fn defaults_follow_fapilog() {
    let s = StageSettings::default();
    assert_eq!(s.enrichers, ["runtime_info", "context_vars"]);
    assert_eq!(s.redactors, ["url_credentials"]);
    assert!(s.filters.is_empty());
    assert_eq!(s.processors, ["exceptions"]);
    assert_eq!(s.filter_config.rate_limit.capacity, 10);
    assert_eq!(s.filter_config.rate_limit.refill_rate_per_sec, 5.0);
    assert_eq!(s.filter_config.trace_sampling.sample_rate, 0.1);
    assert_eq!(s.filter_config.first_occurrence.window_seconds, 60.0);
    assert_eq!(s.filter_config.adaptive_sampling.target_eps, 100.0);
    assert_eq!(s.redactor_config.field_mask.mask_string, "***");
    assert_eq!(s.processor_config.size_guard.max_bytes, 256_000);
    assert_eq!(s.processor_config.exceptions.max_frames, 10);
    let b = s.build().unwrap();
    assert_eq!(
        format!("{b:?}"),
        r#"BuiltStages { filters: "", enrichers: "runtime_info,context_vars", redactors: "url_credentials", processors: "exceptions" }"#
    );
    // Round trip through serde.
    let back: StageSettings = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
    assert_eq!(back, s);
}

#[test]
fn names_are_normalised_and_aliases_accepted() {
    let s = settings(j!({
        "filters": ["Level", "rate-limit", "FIRST_OCCURRENCE", "adaptive-sampling", "trace_sampling", "sampling"],
        "enrichers": ["runtime-info-enricher", "k8s", "static_fields", "context_vars_enricher"],
        "redactors": ["field-mask", "regex_mask", "url-credentials", "field_blocker", "string_truncate"],
        "processors": ["size-guard", "exceptions", "zero_copy"]
    }));
    let b = s.build().unwrap();
    let names = |v: Vec<&str>| v.join(",");
    assert_eq!(
        names(b.filters.iter().map(|f| f.name()).collect()),
        "level,rate_limit,first_occurrence,adaptive_sampling,trace_sampling,sampling"
    );
    let mut sorted: Vec<&str> = b.filters.iter().map(|f| f.name()).collect();
    sorted.sort_unstable();
    let mut known = FILTER_NAMES.to_vec();
    known.sort_unstable();
    assert_eq!(sorted, known);
    assert_eq!(
        names(b.enrichers.iter().map(|e| e.name()).collect()),
        "runtime_info,kubernetes,static_fields,context_vars"
    );
    assert_eq!(
        names(b.redactors.iter().map(|r| r.name()).collect()),
        REDACTOR_NAMES.join(",")
    );
    assert_eq!(
        names(b.processors.iter().map(|p| p.name()).collect()),
        "size_guard,exceptions"
    );
    assert!(b.level.is_some());
}

#[test]
fn unknown_names_and_values_name_the_key() {
    let (key, value, expected) = invalid(&settings(j!({"filters": ["levle"]})));
    assert_eq!((key.as_str(), value.as_str()), ("core.filters", "levle"));
    assert!(
        expected.contains("level") && expected.contains("first_occurrence"),
        "{expected}"
    );
    let (key, value, _) = invalid(&settings(j!({"redactors": ["mask"]})));
    assert_eq!((key.as_str(), value.as_str()), ("core.redactors", "mask"));
    let (key, _, _) = invalid(&settings(j!({"enrichers": ["geo"]})));
    assert_eq!(key, "core.enrichers");
    let (key, _, _) = invalid(&settings(j!({"processors": ["gzip"]})));
    assert_eq!(key, "core.processors");
    let (key, value, expected) =
        invalid(&settings(j!({"redactor_config": {"presets": ["HIPAA"]}})));
    assert_eq!(
        (key.as_str(), value.as_str()),
        ("redactor_config.presets", "HIPAA")
    );
    assert!(expected.contains("HIPAA_PHI"));
    let (key, value, _) = invalid(&settings(
        j!({"filters": ["sampling"], "filter_config": {"sampling": {"sample_rate": 2.0}}}),
    ));
    assert_eq!(
        (key.as_str(), value.as_str()),
        ("filter_config.sampling.sample_rate", "2")
    );
    let (key, _, _) = invalid(&settings(
        j!({"filters": ["sampling"], "filter_config": {"sampling": {"level_rates": {"LOUD": 0.5}}}}),
    ));
    assert_eq!(key, "filter_config.sampling.level_rates.LOUD");
    let (key, _, _) = invalid(&settings(
        j!({"filters": ["rate_limit"], "filter_config": {"rate_limit": {"capacity": 0}}}),
    ));
    assert_eq!(key, "filter_config.rate_limit.capacity");
    let (key, _, _) = invalid(&settings(
        j!({"redactors": ["regex_mask"], "redactor_config": {"regex_mask": {"value_patterns": ["(unclosed"]}}}),
    ));
    assert_eq!(key, "redactor_config.regex_mask.value_patterns");
    let (key, _, _) = invalid(&settings(
        j!({"processors": ["size_guard"], "processor_config": {"size_guard": {"max_bytes": 10}}}),
    ));
    assert_eq!(key, "processor_config.size_guard.max_bytes");

    // Unknown keys and values are refused while reading, naming the path.
    let serde_error = |v: serde_json::Value| {
        serde_json::from_value::<StageSettings>(v)
            .expect_err("refused")
            .to_string()
    };
    let e = serde_error(j!({"filter_config": {"level": {"min": "INFO"}}}));
    assert!(
        e.starts_with(
            "filter_config: level: unknown field `min`, expected `min_level` or `overrides`"
        ),
        "{e}"
    );
    let e = serde_error(j!({"redactor_config": {"regex_mask": {"kinds": ["ssn"]}}}));
    assert!(
        e.starts_with("redactor_config: regex_mask: kinds: unknown variant `ssn`, expected one of `private_key`"),
        "{e}"
    );
    let e = serde_error(j!({"processor_config": {"size_guard": {"max_bytes": "big"}}}));
    assert!(
        e.starts_with("processor_config: size_guard: max_bytes: invalid type: string \"big\""),
        "{e}"
    );
    let e = serde_error(j!({"filtres": []}));
    assert!(
        e.starts_with("unknown field `filtres`, expected one of `filters`"),
        "{e}"
    );
    // From JSON text too, where the position is added.
    let e =
        serde_json::from_str::<StageSettings>(r#"{"filter_config": {"level": {"min_level": 3}}}"#)
            .expect_err("refused")
            .to_string();
    assert!(e.contains("min_level: invalid type: integer `3`"), "{e}");
}

#[test]
fn stage_settings_round_trip_through_json_in_declaration_order() {
    let s = settings(j!({
        "filters": ["level", "rate_limit"],
        "filter_config": {
            "level": {"min_level": "DEBUG", "overrides": "hyper=warning"},
            "rate_limit": {"overflow_action": "mark", "key_field": null}
        },
        "redactor_config": {"regex_mask": {"kinds": ["us_ssn", "credit_card"]}},
        "processor_config": {"size_guard": {"action": "drop"}}
    }));
    let v = serde_json::to_value(&s).unwrap();
    assert_eq!(v["filter_config"]["rate_limit"]["overflow_action"], "mark");
    assert_eq!(
        v["filter_config"]["level"]["overrides"],
        j!({"hyper": "WARNING"})
    );
    assert_eq!(
        v["redactor_config"]["regex_mask"]["kinds"],
        j!(["us_ssn", "credit_card"])
    );
    assert_eq!(v["processor_config"]["size_guard"]["action"], "drop");
    assert_eq!(serde_json::from_value::<StageSettings>(v).unwrap(), s);
    let text = serde_json::to_string(&StageSettings::default()).unwrap();
    let order: Vec<usize> = [
        "\"filters\"",
        "\"enrichers\"",
        "\"redactors\"",
        "\"processors\"",
        "\"filter_config\"",
    ]
    .iter()
    .map(|k| text.find(k).expect(k))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
}

#[test]
fn presets_enable_the_masks_they_need() {
    let s = settings(
        j!({"redactors": ["url_credentials"], "redactor_config": {"presets": ["credentials"]}}),
    );
    let names: Vec<_> = s
        .build()
        .unwrap()
        .redactors
        .iter()
        .map(|r| r.name().to_owned())
        .collect();
    assert_eq!(names, ["field_mask", "regex_mask", "url_credentials"]);
}

#[test]
fn stage_settings_build_a_working_pipeline() {
    let s = settings(j!({
        "filters": ["level", "rate_limit"],
        "enrichers": ["runtime_info", "static_fields"],
        "redactors": ["field_mask", "regex_mask", "url_credentials", "field_blocker"],
        "filter_config": {
            "level": {"min_level": "WARNING", "overrides": {"app.db": "DEBUG"}},
            "rate_limit": {"capacity": 2, "refill_rate_per_sec": 0.0, "key_field": "logger"}
        },
        "enricher_config": {"static_fields": {"fields": {"team": "core"}, "tags": ["t1"]}},
        "redactor_config": {
            "presets": ["CREDENTIALS", "CONTACT_INFO"],
            "field_mask": {"fields_to_mask": ["internal_id"]}
        }
    }));
    let (sink, captured) = CaptureSink::new();
    let p = Pipeline::builder()
        .stage_settings(&s)
        .unwrap()
        .sink(sink)
        .build()
        .unwrap();
    let db = p.logger("app.db");
    fapilog::debug!(
        db,
        "query by ann@example.com",
        password = "pw",
        internal_id = 7,
        body = "raw",
        url = "https://u:p@h/x"
    );
    fapilog::info!(p.logger("app"), "hidden");
    for _ in 0..3 {
        fapilog::warning!(p.logger("app"), "limited");
    }
    p.flush(Duration::from_secs(10)).unwrap();
    let logs: Vec<_> = captured
        .envelopes()
        .into_iter()
        .map(|e| e["log"].clone())
        .collect();
    let msgs: Vec<_> = logs
        .iter()
        .map(|l| l["message"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(msgs, ["query by ***", "limited", "limited"]);
    let d = &logs[0]["data"];
    assert_eq!(d["password"], "***");
    assert_eq!(d["internal_id"], "***");
    assert!(d.get("body").is_none());
    assert_eq!(d["url"], "https://h/x");
    assert_eq!(d["team"], "core");
    assert_eq!(logs[0]["tags"], j!(["t1"]));
    assert!(logs[0]["diagnostics"]["rust"].is_string());
    assert_eq!(p.levels().unwrap().level_for("app.db.x"), Level::DEBUG);
    assert_eq!(p.stage_counters().rate_limited, 1);
}

#[test]
fn windowed_filters_take_the_given_clock() {
    let clock = ManualClock::new();
    let s = settings(j!({"filters": ["first_occurrence"]}));
    let b = s.build_with_clock(std::sync::Arc::new(clock)).unwrap();
    assert_eq!(b.filters[0].name(), "first_occurrence");
}
