//! The worker's direct path (a record written straight to JSON when every
//! stage allows it) writes exactly what the event path writes.
//!
//! Each case logs the same calls into two pipelines with the default stages:
//! one where the direct path applies, and one where a do-nothing enricher
//! that makes no promise forces every event through the event path. The lines
//! must be byte for byte the same, once the two per-line values that differ
//! by design (timestamp and message id) are masked. A constant enricher that
//! counts its calls shows which path each event took.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

mod common;

use common::{Counted, EventPath};
use fapilog::testing::{CaptureSink, Captured};
use fapilog::{context, FieldValue, Format, Level, Location, Pipeline};
use proptest::prelude::*;

const LONG: Duration = Duration::from_secs(30);

struct Pair {
    direct: Pipeline,
    direct_lines: Captured,
    calls: Arc<AtomicUsize>,
    event: Pipeline,
    event_lines: Captured,
}

fn pair(format: Format, location: bool, version: bool) -> Pair {
    let build = |forced: bool, calls: &Arc<AtomicUsize>| {
        let (sink, lines) = CaptureSink::named("capture", format);
        let mut b = Pipeline::builder()
            .service("svc")
            .env("test")
            .include_location(location)
            .enricher(Counted(Arc::clone(calls)))
            .sink(sink);
        if version {
            b = b.version("1.2.3");
        }
        if forced {
            b = b.enricher(EventPath);
        }
        (b.build().unwrap(), lines)
    };
    let calls = Arc::new(AtomicUsize::new(0));
    let (direct, direct_lines) = build(false, &calls);
    let (event, event_lines) = build(true, &Arc::new(AtomicUsize::new(0)));
    Pair {
        direct,
        direct_lines,
        calls,
        event,
        event_lines,
    }
}

/// Masks the timestamp and the message id, which differ by design.
fn masked(line: &str) -> String {
    let mut s = line.to_owned();
    for (key, len) in [("\"timestamp\":\"", 24), ("\"message_id\":\"", 36)] {
        if let Some(at) = s.find(key) {
            let start = at + key.len();
            s.replace_range(start..start + len, &"x".repeat(len));
        }
    }
    s
}

#[derive(Clone, Debug)]
enum V {
    Null,
    Bool(bool),
    I(i64),
    U(u64),
    F(f64),
    S(String),
    Json(serde_json::Value),
    Err(Failure),
}

impl V {
    fn field(&self) -> FieldValue<'_> {
        match self {
            V::Null => FieldValue::Null,
            V::Bool(b) => FieldValue::Bool(*b),
            V::I(i) => FieldValue::I64(*i),
            V::U(u) => FieldValue::U64(*u),
            V::F(f) => FieldValue::F64(*f),
            V::S(s) => FieldValue::Str(s),
            V::Json(j) => fapilog::json(j),
            V::Err(e) => fapilog::err(e).into(),
        }
    }
}

#[derive(Clone, Debug)]
struct Failure(String);
impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Failure {}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9 ./-]{0,24}",
        "\\PC{0,40}",
        "[\\x00-\\x1f\"\\\\\u{7f}é€😀]{0,12}",
        Just("see https://bob:hunter2@db.example/x?token=abc".to_owned()),
        Just("a // b".to_owned()),
    ]
}

fn value() -> impl Strategy<Value = V> {
    prop_oneof![
        Just(V::Null),
        any::<bool>().prop_map(V::Bool),
        any::<i64>().prop_map(V::I),
        any::<u64>().prop_map(V::U),
        prop_oneof![
            any::<f64>(),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(-0.0),
            Just(0.125)
        ]
        .prop_map(V::F),
        text().prop_map(V::S),
        text().prop_map(V::S),
        text().prop_map(|s| V::Json(serde_json::json!({ "k": s, "n": [1, 2] }))),
        text().prop_map(|m| V::Err(Failure(m))),
    ]
}

/// Keys that exercise the routing: context keys, `correlation_id`,
/// `message_id`, keys that repeat, keys that need escaping.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("request_id".to_owned()),
        Just("user_id".to_owned()),
        Just("tenant_id".to_owned()),
        Just("trace_id".to_owned()),
        Just("correlation_id".to_owned()),
        Just("message_id".to_owned()),
        Just("path".to_owned()),
        Just("status".to_owned()),
        "[a-z_]{1,10}",
        Just("we\"ird\nkey".to_owned()),
    ]
}

