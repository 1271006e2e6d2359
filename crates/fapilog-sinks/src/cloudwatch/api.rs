//! The CloudWatch Logs JSON 1.1 API: a signed `POST /`, and what its
//! answers mean.

use std::time::{Duration, SystemTime};

use fapilog::SinkError;

use super::credentials::AwsCredentials;
use super::sigv4;
use crate::config::ConfigError;
use crate::http_client::{self, excerpt, RetryOn};

/// `X-Amz-Target` of the calls the sink makes.
pub(crate) const PUT_LOG_EVENTS: &str = "Logs_20140328.PutLogEvents";
pub(crate) const CREATE_LOG_GROUP: &str = "Logs_20140328.CreateLogGroup";
pub(crate) const CREATE_LOG_STREAM: &str = "Logs_20140328.CreateLogStream";
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// A signing HTTP client for one endpoint and region.
pub(crate) struct Client {
    http: reqwest::Client,
    url: reqwest::Url,
    /// The `Host` header as reqwest sends it (port only when not the default).
    host: String,
    region: String,
    credentials: AwsCredentials,
}

/// An answer of the service.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    /// The error's type without its namespace (`ThrottlingException`).
    pub(crate) error: Option<String>,
    pub(crate) retry_after: Option<String>,
    pub(crate) body: Vec<u8>,
}

impl Client {
    pub(crate) fn new(
        url: reqwest::Url,
        region: String,
        credentials: AwsCredentials,
        timeout: Duration,
        ca_file: Option<&std::path::Path>,
    ) -> Result<Client, ConfigError> {
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => String::new(),
        };
        Ok(Client {
            http: http_client::client(timeout, ca_file)?,
            url,
            host,
            region,
            credentials,
        })
    }

    pub(crate) fn url(&self) -> &reqwest::Url {
        &self.url
    }

    pub(crate) fn region(&self) -> &str {
        &self.region
    }

    pub(crate) fn credentials(&self) -> &AwsCredentials {
        &self.credentials
    }

    /// Calls `target` with `body`, signed now. `Err` only when no answer came.
    pub(crate) async fn call(&self, target: &str, body: &[u8]) -> Result<Reply, SinkError> {
        let amz_date = sigv4::amz_date(SystemTime::now());
        let payload_hash = sigv4::sha256_hex(body);
        let mut headers: Vec<(&str, &str)> = vec![
            ("content-type", CONTENT_TYPE),
            ("host", &self.host),
            ("x-amz-date", &amz_date),
            ("x-amz-target", target),
        ];
        if let Some(token) = &self.credentials.session_token {
            headers.push(("x-amz-security-token", token));
        }
        let authorization = sigv4::authorization(
            &sigv4::Scope {
                access_key_id: &self.credentials.access_key_id,
                secret_access_key: &self.credentials.secret_access_key,
                region: &self.region,
                service: "logs",
                amz_date: &amz_date,
            },
            &sigv4::Signable {
                method: "POST",
                path: "/",
                query: "",
                headers: &headers,
                payload_hash: &payload_hash,
            },
        );
        let mut req = self
            .http
            .post(self.url.clone())
            .header("authorization", authorization);
        for (k, v) in headers.iter().filter(|(k, _)| *k != "host") {
            req = req.header(*k, *v);
        }
        let resp = req
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| http_client::transport_error(&e))?;
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let retry_after = header("retry-after");
        let error_header = header("x-amzn-errortype");
        let body = resp
            .bytes()
            .await
            .map_err(|e| http_client::transport_error(&e))?
            .to_vec();
        let error = if (200..300).contains(&status) {
            None
        } else {
            error_type(error_header.as_deref(), &body)
        };
        Ok(Reply {
            status,
            error,
            retry_after,
            body,
        })
    }
}

/// The error's short type from `x-amzn-ErrorType` or the body's `__type`
/// (`com.amazonaws.logs#ThrottlingException` → `ThrottlingException`).
fn error_type(header: Option<&str>, body: &[u8]) -> Option<String> {
    let raw = match header {
        Some(h) => h.to_owned(),
        None => serde_json::from_slice::<serde_json::Value>(body)
            .ok()?
            .get("__type")?
            .as_str()?
            .to_owned(),
    };
    let short = raw.rsplit('#').next().unwrap_or(&raw);
    let short = short.split(':').next().unwrap_or(short);
    Some(short.to_owned())
}

impl Reply {
    pub(crate) fn is_ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The error named `kind`?
    pub(crate) fn is(&self, kind: &str) -> bool {
        self.error.as_deref() == Some(kind)
    }

