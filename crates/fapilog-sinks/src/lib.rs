//! Network sinks for [fapilog](fapilog): send logs anywhere a fleet needs
//! them. One cargo feature per sink, none on by default, so a PostgreSQL
//! user compiles no HTTP stack.
//!
//! | sink | feature | wire | de-duplication key |
//! |---|---|---|---|
//! | [`HttpSink`] | `http` | NDJSON, JSON array or wrapped batches; gzip; bearer/basic auth | — |
//! | [`WebhookSink`] | `webhook` | JSON, HMAC-SHA256 `X-Fapilog-Signature-256` over the exact bytes | `message_id` in each event |
//! | [`LokiSink`] | `loki` | push API, protobuf + snappy (or JSON) | — |
//! | [`CloudWatchSink`] | `cloudwatch` | `PutLogEvents`, SigV4 | — |
//! | [`PostgresSink`] | `postgres` | fapilog's table, batched `UNNEST` or binary `COPY` | `message_id` column (`dedupe_by_message_id`) |
//! | [`OtlpSink`] | `otlp` (`otlp-grpc` for gRPC) | OTLP/HTTP protobuf (or JSON) logs; OTLP/gRPC `LogsService/Export` | `message_id` attribute |
//! | [`SyslogSink`] | `syslog` | RFC 5424 over UDP, TCP (octet counting), TLS | — |
//! | [`NatsSink`] | `nats` | JetStream publish, acknowledged | `Nats-Msg-Id` = `message_id` |
//!
//! Every sink implements [`AsyncSink`]: a batch is encoded once into
//! requests within the destination's limits, and each request is sent,
//! classified (delivered, retry after `Retry-After`, refused) and, on a
//! retry, resent with the same bytes. [`Adapter`] runs it behind fapilog's
//! sink driver, which owns the buffer, the retries, the circuit breaker and
//! the fallback; the sockets run on one small shared tokio runtime.
//!
//! fapilog's variables open them too: register [`factory`] (or call
//! [`init`]) and set `FAPILOG_CORE__SINKS=loki,stdout_json` with
//! `FAPILOG_LOKI__URL=…`.
//!
//! ```
//! let pipeline = fapilog::Pipeline::builder()
//!     .sink_factory(fapilog_sinks::factory())
//!     .build()
//!     .unwrap();
//! # drop(pipeline);
//! ```

mod adapter;
#[cfg(any(feature = "syslog", feature = "cloudwatch", feature = "postgres"))]
mod civil;
// Helpers that each serve some of the sinks, whichever features are on.
#[allow(dead_code)]
mod config;
mod factory;
#[cfg(feature = "_http")]
#[allow(dead_code)]
mod http_client;
#[cfg(any(feature = "http", feature = "webhook"))]
mod http_headers;
mod runtime;
#[cfg(any(feature = "_http", feature = "syslog"))]
mod tls;

pub use adapter::{Adapter, AsyncSink, Encoded, Request};
pub use config::ConfigError;
pub use factory::{factory, init, Factory};
#[cfg(feature = "_http")]
pub use http_client::{parse_retry_after, Auth, Compression};

#[cfg(feature = "http")]
mod http;
#[cfg(feature = "http")]
pub use http::*;

#[cfg(feature = "webhook")]
mod webhook;
#[cfg(feature = "webhook")]
pub use webhook::*;

#[cfg(feature = "loki")]
mod loki;
#[cfg(feature = "loki")]
pub use loki::*;

#[cfg(feature = "cloudwatch")]
mod cloudwatch;
#[cfg(feature = "cloudwatch")]
pub use cloudwatch::*;

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "postgres")]
pub use postgres::*;

#[cfg(feature = "otlp")]
mod otlp;
#[cfg(feature = "otlp")]
pub use otlp::*;

#[cfg(feature = "syslog")]
mod syslog;
#[cfg(feature = "syslog")]
pub use syslog::*;

#[cfg(feature = "nats")]
mod nats;
#[cfg(feature = "nats")]
pub use nats::*;
