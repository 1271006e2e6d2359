//! One envelope line → one OTLP `LogRecord` and the resource it belongs
//! to, following the OpenTelemetry log data model.
//!
//! | envelope | OTLP |
//! |---|---|
//! | the line's event time (batch metadata) | `time_unix_nano` |
//! | the encode time | `observed_time_unix_nano` |
//! | `level` | `severity_number` (DEBUG 5, INFO 9, AUDIT 10, WARNING 13, SECURITY 14, ERROR 17, CRITICAL 21) and `severity_text` verbatim |
//! | `message` | `body` (string) |
//! | `context.trace_id` / `span_id` (32 / 16 hex chars) | `trace_id` / `span_id` bytes; other values stay attributes |
//! | `context.*` (`message_id`, `request_id`…), `data.*`, `logger`, `tags` | attributes (`logger.name`, `tags`; a `data` key that repeats a context key becomes `data.<key>`) |
//! | `diagnostics.exception` | `exception.type`, `exception.message`, `exception.stacktrace` |
//! | `diagnostics.service`, `env`, `version`, `host`, `pid` | resource `service.name`, `deployment.environment`, `service.version`, `host.name`, `process.pid` |
//! | `diagnostics.os`, `arch`, `rust`/`python`, `fapilog` | resource `os.type`, `host.arch`, `process.runtime.name`/`version`, `fapilog.version` |
//! | other `diagnostics.*` | attributes `diagnostics.<key>` |

use std::time::{SystemTime, UNIX_EPOCH};

use fapilog::{BatchLine, Level};
use serde_json::{Map, Value as Json};

use super::proto::{AnyValue, ArrayValue, KeyValue, KeyValueList, LogRecord, Value};

/// The resource attributes an event carries (from its `diagnostics`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ResourceKey {
    service: Option<String>,
    env: Option<String>,
    version: Option<String>,
    host: Option<String>,
    pid: Option<i64>,
    /// Other process-wide facts: `os.type`, `host.arch`, `process.runtime.*`.
    process: Vec<(&'static str, String)>,
}

impl ResourceKey {
    /// The resource's attributes, OpenTelemetry's semantic-convention names.
    pub(crate) fn attributes(&self) -> Vec<KeyValue> {
        let mut out = Vec::with_capacity(5);
        let strings = [
            ("service.name", &self.service),
            ("deployment.environment", &self.env),
            ("service.version", &self.version),
            ("host.name", &self.host),
        ];
        for (k, v) in strings {
            if let Some(v) = v {
                out.push(KeyValue::new(k, AnyValue::string(v.clone())));
            }
        }
        if let Some(pid) = self.pid {
            out.push(KeyValue::new(
                "process.pid",
                AnyValue {
                    value: Some(Value::IntValue(pid)),
                },
            ));
        }
        for (k, v) in &self.process {
            out.push(KeyValue::new(*k, AnyValue::string(v.clone())));
        }
        out
    }
}

/// Nanoseconds since the Unix epoch (0 before it).
pub(crate) fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The OpenTelemetry severity number of a fapilog level: by name for the
/// built-in and fapilog's AUDIT/SECURITY levels, else by priority band.
pub(crate) fn severity_number(level: Level) -> i32 {
    match level.name() {
        "TRACE" => 1,
        "DEBUG" => 5,
        "INFO" => 9,
        "AUDIT" => 10,
        "WARNING" | "WARN" => 13,
        "SECURITY" => 14,
        "ERROR" => 17,
        "CRITICAL" | "FATAL" => 21,
        _ => match level.priority() {
            0..=9 => 1,
            10..=19 => 5,
            20..=29 => 9,
            30..=39 => 13,
            40..=49 => 17,
            _ => 21,
        },
    }
}

/// `true` for `len` hex digits, not all zero (an all-zero id is invalid).
fn is_hex_id(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit()) && s.bytes().any(|b| b != b'0')
}

/// Decodes hex digits already checked by [`is_hex_id`].
fn hex_bytes(s: &str) -> Vec<u8> {
    fn nibble(b: u8) -> u8 {
        match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => b - b'A' + 10,
        }
    }
    s.as_bytes()
        .chunks(2)
        .map(|p| (nibble(p[0]) << 4) | nibble(p[1]))
        .collect()
}

/// A JSON value as an OTLP value: objects → `KeyValueList`, arrays →
/// `ArrayValue`, integers → `int_value` (above `i64::MAX` → `double`),
/// `null` → the empty value.
pub(crate) fn any_value(v: &Json) -> AnyValue {
    let value = match v {
        Json::Null => None,
        Json::Bool(b) => Some(Value::BoolValue(*b)),
        Json::Number(n) => Some(match n.as_i64() {
            Some(i) => Value::IntValue(i),
            None => Value::DoubleValue(n.as_f64().unwrap_or(f64::NAN)),
        }),
        Json::String(s) => Some(Value::StringValue(s.clone())),
        Json::Array(a) => Some(Value::ArrayValue(ArrayValue {
            values: a.iter().map(any_value).collect(),
        })),
        Json::Object(o) => Some(Value::KvlistValue(KeyValueList {
            values: o
                .iter()
                .map(|(k, v)| KeyValue::new(k.clone(), any_value(v)))
                .collect(),
        })),
    };
    AnyValue { value }
}

