//! The built-in redactors through the public API: nested data, arrays,
//! unicode and the message; fail modes; the redacted-fields counter.

use std::time::Duration;

use fapilog::stages::redactors::{
    BlockAction, FieldBlocker, FieldBlockerConfig, FieldMask, FieldMaskConfig, Guardrail,
    RegexMask, RegexMaskConfig, StringTruncate, UrlCredentials, ValueKind,
};
use fapilog::testing::CaptureSink;
use fapilog::{
    json, DropReason, Event, Logger, Pipeline, PipelineBuilder, RedactionFailMode, Redactor,
    StageError,
};
use serde_json::{json as j, Value as J};

fn run(builder: PipelineBuilder, f: impl FnOnce(&Logger)) -> (Vec<J>, Pipeline) {
    let (sink, captured) = CaptureSink::new();
    let pipeline = builder.sink(sink).build().expect("valid pipeline");
    f(&pipeline.logger("app"));
    pipeline.flush(Duration::from_secs(10)).expect("flushed");
    // The pipeline's own `logs dropped` reports are not what these tests look at.
    let logs = captured
        .envelopes()
        .into_iter()
        .map(|e| e["log"].clone())
        .filter(|l| l["logger"] != "fapilog")
        .collect();
    (logs, pipeline)
}

#[test]
fn field_mask_masks_names_anywhere_case_insensitively() {
    let mask = FieldMask::new(&[
        "password",
        "headers.authorization",
        "*.token",
        "data.top_only",
    ])
    .unwrap();
    let nested = j!({
        "user": {"name": "ann", "Password": "hunter2", "prefs": {"PASSWORD": {"deep": 1}}},
        "items": [{"password": "p1", "ok": 1}, {"list": [{"password": "p2"}]}],
        "headers": {"Authorization": "Basic abc", "accept": "json"},
        "session": {"token": "t-1"},
        "inner": {"top_only": "kept"},
        "empty": {"password": null}
    });
    let (logs, p) = run(Pipeline::builder().redactor(mask), |log| {
        fapilog::info!(
            log,
            "login",
            password = "hunter2",
            top_only = "gone",
            body = json(&nested)
        );
    });
    let d = &logs[0]["data"];
    assert_eq!(d["password"], "***");
    assert_eq!(d["top_only"], "***");
    let b = &d["body"];
    assert_eq!(b["user"]["Password"], "***");
    assert_eq!(b["user"]["name"], "ann");
    assert_eq!(b["user"]["prefs"]["PASSWORD"], "***");
    assert_eq!(b["items"][0]["password"], "***");
    assert_eq!(b["items"][0]["ok"], 1);
    assert_eq!(b["items"][1]["list"][0]["password"], "***");
    assert_eq!(b["headers"]["Authorization"], "***");
    assert_eq!(b["headers"]["accept"], "json");
    assert_eq!(b["session"]["token"], "***");
    assert_eq!(
        b["inner"]["top_only"], "kept",
        "an anchored path matches at the root only"
    );
    assert_eq!(b["empty"]["password"], J::Null);
    let line = logs[0].to_string();
    assert!(!line.contains("hunter2") && !line.contains("Basic abc") && !line.contains("t-1"));
    assert_eq!(p.stage_counters().redacted_fields, 8);
}

/// Your own regexes need the `regex` feature (on in workspace builds,
/// through fapilog-cli); without it they fail to build, naming the key.
#[cfg(not(feature = "regex"))]
#[test]
fn user_regexes_need_the_regex_feature() {
    let fm: FieldMaskConfig = serde_json::from_value(j!({"patterns": ["data\\..*"]})).unwrap();
    match FieldMask::from_config(&fm) {
        Err(fapilog::Error::InvalidSetting { key, expected, .. }) => {
            assert_eq!(key, "redactor_config.field_mask.fields_to_mask");
            assert!(expected.contains("`regex` cargo feature"), "{expected}");
        }
        other => panic!("expected an error, got {:?}", other.map(|_| ())),
    }
    let rm: RegexMaskConfig = serde_json::from_value(j!({"value_patterns": ["x"]})).unwrap();
    assert!(RegexMask::from_config(&rm).is_err());
    // The built-in kinds work without it.
    let m = RegexMask::new(&[ValueKind::SecretAssignment, ValueKind::CreditCard]).unwrap();
    assert_eq!(
        m.mask_str("token=abc 4111 1111 1111 1111").unwrap(),
        "token=***"
    );
}

#[cfg(feature = "regex")]
#[test]
fn field_mask_custom_mask_and_path_patterns() {
    let cfg: FieldMaskConfig = serde_json::from_value(j!({
        "fields_to_mask": ["api-key"],
        "patterns": ["data\\.user\\..*secret.*"],
        "mask_string": "[MASKED]"
    }))
    .unwrap();
    let (logs, _) = run(
        Pipeline::builder().redactor(FieldMask::from_config(&cfg).unwrap()),
        |log| {
            fapilog::info!(
                log,
                "x",
                "API_KEY" = "k1",
                user = json(&j!({"my_secret": "s", "other": "o"}))
            );
        },
    );
    assert_eq!(logs[0]["data"]["API_KEY"], "[MASKED]");
    assert_eq!(logs[0]["data"]["user"]["my_secret"], "[MASKED]");
    assert_eq!(logs[0]["data"]["user"]["other"], "o");
}

