//! The HTTP sink: batches of envelopes POSTed as a JSON array, NDJSON or a
//! wrapped array (`{"logs":[…]}`), optionally gzipped, with static headers
//! and bearer or basic auth. Wire-compatible with fapilog's `http` sink.
//!
//! Each batch is framed once into bodies of at most `max_bytes` and
//! `max_events`; a retry resends those exact bytes. 408, 429 and 5xx
//! (except 501) are retried, honouring `Retry-After`; any other status is a
//! refusal: the request's lines go to the driver's divert chain, counted.
//!
//! ```no_run
//! use fapilog::Pipeline;
//! use fapilog_sinks::{Auth, BatchFormat, Compression, HttpSink};
//!
//! let sink = HttpSink::builder("https://logs.example.com/ingest")
//!     .format(BatchFormat::Ndjson)
//!     .compression(Compression::Gzip)
//!     .auth(Auth::Bearer("token".into()))
//!     .header("X-Team", "core")
//!     .build()?;
//! let pipeline = Pipeline::builder().sink(sink).build()?;
//! fapilog::info!(pipeline.logger("app"), "hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod format;
mod settings;

use crate::http_headers as headers;

use std::fmt;
use std::time::Duration;

use fapilog::{Batch, Format, SinkError};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE};

use crate::adapter::{Adapter, AsyncSink, Encoded, Request};
use crate::config::{mask_url_password, ConfigError};
use crate::http_client::{self, Auth, Compression, RetryOn};

pub use format::BatchFormat;
use format::{Framing, Limits};
pub(crate) use settings::from_settings;

/// Default largest uncompressed request body: 5 MiB.
pub(crate) const DEFAULT_MAX_BYTES: usize = 5 << 20;
/// Default most events per request.
pub(crate) const DEFAULT_MAX_EVENTS: usize = 1000;
/// Default per-request timeout (fapilog's `timeout_seconds`).
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Sends batches of envelopes to an HTTP endpoint. Build one with
/// [`HttpSink::builder`]; add the [`Adapter`] it returns to a pipeline.
pub struct HttpSink {
    name: String,
    line_format: Format,
    url: reqwest::Url,
    method: reqwest::Method,
    headers: HeaderMap,
    framing: Framing,
    compression: Compression,
    limits: Limits,
    timeout: Duration,
    client: reqwest::Client,
}

impl HttpSink {
    /// A builder for a sink posting to `endpoint` (`http://` or `https://`).
    pub fn builder(endpoint: impl Into<String>) -> HttpSinkBuilder {
        HttpSinkBuilder {
            endpoint: endpoint.into(),
            line_format: Format::Json,
            name: "http".to_owned(),
            method: "POST".to_owned(),
            format: BatchFormat::Array,
            compression: Compression::None,
            headers: Vec::new(),
            auth: None,
            timeout: DEFAULT_TIMEOUT,
            ca_file: None,
            max_bytes: DEFAULT_MAX_BYTES,
            max_events: DEFAULT_MAX_EVENTS,
            keys: Keys::BUILDER,
        }
    }
}

impl fmt::Debug for HttpSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpSink")
            .field("name", &self.name)
            .field("line_format", &self.line_format)
            .field("url", &mask_url_password(self.url.as_str()))
            .field("method", &self.method.as_str())
            .field("headers", &headers::Shown(&self.headers))
            .field("max_bytes", &self.limits.max_bytes)
            .field("max_events", &self.limits.max_events)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The option names an error reports: the builder's, or fapilog's settings.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Keys {
    endpoint: &'static str,
    headers: &'static str,
    method: &'static str,
    timeout: &'static str,
    max_bytes: &'static str,
    max_events: &'static str,
    wrapper_key: &'static str,
}

impl Keys {
    const BUILDER: Keys = Keys {
        endpoint: "endpoint",
        headers: "headers",
        method: "method",
        timeout: "timeout",
        max_bytes: "max_bytes",
        max_events: "max_events",
        wrapper_key: "wrapped key",
    };
    pub(crate) const SETTINGS: Keys = Keys {
        endpoint: "http.endpoint",
        headers: "http.headers",
        method: "method",
        timeout: "http.timeout_seconds",
        max_bytes: "max_bytes",
        max_events: "http.batch_size",
        wrapper_key: "http.batch_wrapper_key",
    };
}

/// Options of an [`HttpSink`]; [`build`](HttpSinkBuilder::build) checks them.
#[must_use]
#[derive(Clone)]
pub struct HttpSinkBuilder {
    endpoint: String,
    name: String,
    line_format: Format,
    method: String,
    format: BatchFormat,
    compression: Compression,
    headers: Vec<(String, String)>,
    auth: Option<Auth>,
    timeout: Duration,
    ca_file: Option<std::path::PathBuf>,
    max_bytes: usize,
    max_events: usize,
    keys: Keys,
}

impl fmt::Debug for HttpSinkBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpSinkBuilder")
            .field("endpoint", &mask_url_password(&self.endpoint))
            .field("name", &self.name)
            .field("line_format", &self.line_format)
            .field("method", &self.method)
            .field("format", &self.format)
            .field("compression", &self.compression)
            .field("headers", &headers::ShownPairs(&self.headers))
            .field("auth", &self.auth)
            .field("timeout", &self.timeout)
            .field("ca_file", &self.ca_file)
            .field("max_bytes", &self.max_bytes)
            .field("max_events", &self.max_events)
            .finish()
    }
}

