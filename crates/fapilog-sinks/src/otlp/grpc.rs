//! OTLP/gRPC: one unary call, `LogsService/Export`, over HTTP/2 with `h2`
//! (no tonic, no protoc). The request is the same `ExportLogsServiceRequest`
//! bytes the HTTP path posts, framed as gRPC: a compressed flag, a 4-byte
//! big-endian length, the message. The answer's `grpc-status` is
//! classified as the OTLP specification says (see [`classify`]).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::{BufMut, Bytes, BytesMut};
use fapilog::SinkError;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::Uri;
use prost::Message;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::config::ConfigError;

/// The method every OTLP logs exporter calls.
pub(crate) const EXPORT_PATH: &str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";

/// Largest answer read (an `ExportLogsServiceResponse`).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// A gRPC status code (the ones this module names).
mod code {
    pub const OK: i32 = 0;
    pub const CANCELLED: i32 = 1;
    pub const UNKNOWN: i32 = 2;
    pub const DEADLINE_EXCEEDED: i32 = 4;
    pub const RESOURCE_EXHAUSTED: i32 = 8;
    pub const ABORTED: i32 = 10;
    pub const OUT_OF_RANGE: i32 = 11;
    pub const UNAVAILABLE: i32 = 14;
    pub const DATA_LOSS: i32 = 15;
}

/// `google.rpc.Status`, as carried base64-encoded in `grpc-status-details-bin`.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<ProtoAny>,
}

/// `google.protobuf.Any`.
#[derive(Clone, PartialEq, prost::Message)]
struct ProtoAny {
    #[prost(string, tag = "1")]
    type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    value: Vec<u8>,
}

/// `google.rpc.RetryInfo`.
#[derive(Clone, PartialEq, prost::Message)]
struct RetryInfo {
    #[prost(message, optional, tag = "1")]
    retry_delay: Option<ProtoDuration>,
}

/// `google.protobuf.Duration`.
#[derive(Clone, PartialEq, prost::Message)]
struct ProtoDuration {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

/// The connection to one collector, opened on first use and again after
/// any transport error.
pub(crate) struct GrpcClient {
    uri: Uri,
    host: String,
    port: u16,
    tls: Option<(TlsConnector, ServerName<'static>)>,
    /// `content-type`, `te`, `grpc-encoding`, auth and the user's headers.
    metadata: HeaderMap,
    compressed: bool,
    conn: Option<h2::client::SendRequest<Bytes>>,
}

impl GrpcClient {
    /// A client for `endpoint` (`http://host:port` or `https://host:port`;
    /// a path is ignored, as OTLP/gRPC exporters do).
    pub(crate) fn new(
        endpoint: &reqwest::Url,
        mut metadata: HeaderMap,
        compressed: bool,
        timeout: Duration,
        ca_file: Option<&std::path::Path>,
    ) -> Result<GrpcClient, ConfigError> {
        let host = endpoint
            .host_str()
            .ok_or_else(|| {
                ConfigError::invalid("endpoint", endpoint.as_str(), "a URL with a host")
            })?
            .to_owned();
        let https = endpoint.scheme() == "https";
        let port = endpoint
            .port_or_known_default()
            .unwrap_or(if https { 443 } else { 80 });
        let authority = match endpoint.port() {
            Some(p) => format!("{}:{p}", bracket(&host)),
            None => bracket(&host),
        };
        let uri: Uri = format!("{}://{authority}{EXPORT_PATH}", endpoint.scheme())
            .parse()
            .map_err(|_| ConfigError::invalid("endpoint", endpoint.as_str(), "a gRPC endpoint"))?;
        let tls = if https {
            let name = ServerName::try_from(host.clone()).map_err(|_| {
                ConfigError::invalid("endpoint", endpoint.as_str(), "a valid TLS server name")
            })?;
            Some((TlsConnector::from(Arc::new(tls_config(ca_file)?)), name))
        } else {
            None
        };
        metadata.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc"),
        );
        metadata.insert(http::header::TE, HeaderValue::from_static("trailers"));
        metadata.insert(
            HeaderName::from_static("grpc-accept-encoding"),
            HeaderValue::from_static("identity,gzip"),
        );
        if compressed {
            metadata.insert(
                HeaderName::from_static("grpc-encoding"),
                HeaderValue::from_static("gzip"),
            );
        }
        // The deadline the server enforces too ("m" = milliseconds, at most 8 digits).
        let ms = timeout.as_millis().min(99_999_999);
        if let Ok(v) = HeaderValue::from_str(&format!("{ms}m")) {
            metadata.insert(HeaderName::from_static("grpc-timeout"), v);
        }
        Ok(GrpcClient {
            uri,
            host,
            port,
            tls,
            metadata,
            compressed,
            conn: None,
        })
    }

