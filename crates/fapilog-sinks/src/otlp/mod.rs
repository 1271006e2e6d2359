//! The OTLP logs sink: OpenTelemetry's log data model over OTLP/HTTP
//! protobuf (`POST {endpoint}/v1/logs`, gzip; OTLP/JSON as an option), to
//! an OpenTelemetry Collector or any OTLP backend.
//!
//! Each batch is encoded once into `ExportLogsServiceRequest`s of at most
//! [`max_request_bytes`](OtlpSinkBuilder::max_request_bytes) before
//! compression (default 4 MiB), records grouped per resource. The answer
//! is classified as the OTLP specification says: 2xx delivered, 429, 502,
//! 503 and 504 retried (honouring `Retry-After`), every other status
//! refused for good. A `partial_success` with `rejected_log_records = N`
//! is not retried: the collector does not say which records it refused,
//! so the request's last `N` lines are reported refused
//! ([`SinkError::Partial`]) and so counted in the sink's metrics and
//! diverted.
//!
//! With the `otlp-grpc` feature, `OtlpProtocol::Grpc` sends the same
//! request bytes as a gRPC unary call (`grpc` module), classified by gRPC
//! status as the specification says for OTLP/gRPC.

mod builder;
mod encode;
#[cfg(feature = "otlp-grpc")]
mod grpc;
mod json;
mod proto;
mod record;
mod settings;

use std::fmt;
use std::time::Duration;

use fapilog::{Batch, Settings, SinkError, WhenFull};
use prost::Message;
use reqwest::header::HeaderMap;

pub use builder::{OtlpProtocol, OtlpSinkBuilder, OTLP_DEFAULT_MAX_REQUEST_BYTES};

use crate::adapter::{AsyncSink, Encoded, Request};
use crate::config::mask_url_password;
use crate::factory::Opened;
use crate::http_client::{classify, transport_error, RetryOn};
use encode::Encoder;
use proto::ExportLogsServiceResponse;

/// The collector's base URL when none is given: OTLP/HTTP's default port.
pub const OTLP_DEFAULT_ENDPOINT: &str = "http://localhost:4318";

/// The collector's endpoint for [`OtlpProtocol::Grpc`] when none is
/// given: OTLP/gRPC's default port (`OTEL_EXPORTER_OTLP_PROTOCOL=grpc`).
#[cfg(feature = "otlp-grpc")]
pub const OTLP_DEFAULT_GRPC_ENDPOINT: &str = "http://localhost:4317";

/// Largest answer body read (for a `partial_success` or an error excerpt).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Sends log records to an OTLP/HTTP logs endpoint; build one with
/// [`OtlpSink::builder`].
///
/// ```no_run
/// let sink = fapilog_sinks::OtlpSink::builder("http://127.0.0.1:4318")
///     .bearer("token")
///     .build()?;
/// let pipeline = fapilog::Pipeline::builder().sink(sink).build()?;
/// pipeline.logger("app").info("hello", &[("order_id", fapilog::FieldValue::I64(7))]);
/// pipeline.shutdown(std::time::Duration::from_secs(5));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct OtlpSink {
    name: String,
    client: reqwest::Client,
    url: reqwest::Url,
    /// Content type and encoding, auth and the user's headers (values
    /// marked sensitive).
    headers: HeaderMap,
    encoder: Encoder,
    timeout: Duration,
    when_full: WhenFull,
    /// The gRPC connection, for [`OtlpProtocol::Grpc`].
    #[cfg(feature = "otlp-grpc")]
    grpc: Option<grpc::GrpcClient>,
}

impl fmt::Debug for OtlpSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.keys().map(|k| k.as_str()).collect();
        f.debug_struct("OtlpSink")
            .field("name", &self.name)
            .field("url", &mask_url_password(self.url.as_str()))
            .field("headers (values hidden)", &names)
            .field("max_request_bytes", &self.encoder.max_bytes)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl OtlpSink {
    /// A builder for a sink sending to the collector at `endpoint` (a base
    /// URL such as `http://collector:4318`; `/v1/logs` is appended).
    pub fn builder(endpoint: impl Into<String>) -> OtlpSinkBuilder {
        OtlpSinkBuilder::new(endpoint)
    }

    /// The URL requests are posted to (for gRPC, the `Export` method's).
    pub fn url(&self) -> &str {
        self.url.as_str()
    }

    /// The refused lines for a `partial_success` of `rejected` records.
    fn partial(request: &Request<Vec<u8>>, rejected: i64, message: &str) -> SinkError {
        let n = usize::try_from(rejected)
            .unwrap_or(usize::MAX)
            .min(request.lines.len());
        let lines = request.lines[request.lines.len() - n..].to_vec();
        SinkError::Partial {
            rejected: lines,
            message: format!(
                "the collector rejected {rejected} of {} log records (partial success): {message}",
                request.lines.len()
            ),
        }
    }
}

