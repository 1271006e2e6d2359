//! [`OtlpSinkBuilder`]: the sink's typed options, validated by `build`.

use std::fmt;
use std::time::Duration;

use fapilog::WhenFull;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::encode::Encoder;
use super::proto::{AnyValue, InstrumentationScope, KeyValue};
use super::{OtlpSink, OTLP_DEFAULT_ENDPOINT};
use crate::adapter::Adapter;
use crate::config::{mask_url_password, ConfigError};
use crate::http_client::{client, parse_url, Auth, Compression};

/// The default cap of one request before compression: 4 MiB, the gRPC
/// default many collectors keep.
pub const OTLP_DEFAULT_MAX_REQUEST_BYTES: usize = 4 << 20;

/// The smallest request cap accepted.
const MIN_MAX_REQUEST_BYTES: usize = 1024;

/// How the sink talks to the collector.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OtlpProtocol {
    /// OTLP/HTTP, `POST {endpoint}/v1/logs`, `Content-Type:
    /// application/x-protobuf` (the OTLP default, port 4318).
    #[default]
    HttpProtobuf,
    /// OTLP/HTTP, `Content-Type: application/json`: OTLP's JSON encoding
    /// (hex trace and span ids, integer enums, 64-bit integers as strings).
    HttpJson,
    /// OTLP/gRPC, `opentelemetry.proto.collector.logs.v1.LogsService/Export`
    /// over HTTP/2 (port 4317; feature `otlp-grpc`). The endpoint's path is
    /// ignored, as every OTLP/gRPC exporter does.
    #[cfg(feature = "otlp-grpc")]
    Grpc,
}

impl OtlpProtocol {
    /// Whether the body is OTLP/JSON (else the protobuf message).
    pub(crate) fn is_json(self) -> bool {
        matches!(self, OtlpProtocol::HttpJson)
    }

    #[cfg(feature = "otlp-grpc")]
    fn is_grpc(self) -> bool {
        matches!(self, OtlpProtocol::Grpc)
    }

    #[cfg(not(feature = "otlp-grpc"))]
    fn is_grpc(self) -> bool {
        false
    }
}

/// Where the requests go.
#[derive(Clone, Debug)]
enum Target {
    /// A base URL: `/v1/logs` is appended (`OTEL_EXPORTER_OTLP_ENDPOINT`).
    Base(String),
    /// The logs URL itself (`OTEL_EXPORTER_OTLP_LOGS_ENDPOINT`).
    Logs(String),
}

/// Options of an [`OtlpSink`]; [`build`](OtlpSinkBuilder::build) checks them.
///
/// ```
/// use std::time::Duration;
/// use fapilog_sinks::{Compression, OtlpSink};
///
/// let sink = OtlpSink::builder("http://127.0.0.1:4318")
///     .header("x-tenant", "acme")
///     .compression(Compression::Gzip)
///     .timeout(Duration::from_secs(5))
///     .resource_attribute("service.namespace", "shop")
///     .build()?;
/// let pipeline = fapilog::Pipeline::builder().sink(sink).build()?;
/// # drop(pipeline);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct OtlpSinkBuilder {
    target: Target,
    name: String,
    protocol: OtlpProtocol,
    compression: Compression,
    headers: Vec<(String, String)>,
    auth: Option<Auth>,
    timeout: Duration,
    ca_file: Option<std::path::PathBuf>,
    max_request_bytes: usize,
    resource_attributes: Vec<(String, String)>,
    when_full: WhenFull,
}

impl fmt::Debug for OtlpSinkBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("OtlpSinkBuilder")
            .field("url", &self.url_text().map(|u| mask_url_password(&u)))
            .field("name", &self.name)
            .field("protocol", &self.protocol)
            .field("compression", &self.compression)
            .field("headers (values hidden)", &header_names)
            .field("auth", &self.auth)
            .field("timeout", &self.timeout)
            .field("ca_file", &self.ca_file)
            .field("max_request_bytes", &self.max_request_bytes)
            .field("when_full", &self.when_full)
            .finish_non_exhaustive()
    }
}

