//! The webhook sink: events POSTed as JSON and signed the way fapilog's
//! `webhook` sink signs them, so a receiver written for fapilog verifies
//! ours: `X-Fapilog-Timestamp: <unix seconds>` and
//! `X-Fapilog-Signature-256: sha256=<hex HMAC-SHA256 over "{ts}.{body}">`.
//!
//! The body is the envelope exactly as encoded (compact UTF-8 JSON), and
//! the signature covers those very bytes, so non-ASCII text verifies
//! (fapilog signs an ASCII-escaped re-serialisation and fails there). With
//! `batch_size` 1 (fapilog's default) each event is its own request and the
//! body is the single object; above 1 it is a JSON array. A retry sends the
//! same bytes, signed again with a fresh timestamp.
//!
//! ```no_run
//! use fapilog::Pipeline;
//! use fapilog_sinks::WebhookSink;
//!
//! let sink = WebhookSink::builder("https://hooks.example.com/logs")
//!     .secret("whsec-from-your-vault")
//!     .batch_size(50)
//!     .build()?;
//! let pipeline = Pipeline::builder().sink(sink).build()?;
//! fapilog::error!(pipeline.logger("billing"), "card declined");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod sign;

use crate::http_headers as headers;

use std::fmt;
use std::time::{Duration, SystemTime};

use fapilog::sinks::SinkOptions;
use fapilog::{Batch, Format, Settings, SinkError};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};

use crate::adapter::{Adapter, AsyncSink, Encoded, Request};
use crate::config::{mask_url_password, ConfigError, SinkSettings};
use crate::factory::Opened;
use crate::http_client::{self, RetryOn};
use sign::Secret;

/// How requests prove they come from the holder of the secret.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureMode {
    /// fapilog's default: `X-Fapilog-Signature-256` (HMAC-SHA256 over
    /// `"{ts}.{body}"`) and `X-Fapilog-Timestamp`.
    #[default]
    Hmac,
    /// Deprecated in fapilog: the secret itself in `X-Webhook-Secret`.
    /// Anyone who sees one request can forge others; prefer [`Hmac`](Self::Hmac).
    Header,
}

/// How old a signed request a receiver should still accept (fapilog's
/// `replay_tolerance_seconds`, 300 s): reject older timestamps as replays.
pub const WEBHOOK_REPLAY_TOLERANCE: Duration = Duration::from_secs(300);

/// Sends events to a webhook, signed. Build one with
/// [`WebhookSink::builder`]; add the [`Adapter`] it returns to a pipeline.
pub struct WebhookSink {
    name: String,
    line_format: Format,
    url: reqwest::Url,
    secret: Option<Secret>,
    mode: SignatureMode,
    headers: HeaderMap,
    batch_size: usize,
    max_bytes: usize,
    timeout: Duration,
    client: reqwest::Client,
}

impl WebhookSink {
    /// A builder for a sink posting to `endpoint` (`http://` or `https://`).
    pub fn builder(endpoint: impl Into<String>) -> WebhookSinkBuilder {
        WebhookSinkBuilder {
            endpoint: endpoint.into(),
            line_format: Format::Json,
            name: "webhook".to_owned(),
            secret: None,
            mode: SignatureMode::Hmac,
            headers: Vec::new(),
            batch_size: 1,
            max_bytes: 1 << 20,
            timeout: Duration::from_secs(5),
            ca_file: None,
            keys: Keys::BUILDER,
        }
    }
}

impl fmt::Debug for WebhookSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSink")
            .field("name", &self.name)
            .field("line_format", &self.line_format)
            .field("url", &mask_url_password(self.url.as_str()))
            .field("secret", &self.secret)
            .field("mode", &self.mode)
            .field("headers", &headers::Shown(&self.headers))
            .field("batch_size", &self.batch_size)
            .field("max_bytes", &self.max_bytes)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The option names an error reports: the builder's or fapilog's settings.
#[derive(Clone, Copy, Debug)]
struct Keys {
    endpoint: &'static str,
    headers: &'static str,
    batch_size: &'static str,
    timeout: &'static str,
}