    /// The URL of the method called.
    pub(crate) fn url(&self) -> String {
        self.uri.to_string()
    }

    /// Calls `Export` with `message` (already compressed when the client
    /// is); the answer's message bytes, or the classified failure.
    pub(crate) async fn export(
        &mut self,
        message: &[u8],
        timeout: Duration,
    ) -> Result<Vec<u8>, SinkError> {
        let result = match tokio::time::timeout(timeout, self.call(message)).await {
            Ok(r) => r,
            Err(_) => Err(Failure::Transport(format!("timed out after {timeout:?}"))),
        };
        if let Err(Failure::Transport(_)) = &result {
            // The connection may be broken: a fresh one next time.
            self.conn = None;
        }
        result.map_err(Failure::into_sink_error)
    }

    async fn connect(&mut self) -> Result<h2::client::SendRequest<Bytes>, Failure> {
        if let Some(c) = &self.conn {
            return Ok(c.clone());
        }
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| Failure::Transport(format!("cannot connect: {e}")))?;
        let _ = tcp.set_nodelay(true);
        let send = match &self.tls {
            None => {
                let (send, conn) = h2::client::handshake(tcp).await.map_err(h2_failure)?;
                tokio::spawn(conn);
                send
            }
            Some((connector, name)) => {
                let tls = connector
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| Failure::Transport(format!("TLS: {e}")))?;
                let (send, conn) = h2::client::handshake(tls).await.map_err(h2_failure)?;
                tokio::spawn(conn);
                send
            }
        };
        self.conn = Some(send.clone());
        Ok(send)
    }

    async fn call(&mut self, message: &[u8]) -> Result<Vec<u8>, Failure> {
        let send = self.connect().await?;
        let mut send = send.ready().await.map_err(h2_failure)?;
        let mut request = http::Request::post(self.uri.clone())
            .body(())
            .map_err(|e| Failure::Transport(format!("request: {e}")))?;
        *request.headers_mut() = self.metadata.clone();
        let mut frame = BytesMut::with_capacity(message.len() + 5);
        frame.put_u8(u8::from(self.compressed));
        frame.put_u32(u32::try_from(message.len()).unwrap_or(u32::MAX));
        frame.put_slice(message);
        let (response, mut stream) = send.send_request(request, false).map_err(h2_failure)?;
        stream.send_data(frame.freeze(), true).map_err(h2_failure)?;
        let response = response.await.map_err(h2_failure)?;
        let (parts, mut body) = response.into_parts();
        if parts.status != http::StatusCode::OK {
            return Err(http_failure(parts.status.as_u16()));
        }
        // A trailers-only answer carries its status in the headers.
        if parts.headers.contains_key("grpc-status") {
            status_of(&parts.headers)?;
        }
        let mut data = Vec::new();
        while let Some(chunk) = body.data().await {
            let chunk = chunk.map_err(h2_failure)?;
            let _ = body.flow_control().release_capacity(chunk.len());
            if data.len() < MAX_ANSWER_BYTES + 5 {
                data.extend_from_slice(&chunk);
            }
        }
        let trailers = body.trailers().await.map_err(h2_failure)?;
        match trailers {
            Some(t) => status_of(&t)?,
            None if parts.headers.contains_key("grpc-status") => {}
            None => {
                return Err(Failure::Status {
                    code: code::UNKNOWN,
                    message: "the answer has no grpc-status".to_owned(),
                    retry: None,
                })
            }
        }
        let gzip = parts
            .headers
            .get("grpc-encoding")
            .is_some_and(|v| v.as_bytes() == b"gzip");
        Ok(unframe(&data, gzip))
    }
}