impl AsyncSink for OtlpSink {
    type Body = Vec<u8>;

    fn name(&self) -> &str {
        &self.name
    }

    fn when_full(&self) -> WhenFull {
        self.when_full
    }

    fn timeout(&self) -> Duration {
        // The client's own timeout fires first, as a transport error.
        self.timeout + Duration::from_secs(1)
    }

    fn encode(&mut self, batch: &Batch) -> Result<Encoded<Vec<u8>>, SinkError> {
        Ok(self.encoder.encode(batch))
    }

    async fn send(&mut self, request: &Request<Vec<u8>>) -> Result<(), SinkError> {
        #[cfg(feature = "otlp-grpc")]
        if let Some(grpc) = &mut self.grpc {
            let answer = grpc.export(&request.body, self.timeout).await?;
            return protobuf_answer(request, &answer);
        }
        let response = self
            .client
            .post(self.url.clone())
            .headers(self.headers.clone())
            .body(request.body.clone())
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let is_json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("json"));
        let body = read_limited(response).await;
        classify(status, retry_after.as_deref(), &body, RetryOn::Otlp)?;
        if body.is_empty() {
            return Ok(());
        }
        if is_json {
            return match json::partial_success(&body) {
                Some((n, message)) if n > 0 => Err(Self::partial(request, n, &message)),
                _ => Ok(()),
            };
        }
        protobuf_answer(request, &body)
    }
}

/// A protobuf `ExportLogsServiceResponse`: `Ok`, or its partial success.
fn protobuf_answer(request: &Request<Vec<u8>>, body: &[u8]) -> Result<(), SinkError> {
    match ExportLogsServiceResponse::decode(body) {
        Ok(ExportLogsServiceResponse {
            partial_success: Some(p),
        }) if p.rejected_log_records > 0 => Err(OtlpSink::partial(
            request,
            p.rejected_log_records,
            &p.error_message,
        )),
        _ => Ok(()),
    }
}

/// Up to [`MAX_ANSWER_BYTES`] of the answer's body (empty when it fails).
async fn read_limited(mut response: reqwest::Response) -> Vec<u8> {
    let mut out = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        out.extend_from_slice(&chunk);
        if out.len() >= MAX_ANSWER_BYTES {
            out.truncate(MAX_ANSWER_BYTES);
            break;
        }
    }
    out
}

/// Opens the sink for `FAPILOG_CORE__SINKS=otlp` from the standard
/// `OTEL_EXPORTER_OTLP_*` variables of the process (fapilog has no OTLP
/// sink, so no `FAPILOG_*` names); the driver's options stay at their
/// defaults.
pub(crate) fn from_settings(_settings: &Settings) -> Opened {
    let vars: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with("OTEL_EXPORTER_OTLP_"))
        .collect();
    let sink = settings::builder_from_vars(&vars)
        .and_then(|b| b.build())
        .map_err(|e| e.into_core("otlp"))?;
    Ok((Box::new(sink), None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_header_values_and_credentials() {
        let b = OtlpSink::builder("https://user:hunter2@collector:4318")
            .header("api-key", "s3cr3t-key")
            .bearer("t0ken-value");
        let shown = format!("{b:?}");
        let sink = b.build_sink().unwrap();
        let shown_sink = format!("{sink:?}");
        for s in [shown, shown_sink] {
            assert!(!s.contains("s3cr3t-key"), "{s}");
            assert!(!s.contains("t0ken-value"), "{s}");
            assert!(!s.contains("hunter2"), "{s}");
            assert!(s.contains("api-key"), "{s}");
        }
        let e = OtlpSink::builder("http://c")
            .header("api-key", "s3cr3t\nkey")
            .build_sink()
            .unwrap_err()
            .to_string();
        assert!(e.contains("api-key") && !e.contains("s3cr3t"), "{e}");
    }
}
