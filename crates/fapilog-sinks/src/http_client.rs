//! What the HTTP-based sinks share: one rustls client per sink, auth,
//! compression, and the classification of an answer into delivered,
//! retry (honouring `Retry-After`) or refused.

use std::fmt;
use std::time::{Duration, SystemTime};

use fapilog::SinkError;

use crate::config::ConfigError;

/// How a request authenticates. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Auth {
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// `Authorization: Basic base64(user:password)`.
    Basic {
        /// The user name.
        user: String,
        /// The password.
        password: String,
    },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Bearer(_) => f.write_str("Bearer(***)"),
            Auth::Basic { user, .. } => write!(f, "Basic {{ user: {user:?}, password: *** }}"),
        }
    }
}

impl Auth {
    /// The `Authorization` header's value.
    pub(crate) fn header_value(&self) -> String {
        match self {
            Auth::Bearer(t) => format!("Bearer {t}"),
            Auth::Basic { user, password } => {
                format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))
            }
        }
    }
}

/// Standard base64 with padding (basic auth, OTLP/JSON bytes).
pub(crate) fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Compression of request bodies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compression {
    /// Sent as is.
    #[default]
    None,
    /// `Content-Encoding: gzip`.
    Gzip,
}

impl Compression {
    /// `body` compressed (gzip at level 6).
    pub(crate) fn apply(self, body: Vec<u8>) -> Vec<u8> {
        match self {
            Compression::None => body,
            Compression::Gzip => {
                use std::io::Write;
                let mut e = flate2::write::GzEncoder::new(
                    Vec::with_capacity(body.len() / 4 + 64),
                    flate2::Compression::new(6),
                );
                // Writing to a Vec cannot fail.
                let _ = e.write_all(&body);
                e.finish().unwrap_or(body)
            }
        }
    }

    /// The `Content-Encoding` header's value, if any.
    pub(crate) fn content_encoding(self) -> Option<&'static str> {
        match self {
            Compression::None => None,
            Compression::Gzip => Some("gzip"),
        }
    }
}

/// Which statuses a destination wants retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RetryOn {
    /// 408, 429 and 5xx except 501 (Vector's rule: generic HTTP, Loki, CloudWatch).
    Generic,
    /// Only 429, 502, 503 and 504 (the OTLP specification).
    Otlp,
}

/// Classifies an answer: `Ok` for 2xx, else transient (with `Retry-After`)
/// or rejected. `body` is a short excerpt for the message.
pub(crate) fn classify(
    status: u16,
    retry_after: Option<&str>,
    body: &[u8],
    retry_on: RetryOn,
) -> Result<(), SinkError> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    let retryable = match retry_on {
        RetryOn::Generic => status == 408 || status == 429 || (status >= 500 && status != 501),
        RetryOn::Otlp => matches!(status, 429 | 502 | 503 | 504),
    };
    let message = format!("HTTP {status}{}", excerpt(body));
    if !retryable {
        return Err(SinkError::Rejected(message));
    }
    match retry_after.and_then(|v| parse_retry_after(v, SystemTime::now())) {
        Some(after) => Err(SinkError::retry_after(message, after)),
        None => Err(SinkError::transient(message)),
    }
}

/// `": <first 200 bytes of the body>"`, or nothing for an empty body.
pub(crate) fn excerpt(body: &[u8]) -> String {
    if body.is_empty() {
        return String::new();
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    format!(": {}", text.trim())
}

/// `Retry-After` as delay-seconds or an HTTP-date (RFC 9110 §10.2.3); a
/// date in the past is zero. `None` when it is neither.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A transient error for a request that got no answer (connection refused,
/// reset, timeout). The message never includes the URL's credentials.
pub(crate) fn transport_error(e: &reqwest::Error) -> SinkError {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        SinkError::transient(what)
    } else {
        SinkError::transient(format!("{what}: {detail}"))
    }
}

/// A client with rustls (ring provider; Mozilla's roots, or only the CA
/// certificates of `ca_file`), no proxy from the environment, and
/// `timeout` per request.
pub(crate) fn client(
    timeout: Duration,
    ca_file: Option<&std::path::Path>,
) -> Result<reqwest::Client, ConfigError> {
    let tls = crate::tls::client_config(ca_file)?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .pool_max_idle_per_host(2)
        .no_proxy()
        .build()
        .map_err(|e| ConfigError::Setup(format!("HTTP client: {e}")))
}

/// Checks the HTTP and webhook sinks' `line_format`: each event is a JSON
/// object, the envelope ([`fapilog::Format::Json`]) or its `log` object
/// ([`fapilog::Format::Flat`]).
pub(crate) fn json_lines(format: fapilog::Format) -> Result<(), ConfigError> {
    if matches!(format, fapilog::Format::Json | fapilog::Format::Flat) {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            "line_format",
            &format!("{format:?}"),
            "Format::Json or Format::Flat (JSON lines)",
        ))
    }
}

/// Parses `url` as an `http` or `https` URL, naming `key` when it is not one.
pub(crate) fn parse_url(key: &str, url: &str) -> Result<reqwest::Url, ConfigError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| ConfigError::invalid(key, url, &format!("an http(s) URL ({e})")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(ConfigError::invalid(
            key,
            url,
            "an http:// or https:// URL with a host",
        ));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_and_http_dates() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[test]
    fn statuses_are_classified_per_destination() {
        assert!(classify(204, None, b"", RetryOn::Generic).is_ok());
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(
                classify(s, None, b"", RetryOn::Generic)
                    .unwrap_err()
                    .is_retryable(),
                "{s}"
            );
        }
        for s in [400, 401, 403, 404, 413, 501] {
            assert!(
                !classify(s, None, b"", RetryOn::Generic)
                    .unwrap_err()
                    .is_retryable(),
                "{s}"
            );
        }
        for s in [408, 500, 501] {
            assert!(
                !classify(s, None, b"", RetryOn::Otlp)
                    .unwrap_err()
                    .is_retryable(),
                "{s}"
            );
        }
        match classify(429, Some("7"), b"slow down", RetryOn::Otlp) {
            Err(SinkError::Transient { after, message }) => {
                assert_eq!(after, Some(Duration::from_secs(7)));
                assert!(message.contains("429") && message.contains("slow down"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn basic_auth_is_base64_and_debug_hides_secrets() {
        assert_eq!(
            base64(b"Aladdin:open sesame"),
            "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        let a = Auth::Basic {
            user: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{a:?}").contains("hunter2"));
        assert!(!format!("{:?}", Auth::Bearer("tok".into())).contains("tok"));
    }
}