/// The answer's message: the first frame, decompressed; empty when absent.
fn unframe(data: &[u8], gzip: bool) -> Vec<u8> {
    if data.len() < 5 {
        return Vec::new();
    }
    let len = u32::from_be_bytes([data[1], data[2], data[3], data[4]]) as usize;
    let msg = &data[5..data.len().min(5 + len)];
    if data[0] == 1 && gzip {
        let mut out = Vec::new();
        let mut d = flate2::read::GzDecoder::new(msg).take(MAX_ANSWER_BYTES as u64);
        use std::io::Read as _;
        return match d.read_to_end(&mut out) {
            Ok(_) => out,
            Err(_) => Vec::new(),
        };
    }
    msg.to_vec()
}

/// Why a call failed, before classification.
#[derive(Debug)]
enum Failure {
    /// No answer: connection refused or broken, a stream reset.
    Transport(String),
    /// A gRPC status other than OK, with `RetryInfo`'s delay if any.
    Status {
        code: i32,
        message: String,
        retry: Option<Duration>,
    },
}

impl Failure {
    fn into_sink_error(self) -> SinkError {
        match self {
            Failure::Transport(m) => SinkError::transient(m),
            Failure::Status {
                code,
                message,
                retry,
            } => classify(code, &message, retry),
        }
    }
}

/// The OTLP specification's rule for gRPC: CANCELLED, DEADLINE_EXCEEDED,
/// ABORTED, OUT_OF_RANGE, UNAVAILABLE and DATA_LOSS are retried;
/// RESOURCE_EXHAUSTED only when the server sent `RetryInfo` (its delay is
/// honoured); every other code is refused for good.
fn classify(code: i32, message: &str, retry: Option<Duration>) -> SinkError {
    let text = format!("gRPC status {} ({code}){}", name(code), detail(message));
    let retryable = matches!(
        code,
        code::CANCELLED
            | code::DEADLINE_EXCEEDED
            | code::ABORTED
            | code::OUT_OF_RANGE
            | code::UNAVAILABLE
            | code::DATA_LOSS
    ) || (code == code::RESOURCE_EXHAUSTED && retry.is_some());
    match (retryable, retry) {
        (false, _) => SinkError::Rejected(text),
        (true, Some(after)) => SinkError::retry_after(text, after),
        (true, None) => SinkError::transient(text),
    }
}

fn detail(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {}", message.chars().take(200).collect::<String>())
    }
}

fn name(code: i32) -> &'static str {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    usize::try_from(code)
        .ok()
        .and_then(|i| NAMES.get(i))
        .copied()
        .unwrap_or("UNKNOWN")
}

/// `Ok` for `grpc-status: 0`, else the status with its message and `RetryInfo`.
fn status_of(headers: &HeaderMap) -> Result<(), Failure> {
    let code = headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i32>().ok())
        .unwrap_or(code::UNKNOWN);
    if code == code::OK {
        return Ok(());
    }
    let message = headers
        .get("grpc-message")
        .map(|v| percent_decode(v.as_bytes()))
        .unwrap_or_default();
    let retry = headers
        .get("grpc-status-details-bin")
        .and_then(|v| retry_delay(v.as_bytes()));
    Err(Failure::Status {
        code,
        message,
        retry,
    })
}

