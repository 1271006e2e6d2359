//! The Grafana Loki sink: the push API, protobuf + snappy by default or
//! JSON (optionally gzip), static labels plus chosen low-cardinality
//! fields, a tenant header, requests cut at a byte cap, streams sorted by
//! the events' own time.
//!
//! Answers: any 2xx is delivered; 408, 429 and 5xx (but 501) are retried,
//! honouring `Retry-After`; a 400 or 413 refuses the whole push for one
//! bad line (too old, too long…), so the push is bisected down to the
//! lines Loki refuses, and only those are diverted; other statuses refuse
//! the request.

mod encode;
mod labels;
mod proto;
mod settings;
mod sink;

pub use encode::{LokiBody, LokiEncoding};
pub use sink::{
    LokiSink, LokiSinkBuilder, DEFAULT_MAX_ENTRIES, DEFAULT_MAX_LINE_BYTES,
    DEFAULT_MAX_REQUEST_BYTES,
};

pub(crate) use settings::from_settings;
