//! Every line of the default JSON format validates against fapilog's v1.1
//! envelope schema, whatever the event holds: unicode, control characters,
//! huge strings, nested values, NaN and infinities, errors with chains.

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use fapilog::testing::{CaptureSink, Captured};
use fapilog::{context, FieldValue, Format, Level, Pipeline};
use proptest::prelude::*;
use serde_json::Value as Json;

const LONG: Duration = Duration::from_secs(30);
const SCHEMA: &str = include_str!("schema/log_envelope_v1.json");

fn validator() -> jsonschema::Validator {
    let schema: Json = serde_json::from_str(SCHEMA).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn assert_valid(v: &jsonschema::Validator, line: &str) -> Json {
    let json: Json =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    if let Err(e) = v.validate(&json) {
        panic!("schema violation: {e}\nline: {line}");
    }
    let ts = json["log"]["timestamp"].as_str().unwrap();
    assert_eq!(ts.len(), 24, "{ts}");
    assert!(ts.ends_with('Z'));
    json
}

#[derive(Debug)]
struct Chain {
    msg: String,
    source: Option<Box<Chain>>,
}

impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for Chain {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

fn json_value() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(Json::from),
        any::<f64>().prop_map(Json::from),
        any::<String>().prop_map(Json::String),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Json::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..6)
                .prop_map(|m| Json::Object(m.into_iter().collect())),
        ]
    })
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => any::<String>(),
        2 => "[\\x00-\\x1f\"\\\\\u{7f}\u{2028}\u{feff}]{0,40}",
        1 => (any::<char>(), 20_000usize..80_000).prop_map(|(c, n)| c.to_string().repeat(n)),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    message: String,
    logger: String,
    level: u8,
    s: String,
    i: i64,
    u: u64,
    f: f64,
    nested: Json,
    key: String,
    key_value: String,
    chain: Vec<String>,
    bound: Vec<(String, String)>,
    int_user_id: Option<i64>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        (
            text(),
            "[a-z.]{0,12}|\\PC{0,8}",
            0u8..6,
            text(),
            any::<i64>(),
            any::<u64>(),
            any::<f64>(),
        ),
        (
            json_value(),
            prop_oneof![
                any::<String>(),
                Just("request_id".to_owned()),
                Just("message_id".to_owned())
            ],
            text(),
            prop::collection::vec(any::<String>(), 0..4),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("request_id".to_owned()),
                        Just("trace_id".to_owned()),
                        any::<String>()
                    ],
                    any::<String>(),
                ),
                0..3,
            ),
            prop::option::of(any::<i64>()),
        ),
    )
        .prop_map(
            |(
                (message, logger, level, s, i, u, f),
                (nested, key, key_value, chain, bound, int_user_id),
            )| Case {
                message,
                logger,
                level,
                s,
                i,
                u,
                f,
                nested,
                key,
                key_value,
                chain,
                bound,
                int_user_id,
            },
        )
}

