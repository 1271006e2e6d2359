//! Stream labels: the static labels plus the chosen low-cardinality fields
//! of each line, validated when the sink is built and sanitized per line
//! like fapilog does.

use std::collections::BTreeMap;

use fapilog::Level;

use crate::config::ConfigError;

/// Fields that make one stream per event (Loki's "maximum active stream
/// limit exceeded"): refused as label keys.
pub(crate) const HIGH_CARDINALITY: &[&str] = &[
    "message_id",
    "trace_id",
    "span_id",
    "request_id",
    "correlation_id",
    "user_id",
    "timestamp",
    "message",
];

/// Loki's limit of label names per stream.
pub(crate) const MAX_LABEL_NAMES: usize = 15;

/// A label set: sorted names and values, and its rendering
/// `{a="b", c="d"}` as Loki's protobuf push wants it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Stream {
    /// `{a="b", c="d"}`.
    pub(crate) rendered: String,
    /// The pairs, sorted by name.
    pub(crate) pairs: Vec<(String, String)>,
}

/// Which labels each line's stream gets.
#[derive(Clone, Debug)]
pub(crate) struct LabelSpec {
    statics: BTreeMap<String, String>,
    keys: Vec<String>,
    /// A key other than `level` is set, so lines are parsed for it.
    parse: bool,
}

impl LabelSpec {
    /// Validates `statics` and `keys` (names, values, cardinality, count).
    pub(crate) fn new(
        statics: &BTreeMap<String, String>,
        keys: &[String],
    ) -> Result<LabelSpec, ConfigError> {
        for (name, value) in statics {
            check_name("labels", name)?;
            if value.is_empty() || value.len() > 2048 {
                return Err(ConfigError::invalid(
                    &format!("labels.{name}"),
                    value,
                    "a label value of 1 to 2048 bytes",
                ));
            }
        }
        let mut seen: Vec<&str> = Vec::new();
        for key in keys {
            check_name("label_keys", key)?;
            if HIGH_CARDINALITY.contains(&key.as_str()) {
                return Err(ConfigError::invalid(
                    "label_keys",
                    key,
                    "a low-cardinality field: a label with one value per event \
                     (message_id, trace_id, span_id, request_id, correlation_id, user_id, \
                     timestamp, message) makes one Loki stream per event; leave it in the line",
                ));
            }
            if seen.contains(&key.as_str()) {
                return Err(ConfigError::invalid("label_keys", key, "each key once"));
            }
            seen.push(key);
        }
        let names = statics
            .keys()
            .map(String::as_str)
            .chain(
                keys.iter()
                    .map(String::as_str)
                    .filter(|k| !statics.contains_key(*k)),
            )
            .count();
        if names > MAX_LABEL_NAMES {
            return Err(ConfigError::invalid(
                "label_keys",
                &keys.join(","),
                &format!(
                    "at most {MAX_LABEL_NAMES} label names with the static labels (Loki's limit)"
                ),
            ));
        }
        if statics.is_empty() && !keys.iter().any(|k| k == "level") {
            return Err(ConfigError::invalid(
                "labels",
                "{}",
                "at least one static label, or `level` among label_keys (Loki refuses a stream without labels)",
            ));
        }
        Ok(LabelSpec {
            statics: statics.clone(),
            keys: keys.to_vec(),
            parse: keys.iter().any(|k| k != "level"),
        })
    }

    /// The stream of one line: the static labels, then the keys found in
    /// the line (a key overrides a static label of the same name).
    pub(crate) fn stream_of(&self, level: Level, line: &[u8]) -> Stream {
        let parsed: Option<serde_json::Value> = if self.parse {
            serde_json::from_slice(line).ok()
        } else {
            None
        };
        let mut pairs: BTreeMap<&str, String> = self
            .statics
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        for key in &self.keys {
            let value = if key == "level" && level != Level::TRACE {
                Some(level.name().to_owned())
            } else if key == "level" {
                // TRACE is written DEBUG unless configured: the line says which.
                serde_json::from_slice::<serde_json::Value>(line)
                    .ok()
                    .and_then(|v| field(&v, key))
                    .or_else(|| Some(level.name().to_owned()))
            } else {
                parsed.as_ref().and_then(|v| field(v, key))
            };
            if let Some(v) = value {
                pairs.insert(key, sanitize_value(&v));
            }
        }
        let pairs: Vec<(String, String)> =
            pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        Stream {
            rendered: render(&pairs),
            pairs,
        }
    }
}

