//! The OTLP/JSON encoding of the same messages (OTLP's JSON rules, not
//! plain proto3 JSON): lowerCamelCase keys, `traceId`/`spanId` as hex,
//! enums as integers, 64-bit integers as decimal strings, bytes as base64,
//! default values left out.

use serde_json::{json, Map, Value as Json};

use super::proto::{
    AnyValue, ExportLogsServiceRequest, InstrumentationScope, KeyValue, LogRecord, Resource, Value,
};
use crate::http_client::base64;

/// A request as OTLP/JSON.
pub(crate) fn request(r: &ExportLogsServiceRequest) -> Json {
    let resource_logs: Vec<Json> = r
        .resource_logs
        .iter()
        .map(|rl| {
            let scope_logs: Vec<Json> = rl
                .scope_logs
                .iter()
                .map(|sl| {
                    let mut m = Map::new();
                    if let Some(s) = &sl.scope {
                        m.insert("scope".into(), scope(s));
                    }
                    m.insert(
                        "logRecords".into(),
                        sl.log_records.iter().map(record).collect(),
                    );
                    Json::Object(m)
                })
                .collect();
            let mut m = Map::new();
            if let Some(res) = &rl.resource {
                m.insert("resource".into(), resource(res));
            }
            m.insert("scopeLogs".into(), Json::Array(scope_logs));
            Json::Object(m)
        })
        .collect();
    json!({ "resourceLogs": resource_logs })
}

/// A resource as OTLP/JSON.
pub(crate) fn resource(r: &Resource) -> Json {
    json!({ "attributes": key_values(&r.attributes) })
}

/// A scope as OTLP/JSON.
pub(crate) fn scope(s: &InstrumentationScope) -> Json {
    json!({ "name": s.name, "version": s.version })
}

/// A record as OTLP/JSON.
pub(crate) fn record(r: &LogRecord) -> Json {
    let mut m = Map::new();
    m.insert("timeUnixNano".into(), r.time_unix_nano.to_string().into());
    m.insert(
        "observedTimeUnixNano".into(),
        r.observed_time_unix_nano.to_string().into(),
    );
    if r.severity_number != 0 {
        m.insert("severityNumber".into(), r.severity_number.into());
    }
    if !r.severity_text.is_empty() {
        m.insert("severityText".into(), r.severity_text.clone().into());
    }
    if let Some(b) = &r.body {
        m.insert("body".into(), any(b));
    }
    if !r.attributes.is_empty() {
        m.insert("attributes".into(), key_values(&r.attributes));
    }
    if !r.trace_id.is_empty() {
        m.insert("traceId".into(), hex(&r.trace_id).into());
    }
    if !r.span_id.is_empty() {
        m.insert("spanId".into(), hex(&r.span_id).into());
    }
    Json::Object(m)
}

fn key_values(kvs: &[KeyValue]) -> Json {
    kvs.iter()
        .map(|kv| {
            let value = kv.value.as_ref().map(any).unwrap_or_else(|| json!({}));
            json!({ "key": kv.key, "value": value })
        })
        .collect()
}

fn any(v: &AnyValue) -> Json {
    match &v.value {
        None => json!({}),
        Some(Value::StringValue(s)) => json!({ "stringValue": s }),
        Some(Value::BoolValue(b)) => json!({ "boolValue": b }),
        Some(Value::IntValue(i)) => json!({ "intValue": i.to_string() }),
        Some(Value::DoubleValue(d)) if d.is_finite() => json!({ "doubleValue": d }),
        Some(Value::DoubleValue(d)) => {
            let text = if d.is_nan() {
                "NaN"
            } else if *d > 0.0 {
                "Infinity"
            } else {
                "-Infinity"
            };
            json!({ "doubleValue": text })
        }
        Some(Value::ArrayValue(a)) => {
            json!({ "arrayValue": { "values": a.values.iter().map(any).collect::<Vec<_>>() } })
        }
        Some(Value::KvlistValue(l)) => {
            json!({ "kvlistValue": { "values": key_values(&l.values) } })
        }
        Some(Value::BytesValue(b)) => json!({ "bytesValue": base64(b) }),
    }
}

fn hex(bytes: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(D[usize::from(b >> 4)] as char);
        s.push(D[usize::from(b & 15)] as char);
    }
    s
}

/// `partialSuccess.rejectedLogRecords` of a JSON answer (a string or a
/// number), with its `errorMessage`.
pub(crate) fn partial_success(body: &[u8]) -> Option<(i64, String)> {
    let v: Json = serde_json::from_slice(body).ok()?;
    let p = v.get("partialSuccess")?;
    let n = match p.get("rejectedLogRecords")? {
        Json::String(s) => s.parse().ok()?,
        Json::Number(n) => n.as_i64()?,
        _ => return None,
    };
    let message = p
        .get("errorMessage")
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_owned();
    Some((n, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_follow_otlp_json_rules() {
        let r = LogRecord {
            time_unix_nano: 1_700_000_000_123_456_789,
            severity_number: 9,
            severity_text: "INFO".into(),
            body: Some(AnyValue::string("hi")),
            attributes: vec![
                KeyValue::new(
                    "n",
                    AnyValue {
                        value: Some(Value::IntValue(7)),
                    },
                ),
                KeyValue::new(
                    "nan",
                    AnyValue {
                        value: Some(Value::DoubleValue(f64::NAN)),
                    },
                ),
            ],
            trace_id: vec![0x0a, 0xf7],
            span_id: vec![0xff],
            ..LogRecord::default()
        };
        let j = record(&r);
        assert_eq!(j["timeUnixNano"], "1700000000123456789");
        assert_eq!(j["severityNumber"], 9);
        assert_eq!(j["body"], json!({"stringValue": "hi"}));
        assert_eq!(
            j["attributes"][0],
            json!({"key": "n", "value": {"intValue": "7"}})
        );
        assert_eq!(j["attributes"][1]["value"], json!({"doubleValue": "NaN"}));
        assert_eq!(j["traceId"], "0af7");
        assert_eq!(j["spanId"], "ff");
        assert_eq!(
            partial_success(br#"{"partialSuccess":{"rejectedLogRecords":"3","errorMessage":"x"}}"#),
            Some((3, "x".to_owned()))
        );
        assert_eq!(partial_success(b"{}"), None);
    }
}
