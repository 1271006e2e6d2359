//! [`LokiSink`]: the push client, its builder, and the answer handling
//! (bisecting a request Loki refuses so one bad line loses only itself).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use fapilog::{Batch, Format, SinkError, WhenFull};

use super::encode::{encode_batch, Limits, LokiBody, LokiEncoding, Wire};
use super::labels::LabelSpec;
use crate::adapter::{Adapter, AsyncSink, Encoded, Request};
use crate::config::ConfigError;
use crate::http_client::{self, Auth, Compression, RetryOn};

/// Default byte cap of one push, before compression (1 MiB).
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 1 << 20;
/// Default cap of lines in one push.
pub const DEFAULT_MAX_ENTRIES: usize = 10_000;
/// Loki's default `max_line_size` (256 KiB): longer lines are refused here.
pub const DEFAULT_MAX_LINE_BYTES: usize = 256 << 10;

/// Sends batches to Grafana Loki's push API (`POST {url}/loki/api/v1/push`).
/// Build one with [`LokiSink::builder`].
///
/// ```no_run
/// use fapilog::Pipeline;
/// use fapilog_sinks::LokiSink;
///
/// let sink = LokiSink::builder("http://127.0.0.1:3100")
///     .label("service", "checkout")
///     .label_keys(["level", "logger"])
///     .tenant_id("team-a")
///     .build()?;
/// let pipeline = Pipeline::builder().sink(sink).build()?;
/// fapilog::info!(pipeline.logger("app"), "hello, Loki");
/// pipeline.shutdown(std::time::Duration::from_secs(5));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct LokiSink {
    name: String,
    client: reqwest::Client,
    push_url: reqwest::Url,
    tenant_id: Option<String>,
    authorization: Option<String>,
    auth: Option<Auth>,
    spec: LabelSpec,
    wire: Wire,
    limits: Limits,
    message_ids: bool,
    timeout: Duration,
    format: Format,
    when_full: WhenFull,
    next_id: u64,
    bisect: Option<Bisect>,
}

/// A refused request being bisected: the entry ranges still to send, and
/// what was refused so far. Kept across retries so that a transient
/// failure half-way resends only what was not delivered.
#[derive(Debug)]
struct Bisect {
    id: u64,
    todo: Vec<(usize, usize)>,
    /// Splits left: when Loki refuses every line (a bad label, structured
    /// metadata it does not allow), bisecting down to each line would cost
    /// two requests per line; past this budget a refused range is given up
    /// whole.
    splits_left: usize,
    refused: Vec<usize>,
    reason: String,
}

impl fmt::Debug for LokiSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LokiSink")
            .field("name", &self.name)
            .field(
                "push_url",
                &crate::config::mask_url_password(self.push_url.as_str()),
            )
            .field("tenant_id", &self.tenant_id)
            .field("auth", &self.auth)
            .field("encoding", &self.wire.encoding)
            .field("compression", &self.wire.compression)
            .finish_non_exhaustive()
    }
}

impl LokiSink {
    /// A builder for a sink pushing to the Loki at `url` (`http://loki:3100`;
    /// a URL ending in `/loki/api/v1/push` is taken as is).
    pub fn builder(url: impl Into<String>) -> LokiSinkBuilder {
        LokiSinkBuilder {
            name: "loki".to_owned(),
            url: url.into(),
            tenant_id: None,
            auth: None,
            labels: BTreeMap::new(),
            label_keys: vec!["level".to_owned()],
            encoding: LokiEncoding::Protobuf,
            compression: Compression::None,
            timeout: Duration::from_secs(10),
            ca_file: None,
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            max_entries: DEFAULT_MAX_ENTRIES,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            message_ids: false,
            format: Format::Flat,
            when_full: WhenFull::DropNewest,
        }
    }

    /// Where it pushes.
    pub fn push_url(&self) -> &str {
        self.push_url.as_str()
    }