    /// A failed answer as a sink error: throttling, unavailability and 5xx
    /// are retried (honouring `Retry-After`), the rest is refused.
    pub(crate) fn into_error(self, call: &str) -> SinkError {
        let what = self.error.as_deref().unwrap_or("error");
        let message = format!(
            "CloudWatch Logs {call}: HTTP {} {what}{}",
            self.status,
            excerpt(&self.body)
        );
        let retryable = matches!(
            what,
            "ThrottlingException"
                | "ServiceUnavailableException"
                | "ServiceUnavailable"
                | "RequestExpired"
                | "RequestTimeout"
                | "RequestTimeoutException"
                | "InternalFailure"
        );
        let status = if retryable && self.status < 500 {
            503
        } else {
            self.status
        };
        match http_client::classify(status, self.retry_after.as_deref(), b"", RetryOn::Generic) {
            Ok(()) => SinkError::transient(message),
            Err(SinkError::Transient { after, .. }) => match after {
                Some(after) => SinkError::retry_after(message, after),
                None => SinkError::transient(message),
            },
            Err(_) => SinkError::Rejected(message),
        }
    }
}

/// The events of a delivered `PutLogEvents` that the service refused, as
/// indices into the call's events (`rejectedLogEventsInfo`): from
/// `tooNewLogEventStartIndex` on, and before `tooOldLogEventEndIndex` or
/// `expiredLogEventEndIndex` (exclusive ends, as the API reference says).
pub(crate) fn rejected_events(body: &[u8], events: usize) -> Vec<usize> {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Vec::new();
    };
    let Some(info) = v.get("rejectedLogEventsInfo") else {
        return Vec::new();
    };
    let index = |k: &str| {
        info.get(k)
            .and_then(serde_json::Value::as_u64)
            .map(|i| (i as usize).min(events))
    };
    let mut refused = vec![false; events];
    if let Some(start) = index("tooNewLogEventStartIndex") {
        refused[start..].iter_mut().for_each(|r| *r = true);
    }
    for k in ["tooOldLogEventEndIndex", "expiredLogEventEndIndex"] {
        if let Some(end) = index(k) {
            refused[..end].iter_mut().for_each(|r| *r = true);
        }
    }
    refused
        .iter()
        .enumerate()
        .filter(|(_, r)| **r)
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, kind: &str) -> Reply {
        Reply {
            status,
            error: error_type(
                None,
                format!("{{\"__type\":\"{kind}\",\"message\":\"m\"}}").as_bytes(),
            ),
            retry_after: None,
            body: Vec::new(),
        }
    }

    #[test]
    fn error_types_are_read_from_the_header_or_the_body() {
        assert_eq!(
            error_type(Some("ThrottlingException:http://internal.amazon.com/"), b"").as_deref(),
            Some("ThrottlingException")
        );
        assert_eq!(
            error_type(
                None,
                br#"{"__type":"com.amazonaws.logs#ResourceNotFoundException"}"#
            )
            .as_deref(),
            Some("ResourceNotFoundException")
        );
        assert_eq!(error_type(None, b"<html>"), None);
    }

    #[test]
    fn throttling_unavailability_and_5xx_retry_the_rest_is_refused() {
        for (status, kind) in [
            (400, "ThrottlingException"),
            (503, "ServiceUnavailableException"),
            (500, "InternalFailure"),
            (502, "whatever"),
        ] {
            assert!(
                reply(status, kind).into_error("put").is_retryable(),
                "{kind}"
            );
        }
        for (status, kind) in [
            (400, "InvalidParameterException"),
            (400, "UnrecognizedClientException"),
            (403, "AccessDeniedException"),
            (413, "whatever"),
        ] {
            let e = reply(status, kind).into_error("put");
            assert!(
                matches!(e, SinkError::Rejected(ref m) if m.contains(kind)),
                "{e:?}"
            );
        }
        let mut r = reply(400, "ThrottlingException");
        r.retry_after = Some("4".into());
        match r.into_error("put") {
            SinkError::Transient { after, .. } => assert_eq!(after, Some(Duration::from_secs(4))),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn retry_after_as_an_http_date_is_honoured() {
        let when = SystemTime::now() + Duration::from_secs(120);
        let mut r = reply(503, "ServiceUnavailableException");
        r.retry_after = Some(httpdate::fmt_http_date(when));
        match r.into_error("put") {
            SinkError::Transient {
                after: Some(after), ..
            } => {
                assert!(after > Duration::from_secs(100) && after <= Duration::from_secs(120));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rejected_log_events_info_names_the_refused_events() {
        let body = br#"{"nextSequenceToken":"x","rejectedLogEventsInfo":{"tooNewLogEventStartIndex":8,"tooOldLogEventEndIndex":2}}"#;
        assert_eq!(rejected_events(body, 10), [0, 1, 8, 9]);
        let body = br#"{"rejectedLogEventsInfo":{"expiredLogEventEndIndex":3}}"#;
        assert_eq!(rejected_events(body, 5), [0, 1, 2]);
        assert!(rejected_events(br#"{"nextSequenceToken":"x"}"#, 5).is_empty());
        assert!(rejected_events(b"", 5).is_empty());
        // Out-of-range indices are clamped, never a panic.
        assert_eq!(
            rejected_events(br#"{"rejectedLogEventsInfo":{"tooNewLogEventStartIndex":99,"tooOldLogEventEndIndex":99}}"#, 2),
            [0, 1]
        );
    }
}
