//! Sinks: where batches of encoded events go.
//!
//! A sink is a small trait: it receives whole [`Batch`]es, returns errors
//! instead of panicking, and has a lifecycle (`start`, `write_batch`,
//! `flush`, `stop`). Each sink runs behind its own driver, on a thread of
//! its own, so a slow or dead destination slows nothing else: the driver
//! holds a bounded buffer of batches ([`WhenFull`] decides what happens when
//! it is full), retries what failed with backoff ([`RetryPolicy`]), stops
//! calling a sink that keeps failing ([`BreakerPolicy`]) and diverts what it
//! gives up on to a fallback sink or, bounded, to stderr. Every outcome is
//! counted in the sink's [`SinkMetrics`](crate::SinkMetrics), and
//! [`Pipeline::health`](crate::Pipeline::health) reports each driver's state.
//! [`Route`]s choose which sinks take which lines.
//!
//! The error a sink returns carries the retry decision: see [`SinkError`].
//!
//! Built-ins: [`StdoutSink`] and [`StderrSink`] (JSON, flat or pretty),
//! [`RotatingFileSink`] (fapilog's rotating files), [`FileSink`] (one file,
//! appended), [`WriterSink`] (any `io::Write`) and, for tests,
//! [`crate::testing::CaptureSink`].
//!
//! ```
//! use fapilog::{Batch, Sink, SinkError};
//!
//! /// Counts lines; a sink of your own is this much code.
//! struct Counter(usize);
//!
//! impl Sink for Counter {
//!     fn name(&self) -> &str { "counter" }
//!     fn write_batch(&mut self, batch: &Batch) -> Result<(), SinkError> {
//!         self.0 += batch.len();
//!         Ok(())
//!     }
//! }
//! ```

mod backoff;
mod breaker;
pub(crate) mod driver;
mod factory;
mod fallback;
mod file;
pub(crate) mod options;
pub mod rotating;
mod route;
mod stderr;
mod stdout;
mod writer;

pub use crate::metrics::{DivertReason, SinkDropReason, SinkErrorKind, SinkHealth};
#[cfg(feature = "spool")]
pub use crate::spool::{
    SpoolFsync, SpoolMode, SpoolOptions, SpoolWhenFull, DEFAULT_SPOOL_MAX_BYTES,
    DEFAULT_SPOOL_SEGMENT_BYTES,
};
pub use backoff::Backoff;
pub use breaker::{Breaker, BreakerState};
pub use factory::SinkFactory;
pub use file::FileSink;
pub use options::{
    BreakerPolicy, RetryPolicy, SinkOptions, WhenFull, DEFAULT_BUFFER_BATCHES, DEFAULT_BUFFER_BYTES,
};
pub use rotating::{
    FsyncPolicy, Housekeeping, ReopenHandle, RotatingFileBuilder, RotatingFileSink,
};
pub use route::Route;
pub(crate) use route::{Router, RoutingConfig};
pub use stderr::StderrSink;
pub use stdout::StdoutSink;
pub use writer::WriterSink;

use std::time::Duration;

use crate::batch::Batch;
use crate::encode::Format;