    /// Sends `bytes` once; `Ok(status, retry_after, body excerpt)`.
    async fn post(&self, bytes: Vec<u8>) -> Result<(u16, Option<String>, Vec<u8>), SinkError> {
        let mut req = self.client.post(self.push_url.clone()).body(bytes);
        req = req.header(
            "content-type",
            match self.wire.encoding {
                LokiEncoding::Protobuf => "application/x-protobuf",
                LokiEncoding::Json => "application/json",
            },
        );
        if let Some(enc) = self.wire.compression.content_encoding() {
            req = req.header("content-encoding", enc);
        }
        if let Some(t) = &self.tenant_id {
            req = req.header("x-scope-orgid", t);
        }
        if let Some(a) = &self.authorization {
            req = req.header("authorization", a);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| http_client::transport_error(&e))?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = if (200..300).contains(&status) {
            Vec::new()
        } else {
            resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default()
        };
        Ok((status, retry_after, body))
    }

    /// Sends the ranges of a refused request still to send, halving each
    /// one Loki refuses down to single lines.
    async fn continue_bisect(&mut self, body: &LokiBody, lines: &[usize]) -> Result<(), SinkError> {
        while let Some(&(lo, hi)) = self.bisect.as_ref().and_then(|b| b.todo.last()) {
            let entries = &body.entries[lo..hi];
            let outcome = match self.wire.encode(&body.streams, entries) {
                Ok(bytes) => self.post(bytes).await,
                Err(why) => Ok((400, None, why.into_bytes())),
            };
            let (status, retry_after, text) = outcome?;
            let Some(b) = self.bisect.as_mut() else {
                break;
            };
            b.todo.pop();
            if (200..300).contains(&status) {
                continue;
            }
            if splits(status) && hi - lo > 1 && b.splits_left > 0 {
                b.splits_left -= 1;
                let mid = lo + (hi - lo) / 2;
                b.todo.push((mid, hi));
                b.todo.push((lo, mid));
                continue;
            }
            match http_client::classify(status, retry_after.as_deref(), &text, RetryOn::Generic) {
                Err(e) if e.is_retryable() => {
                    b.todo.push((lo, hi));
                    return Err(e);
                }
                Err(e) => {
                    b.refused.extend(entries.iter().map(|e| e.line));
                    b.reason = match e {
                        SinkError::Rejected(m) => m,
                        other => other.to_string(),
                    };
                }
                Ok(()) => {}
            }
        }
        let Some(b) = self.bisect.take() else {
            return Ok(());
        };
        if b.refused.is_empty() {
            Ok(())
        } else if b.refused.len() >= lines.len() {
            Err(SinkError::Rejected(b.reason))
        } else {
            Err(SinkError::Partial {
                rejected: b.refused,
                message: b.reason,
            })
        }
    }
}

/// Statuses Loki answers for the whole push when one line (or the size)
/// is wrong: bisected rather than retried or dropped.
fn splits(status: u16) -> bool {
    matches!(status, 400 | 413)
}

impl AsyncSink for LokiSink {
    type Body = LokiBody;

    fn name(&self) -> &str {
        &self.name
    }

    fn format(&self) -> Format {
        self.format
    }

    fn when_full(&self) -> WhenFull {
        self.when_full
    }

    fn timeout(&self) -> Duration {
        // A bisect sends several requests; its progress survives a timeout.
        self.timeout.saturating_mul(4)
    }

    fn encode(&mut self, batch: &Batch) -> Result<Encoded<LokiBody>, SinkError> {
        Ok(encode_batch(
            batch,
            &self.spec,
            self.wire,
            self.limits,
            self.message_ids,
            &mut self.next_id,
        ))
    }

    async fn send(&mut self, request: &Request<LokiBody>) -> Result<(), SinkError> {
        let body = &request.body;
        if self.bisect.as_ref().is_some_and(|b| b.id == body.id) {
            return self.continue_bisect(body, &request.lines).await;
        }
        self.bisect = None;
        let (status, retry_after, text) = self.post(body.bytes.clone()).await?;
        if splits(status) && body.entries.len() > 1 {
            let n = body.entries.len();
            // Enough to isolate about 16 refused lines.
            let depth = usize::BITS - n.leading_zeros();
            self.bisect = Some(Bisect {
                id: body.id,
                todo: vec![(n / 2, n), (0, n / 2)],
                splits_left: 16 * depth as usize,
                refused: Vec::new(),
                reason: format!("HTTP {status}{}", http_client::excerpt(&text)),
            });
            return self.continue_bisect(body, &request.lines).await;
        }
        http_client::classify(status, retry_after.as_deref(), &text, RetryOn::Generic)
    }
}