#[test]
fn field_mask_guardrails_mask_what_they_cannot_scan() {
    let mut cfg = FieldMaskConfig::default();
    cfg.fields_to_mask = vec!["password".into()];
    cfg.max_depth = 2;
    let deep = j!({"a": {"b": {"password": "deep-secret"}}});
    let (logs, _) = run(
        Pipeline::builder().redactor(FieldMask::from_config(&cfg).unwrap()),
        |log| {
            fapilog::info!(log, "x", deep = json(&deep), shallow = 1);
        },
    );
    assert_eq!(
        logs[0]["data"]["deep"]["a"], "***",
        "the unscanned subtree is masked"
    );
    assert_eq!(logs[0]["data"]["shallow"], 1);

    let mut drop_cfg = cfg.clone();
    drop_cfg.on_guardrail_exceeded = Guardrail::Drop;
    let (logs, p) = run(
        Pipeline::builder().redactor(FieldMask::from_config(&drop_cfg).unwrap()),
        |log| {
            fapilog::info!(log, "x", deep = json(&deep));
            fapilog::info!(log, "fine");
        },
    );
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0]["message"], "fine");
    assert_eq!(p.metrics().dropped_for(DropReason::RedactionFailed), 1);
}

#[test]
fn regex_mask_scans_message_nested_strings_arrays_and_unicode() {
    let mask = RegexMask::new(&[ValueKind::Email, ValueKind::CreditCard, ValueKind::Jwt]).unwrap();
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpM";
    let nested = j!({"notes": ["pay with 4111-1111-1111-1111 please", "ok"], "deep": {"t": format!("tok {jwt}")}});
    let (logs, p) = run(Pipeline::builder().redactor(mask), |log| {
        fapilog::info!(
            log,
            "mail Zoë <zoë.ann@exämple.com> or ann@example.com ✓",
            extra = json(&nested),
            plain = "nothing here 12"
        );
    });
    let l = &logs[0];
    assert_eq!(l["message"], "mail Zoë <zoë.ann@exämple.com> or *** ✓");
    assert_eq!(l["data"]["extra"]["notes"][0], "pay with *** please");
    assert_eq!(l["data"]["extra"]["notes"][1], "ok");
    assert_eq!(l["data"]["extra"]["deep"]["t"], "tok ***");
    assert_eq!(l["data"]["plain"], "nothing here 12");
    assert_eq!(p.stage_counters().redacted_fields, 3);
}

#[test]
fn regex_mask_leaves_card_like_numbers_failing_luhn() {
    let (logs, _) = run(
        Pipeline::builder().redactor(RegexMask::new(&[ValueKind::CreditCard]).unwrap()),
        |log| {
            fapilog::info!(log, "order 4111111111111112 and card 5500 0000 0000 0004");
        },
    );
    assert_eq!(logs[0]["message"], "order 4111111111111112 and card ***");
}

#[cfg(feature = "regex")]
#[test]
fn regex_mask_custom_patterns() {
    let cfg: RegexMaskConfig =
        serde_json::from_value(j!({"value_patterns": ["ACME-\\d{4}"], "mask_string": "#"}))
            .unwrap();
    let (logs, _) = run(
        Pipeline::builder().redactor(RegexMask::from_config(&cfg).unwrap()),
        |log| {
            fapilog::info!(log, "id ACME-1234 x", list = json(&j!(["ACME-9999"])));
        },
    );
    assert_eq!(logs[0]["message"], "id # x");
    assert_eq!(logs[0]["data"]["list"][0], "#");
}

#[test]
fn url_credentials_are_stripped_anywhere() {
    let (logs, _) = run(
        Pipeline::builder().redactor(UrlCredentials::default()),
        |log| {
            fapilog::info!(
                log,
                "fetch https://bob:s3cret@api.example.com/v1?q=1&api_key=K123&Signature=abc done",
                db = "postgres://app:pw@db.internal:5432/main",
                nested = json(
                    &j!({"hooks": ["https://hooks.example.com/x?token=T0K3N#frag", "https://example.com/ok?page=2"]})
                )
            );
        },
    );
    let l = &logs[0];
    assert_eq!(
        l["message"],
        "fetch https://api.example.com/v1?q=1&api_key=***&Signature=*** done"
    );
    assert_eq!(l["data"]["db"], "postgres://db.internal:5432/main");
    assert_eq!(
        l["data"]["nested"]["hooks"][0],
        "https://hooks.example.com/x?token=***#frag"
    );
    assert_eq!(
        l["data"]["nested"]["hooks"][1],
        "https://example.com/ok?page=2"
    );
}