/// The record of one batch line and its resource. `observed` is the
/// encode time, shared by the batch.
pub(crate) fn to_record(line: &BatchLine<'_>, observed: u64) -> (ResourceKey, LogRecord) {
    from_json(line.level, line.time, line.bytes, observed)
}

/// The record of one encoded event `bytes` logged at `level` at `time`.
fn from_json(
    level: Level,
    time: SystemTime,
    bytes: &[u8],
    observed: u64,
) -> (ResourceKey, LogRecord) {
    let mut record = LogRecord {
        time_unix_nano: unix_nanos(time),
        observed_time_unix_nano: observed,
        severity_number: severity_number(level),
        severity_text: level.name().to_owned(),
        ..LogRecord::default()
    };
    let parsed: Option<Map<String, Json>> = serde_json::from_slice(bytes).ok();
    let Some(mut top) = parsed else {
        // Not JSON (cannot happen with a JSON batch): the text is the body.
        record.body = Some(AnyValue::string(String::from_utf8_lossy(bytes)));
        return (ResourceKey::default(), record);
    };
    // The envelope is `{"log": {...}, "schema_version": "1.1"}`; a flat
    // event is the `log` object itself.
    let mut log = match top.remove("log") {
        Some(Json::Object(log)) => log,
        Some(other) => {
            top.insert("log".to_owned(), other);
            top
        }
        None => top,
    };
    let mut resource = ResourceKey::default();
    let mut attrs: Vec<KeyValue> = Vec::new();

    match log.remove("message") {
        Some(Json::String(m)) => record.body = Some(AnyValue::string(m)),
        Some(other) => record.body = Some(any_value(&other)),
        None => {}
    }
    log.remove("level");
    log.remove("timestamp");

    if let Some(Json::Object(context)) = log.remove("context") {
        for (k, v) in context {
            match (k.as_str(), &v) {
                ("trace_id", Json::String(s)) if is_hex_id(s, 32) => record.trace_id = hex_bytes(s),
                ("span_id", Json::String(s)) if is_hex_id(s, 16) => record.span_id = hex_bytes(s),
                (_, Json::Null) => {}
                _ => attrs.push(KeyValue::new(k, any_value(&v))),
            }
        }
    }
    if let Some(Json::String(logger)) = log.remove("logger") {
        attrs.push(KeyValue::new("logger.name", AnyValue::string(logger)));
    }
    if let Some(Json::Object(diagnostics)) = log.remove("diagnostics") {
        for (k, v) in diagnostics {
            match (k.as_str(), v) {
                ("service", Json::String(s)) => resource.service = Some(s),
                ("env", Json::String(s)) => resource.env = Some(s),
                ("version", Json::String(s)) => resource.version = Some(s),
                ("host", Json::String(s)) => resource.host = Some(s),
                ("pid", Json::Number(n)) if n.as_i64().is_some() => resource.pid = n.as_i64(),
                ("exception", Json::Object(e)) => exception_attributes(e, &mut attrs),
                ("os", Json::String(s)) => resource.process.push(("os.type", s)),
                ("arch", Json::String(s)) => resource.process.push(("host.arch", s)),
                ("rust" | "python", Json::String(s)) => {
                    resource.process.push(("process.runtime.name", k));
                    resource.process.push(("process.runtime.version", s));
                }
                ("fapilog", Json::String(s)) => resource.process.push(("fapilog.version", s)),
                (_, v) => attrs.push(KeyValue::new(format!("diagnostics.{k}"), any_value(&v))),
            }
        }
    }
    if let Some(Json::Object(data)) = log.remove("data") {
        for (k, v) in data {
            let key = if attrs.iter().any(|a| a.key == k) {
                format!("data.{k}")
            } else {
                k
            };
            attrs.push(KeyValue::new(key, any_value(&v)));
        }
    }
    // Whatever else the envelope holds (`tags`, extensions).
    for (k, v) in log {
        if !attrs.iter().any(|a| a.key == k) {
            attrs.push(KeyValue::new(k, any_value(&v)));
        }
    }
    record.attributes = attrs;
    (resource, record)
}

