//! The Rust envelope, key by key, against the lines Python fapilog 0.18.1
//! wrote for the same events (`tests/golden/python-0.18.1.jsonl`, recorded
//! once by `tests/golden/record_python.py`, which is not run here).
//!
//! Only runtime facts may differ: the time, the message id, the host and
//! pid, the interpreter (`diagnostics.python`), and inside an exception the
//! language's own type names, stack text and frames (whose keys must still
//! match). Every other key and value must be the same, so one fleet's
//! queries match both.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use fapilog::testing::CaptureSink;
use fapilog::{context, FieldValue, Pipeline};
use serde_json::Value as Json;

const PYTHON: &str = include_str!("golden/python-0.18.1.jsonl");

#[derive(Debug)]
struct CardDeclined;
impl fmt::Display for CardDeclined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("card declined")
    }
}
impl std::error::Error for CardDeclined {}

#[derive(Debug)]
struct PaymentFailed(CardDeclined);
impl fmt::Display for PaymentFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("payment failed")
    }
}
impl std::error::Error for PaymentFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// Python's `KeyError("sku")`, whose message is `'sku'`.
#[derive(Debug)]
struct KeyError;
impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("'sku'")
    }
}
impl std::error::Error for KeyError {}

/// The events of `record_python.py`, logged here.
fn rust_lines() -> Vec<Json> {
    let (sink, captured) = CaptureSink::new();
    let p = Pipeline::builder().sink(sink).build().expect("pipeline");
    let log = p.logger("demo");
    {
        // 1. A bound request id and a bound non-context field.
        let _scope = context::bind(&[
            ("request_id", FieldValue::Str("req-123")),
            ("tenant", FieldValue::Str("acme")),
        ]);
        fapilog::info!(
            log,
            "user logged in",
            user_id = "u-42",
            attempt = 2,
            ratio = 0.5,
            ok = true,
            note = Option::<&str>::None
        );
        // 2. Nested data, and fapilog's `data={...}`.
        let order =
            serde_json::json!({"id": 7, "items": [{"sku": "a-1", "qty": 2}], "total": 12.5});
        let data = serde_json::json!({"channel": "web", "trace_id": "t-1"});
        fapilog::info!(
            log,
            "order placed",
            order = fapilog::json(&order),
            data = fapilog::json(&data)
        );
        // 3. An error with its cause (and a backtrace, as Python always has one).
        let e = PaymentFailed(CardDeclined);
        fapilog::error!(
            log,
            "charge failed",
            exc = fapilog::err(&e).with_backtrace(),
            order_id = 7
        );
        // 4. An error without a cause.
        fapilog::warn!(
            log,
            "lookup failed",
            exc = fapilog::err(&KeyError).with_backtrace()
        );
    }
    {
        // 5. A request scope: its correlation id, as the axum layer binds it.
        let _request = context::bind(&[("correlation_id", FieldValue::Str("corr-9"))]);
        fapilog::info!(log, "in request", span_id = "s-1");
    }
    // 6. Nothing bound.
    fapilog::info!(log, "plain");
    p.flush(Duration::from_secs(10)).expect("flush");
    captured.envelopes()
}

fn python_lines() -> Vec<Json> {
    PYTHON
        .lines()
        .map(|l| serde_json::from_str(l).expect("recorded line"))
        .collect()
}

/// The type of a JSON value, for masked values.
fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_f64() => "float",
        Json::Number(_) => "int",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

/// Paths whose values are runtime facts: compared by type only.
const MASKED: [&str; 8] = [
    "log.timestamp",
    "log.context.message_id",
    "log.diagnostics.host",
    "log.diagnostics.pid",
    "log.diagnostics.exception.error.type",
    "log.diagnostics.exception.error.stack",
    // A cause's class name in Python; its message here (no run-time type names).
    "log.diagnostics.exception.error.cause",
    "log.diagnostics.exception.error.frames",
];