impl Keys {
    const BUILDER: Keys = Keys {
        endpoint: "endpoint",
        headers: "headers",
        batch_size: "batch_size",
        timeout: "timeout",
    };
    const SETTINGS: Keys = Keys {
        endpoint: "sink_config.webhook.endpoint",
        headers: "sink_config.webhook.headers",
        batch_size: "sink_config.webhook.batch_size",
        timeout: "sink_config.webhook.timeout_seconds",
    };
}

/// Options of a [`WebhookSink`]; [`build`](WebhookSinkBuilder::build)
/// checks them.
#[must_use]
#[derive(Clone)]
pub struct WebhookSinkBuilder {
    endpoint: String,
    name: String,
    line_format: Format,
    secret: Option<Secret>,
    mode: SignatureMode,
    headers: Vec<(String, String)>,
    batch_size: usize,
    max_bytes: usize,
    timeout: Duration,
    ca_file: Option<std::path::PathBuf>,
    keys: Keys,
}

impl fmt::Debug for WebhookSinkBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSinkBuilder")
            .field("endpoint", &mask_url_password(&self.endpoint))
            .field("name", &self.name)
            .field("line_format", &self.line_format)
            .field("secret", &self.secret)
            .field("mode", &self.mode)
            .field("headers", &headers::ShownPairs(&self.headers))
            .field("batch_size", &self.batch_size)
            .field("max_bytes", &self.max_bytes)
            .field("timeout", &self.timeout)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

impl WebhookSinkBuilder {
    /// The sink's name in metrics and diagnostics (default `"webhook"`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// What each event is: [`Format::Json`], the v1.1 envelope
    /// `{"schema_version":"1.1","log":{…}}` (default), or [`Format::Flat`],
    /// the inner `log` object alone, as fapilog's sinks post it.
    pub fn line_format(mut self, format: Format) -> Self {
        self.line_format = format;
        self
    }

    /// The shared secret that signs each request. Without one, requests
    /// are sent unsigned (as fapilog does).
    pub fn secret(mut self, secret: impl Into<String>) -> Self {
        self.secret = Some(Secret(secret.into()));
        self
    }

    /// How the secret is used (default [`SignatureMode::Hmac`]).
    pub fn signature_mode(mut self, mode: SignatureMode) -> Self {
        self.mode = mode;
        self
    }

    /// Adds a static header sent with every request. Values of headers
    /// that look like credentials are never printed.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Events per request (default 1, as fapilog): 1 sends each event as
    /// the single JSON object; above 1, a JSON array of up to this many.
    pub fn batch_size(mut self, events: usize) -> Self {
        self.batch_size = events;
        self
    }

