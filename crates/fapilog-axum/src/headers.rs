//! Request headers in the access log: off by default; when on, sensitive
//! ones are written as `***`: the configured list (by default
//! [`DEFAULT_REDACTED_HEADERS`]) and any header whose name names a
//! credential ([`fapilog::stages::redactors::is_credential_key`]:
//! `x-amz-security-token`, `x-goog-api-key`, `x-session-id`, …). The
//! pipeline's own redactors then see every other value too.

use std::collections::BTreeMap;

use fapilog::stages::redactors::is_credential_key;
use http::{HeaderMap, HeaderName};

/// What replaces a sensitive header's value.
pub const REDACTED: &str = "***";

/// Headers redacted by default (fapilog's list).
pub const DEFAULT_REDACTED_HEADERS: [&str; 9] = [
    "authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "x-auth-token",
    "x-csrf-token",
    "x-forwarded-authorization",
    "proxy-authorization",
    "www-authenticate",
];

/// Which request headers the access log includes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderLogging {
    /// None (the default).
    #[default]
    Off,
    /// All of them, sensitive ones redacted.
    All,
    /// Only these (sensitive ones among them still redacted).
    Allowlist(Vec<HeaderName>),
}

pub(crate) fn collect(
    headers: &HeaderMap,
    mode: &HeaderLogging,
    redacted: &[HeaderName],
) -> Option<BTreeMap<String, String>> {
    let keep = |name: &HeaderName| match mode {
        HeaderLogging::Off => false,
        HeaderLogging::All => true,
        HeaderLogging::Allowlist(list) => list.contains(name),
    };
    if *mode == HeaderLogging::Off {
        return None;
    }
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        if !keep(name) {
            continue;
        }
        let text = if redacted.contains(name) || is_credential_key(name.as_str()) {
            REDACTED
        } else {
            value.to_str().unwrap_or("<non-ascii>")
        };
        out.entry(name.as_str().to_owned())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(text);
            })
            .or_insert_with(|| text.to_owned());
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Vec<HeaderName> {
        DEFAULT_REDACTED_HEADERS
            .iter()
            .map(|h| HeaderName::from_static(h))
            .collect()
    }

    #[test]
    fn redacts_and_allowlists() {
        let mut h = HeaderMap::new();
        h.insert("authorization", "Bearer secret".parse().unwrap());
        h.insert("x-api-key", "k".parse().unwrap());
        h.insert("accept", "text/plain".parse().unwrap());
        h.insert("x-amz-security-token", "t".parse().unwrap());
        h.insert("x-goog-api-key", "g".parse().unwrap());
        h.insert("x-session-id", "s".parse().unwrap());
        assert_eq!(collect(&h, &HeaderLogging::Off, &defaults()), None);
        let all = collect(&h, &HeaderLogging::All, &defaults()).unwrap();
        for name in ["x-amz-security-token", "x-goog-api-key", "x-session-id"] {
            assert_eq!(all[name], REDACTED, "{name}");
        }
        assert_eq!(all["authorization"], REDACTED);
        assert_eq!(all["x-api-key"], REDACTED);
        assert_eq!(all["accept"], "text/plain");
        let some = collect(
            &h,
            &HeaderLogging::Allowlist(vec![
                HeaderName::from_static("accept"),
                HeaderName::from_static("authorization"),
            ]),
            &defaults(),
        )
        .unwrap();
        assert_eq!(some.len(), 2);
        assert_eq!(some["authorization"], REDACTED);
    }
}
