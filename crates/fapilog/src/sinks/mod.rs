//! Sinks: where batches of encoded events go.
//!
//! A sink is a small trait: it receives whole [`Batch`]es, returns errors
//! instead of panicking, and has a lifecycle (`start`, `write_batch`,
//! `flush`, `stop`). The worker isolates every call: an error or a panic is
//! counted in the sink's metrics, the batch is written to stderr instead (so
//! nothing is lost silently), and the pipeline goes on.
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

mod fallback;
mod file;
pub mod rotating;
mod stderr;
mod stdout;
mod writer;

pub(crate) use fallback::write_to_stderr;
pub use file::FileSink;
pub use rotating::{
    FsyncPolicy, Housekeeping, ReopenHandle, RotatingFileBuilder, RotatingFileSink,
};
pub use stderr::StderrSink;
pub use stdout::StdoutSink;
pub use writer::WriterSink;

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

    /// Called once on the worker before the first batch.
    fn start(&mut self) -> Result<(), SinkError> {
        Ok(())
    }

    /// Writes a whole batch.
    fn write_batch(&mut self, batch: &Batch) -> Result<(), SinkError>;

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
    fn start(&mut self) -> Result<(), SinkError> {
        (**self).start()
    }
    fn write_batch(&mut self, batch: &Batch) -> Result<(), SinkError> {
        (**self).write_batch(batch)
    }
    fn flush(&mut self) -> Result<(), SinkError> {
        (**self).flush()
    }
    fn stop(&mut self) -> Result<(), SinkError> {
        (**self).stop()
    }
}

/// Why a sink could not take a batch.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// An I/O error.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The destination refused the data.
    #[error("rejected: {0}")]
    Rejected(String),
    /// Any other failure.
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync>),
}