/// fapilog's serialized exception as OpenTelemetry's `exception.*` attributes.
fn exception_attributes(e: Map<String, Json>, attrs: &mut Vec<KeyValue>) {
    for (k, v) in e {
        let key = match k.as_str() {
            "error.type" => "exception.type".to_owned(),
            "error.message" => "exception.message".to_owned(),
            "error.stack" => "exception.stacktrace".to_owned(),
            other => format!("exception.{}", other.trim_start_matches("error.")),
        };
        attrs.push(KeyValue::new(key, any_value(&v)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record_of(json: &str) -> (ResourceKey, LogRecord) {
        from_json(Level::WARNING, UNIX_EPOCH, json.as_bytes(), 7)
    }

    fn attr<'a>(r: &'a LogRecord, k: &str) -> Option<&'a Value> {
        r.attributes
            .iter()
            .find(|a| a.key == k)?
            .value
            .as_ref()?
            .value
            .as_ref()
    }

    #[test]
    fn levels_map_to_opentelemetry_severities() {
        let cases = [
            (Level::DEBUG, 5),
            (Level::INFO, 9),
            (Level::WARNING, 13),
            (Level::ERROR, 17),
            (Level::CRITICAL, 21),
            (Level::custom(25, "AUDIT"), 10),
            (Level::custom(35, "SECURITY"), 14),
            (Level::custom(45, "NOTICE"), 17),
        ];
        for (level, n) in cases {
            assert_eq!(severity_number(level), n, "{}", level.name());
        }
    }

    #[test]
    fn an_envelope_becomes_a_record_with_ids_attributes_and_resource() {
        let (res, r) = record_of(
            r#"{"log":{"timestamp":"2026-01-01T00:00:00.000Z","level":"WARNING","message":"hi","logger":"app",
            "context":{"message_id":"m-1","correlation_id":null,"trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"t-1"},
            "diagnostics":{"service":"svc","env":"prod","host":"h","pid":42,"python":"3.11","origin":"native","exception":{"error.type":"E","error.stack":"s"}},
            "data":{"n":1,"f":0.5,"b":true,"nested":{"a":[1,"x"]},"message_id":"dup","big":18446744073709551615}},"schema_version":"1.1"}"#,
        );
        assert_eq!(r.body, Some(AnyValue::string("hi")));
        assert_eq!(r.severity_number, 13);
        assert_eq!(r.severity_text, "WARNING");
        assert_eq!(r.observed_time_unix_nano, 7);
        assert_eq!(r.trace_id.len(), 16);
        assert_eq!(r.trace_id[0], 0x0a);
        assert!(r.span_id.is_empty());
        assert_eq!(attr(&r, "span_id"), Some(&Value::StringValue("t-1".into())));
        assert_eq!(
            attr(&r, "message_id"),
            Some(&Value::StringValue("m-1".into()))
        );
        assert_eq!(
            attr(&r, "data.message_id"),
            Some(&Value::StringValue("dup".into()))
        );
        assert_eq!(attr(&r, "correlation_id"), None);
        assert_eq!(
            attr(&r, "logger.name"),
            Some(&Value::StringValue("app".into()))
        );
        assert_eq!(attr(&r, "n"), Some(&Value::IntValue(1)));
        assert_eq!(attr(&r, "f"), Some(&Value::DoubleValue(0.5)));
        assert_eq!(attr(&r, "b"), Some(&Value::BoolValue(true)));
        assert!(matches!(attr(&r, "nested"), Some(Value::KvlistValue(_))));
        assert!(matches!(attr(&r, "big"), Some(Value::DoubleValue(_))));
        assert_eq!(
            attr(&r, "exception.type"),
            Some(&Value::StringValue("E".into()))
        );
        assert_eq!(
            attr(&r, "exception.stacktrace"),
            Some(&Value::StringValue("s".into()))
        );
        assert_eq!(
            attr(&r, "diagnostics.origin"),
            Some(&Value::StringValue("native".into()))
        );
        let keys: Vec<_> = res.attributes().into_iter().map(|a| a.key).collect();
        assert_eq!(
            keys,
            [
                "service.name",
                "deployment.environment",
                "host.name",
                "process.pid",
                "process.runtime.name",
                "process.runtime.version"
            ]
        );
    }

    #[test]
    fn ids_that_are_not_hex_of_the_right_length_stay_attributes() {
        for (t, s) in [
            ("t-1", "s-1"),
            ("0af7651916cd43dd8448eb211c80319", "00f067aa0ba902b"),
            ("00000000000000000000000000000000", "0000000000000000"),
        ] {
            let (_, r) = record_of(&format!(
                r#"{{"log":{{"message":"m","context":{{"trace_id":"{t}","span_id":"{s}"}}}}}}"#
            ));
            assert!(r.trace_id.is_empty() && r.span_id.is_empty());
            assert_eq!(attr(&r, "trace_id"), Some(&Value::StringValue(t.into())));
            assert_eq!(attr(&r, "span_id"), Some(&Value::StringValue(s.into())));
        }
    }
}
