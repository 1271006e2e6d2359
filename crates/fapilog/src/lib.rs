//! # fapilog
//!
//! An async-first structured logging pipeline. A log call captures the
//! message, the fields and the bound context into a bounded queue and
//! returns in nanoseconds; background workers build a v1.1 JSON envelope for
//! each event, run filters, enrichers, redactors and processors, batch, and
//! write to sinks. When the queue is full, the [`Backpressure`] policy you
//! chose decides, and every drop is counted and reported in-band.
//!
//! ```
//! use std::time::Duration;
//! use fapilog::{context, FieldValue, Pipeline};
//! use fapilog::testing::CaptureSink;
//!
//! let (sink, captured) = CaptureSink::new();
//! let pipeline = Pipeline::builder().service("api").sink(sink).build()?;
//! let log = pipeline.logger("app");
//!
//! let _request = context::bind(&[("request_id", FieldValue::Str("req-123"))]);
//! fapilog::info!(log, "user login", user_id = "u-7", duration_ms = 42);
//!
//! pipeline.flush(Duration::from_secs(5))?;
//! let line = &captured.envelopes()[0]["log"];
//! assert_eq!(line["context"]["request_id"], "req-123");
//! assert!(line["context"]["correlation_id"].is_null()); // set by a request scope (axum layer)
//! assert_eq!(line["data"]["duration_ms"], 42);
//! assert_eq!(line["diagnostics"]["service"], "api");
//! # Ok::<(), fapilog::Error>(())
//! ```
//!
//! For a service, [`init`] sets up the embedded default (JSON to stdout,
//! configured from `FAPILOG_*` variables) behind the logger-less macros.
//!
//! The modules follow an event's path: [`Logger`] and the macros capture a
//! record ([`context`] adds the bound fields), the [`queue`] applies
//! backpressure, the worker builds an [`Event`] and runs the [`stages`],
//! [`encode`] writes it into a [`Batch`], and [`sinks`] write batches out.
//!
//! ## Clock
//! The caller reads the CPU's time-stamp counter where it is invariant
//! (`rdtsc`; the monotonic clock otherwise) and the worker converts
//! it to wall time against an anchor renewed every second.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod batch;
mod clock;
mod config_serde;
pub mod context;
mod diagnostics;
pub mod encode;
mod envelope;
mod error;
mod exit;
mod field;
mod level;
mod logger;
pub mod macros;
mod metrics;
mod panics;
mod pipeline;
pub mod queue;
mod record;
pub mod settings;
mod shared;
#[cfg(all(unix, feature = "signals"))]
pub mod signals;
pub mod sinks;
#[cfg(feature = "spool")]
mod spool;
pub mod stages;
pub mod testing;
mod value;
mod worker;

pub use batch::{Batch, BatchLimits, BatchLine};
pub use context::Context;
pub use encode::{Format, TraceName};
pub use envelope::{is_context_key, Event, MessageId, CONTEXT_KEYS};
pub use error::Error;
pub use exit::exit;
pub use field::{debug, display, err, json, ErrorValue, FieldValue, SerializeJson, ToFieldValue};
pub use level::{Level, ParseLevelError};
pub use logger::{Capture, Logger, Submit, Submitted};
#[cfg(feature = "metrics")]
pub use metrics::facade as metrics_facade;
pub use metrics::prometheus::PROMETHEUS_CONTENT_TYPE;
pub use metrics::spool::SpoolMetrics;
pub use metrics::{
    DropCount, DropReason, MetricsSnapshot, SinkMetrics, StageMetrics, FLUSH_BUCKETS,
};
pub use panics::install_panic_hook;
pub use pipeline::{
    global, init, init_with, logger, DrainReport, Guard, Health, Pipeline, PipelineBuilder,
    SinkDrain,
};
pub use queue::Backpressure;
pub use record::{Location, INLINE_BYTES, INLINE_FIELDS};
pub use settings::Settings;
pub use sinks::{
    FileSink, RotatingFileSink, Sink, SinkError, SinkFactory, SinkHealth, SinkOptions, StderrSink,
    StdoutSink, WhenFull, WriterSink,
};
pub use stages::{Enricher, Filter, Processor, RedactionFailMode, Redactor, StageError, Verdict};
pub use value::{Map, Text, Value};
