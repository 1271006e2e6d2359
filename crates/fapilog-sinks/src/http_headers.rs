//! Static request headers: validated once at build, secret values masked
//! wherever they could be printed. Shared by the HTTP and webhook sinks.

use std::fmt;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::config::ConfigError;

/// `true` for a header whose value is a credential (never printed).
pub(crate) fn is_secret(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "cookie"
        || [
            "auth",
            "token",
            "secret",
            "key",
            "password",
            "signature",
            "session",
        ]
        .iter()
        .any(|s| n.contains(s))
}

/// Validates `(name, value)` pairs into a header map; an error names the
/// option `{key}.{name}` and the value (masked when it is a secret).
pub(crate) fn validate(key: &str, pairs: &[(String, String)]) -> Result<HeaderMap, ConfigError> {
    let mut map = HeaderMap::with_capacity(pairs.len());
    for (name, value) in pairs {
        let n = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            ConfigError::invalid(
                key,
                name,
                "a header name (letters, digits and !#$%&'*+-.^_`|~)",
            )
        })?;
        let full = format!("{key}.{name}");
        let mut v = HeaderValue::from_str(value).map_err(|_| {
            let shown = if is_secret(name) {
                "***"
            } else {
                value.as_str()
            };
            ConfigError::invalid(&full, shown, "a header value (visible ASCII, no newline)")
        })?;
        if is_secret(name) {
            v.set_sensitive(true);
        }
        map.append(n, v);
    }
    Ok(map)
}

/// The pairs of a JSON object of headers (`{"X-Team": "core"}`), values as
/// text; an error names `key` and masks the object (it may hold tokens).
pub(crate) fn from_json(
    key: &str,
    value: &serde_json::Value,
) -> Result<Vec<(String, String)>, ConfigError> {
    let Some(obj) = value.as_object() else {
        return Err(ConfigError::invalid(
            key,
            "***",
            "a JSON object of header names to values",
        ));
    };
    Ok(obj
        .iter()
        .map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .collect())
}

/// Headers for `Debug`: names with values, secrets as `***`.
pub(crate) struct Shown<'a>(pub(crate) &'a HeaderMap);

/// Builder headers (name, value) for `Debug`, credential values masked.
pub(crate) struct ShownPairs<'a>(pub(crate) &'a [(String, String)]);

impl fmt::Debug for ShownPairs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (n, v) in self.0 {
            m.entry(n, if is_secret(n) { &"***" } else { v });
        }
        m.finish()
    }
}

impl fmt::Debug for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (n, v) in self.0 {
            if v.is_sensitive() || is_secret(n.as_str()) {
                m.entry(&n.as_str(), &"***");
            } else {
                m.entry(&n.as_str(), &v.to_str().unwrap_or("<binary>"));
            }
        }
        m.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_names_and_values_are_named_and_secrets_masked() {
        let e = validate("headers", &[("bad name".into(), "x".into())]).unwrap_err();
        assert!(e.to_string().contains("bad name"), "{e}");
        let e = validate("headers", &[("X-Team".into(), "a\nb".into())]).unwrap_err();
        assert!(e.to_string().contains("headers.X-Team"), "{e}");
        let e = validate("headers", &[("X-Api-Key".into(), "hunter2\n".into())]).unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        let map = validate(
            "headers",
            &[
                ("Authorization".into(), "Bearer hunter2".into()),
                ("X-Team".into(), "core".into()),
            ],
        )
        .unwrap();
        let shown = format!("{:?}", Shown(&map));
        assert!(
            !shown.contains("hunter2") && shown.contains("core"),
            "{shown}"
        );
    }
}