impl HttpSinkBuilder {
    /// The sink's name in metrics and diagnostics (default `"http"`).
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

    /// The HTTP method (default `POST`).
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = method.into();
        self
    }

    /// How events are framed (default [`BatchFormat::Array`], as fapilog).
    pub fn format(mut self, format: BatchFormat) -> Self {
        self.format = format;
        self
    }

    /// Body compression (default none); gzip sets `Content-Encoding: gzip`.
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Adds a static header sent with every request. Values of headers
    /// that look like credentials are never printed.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// `Authorization` for every request: bearer token or basic.
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = Some(auth);
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

    /// Largest uncompressed body, framing included (default 5 MiB). A batch
    /// is split across requests; one event larger than this is refused and
    /// diverted, counted.
    pub fn max_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// Most events per request (default 1000; fapilog's `batch_size`).
    pub fn max_events(mut self, events: usize) -> Self {
        self.max_events = events;
        self
    }

    pub(crate) fn keys(mut self, keys: Keys) -> Self {
        self.keys = keys;
        self
    }

    /// Checks every option and builds the sink. Connects lazily: an
    /// endpoint that is down now is retried by the driver, not an error.
    ///
    /// ```
    /// use fapilog_sinks::HttpSink;
    ///
    /// assert!(HttpSink::builder("http://127.0.0.1:9/logs").build().is_ok());
    /// let err = HttpSink::builder("localhost:9000").build().err().unwrap();
    /// assert!(err.to_string().contains("endpoint"), "{err}");
    /// let err = HttpSink::builder("http://h/").header("X-Key", "a\nb").build().err().unwrap();
    /// assert!(!err.to_string().contains("a\nb"), "secrets are masked: {err}");
    /// ```
    pub fn build(self) -> Result<Adapter<HttpSink>, ConfigError> {
        let k = self.keys;
        let url = http_client::parse_url(k.endpoint, &self.endpoint)?;
        http_client::json_lines(self.line_format)?;
        let method = reqwest::Method::from_bytes(self.method.as_bytes()).map_err(|_| {
            ConfigError::invalid(k.method, &self.method, "an HTTP method (POST, PUT…)")
        })?;
        if self.timeout.is_zero() {
            return Err(ConfigError::invalid(k.timeout, "0", "a timeout above zero"));
        }
        if self.max_events == 0 {
            return Err(ConfigError::invalid(k.max_events, "0", "at least 1"));
        }
        let framing = Framing::of(&self.format);
        if self.max_bytes <= framing.overhead() + 2 {
            return Err(ConfigError::invalid(
                k.max_bytes,
                &self.max_bytes.to_string(),
                "room for at least one event",
            ));
        }
        if let BatchFormat::Wrapped(key) = &self.format {
            if key.is_empty() {
                return Err(ConfigError::invalid(
                    k.wrapper_key,
                    "",
                    "a non-empty JSON key",
                ));
            }
        }
        let mut headers = headers::validate(k.headers, &self.headers)?;
        if !headers.contains_key(CONTENT_TYPE) {
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static(self.format.content_type()),
            );
        }
        if let Some(enc) = self.compression.content_encoding() {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static(enc));
        }
        if let Some(auth) = &self.auth {
            let mut v = HeaderValue::from_str(&auth.header_value()).map_err(|_| {
                ConfigError::invalid("auth", "***", "credentials that fit a header (no newline)")
            })?;
            v.set_sensitive(true);
            headers.insert(AUTHORIZATION, v);
        }
        let client = http_client::client(self.timeout, self.ca_file.as_deref())?;
        Ok(Adapter::new(HttpSink {
            name: self.name,
            line_format: self.line_format,
            url,
            method,
            headers,
            framing,
            compression: self.compression,
            limits: Limits {
                max_bytes: self.max_bytes,
                max_events: self.max_events,
            },
            timeout: self.timeout,
            client,
        }))
    }
}

impl AsyncSink for HttpSink {
    type Body = Vec<u8>;

    fn name(&self) -> &str {
        &self.name
    }

    fn format(&self) -> Format {
        self.line_format
    }

    fn timeout(&self) -> Duration {
        // The client's own timeout fires first, with a clearer message.
        self.timeout + Duration::from_secs(1)
    }

    fn encode(&mut self, batch: &Batch) -> Result<Encoded<Vec<u8>>, SinkError> {
        Ok(format::encode(
            batch,
            &self.framing,
            self.limits,
            self.compression,
        ))
    }

    async fn send(&mut self, request: &Request<Vec<u8>>) -> Result<(), SinkError> {
        post(
            &self.client,
            &self.method,
            &self.url,
            self.headers.clone(),
            request.body.clone(),
        )
        .await
    }
}

/// Sends one body and classifies the answer (408, 429, 5xx≠501 retried).
pub(crate) async fn post(
    client: &reqwest::Client,
    method: &reqwest::Method,
    url: &reqwest::Url,
    headers: HeaderMap,
    body: Vec<u8>,
) -> Result<(), SinkError> {
    let response = client
        .request(method.clone(), url.clone())
        .headers(headers)
        .body(body)
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