impl OtlpSinkBuilder {
    pub(crate) fn new(endpoint: impl Into<String>) -> OtlpSinkBuilder {
        OtlpSinkBuilder {
            target: Target::Base(endpoint.into()),
            name: "otlp".to_owned(),
            protocol: OtlpProtocol::default(),
            compression: Compression::Gzip,
            headers: Vec::new(),
            auth: None,
            timeout: Duration::from_secs(10),
            ca_file: None,
            max_request_bytes: OTLP_DEFAULT_MAX_REQUEST_BYTES,
            resource_attributes: Vec::new(),
            when_full: WhenFull::DropNewest,
        }
    }

    /// The sink's name in metrics and diagnostics (default `"otlp"`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The collector's base URL; `/v1/logs` is appended (default
    /// `http://localhost:4318`).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.target = Target::Base(url.into());
        self
    }

    /// The full URL of the logs endpoint, used as is (like
    /// `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT`).
    pub fn logs_endpoint(mut self, url: impl Into<String>) -> Self {
        self.target = Target::Logs(url.into());
        self
    }

    /// The protocol (default [`OtlpProtocol::HttpProtobuf`]).
    pub fn protocol(mut self, protocol: OtlpProtocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Body compression (default gzip, as the Collector's exporter).
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// A header sent with every request (an API key, a tenant); its value
    /// never appears in `Debug` output or errors.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// How requests authenticate (`Authorization` header).
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: impl Into<String>) -> Self {
        self.auth(Auth::Bearer(token.into()))
    }

    /// Trusts only the CA certificates of this PEM file (a private CA)
    /// instead of Mozilla's roots, for an `https` endpoint. Read at
    /// `build`: a missing file, or one without a PEM certificate, is an
    /// error naming `ca_file` and the path.
    pub fn ca_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Longest one request may take (default 10 s, OTLP's default).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Largest request before compression (default 4 MiB); larger batches
    /// are split, and a single larger record is refused (diverted, counted).
    pub fn max_request_bytes(mut self, bytes: usize) -> Self {
        self.max_request_bytes = bytes;
        self
    }

    /// A resource attribute added to every request (the event's own
    /// `service.name`, `deployment.environment`… win on conflict).
    pub fn resource_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.resource_attributes.push((key.into(), value.into()));
        self
    }

    /// What the driver does when the sink's buffer is full (default
    /// [`WhenFull::DropNewest`]; [`SinkOptions`](fapilog::SinkOptions) override it).
    pub fn when_full(mut self, policy: WhenFull) -> Self {
        self.when_full = policy;
        self
    }

    fn url_text(&self) -> Option<String> {
        match &self.target {
            Target::Logs(u) => Some(u.clone()),
            Target::Base(u) => Some(format!("{}/v1/logs", u.trim_end_matches('/'))),
        }
    }

    /// Checks every option and builds the sink. Nothing is connected yet:
    /// a collector that is down now is retried by the driver.
    pub fn build(self) -> Result<Adapter<OtlpSink>, ConfigError> {
        Ok(Adapter::new(self.build_sink()?))
    }

    pub(crate) fn build_sink(self) -> Result<OtlpSink, ConfigError> {
        let url = match &self.target {
            Target::Base(u) | Target::Logs(u) if self.protocol.is_grpc() => {
                parse_url("endpoint", u)?
            }
            Target::Base(u) => {
                parse_url("endpoint", u)?;
                parse_url("endpoint", &format!("{}/v1/logs", u.trim_end_matches('/')))?
            }
            Target::Logs(u) => parse_url("logs_endpoint", u)?,
        };
        if self.name.is_empty() {
            return Err(ConfigError::invalid("name", &self.name, "a non-empty name"));
        }
        if self.timeout.is_zero() {
            return Err(ConfigError::invalid(
                "timeout",
                &format!("{:?}", self.timeout),
                "a positive duration",
            ));
        }
        if self.max_request_bytes < MIN_MAX_REQUEST_BYTES {
            return Err(ConfigError::invalid(
                "max_request_bytes",
                &self.max_request_bytes.to_string(),
                &format!("at least {MIN_MAX_REQUEST_BYTES} bytes"),
            ));
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            let n = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| ConfigError::invalid("header", name, "an HTTP header name"))?;
            let mut v = HeaderValue::from_str(value).map_err(|_| ConfigError::Invalid {
                key: format!("header {name}"),
                value: "***".to_owned(),
                expected: "a header value of visible ASCII".to_owned(),
            })?;
            v.set_sensitive(true);
            headers.append(n, v);
        }
        if let Some(auth) = &self.auth {
            let mut v =
                HeaderValue::from_str(&auth.header_value()).map_err(|_| ConfigError::Invalid {
                    key: "auth".to_owned(),
                    value: "***".to_owned(),
                    expected: "credentials of visible ASCII".to_owned(),
                })?;
            v.set_sensitive(true);
            headers.insert(reqwest::header::AUTHORIZATION, v);
        }
        #[cfg(feature = "otlp-grpc")]
        let grpc = if self.protocol.is_grpc() {
            Some(super::grpc::GrpcClient::new(
                &url,
                headers.clone(),
                self.compression == Compression::Gzip,
                self.timeout,
                self.ca_file.as_deref(),
            )?)
        } else {
            None
        };
        #[cfg(feature = "otlp-grpc")]
        let url = match &grpc {
            Some(g) => parse_url("endpoint", &g.url())?,
            None => url,
        };
        let content_type = if self.protocol.is_json() {
            "application/json"
        } else {
            "application/x-protobuf"
        };
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static(content_type),
        );
        if let Some(enc) = self.compression.content_encoding() {
            headers.insert(
                reqwest::header::CONTENT_ENCODING,
                HeaderValue::from_static(enc),
            );
        }
        let encoder = Encoder {
            max_bytes: self.max_request_bytes,
            compression: self.compression,
            protocol: self.protocol,
            scope: InstrumentationScope {
                name: "fapilog".to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
            },
            resource_attributes: self
                .resource_attributes
                .iter()
                .map(|(k, v)| KeyValue::new(k.clone(), AnyValue::string(v.clone())))
                .collect(),
        };
        Ok(OtlpSink {
            client: client(self.timeout, self.ca_file.as_deref())?,
            name: self.name,
            url,
            headers,
            encoder,
            timeout: self.timeout,
            when_full: self.when_full,
            #[cfg(feature = "otlp-grpc")]
            grpc,
        })
    }
}