fn log_case(p: &Pipeline, c: &Case) {
    let level = Level::BUILTIN[c.level as usize];
    let bound: Vec<(&str, FieldValue<'_>)> = c
        .bound
        .iter()
        .map(|(k, v)| (k.as_str(), FieldValue::Str(v)))
        .collect();
    let _g = context::bind(&bound);
    let log = p.logger(&c.logger);
    let mut err: Option<Chain> = None;
    for m in c.chain.iter().rev() {
        err = Some(Chain {
            msg: m.clone(),
            source: err.map(Box::new),
        });
    }
    let err = err.unwrap_or(Chain {
        msg: "no chain".into(),
        source: None,
    });
    let user_id = c
        .int_user_id
        .map(FieldValue::I64)
        .unwrap_or(FieldValue::Null);
    log.log(
        level,
        &c.message,
        &[
            ("s", FieldValue::Str(&c.s)),
            ("i", FieldValue::I64(c.i)),
            ("u", FieldValue::U64(c.u)),
            ("f", FieldValue::F64(c.f)),
            ("nan", FieldValue::F64(f64::NAN)),
            ("inf", FieldValue::F64(f64::NEG_INFINITY)),
            ("nested", fapilog::json(&c.nested)),
            ("shown", fapilog::display(&c.message)),
            ("debugged", fapilog::debug(&c.s)),
            ("error", fapilog::err(&err).into()),
            ("user_id", user_id),
        ],
    );
    log.log_dynamic(
        level,
        None,
        format_args!("dyn {}", c.message),
        &[(c.key.as_str(), FieldValue::Str(&c.key_value))],
        None,
    );
}

fn pipeline(format: Format) -> (Pipeline, Captured) {
    let (sink, captured) = CaptureSink::named("capture", format);
    // No redactors: the generated text is compared verbatim, and some of it
    // looks like URL credentials (`//user@host`), which the default masks.
    let p = Pipeline::builder()
        .preset(fapilog::settings::Preset::Minimal)
        .level(Level::TRACE)
        .queue_capacity(4096)
        .sink(sink)
        .build()
        .unwrap();
    (p, captured)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_generated_line_validates(cases in prop::collection::vec(case(), 1..6)) {
        let v = validator();
        let (p, captured) = pipeline(Format::Json);
        for c in &cases {
            log_case(&p, c);
        }
        p.flush(LONG).unwrap();
        let lines = captured.lines();
        prop_assert_eq!(lines.len(), cases.len() * 2);
        let mut ids = HashSet::new();
        for (n, line) in lines.iter().enumerate() {
            let json = assert_valid(&v, line);
            prop_assert!(ids.insert(json["log"]["context"]["message_id"].as_str().unwrap().to_owned()));
            if n % 2 == 0 {
                let c = &cases[n / 2];
                let l = &json["log"];
                prop_assert_eq!(l["message"].as_str().unwrap(), c.message.as_str());
                prop_assert_eq!(l["data"]["s"].as_str().unwrap(), c.s.as_str());
                prop_assert_eq!(l["data"]["i"].as_i64().unwrap(), c.i);
                prop_assert_eq!(l["data"]["u"].as_u64().unwrap(), c.u);
                prop_assert_eq!(&l["data"]["nan"], "NaN");
                prop_assert_eq!(&l["data"]["inf"], "-inf");
                if c.f.is_finite() {
                    prop_assert_eq!(l["data"]["f"].as_f64().unwrap(), c.f);
                }
                prop_assert_eq!(&l["diagnostics"]["exception"]["error.message"], &Json::from(if c.chain.is_empty() { "no chain".to_owned() } else { c.chain[0].clone() }));
            }
        }
    }
}

#[test]
fn flat_lines_validate_as_the_inner_object() {
    let v = validator();
    let (p, captured) = pipeline(Format::Flat);
    let _g = context::bind(&[("request_id", FieldValue::Str("r-1"))]);
    fapilog::warning!(p.logger("flat"), "flat line", n = 1);
    p.flush(LONG).unwrap();
    let line = &captured.lines()[0];
    let inner: Json = serde_json::from_str(line).unwrap();
    assert!(inner.get("schema_version").is_none());
    assert_eq!(inner["context"]["request_id"], "r-1");
    let wrapped = serde_json::json!({"schema_version": "1.1", "log": inner});
    assert!(v.is_valid(&wrapped), "{line}");
}

#[test]
fn trace_is_written_as_debug_unless_configured() {
    let (p, captured) = pipeline(Format::Json);
    fapilog::trace!(p.logger("t"), "fine detail");
    p.flush(LONG).unwrap();
    assert_eq!(captured.envelopes()[0]["log"]["level"], "DEBUG");

    let (sink, captured) = CaptureSink::new();
    let mut settings =
        fapilog::Settings::from_env_vars([("FAPILOG_CORE__TRACE_LEVEL_NAME", "TRACE")]).unwrap();
    settings.core.log_level = Level::TRACE;
    let p = Pipeline::builder()
        .settings(settings)
        .sink(sink)
        .build()
        .unwrap();
    fapilog::trace!(p.logger("t"), "fine detail");
    p.flush(LONG).unwrap();
    assert_eq!(captured.envelopes()[0]["log"]["level"], "TRACE");
}

#[test]
fn diagnostics_carry_service_env_version_host_pid_and_a_backtrace_when_asked() {
    let (sink, captured) = CaptureSink::new();
    let p = Pipeline::builder()
        .service("billing")
        .env("production")
        .version("1.2.3")
        .sink(sink)
        .build()
        .unwrap();
    let e = Chain {
        msg: "outer".into(),
        source: Some(Box::new(Chain {
            msg: "inner".into(),
            source: None,
        })),
    };
    fapilog::error!(
        p.logger("b"),
        "failed",
        error = fapilog::err(&e).with_backtrace()
    );
    p.flush(LONG).unwrap();
    let v = validator();
    let line = assert_valid(&v, &captured.lines()[0]);
    let d = &line["log"]["diagnostics"];
    assert_eq!(d["service"], "billing");
    assert_eq!(d["env"], "production");
    assert_eq!(d["version"], "1.2.3");
    assert_eq!(d["pid"], std::process::id());
    assert!(!d["host"].as_str().unwrap().is_empty());
    let ex = &d["exception"];
    assert!(ex["error.type"].as_str().unwrap().ends_with("Chain"));
    assert_eq!(ex["error.message"], "outer");
    assert_eq!(ex["error.cause"], "inner");
    assert!(ex.get("error.chain").is_none(), "fapilog's keys only: {ex}");
    let stack = ex["error.stack"].as_str().unwrap();
    assert!(stack.contains("outer\nCaused by: inner\n"), "{stack}");
    assert!(stack.contains("envelope_schema"), "{stack}");
    let frames = ex["error.frames"].as_array().unwrap();
    assert!(!frames.is_empty() && frames.len() <= 10, "{frames:?}");
    assert!(frames.iter().all(|f| f["file"].is_string()
        && f["line"].is_u64()
        && f["function"].is_string()
        && f["code"].is_string()));
    assert!(
        frames
            .iter()
            .any(|f| f["function"].as_str().unwrap().contains("envelope_schema")),
        "{frames:?}"
    );
    // The message is the exception's, not repeated in `data`.
    assert!(line["log"]["data"].get("error").is_none(), "{line}");
}

#[test]
fn a_thousand_lines_from_four_threads_have_unique_ids() {
    let (p, captured) = pipeline(Format::Json);
    std::thread::scope(|s| {
        for t in 0..4 {
            let log = p.logger("ids");
            s.spawn(move || {
                for i in 0..250 {
                    fapilog::info!(log, "id", t = t, i = i);
                }
            });
        }
    });
    p.flush(LONG).unwrap();
    let ids: HashSet<String> = captured
        .envelopes()
        .iter()
        .map(|e| {
            e["log"]["context"]["message_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1000);
}
