//! # fapilog-axum
//!
//! Tower middleware that gives every HTTP request of an axum, hyper or
//! tonic server:
//!
//! - a **request id**: the caller's `X-Request-ID` (configurable) when it is
//!   well-formed ([`is_valid_request_id`]), otherwise a new UUID v7; a
//!   malformed or oversized value is replaced and never logged. It is echoed
//!   in the response and available to handlers as [`RequestId`];
//! - a **W3C trace context**: `traceparent`/`tracestate` continued with a
//!   new span of this server, or a new trace ([`TraceContext`], whose
//!   [`traceparent`](TraceContext::traceparent) you send on outgoing calls);
//! - a **logging context**: `request_id`, `correlation_id`, `trace_id` and
//!   `span_id` are bound for every line logged while the request is served
//!   (including through `tracing` with `fapilog-tracing`, and in tasks
//!   started with [`spawn`]);
//! - one **access-log event** when the response body ends:
//!   `request_completed` (INFO, WARNING for 4xx, ERROR for 5xx) or
//!   `request_failed` (ERROR, with the error chain in
//!   `diagnostics.exception`) when the handler panicked, the service
//!   failed or the handler attached a [`HandlerError`]; panics become 500.
//!   Its `data`: `method`, `path`, `route` (axum's matched template),
//!   `status_code`, `latency_ms` (until the body ended), `request_bytes`
//!   (`Content-Length`), `response_bytes` (counted), `client_ip`,
//!   `user_agent`, and when asked `headers` (sensitive ones `***`), `slow`,
//!   `request_id_replaced`.
//!
//! ```
//! use std::time::Duration;
//! use axum::{routing::get, Router};
//! use fapilog::testing::LogCapture;
//! use fapilog_axum::RequestLogLayer;
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let capture = LogCapture::new();
//! let log = capture.logger("app");
//! let app = Router::new()
//!     .route("/users/{id}", get(move || {
//!         let log = log.clone();
//!         async move {
//!             fapilog::info!(log, "loading user");
//!             "ok"
//!         }
//!     }))
//!     .layer(RequestLogLayer::new(capture.logger("access")));
//!
//! let request = http::Request::get("/users/7")
//!     .header("x-request-id", "req-42")
//!     .body(axum::body::Body::empty())
//!     .unwrap();
//! let response = app.oneshot(request).await.unwrap();
//! assert_eq!(response.headers()["x-request-id"], "req-42");
//! drop(response); // the access log is written when the body is done with
//!
//! capture.assert_logged("loading user").assert_field("context.request_id", "req-42");
//! capture
//!     .assert_logged("request_completed")
//!     .assert_field("context.request_id", "req-42")
//!     .assert_field("data.route", "/users/{id}")
//!     .assert_field("data.status_code", 200);
//! # }
//! ```
//!
//! With axum, add the layer with `Router::layer` so the matched route is
//! known. For the metrics endpoint see [`metrics_route`] and
//! [`prometheus_response`]; for a readiness probe that reports the sinks'
//! health, [`health_route`] and [`health_response`]; for a graceful shutdown
//! on SIGTERM/SIGINT that writes the logs out first, [`ShutdownSignal`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client_ip;
mod error;
mod headers;
mod health;
mod layer;
mod metrics;
mod request_id;
mod service;
mod shutdown;
mod spawn;
mod trace_context;

pub use client_ip::Cidr;
pub use error::ConfigError;
pub use headers::{HeaderLogging, DEFAULT_REDACTED_HEADERS, REDACTED};
pub use health::health_response;
#[cfg(feature = "axum")]
pub use health::health_route;
pub use layer::{RequestLogLayer, DEFAULT_REQUEST_ID_HEADER};
#[cfg(feature = "axum")]
pub use metrics::metrics_route;
pub use metrics::prometheus_response;
pub use request_id::{is_valid_request_id, new_request_id, RequestId, MAX_REQUEST_ID_LEN};
pub use service::{HandlerError, RequestLog, ResponseBody, ResponseFuture};
pub use shutdown::{shutdown_signal, ShutdownSignal};
pub use spawn::{spawn, spawn_blocking};
pub use trace_context::TraceContext;
