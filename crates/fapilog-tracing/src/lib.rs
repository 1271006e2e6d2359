//! # fapilog-tracing
//!
//! Keep writing `tracing::info!(user_id = 42, "login")` and `log::warn!`;
//! this crate sends both into a [`fapilog`] pipeline: non-blocking,
//! redacted, batched, to every sink, in the v1.1 envelope.
//!
//! - [`FapilogLayer`] is a `tracing_subscriber::Layer`. Events become
//!   records on the logger's hot path (fields are visited straight into the
//!   record). Spans become context: the fields of every enclosing span
//!   (including values recorded later with `Span::record`) appear on each
//!   event inside them, `request_id`, `user_id`, `tenant_id`, `trace_id`,
//!   `span_id` and `correlation_id` in the envelope's `context`, the others
//!   in `data`, with the span path in `data.span_path`.
//! - [`LogBridge`] is a `log::Log` (key-values included) into the same
//!   pipeline.
//!
//! ```
//! use std::time::Duration;
//! use fapilog::testing::CaptureSink;
//! use fapilog_tracing::FapilogLayer;
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! let (sink, captured) = CaptureSink::new();
//! let pipeline = fapilog::Pipeline::builder().sink(sink).build()?;
//! let subscriber = tracing_subscriber::registry().with(FapilogLayer::new(pipeline.logger("app")));
//!
//! tracing::subscriber::with_default(subscriber, || {
//!     let span = tracing::info_span!("request", request_id = "req-1", route = "/login");
//!     let _entered = span.enter();
//!     tracing::info!(user_id = 42, "login");
//! });
//!
//! pipeline.flush(Duration::from_secs(5))?;
//! let line = &captured.envelopes()[0]["log"];
//! assert_eq!(line["message"], "login");
//! assert_eq!(line["context"]["request_id"], "req-1");
//! assert_eq!(line["context"]["user_id"], "42");
//! assert_eq!(line["data"]["route"], "/login");
//! assert_eq!(line["data"]["span_path"], "request");
//! # Ok::<(), fapilog::Error>(())
//! ```
//!
//! ## `log` and `tracing` together
//! Only one `log::Log` can be installed per process. The one setup to use:
//! install [`LogBridge`] as the `log` logger and [`FapilogLayer`] as a layer
//! of your `tracing` subscriber; `log` records then go straight to the
//! pipeline and `tracing` events through the layer, each exactly once. Do not
//! also install `tracing_log::LogTracer` (it would take the `log` slot; the
//! bridge's [`LogBridge::install`] then fails with
//! [`InstallError::AlreadySet`]), and do not enable `tracing`'s
//! `log-always` feature, which copies every `tracing` event into `log`.
//! If you prefer `LogTracer`, skip the bridge: the layer recognises the
//! events it forwards and names them after the `log` target
//! ([`LogEvents::Forward`], the default).
//!
//! ## Cargo features
//! - `opentelemetry` (off by default): when `tracing-opentelemetry`'s layer
//!   runs in the same subscriber, the `trace_id` and `span_id` of the
//!   nearest span it has a context for land in the envelope's `context`
//!   (lower-case hex, as in `traceparent`).
//!
//! ## Cost per event
//! On the caller's thread: the pipeline's level gate, the record captured
//! from the visited fields (values `tracing` hands over as `Debug` are
//! formatted into the record, as `tracing` forces), and, inside spans, one
//! lookup of the innermost span's cached context. Span fields are copied
//! when a span is created or a value recorded, not per event.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod layer;
mod location;
mod log_bridge;
#[cfg(feature = "opentelemetry")]
mod otel;
mod span;
mod visit;

pub use error::InstallError;
pub use layer::{FapilogLayer, LogEvents, LoggerName};
pub use log_bridge::LogBridge;

/// Which fapilog level `TRACE` (of `tracing` or `log`) becomes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TraceLevel {
    /// As `DEBUG`, the lowest level of the v1.1 envelope (the default).
    #[default]
    AsDebug,
    /// As fapilog's own `TRACE` level (priority 5): below a pipeline level
    /// of DEBUG it is dropped; the name it is written with follows the
    /// pipeline's [`fapilog::TraceName`] setting.
    AsTrace,
}

impl TraceLevel {
    pub(crate) fn level(self) -> fapilog::Level {
        match self {
            TraceLevel::AsDebug => fapilog::Level::DEBUG,
            TraceLevel::AsTrace => fapilog::Level::TRACE,
        }
    }
}