    /// Largest body in bytes (default 1 MiB); an event larger than this is
    /// refused and diverted, counted.
    pub fn max_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// Trusts only the CA certificates of this PEM file (a private CA)
    /// instead of Mozilla's roots, for an `https` endpoint. Read at
    /// `build`: a missing file, or one without a PEM certificate, is an
    /// error naming `ca_file` and the path.
    pub fn ca_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Longest one request may take before it is retried (default 5 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn keys(mut self, keys: Keys) -> Self {
        self.keys = keys;
        self
    }

    /// Checks every option and builds the sink. Connects lazily: an
    /// endpoint that is down now is retried by the driver, not an error.
    ///
    /// ```
    /// use fapilog_sinks::{SignatureMode, WebhookSink};
    ///
    /// let sink = WebhookSink::builder("http://127.0.0.1:9/hook").secret("s3cret").build();
    /// assert!(sink.is_ok());
    /// let err = WebhookSink::builder("http://127.0.0.1:9/hook")
    ///     .signature_mode(SignatureMode::Header)
    ///     .build()
    ///     .err()
    ///     .unwrap();
    /// assert!(err.to_string().contains("secret"), "{err}");
    /// ```
    pub fn build(self) -> Result<Adapter<WebhookSink>, ConfigError> {
        let k = self.keys;
        let url = http_client::parse_url(k.endpoint, &self.endpoint)?;
        http_client::json_lines(self.line_format)?;
        if self.batch_size == 0 {
            return Err(ConfigError::invalid(k.batch_size, "0", "at least 1"));
        }
        if self.timeout.is_zero() {
            return Err(ConfigError::invalid(k.timeout, "0", "a timeout above zero"));
        }
        if self.max_bytes < 16 {
            return Err(ConfigError::invalid(
                "max_bytes",
                &self.max_bytes.to_string(),
                "room for at least one event",
            ));
        }
        if self.mode == SignatureMode::Header && self.secret.is_none() {
            return Err(ConfigError::missing(
                "secret",
                "signature_mode = header sends the secret",
            ));
        }
        if let Some(s) = &self.secret {
            if HeaderValue::from_str(&s.0).is_err() && self.mode == SignatureMode::Header {
                return Err(ConfigError::invalid(
                    "secret",
                    "***",
                    "visible ASCII (it is sent in a header)",
                ));
            }
        }
        let mut headers = headers::validate(k.headers, &self.headers)?;
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let client = http_client::client(self.timeout, self.ca_file.as_deref())?;
        Ok(Adapter::new(WebhookSink {
            name: self.name,
            line_format: self.line_format,
            url,
            secret: self.secret,
            mode: self.mode,
            headers,
            batch_size: self.batch_size,
            max_bytes: self.max_bytes,
            timeout: self.timeout,
            client,
        }))
    }
}

impl WebhookSink {
    /// The headers of one attempt: the static ones plus the signature over
    /// `body` at `ts`.
    fn signed_headers(&self, ts: u64, body: &[u8]) -> HeaderMap {
        let mut h = self.headers.clone();
        let Some(secret) = &self.secret else {
            return h;
        };
        match self.mode {
            SignatureMode::Hmac => {
                h.insert(
                    HeaderName::from_static(sign::TIMESTAMP),
                    HeaderValue::from(ts),
                );
                if let Ok(v) = HeaderValue::from_str(&sign::signature(secret, ts, body)) {
                    h.insert(HeaderName::from_static(sign::SIGNATURE), v);
                }
            }
            SignatureMode::Header => {
                if let Ok(mut v) = HeaderValue::from_str(&secret.0) {
                    v.set_sensitive(true);
                    h.insert(HeaderName::from_static(sign::LEGACY_SECRET), v);
                }
            }
        }
        h
    }
}

impl AsyncSink for WebhookSink {
    type Body = Vec<u8>;

    fn name(&self) -> &str {
        &self.name
    }

    fn format(&self) -> Format {
        self.line_format
    }

    fn timeout(&self) -> Duration {
        self.timeout + Duration::from_secs(1)
    }

    fn encode(&mut self, batch: &Batch) -> Result<Encoded<Vec<u8>>, SinkError> {
        Ok(encode(batch, self.batch_size, self.max_bytes))
    }