/// `RetryInfo.retry_delay` from a `grpc-status-details-bin` value (base64
/// of `google.rpc.Status`, padded or not).
fn retry_delay(value: &[u8]) -> Option<Duration> {
    let trimmed: Vec<u8> = value.iter().copied().filter(|b| *b != b'=').collect();
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(trimmed)
        .ok()?;
    let status = RpcStatus::decode(&bytes[..]).ok()?;
    status
        .details
        .iter()
        .find(|a| a.type_url.ends_with("/google.rpc.RetryInfo"))
        .and_then(|a| RetryInfo::decode(&a.value[..]).ok())
        .map(|r| {
            let d = r.retry_delay.unwrap_or_default();
            Duration::from_secs(u64::try_from(d.seconds).unwrap_or(0))
                + Duration::from_nanos(u64::try_from(d.nanos).unwrap_or(0))
        })
}

/// `grpc-message` is percent-encoded UTF-8.
fn percent_decode(b: &[u8]) -> String {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The gRPC specification's mapping of an HTTP status without `grpc-status`.
fn http_failure(status: u16) -> Failure {
    let code = match status {
        429 | 502 | 503 | 504 => code::UNAVAILABLE,
        _ => code::UNKNOWN,
    };
    Failure::Status {
        code,
        message: format!("HTTP {status}"),
        retry: None,
    }
}

fn h2_failure(e: h2::Error) -> Failure {
    // A stream reset by the peer maps to a gRPC status (CANCEL → CANCELLED,
    // REFUSED_STREAM → UNAVAILABLE); both are retried, as is any I/O error.
    Failure::Transport(format!("HTTP/2: {e}"))
}

fn bracket(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// The sink's TLS configuration (see `crate::tls`), offering only `h2` by ALPN.
fn tls_config(ca_file: Option<&std::path::Path>) -> Result<rustls::ClientConfig, ConfigError> {
    let mut config = crate::tls::client_config(ca_file)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn details(delay: Option<(i64, i32)>) -> String {
        let info = RetryInfo {
            retry_delay: delay.map(|(seconds, nanos)| ProtoDuration { seconds, nanos }),
        };
        let status = RpcStatus {
            code: code::RESOURCE_EXHAUSTED,
            message: "slow down".to_owned(),
            details: vec![ProtoAny {
                type_url: "type.googleapis.com/google.rpc.RetryInfo".to_owned(),
                value: info.encode_to_vec(),
            }],
        };
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(status.encode_to_vec())
    }

    #[test]
    fn codes_are_classified_as_the_otlp_specification_says() {
        for c in [1, 4, 10, 11, 14, 15] {
            assert!(
                matches!(classify(c, "", None), SinkError::Transient { .. }),
                "{c}"
            );
        }
        for c in [2, 3, 5, 6, 7, 8, 9, 12, 13, 16] {
            assert!(
                matches!(classify(c, "", None), SinkError::Rejected(_)),
                "{c}"
            );
        }
        let e = classify(code::RESOURCE_EXHAUSTED, "x", Some(Duration::from_secs(3)));
        assert!(
            matches!(e, SinkError::Transient { after: Some(d), .. } if d == Duration::from_secs(3)),
            "{e:?}"
        );
        let e = classify(3, "bad%20thing", None).to_string();
        assert!(e.contains("INVALID_ARGUMENT"), "{e}");
    }

    #[test]
    fn retry_info_is_read_from_the_status_details() {
        let v = details(Some((2, 500_000_000)));
        assert_eq!(retry_delay(v.as_bytes()), Some(Duration::from_millis(2500)));
        let padded = base64::engine::general_purpose::STANDARD.encode(
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(v.as_bytes())
                .unwrap(),
        );
        assert_eq!(
            retry_delay(padded.as_bytes()),
            Some(Duration::from_millis(2500))
        );
        assert_eq!(retry_delay(b"!!not base64"), None);
        assert_eq!(percent_decode(b"a%20b%zz"), "a b%zz");
    }

    #[test]
    fn answers_are_unframed() {
        let mut f = vec![0, 0, 0, 0, 3];
        f.extend_from_slice(b"abc");
        assert_eq!(unframe(&f, false), b"abc");
        assert!(unframe(&[], false).is_empty());
    }
}