/// Keys only one side has, because they describe its runtime (the
/// interpreter's version there; the compiler, OS, CPU and library version
/// here).
const RUNTIME_ONLY: [&str; 5] = [
    "log.diagnostics.python",
    "log.diagnostics.rust",
    "log.diagnostics.os",
    "log.diagnostics.arch",
    "log.diagnostics.fapilog",
];

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Every leaf as `path → value`, runtime facts replaced by their type
/// (frames by the keys and types of their entries).
fn flatten(v: &Json, path: &str, out: &mut BTreeMap<String, String>) {
    if path.ends_with("error.frames") {
        let mut shapes: Vec<String> = v
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|f| {
                        f.as_object()
                            .map(|o| {
                                o.iter()
                                    .map(|(k, x)| format!("{k}:{}", kind(x)))
                                    .collect::<Vec<_>>()
                                    .join(",")
                            })
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .unwrap_or_default();
        shapes.dedup();
        out.insert(path.to_owned(), format!("frames of {shapes:?}"));
        return;
    }
    if MASKED.contains(&path) {
        out.insert(path.to_owned(), format!("<{}>", kind(v)));
        return;
    }
    match v {
        Json::Object(o) => {
            for (k, x) in o {
                flatten(x, &join(path, k), out);
            }
            if o.is_empty() {
                out.insert(path.to_owned(), "{}".to_owned());
            }
        }
        Json::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                flatten(x, &format!("{path}[{i}]"), out);
            }
        }
        leaf => {
            out.insert(path.to_owned(), leaf.to_string());
        }
    }
}

fn by_message(lines: &[Json]) -> BTreeMap<String, BTreeMap<String, String>> {
    lines
        .iter()
        .map(|l| {
            let msg = l["log"]["message"].as_str().expect("message").to_owned();
            let mut flat = BTreeMap::new();
            flatten(l, "", &mut flat);
            let flat = flat
                .into_iter()
                .filter(|(k, _)| !RUNTIME_ONLY.contains(&k.as_str()))
                .collect();
            (msg, flat)
        })
        .collect()
}

#[test]
fn rust_envelopes_match_python_fapilogs_key_by_key() {
    let python = by_message(&python_lines());
    let rust = by_message(&rust_lines());
    assert_eq!(
        python.keys().collect::<Vec<_>>(),
        rust.keys().collect::<Vec<_>>(),
        "the same events"
    );
    let mut diffs = Vec::new();
    for (msg, py) in &python {
        let rs = &rust[msg];
        for (k, pv) in py {
            match rs.get(k) {
                None => diffs.push(format!("{msg}: {k} = {pv} only in Python")),
                Some(rv) if rv != pv => {
                    diffs.push(format!("{msg}: {k} = {pv} in Python, {rv} here"))
                }
                Some(_) => {}
            }
        }
        for (k, rv) in rs {
            if !py.contains_key(k) {
                diffs.push(format!("{msg}: {k} = {rv} only here"));
            }
        }
    }
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

#[test]
fn the_runtime_facts_have_the_same_form() {
    for l in rust_lines().iter().chain(python_lines().iter()) {
        let log = &l["log"];
        let ts = log["timestamp"].as_str().unwrap();
        assert_eq!(ts.len(), 24, "{ts}");
        assert!(ts.ends_with('Z') && &ts[19..20] == ".", "{ts}");
        assert_eq!(log["context"]["message_id"].as_str().unwrap().len(), 36);
        assert!(log["diagnostics"]["pid"].is_u64());
    }
}

/// The comparison can fail: a key renamed on either side is found.
#[test]
fn a_renamed_key_is_a_difference() {
    let mut py = python_lines();
    let moved = py[0]["log"]["context"]
        .as_object_mut()
        .unwrap()
        .remove("correlation_id");
    py[0]["log"]["data"]["correlation_id"] = moved.unwrap();
    let a = by_message(&py);
    let b = by_message(&python_lines());
    assert_ne!(a, b);
}
