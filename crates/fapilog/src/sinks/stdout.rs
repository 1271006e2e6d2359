use std::io::Write;

use super::{Sink, SinkError, WhenFull};
use crate::batch::Batch;
use crate::encode::Format;

/// Writes batches to standard output: one `write` per batch in the common case.
///
/// ```
/// let sink = fapilog::StdoutSink::json();
/// # let _ = sink;
/// ```
#[derive(Debug)]
pub struct StdoutSink {
    format: Format,
    name: String,
}

impl StdoutSink {
    /// v1.1 JSON envelopes, one per line.
    pub fn json() -> StdoutSink {
        StdoutSink::with_format(Format::Json)
    }

    /// The inner `log` object alone, one per line.
    pub fn flat() -> StdoutSink {
        StdoutSink::with_format(Format::Flat)
    }

    /// Human-readable lines, coloured when stdout is a terminal and
    /// `NO_COLOR` is not set ([`crate::encode::colors_for`]).
    pub fn pretty() -> StdoutSink {
        StdoutSink::with_format(Format::Pretty {
            color: crate::encode::colors_for(&std::io::stdout()),
        })
    }

    /// Any format.
    pub fn with_format(format: Format) -> StdoutSink {
        let name = match format {
            Format::Pretty { .. } => "stdout_pretty",
            _ => "stdout_json",
        };
        StdoutSink {
            format,
            name: name.to_owned(),
        }
    }
}

impl Sink for StdoutSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn format(&self) -> Format {
        self.format
    }

    /// Local: a full buffer makes the worker wait (see [`WhenFull::Block`]).
    fn when_full(&self) -> WhenFull {
        WhenFull::Block
    }

    fn write_batch(&mut self, batch: &Batch) -> Result<(), SinkError> {
        let mut out = std::io::stdout().lock();
        out.write_all(batch.as_bytes())?;
        out.flush()?;
        Ok(())
    }
}