    async fn send(&mut self, request: &Request<Vec<u8>>) -> Result<(), SinkError> {
        // Signed at send time: a retry carries a fresh timestamp, same bytes.
        let ts = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let headers = self.signed_headers(ts, &request.body);
        let response = self
            .client
            .post(self.url.clone())
            .headers(headers)
            .body(request.body.clone())
            .send()
            .await
            .map_err(|e| http_client::transport_error(&e))?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = response.bytes().await.unwrap_or_default();
        http_client::classify(status, retry_after.as_deref(), &text, RetryOn::Generic)
    }
}

/// One request per event (the object itself) when `batch_size` is 1, else
/// JSON arrays of up to `batch_size` events and `max_bytes` bytes.
fn encode(batch: &Batch, batch_size: usize, max_bytes: usize) -> Encoded<Vec<u8>> {
    let mut out = Encoded::new();
    let mut body: Vec<u8> = Vec::new();
    let mut lines: Vec<usize> = Vec::new();
    let framing = if batch_size <= 1 { 0 } else { 2 };
    for (i, line) in batch.lines().enumerate() {
        let len = line.bytes.len();
        if len + framing > max_bytes {
            out.reject(
                i,
                format!("an event of {len} bytes exceeds max_bytes {max_bytes}"),
            );
            continue;
        }
        if batch_size <= 1 {
            out.push(Request::new(line.bytes.to_vec(), vec![i]));
            continue;
        }
        if !lines.is_empty() && (lines.len() >= batch_size || body.len() + 1 + len + 1 > max_bytes)
        {
            body.push(b']');
            out.push(Request::new(
                std::mem::take(&mut body),
                std::mem::take(&mut lines),
            ));
        }
        body.push(if lines.is_empty() { b'[' } else { b',' });
        body.extend_from_slice(line.bytes);
        lines.push(i);
    }
    if !lines.is_empty() {
        body.push(b']');
        out.push(Request::new(body, lines));
    }
    out
}

/// Opens the sink from fapilog's `FAPILOG_SINK_CONFIG__WEBHOOK__*` settings (kept as
/// `sink_config.webhook.*`).
pub(crate) fn from_settings(settings: &Settings) -> Opened {
    open(settings).map_err(|e| e.into_core("webhook"))
}

fn open(settings: &Settings) -> Result<(Box<dyn fapilog::Sink>, Option<SinkOptions>), ConfigError> {
    let s = SinkSettings::new(settings, "sink_config.webhook");
    let endpoint = s.text("endpoint").ok_or_else(|| {
        ConfigError::missing(
            "sink_config.webhook.endpoint",
            "set FAPILOG_SINK_CONFIG__WEBHOOK__ENDPOINT to the receiver's URL",
        )
    })?;
    let mut b = WebhookSink::builder(endpoint).keys(Keys::SETTINGS);
    if let Some(secret) = s.text("secret") {
        b = b.secret(secret);
    }
    match s.text("signature_mode") {
        None | Some("hmac") => {}
        Some("header") => b = b.signature_mode(SignatureMode::Header),
        Some(other) => {
            return Err(ConfigError::invalid(
                &s.key("signature_mode"),
                other,
                "hmac or header",
            ))
        }
    }
    if let Some(value) = s.json("headers")? {
        for (n, v) in headers::from_json(&s.key("headers"), &value)? {
            b = b.header(n, v);
        }
    }
    if let Some(t) = s.seconds("timeout_seconds")? {
        b = b.timeout(t);
    }
    if let Some(n) = s.parse::<usize>("batch_size", "a number of events")? {
        b = b.batch_size(n.max(1));
    }
    let sink = b.build()?;
    Ok((Box::new(sink), Some(s.http_delivery_options("webhook")?)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fapilog::{Event, Format, Level};

    #[test]
    fn one_object_per_request_or_arrays_by_batch_size() {
        let mut b = Batch::new(Format::Json);
        for m in ["a", "b", "c"] {
            b.push(&Event::new(Level::INFO, m));
        }
        let lines: Vec<&[u8]> = b.lines().map(|l| l.bytes).collect();
        let single = encode(&b, 1, 1 << 20);
        assert_eq!(single.requests.len(), 3);
        assert_eq!(single.requests[1].body, lines[1]);
        let arrays = encode(&b, 2, 1 << 20);
        let expected = [b"[".as_slice(), lines[0], b",", lines[1], b"]"].concat();
        assert_eq!(arrays.requests[0].body, expected);
        assert_eq!(arrays.requests[1].lines, [2]);
        let tiny = encode(&b, 2, 10);
        assert_eq!(tiny.rejected, [0, 1, 2]);
    }

    #[test]
    fn settings_errors_name_the_key_and_hide_the_secret() {
        let s = Settings::from_env_vars([
            ("FAPILOG_SINK_CONFIG__WEBHOOK__ENDPOINT", "not a url"),
            ("FAPILOG_SINK_CONFIG__WEBHOOK__SECRET", "hunter2"),
        ])
        .unwrap();
        let e = open(&s).err().unwrap().to_string();
        assert!(
            e.contains("sink_config.webhook.endpoint") && e.contains("not a url"),
            "{e}"
        );
        let s = Settings::from_env_vars([
            ("FAPILOG_SINK_CONFIG__WEBHOOK__ENDPOINT", "http://h/x"),
            ("FAPILOG_SINK_CONFIG__WEBHOOK__SECRET", "hunter2"),
        ])
        .unwrap();
        let (sink, _) = open(&s).unwrap();
        assert_eq!(sink.name(), "webhook");
        let b = WebhookSink::builder("http://h")
            .secret("hunter2")
            .header("X-Api-Key", "k3y");
        let shown = format!("{b:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("k3y"),
            "{shown}"
        );
    }
}