fn fields(max: usize) -> impl Strategy<Value = Vec<(String, V)>> {
    prop::collection::vec((key(), value()), 0..max)
}

#[derive(Clone, Debug)]
struct Call {
    level: Level,
    logger: String,
    message: String,
    bound: Vec<(String, V)>,
    context: Vec<(String, V)>,
    fields: Vec<(String, V)>,
    located: bool,
}

fn call() -> impl Strategy<Value = Call> {
    (
        prop_oneof![
            Just(Level::TRACE),
            Just(Level::DEBUG),
            Just(Level::INFO),
            Just(Level::ERROR)
        ],
        "[a-z.]{0,8}",
        text(),
        fields(3),
        fields(3),
        fields(8),
        any::<bool>(),
    )
        .prop_map(
            |(level, logger, message, bound, context, fields, located)| Call {
                level,
                logger,
                message,
                bound,
                context,
                fields,
                located,
            },
        )
}

static SITE: Location = Location {
    file: "src/orders/handler.rs",
    line: 42,
    module: "app::orders::handler",
};

fn log(p: &Pipeline, c: &Call) {
    let bound: Vec<(&str, FieldValue<'_>)> = c
        .bound
        .iter()
        .map(|(k, v)| (k.as_str(), v.field()))
        .collect();
    let ctx: Vec<(&str, FieldValue<'_>)> = c
        .context
        .iter()
        .map(|(k, v)| (k.as_str(), v.field()))
        .collect();
    let logger = p.logger(&c.logger).bind(&bound);
    let _guard = context::bind(&ctx);
    let Some(mut capture) = logger.capture(c.level) else {
        return;
    };
    capture.message(&c.message);
    for (k, v) in &c.fields {
        capture.field_dyn(k, v.field());
    }
    if c.located {
        capture.location(&SITE);
    }
    capture.submit();
}

fn check(
    calls: &[Call],
    format: Format,
    location: bool,
    version: bool,
) -> Result<(), TestCaseError> {
    let p = pair(format, location, version);
    for c in calls {
        log(&p.direct, c);
        log(&p.event, c);
    }
    p.direct.flush(LONG).unwrap();
    p.event.flush(LONG).unwrap();
    let direct = p.direct_lines.lines();
    let event = p.event_lines.lines();
    prop_assert_eq!(direct.len(), event.len());
    for (d, e) in direct.iter().zip(&event) {
        prop_assert_eq!(masked(d), masked(e));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn direct_lines_equal_event_lines(
        calls in prop::collection::vec(call(), 1..12),
        location in any::<bool>(),
        version in any::<bool>(),
        flat in any::<bool>(),
    ) {
        let format = if flat { Format::Flat } else { Format::Json };
        check(&calls, format, location, version)?;
    }
}

/// Ordinary events skip the event path; the others still take it.
#[test]
fn ordinary_events_take_the_direct_path() {
    let p = pair(Format::Json, true, false);
    let after_probe = p.calls.load(Ordering::SeqCst);
    let log = p
        .direct
        .logger("app")
        .bind(&[("tenant_id", FieldValue::Str("t-1"))]);
    let _g = context::bind(&[
        ("request_id", FieldValue::Str("req-1")),
        ("correlation_id", FieldValue::Str("req-1")),
    ]);
    for i in 0..100u64 {
        fapilog::info!(
            log,
            "request handled",
            user_id = i,
            path = "/api",
            latency_ms = 0.5
        );
    }
    // Not ordinary: an error field, a serde value, a URL the redactor
    // must see, a repeated key.
    let e = Failure("boom".into());
    fapilog::error!(log, "failed", error = fapilog::err(&e));
    fapilog::info!(
        log,
        "nested",
        cart = fapilog::json(&serde_json::json!({"items": 3}))
    );
    fapilog::info!(log, "db at postgres://u:secret@db/app");
    fapilog::info!(log, "twice", path = "a", path = "b");
    p.direct.flush(LONG).unwrap();
    assert_eq!(p.direct_lines.len(), 104);
    assert_eq!(p.calls.load(Ordering::SeqCst) - after_probe, 4);
    p.direct_lines.assert_no_line_contains("secret");
    let first = p.direct_lines.find("request handled").unwrap();
    first
        .assert_field("context.correlation_id", "req-1")
        .assert_field("context.tenant_id", "t-1")
        .assert_field("context.user_id", "0")
        .assert_field("diagnostics.region", "eu-west-1")
        .assert_field("data.latency_ms", 0.5);
}