impl Default for OtlpSinkBuilder {
    fn default() -> Self {
        OtlpSinkBuilder::new(OTLP_DEFAULT_ENDPOINT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_options_fail_naming_the_key_and_value() {
        let e = OtlpSinkBuilder::new("localhost:4318")
            .build_sink()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("endpoint") && e.contains("localhost:4318"),
            "{e}"
        );
        let e = OtlpSinkBuilder::new("http://h")
            .logs_endpoint("ftp://h/v1/logs")
            .build_sink()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("logs_endpoint") && e.contains("ftp://h/v1/logs"),
            "{e}"
        );
        let e = OtlpSinkBuilder::new("http://h")
            .max_request_bytes(10)
            .build_sink()
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_request_bytes") && e.contains("10"), "{e}");
        let e = OtlpSinkBuilder::new("http://h")
            .timeout(Duration::ZERO)
            .build_sink()
            .unwrap_err()
            .to_string();
        assert!(e.contains("timeout"), "{e}");
        let e = OtlpSinkBuilder::new("http://h")
            .header("bad name", "v")
            .build_sink()
            .unwrap_err()
            .to_string();
        assert!(e.contains("header") && e.contains("bad name"), "{e}");
    }

    #[test]
    fn the_logs_path_is_appended_to_the_base_endpoint_only() {
        let s = OtlpSinkBuilder::new("http://h:4318/").build_sink().unwrap();
        assert_eq!(s.url.as_str(), "http://h:4318/v1/logs");
        let s = OtlpSinkBuilder::new("http://h:4318/prefix")
            .build_sink()
            .unwrap();
        assert_eq!(s.url.as_str(), "http://h:4318/prefix/v1/logs");
        let s = OtlpSinkBuilder::new("http://x")
            .logs_endpoint("https://h/custom")
            .build_sink()
            .unwrap();
        assert_eq!(s.url.as_str(), "https://h/custom");
    }
}