/// `key` in an event: the entry's own field, else in its `context`,
/// `diagnostics` or `data`; a string, number or boolean, as text.
fn field(event: &serde_json::Value, key: &str) -> Option<String> {
    let entry = event
        .get("log")
        .filter(|_| event.get("schema_version").is_some())
        .unwrap_or(event);
    let found = entry.get(key).or_else(|| {
        ["context", "diagnostics", "data"]
            .iter()
            .find_map(|g| entry.get(*g).and_then(|o| o.get(key)))
    })?;
    match found {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Checks a label name: `[a-zA-Z_][a-zA-Z0-9_]*`, no `__` prefix (reserved), ≤ 1024 bytes.
pub(crate) fn check_name(key: &str, name: &str) -> Result<(), ConfigError> {
    let mut chars = name.chars();
    let valid = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__")
        && name.len() <= 1024;
    if valid {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            key,
            name,
            "a Loki label name: [a-zA-Z_][a-zA-Z0-9_]*, not starting with `__` (reserved)",
        ))
    }
}

/// fapilog's sanitizing of a label value: `[^a-zA-Z0-9_-]` → `_`, at most 128 characters.
pub(crate) fn sanitize_value(value: &str) -> String {
    value
        .chars()
        .take(128)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `{a="b", c="d"}` with `\`, `"` and newlines escaped in the values.
fn render(pairs: &[(String, String)]) -> String {
    let mut out = String::with_capacity(
        2 + pairs
            .iter()
            .map(|(k, v)| k.len() + v.len() + 5)
            .sum::<usize>(),
    );
    out.push('{');
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(k);
        out.push_str("=\"");
        for c in v.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statics(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn values_are_sanitized_like_fapilog() {
        assert_eq!(sanitize_value("GET /a.b"), "GET__a_b");
        assert_eq!(sanitize_value("ok-1_x"), "ok-1_x");
        assert_eq!(sanitize_value(&"é".repeat(200)).chars().count(), 128);
    }

    #[test]
    fn names_follow_loki_s_rules() {
        for ok in ["level", "_x", "a1_b"] {
            assert!(check_name("k", ok).is_ok(), "{ok}");
        }
        for bad in ["", "1a", "http.status", "__name", "a-b"] {
            let e = check_name("label_keys", bad).unwrap_err().to_string();
            assert!(
                e.contains("label_keys") && e.contains(&format!("{bad:?}")),
                "{e}"
            );
        }
    }

    #[test]
    fn high_cardinality_keys_and_too_many_names_are_refused() {
        let s = statics(&[("service", "api")]);
        let e = LabelSpec::new(&s, &["trace_id".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("trace_id") && e.contains("cardinality"), "{e}");
        let keys: Vec<String> = (0..15).map(|i| format!("k{i}")).collect();
        let e = LabelSpec::new(&s, &keys).unwrap_err().to_string();
        assert!(e.contains("at most 15"), "{e}");
        assert!(LabelSpec::new(&BTreeMap::new(), &["logger".into()]).is_err());
    }

    #[test]
    fn a_stream_merges_static_labels_and_the_line_s_fields_sorted() {
        let spec = LabelSpec::new(
            &statics(&[("service", "api"), ("env", "a \"b\"")]),
            &["level".into(), "logger".into(), "region".into()],
        )
        .unwrap();
        let line = br#"{"schema_version":"1.1","log":{"level":"INFO","logger":"app.db","data":{"region":"eu west"}}}"#;
        let s = spec.stream_of(Level::INFO, line);
        assert_eq!(
            s.rendered,
            r#"{env="a \"b\"", level="INFO", logger="app_db", region="eu_west", service="api"}"#
        );
        let s = spec.stream_of(Level::ERROR, br#"{"level":"ERROR"}"#);
        assert_eq!(
            s.rendered,
            r#"{env="a \"b\"", level="ERROR", service="api"}"#
        );
        // TRACE is labelled as the line names it (DEBUG by default).
        let s = spec.stream_of(Level::TRACE, br#"{"level":"DEBUG"}"#);
        assert_eq!(s.pairs[1], ("level".to_owned(), "DEBUG".to_owned()));
    }
}