/// A destination for batches of events.
pub trait Sink: Send + 'static {
    /// A short name for metrics and diagnostics (unique within a pipeline).
    fn name(&self) -> &str;

    /// The format this sink wants its batches in.
    fn format(&self) -> Format {
        Format::Json
    }

    /// What the driver does when this sink's buffer is full, unless the
    /// sink's [`SinkOptions`] say otherwise. The default, [`WhenFull::DropNewest`],
    /// keeps a slow destination from slowing anything else; local sinks
    /// (stdout, files) answer [`WhenFull::Block`]. A pipeline's sole sink
    /// blocks whatever it answers: with no other sink to protect, the
    /// callers' backpressure policy decides.
    fn when_full(&self) -> WhenFull {
        WhenFull::DropNewest
    }

    /// Called once, when the pipeline is built, before the first batch.
    fn start(&mut self) -> Result<(), SinkError> {
        Ok(())
    }

    /// Writes a whole batch. Called on the sink's own driver thread; an
    /// error says whether to retry (see [`SinkError`]).
    fn write_batch(&mut self, batch: &Batch) -> Result<(), SinkError>;

    /// Writes the batch the last [`write_batch`](Sink::write_batch) (or
    /// `retry_batch`) call failed on with a retryable error: the driver's
    /// retry. A sink that sends a batch as several requests resends only
    /// those that failed, with the exact bytes of the first attempt. The
    /// default writes the whole batch again.
    fn retry_batch(&mut self, batch: &Batch) -> Result<(), SinkError> {
        self.write_batch(batch)
    }

    /// Pushes buffered data out (called by `Pipeline::flush` and on shutdown).
    fn flush(&mut self) -> Result<(), SinkError> {
        Ok(())
    }

    /// Called once at shutdown, after the last batch.
    fn stop(&mut self) -> Result<(), SinkError> {
        self.flush()
    }
}

impl<S: Sink + ?Sized> Sink for Box<S> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn format(&self) -> Format {
        (**self).format()
    }
    fn when_full(&self) -> WhenFull {
        (**self).when_full()
    }
    fn start(&mut self) -> Result<(), SinkError> {
        (**self).start()
    }
    fn write_batch(&mut self, batch: &Batch) -> Result<(), SinkError> {
        (**self).write_batch(batch)
    }
    fn retry_batch(&mut self, batch: &Batch) -> Result<(), SinkError> {
        (**self).retry_batch(batch)
    }
    fn flush(&mut self) -> Result<(), SinkError> {
        (**self).flush()
    }
    fn stop(&mut self) -> Result<(), SinkError> {
        (**self).stop()
    }
}

/// Why a sink could not take a batch, and so what the driver does next.
///
/// | variant | retried | what happens to the batch |
/// |---|---|---|
/// | [`Transient`](SinkError::Transient), [`Io`](SinkError::Io), [`Other`](SinkError::Other) | yes, with backoff (`after` when given) | diverted once retries are exhausted |
/// | [`Rejected`](SinkError::Rejected) | never | diverted at once |
/// | [`Partial`](SinkError::Partial) | never | the listed lines are diverted, the rest counts as written |
///
/// Messages must not contain secrets (tokens, passwords): they are printed
/// in diagnostics.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// An I/O error (retried).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The destination refused the data; sending it again would not help.
    #[error("rejected: {0}")]
    Rejected(String),
    /// The destination failed for now (a timeout, 429, 503…); retry, after
    /// `after` when the destination said how long (`Retry-After`).
    #[error("transient failure: {message}")]
    Transient {
        /// What happened.
        message: String,
        /// How long the destination asked to wait.
        after: Option<Duration>,
    },
    /// Part of the batch was delivered; the lines at `rejected` (indices
    /// into the batch) were refused and will not be retried.
    #[error("{} line(s) of the batch rejected: {message}", rejected.len())]
    Partial {
        /// Indices of the refused lines in the batch.
        rejected: Vec<usize>,
        /// Why.
        message: String,
    },
    /// Any other failure (retried).
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

impl SinkError {
    /// A transient failure, to retry after the backoff's own delay.
    pub fn transient(message: impl Into<String>) -> SinkError {
        SinkError::Transient {
            message: message.into(),
            after: None,
        }
    }

    /// A transient failure, to retry no sooner than `after`.
    pub fn retry_after(message: impl Into<String>, after: Duration) -> SinkError {
        SinkError::Transient {
            message: message.into(),
            after: Some(after),
        }
    }

    /// `true` when sending the same batch again may succeed.
    pub fn is_retryable(&self) -> bool {
        !matches!(self, SinkError::Rejected(_) | SinkError::Partial { .. })
    }

    /// The kind, as counted in the sink's metrics.
    pub fn kind(&self) -> SinkErrorKind {
        match self {
            SinkError::Rejected(_) | SinkError::Partial { .. } => SinkErrorKind::Rejected,
            _ => SinkErrorKind::Transient,
        }
    }
}