#[test]
fn field_blocker_removes_or_replaces() {
    let nested =
        j!({"request": {"Body": "raw bytes", "path": "/x"}, "list": [{"payload": 1, "k": 2}]});
    let (logs, _) = run(
        Pipeline::builder().redactor(FieldBlocker::default()),
        |log| {
            fapilog::info!(
                log,
                "x",
                body = "secret body",
                keep = 1,
                nested = json(&nested)
            );
        },
    );
    let d = &logs[0]["data"];
    assert!(d.get("body").is_none());
    assert_eq!(d["keep"], 1);
    assert!(d["nested"]["request"].get("Body").is_none());
    assert_eq!(d["nested"]["request"]["path"], "/x");
    assert!(d["nested"]["list"][0].get("payload").is_none());
    assert_eq!(d["nested"]["list"][0]["k"], 2);

    let mut cfg = FieldBlockerConfig::default();
    cfg.blocked_fields = vec!["dump".into(), "raw".into()];
    cfg.allowed_fields = vec!["raw".into()];
    cfg.action = BlockAction::Replace;
    let (logs, _) = run(
        Pipeline::builder().redactor(FieldBlocker::from_config(&cfg).unwrap()),
        |log| {
            fapilog::info!(log, "x", dump = "d", raw = "r");
        },
    );
    assert_eq!(logs[0]["data"]["dump"], "[REDACTED:HIGH_RISK_FIELD]");
    assert_eq!(logs[0]["data"]["raw"], "r");
}

#[test]
fn string_truncate_cuts_at_char_boundaries() {
    let (logs, _) = run(
        Pipeline::builder().redactor(StringTruncate::new(5)),
        |log| {
            fapilog::info!(log, "héllo wörld", list = json(&j!(["ééé", "ab"])));
        },
    );
    assert_eq!(logs[0]["message"], "héll[truncated]");
    assert_eq!(logs[0]["data"]["list"][0], "éé[truncated]");
    assert_eq!(logs[0]["data"]["list"][1], "ab");
}

struct Failing(bool);

impl Redactor for Failing {
    fn name(&self) -> &str {
        "failing"
    }
    fn redact(&self, _event: &mut Event<'_>) -> Result<(), StageError> {
        if self.0 {
            panic!("boom");
        }
        Err(StageError::new("cannot redact"))
    }
}

#[test]
fn fail_modes() {
    for panics in [false, true] {
        let (logs, p) = run(Pipeline::builder().redactor(Failing(panics)), |log| {
            fapilog::info!(log, "secret stuff", password = "x");
        });
        assert!(
            logs.is_empty(),
            "closed is the default: the event is withheld"
        );
        assert_eq!(p.metrics().dropped_for(DropReason::RedactionFailed), 1);
        let errs = &p.metrics().stage_errors;
        assert_eq!(errs[0].stage, "failing");
        assert_eq!(errs[0].errors + errs[0].panics, 1);
    }
    for mode in [RedactionFailMode::Warn, RedactionFailMode::Open] {
        let (logs, _) = run(
            Pipeline::builder()
                .redactor(Failing(false))
                .redaction_fail_mode(mode),
            |log| fapilog::info!(log, "passes"),
        );
        assert_eq!(logs.len(), 1);
    }
}

#[test]
fn redactors_leave_clean_events_alone() {
    let (logs, p) = run(
        Pipeline::builder()
            .redaction_preset(&fapilog::stages::redactors::presets::CREDENTIALS)
            .redactor(UrlCredentials::default()),
        |log| {
            fapilog::info!(
                log,
                "user login",
                user_id = 7,
                path = "/api/v1/users",
                status = 200
            )
        },
    );
    assert_eq!(logs[0]["message"], "user login");
    assert_eq!(logs[0]["data"]["path"], "/api/v1/users");
    assert_eq!(p.stage_counters().redacted_fields, 0);
}

#[test]
fn field_mask_key_budget_masks_the_rest_or_warns() {
    let mut cfg = FieldMaskConfig::default();
    cfg.fields_to_mask = vec!["password".into()];
    cfg.max_keys_scanned = 3;
    let wide = j!({"a": 1, "b": 2, "c": 3, "d": "maybe secret", "password": "p"});
    let (logs, _) = run(
        Pipeline::builder().redactor(FieldMask::from_config(&cfg).unwrap()),
        |log| fapilog::info!(log, "x", wide = json(&wide)),
    );
    let line = logs[0].to_string();
    assert!(
        !line.contains("maybe secret") && !line.contains(r#""p""#),
        "{line}"
    );

    cfg.on_guardrail_exceeded = Guardrail::Warn;
    let (logs, _) = run(
        Pipeline::builder().redactor(FieldMask::from_config(&cfg).unwrap()),
        |log| fapilog::info!(log, "x", wide = json(&wide)),
    );
    assert_eq!(
        logs[0]["data"]["wide"]["d"], "maybe secret",
        "warn leaves it, as asked"
    );
}
