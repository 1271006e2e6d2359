use std::io::{IsTerminal, Write};

use super::{Sink, SinkError};
use crate::batch::Batch;
use crate::encode::Format;

/// Writes batches to standard error, for services whose stdout carries
/// something else: one locked `write` per batch.
///
/// ```
/// let pipeline = fapilog::Pipeline::builder()
///     .sink(fapilog::StderrSink::json())
///     .build()?;
/// # drop(pipeline);
/// # Ok::<(), fapilog::Error>(())
/// ```
#[derive(Debug)]
pub struct StderrSink {
    format: Format,
    name: String,
}

impl StderrSink {
    /// v1.1 JSON envelopes, one per line (named `stderr_json`).
    pub fn json() -> StderrSink {
        StderrSink::with_format(Format::Json)
    }

    /// The inner `log` object alone, one per line (named `stderr_flat`).
    pub fn flat() -> StderrSink {
        StderrSink::with_format(Format::Flat)
    }

    /// Human-readable lines, coloured when stderr is a terminal (named
    /// `stderr_pretty`).
    pub fn pretty() -> StderrSink {
        StderrSink::with_format(Format::Pretty {
            color: std::io::stderr().is_terminal(),
        })
    }

    /// Any format.
    pub fn with_format(format: Format) -> StderrSink {
        let name = match format {
            Format::Pretty { .. } => "stderr_pretty",
            Format::Flat => "stderr_flat",
            _ => "stderr_json",
        };
        StderrSink {
            format,
            name: name.to_owned(),
        }
    }
}

impl Sink for StderrSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn format(&self) -> Format {
        self.format
    }

    /// Local: a full buffer makes the worker wait (see [`WhenFull::Block`](crate::sinks::WhenFull::Block)).
    fn when_full(&self) -> crate::sinks::WhenFull {
        crate::sinks::WhenFull::Block
    }

    fn write_batch(&mut self, batch: &Batch) -> Result<(), SinkError> {
        let mut out = std::io::stderr().lock();
        out.write_all(batch.as_bytes())?;
        out.flush()?;
        Ok(())
    }
}