/// Options of a [`LokiSink`]; [`build`](LokiSinkBuilder::build) checks them all.
#[must_use]
#[derive(Clone)]
pub struct LokiSinkBuilder {
    name: String,
    url: String,
    tenant_id: Option<String>,
    auth: Option<Auth>,
    labels: BTreeMap<String, String>,
    label_keys: Vec<String>,
    encoding: LokiEncoding,
    compression: Compression,
    timeout: Duration,
    ca_file: Option<std::path::PathBuf>,
    max_request_bytes: usize,
    max_entries: usize,
    max_line_bytes: usize,
    message_ids: bool,
    format: Format,
    when_full: WhenFull,
}

impl fmt::Debug for LokiSinkBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LokiSinkBuilder")
            .field("name", &self.name)
            .field("url", &crate::config::mask_url_password(&self.url))
            .field("tenant_id", &self.tenant_id)
            .field("auth", &self.auth)
            .field("labels", &self.labels)
            .field("label_keys", &self.label_keys)
            .field("encoding", &self.encoding)
            .field("compression", &self.compression)
            .field("ca_file", &self.ca_file)
            .finish_non_exhaustive()
    }
}

impl LokiSinkBuilder {
    /// The sink's name in metrics and routes (default `"loki"`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The tenant, sent as `X-Scope-OrgID`.
    pub fn tenant_id(mut self, tenant: impl Into<String>) -> Self {
        self.tenant_id = Some(tenant.into());
        self
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer_token(self, token: impl Into<String>) -> Self {
        self.auth(Auth::Bearer(token.into()))
    }

    /// HTTP basic auth (Grafana Cloud: the instance id and an API token).
    pub fn basic_auth(self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.auth(Auth::Basic {
            user: user.into(),
            password: password.into(),
        })
    }

    /// How requests authenticate.
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// A static label on every stream (kept as given, escaped).
    pub fn label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(name.into(), value.into());
        self
    }

    /// Static labels, replacing those set so far.
    pub fn labels<K: Into<String>, V: Into<String>>(
        mut self,
        labels: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.labels = labels
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self
    }

    /// The low-cardinality fields of each event that become labels
    /// (default `["level"]`): the entry's own field, else the one in its
    /// `context`, `diagnostics` or `data`. Values are sanitized like
    /// fapilog (`[^a-zA-Z0-9_-]` → `_`, at most 128 characters); a field
    /// overrides a static label of the same name.
    pub fn label_keys<S: Into<String>>(mut self, keys: impl IntoIterator<Item = S>) -> Self {
        self.label_keys = keys.into_iter().map(Into::into).collect();
        self
    }

    /// Protobuf + snappy (default) or JSON.
    pub fn encoding(mut self, encoding: LokiEncoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// Compression of JSON bodies (protobuf bodies are always snappy).
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
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

    /// Longest one request may take (default 10 s, fapilog's).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Byte cap of one push before compression (default 1 MiB); a batch
    /// above it is split into several pushes.
    pub fn max_request_bytes(mut self, bytes: usize) -> Self {
        self.max_request_bytes = bytes;
        self
    }

    /// Cap of lines in one push (default 10,000).
    pub fn max_entries_per_request(mut self, entries: usize) -> Self {
        self.max_entries = entries;
        self
    }

    /// Loki's `max_line_size` (default 256 KiB): a longer line is refused
    /// here (counted, diverted) rather than costing its whole push.
    pub fn max_line_bytes(mut self, bytes: usize) -> Self {
        self.max_line_bytes = bytes;
        self
    }

    /// Sends each event's `message_id` as structured metadata (Loki 3,
    /// `allow_structured_metadata`), where it can be queried without
    /// becoming a label. Off by default: older Loki refuses it.
    pub fn message_id_metadata(mut self, on: bool) -> Self {
        self.message_ids = on;
        self
    }

    /// The line format: [`Format::Flat`] (default: the entry without the
    /// schema wrapper, as fapilog pushes it) or [`Format::Json`] (the v1.1
    /// envelope).
    pub fn format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }

    /// The driver's policy when this sink's buffer is full, unless the
    /// pipeline's `SinkOptions` say otherwise (default `DropNewest`).
    pub fn when_full(mut self, policy: WhenFull) -> Self {
        self.when_full = policy;
        self
    }

    /// Checks every option and builds the sink, ready for a pipeline. No
    /// connection is made: a Loki that is down fails the sends, not this.
    pub fn build(self) -> Result<Adapter<LokiSink>, ConfigError> {
        self.build_sink().map(Adapter::new)
    }

    fn build_sink(self) -> Result<LokiSink, ConfigError> {
        if self.name.trim().is_empty() {
            return Err(ConfigError::invalid("name", &self.name, "a non-empty name"));
        }
        let mut url = http_client::parse_url("url", &self.url)?;
        if !url
            .path()
            .trim_end_matches('/')
            .ends_with("/loki/api/v1/push")
        {
            let path = format!("{}/loki/api/v1/push", url.path().trim_end_matches('/'));
            url.set_path(&path);
        }
        if let Some(t) = &self.tenant_id {
            if t.is_empty() || t.len() > 150 || !t.chars().all(|c| c.is_ascii_graphic()) {
                return Err(ConfigError::invalid(
                    "tenant_id",
                    t,
                    "a Loki tenant id: 1 to 150 printable ASCII characters",
                ));
            }
        }
        let authorization = match &self.auth {
            None => None,
            Some(a) => {
                let ok = match a {
                    Auth::Bearer(t) => !t.is_empty() && t.chars().all(|c| c.is_ascii_graphic()),
                    Auth::Basic { user, .. } => !user.is_empty() && !user.contains(':'),
                };
                let value = a.header_value();
                if !ok || value.chars().any(|c| c.is_ascii_control()) {
                    return Err(ConfigError::invalid(
                        "auth",
                        "***",
                        "a token of printable ASCII, or a non-empty user without `:`",
                    ));
                }
                Some(value)
            }
        };
        let spec = LabelSpec::new(&self.labels, &self.label_keys)?;
        if self.encoding == LokiEncoding::Protobuf && self.compression != Compression::None {
            return Err(ConfigError::invalid(
                "compression",
                &format!("{:?}", self.compression),
                "no compression with LokiEncoding::Protobuf (always snappy); gzip is for JSON",
            ));
        }
        if self.timeout.is_zero() {
            return Err(ConfigError::invalid("timeout", "0s", "a positive duration"));
        }
        for (key, v, min) in [
            ("max_request_bytes", self.max_request_bytes, 1024),
            ("max_entries_per_request", self.max_entries, 1),
            ("max_line_bytes", self.max_line_bytes, 1),
        ] {
            if v < min {
                return Err(ConfigError::invalid(
                    key,
                    &v.to_string(),
                    &format!("at least {min}"),
                ));
            }
        }
        if !matches!(self.format, Format::Json | Format::Flat) {
            return Err(ConfigError::invalid(
                "format",
                &format!("{:?}", self.format),
                "Format::Flat or Format::Json",
            ));
        }
        Ok(LokiSink {
            name: self.name,
            client: http_client::client(self.timeout, self.ca_file.as_deref())?,
            push_url: url,
            tenant_id: self.tenant_id,
            authorization,
            auth: self.auth,
            spec,
            wire: Wire {
                encoding: self.encoding,
                compression: self.compression,
            },
            limits: Limits {
                max_request_bytes: self.max_request_bytes,
                max_entries: self.max_entries,
                max_line_bytes: self.max_line_bytes,
            },
            message_ids: self.message_ids,
            timeout: self.timeout,
            format: self.format,
            when_full: self.when_full,
            next_id: 0,
            bisect: None,
        })
    }
}
