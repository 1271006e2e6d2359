use std::io::Write;

use super::{Sink, SinkError};
use crate::batch::Batch;
use crate::encode::Format;

/// Writes batches to any [`io::Write`](std::io::Write) you hand over: a
/// socket, a pipe, a `Vec<u8>` behind a lock, a file you opened yourself.
/// Each batch is one `write_all` followed by a `flush`.
///
/// A writer that fails halfway through a batch may keep a torn last line
/// (an arbitrary writer cannot be cut back); the driver then retries the
/// whole batch. For files, [`RotatingFileSink`](super::RotatingFileSink)
/// and [`FileSink`](super::FileSink) avoid both.
///
/// ```
/// use std::io::Write;
/// use std::sync::{Arc, Mutex};
///
/// /// A buffer the test can read while the pipeline holds the writer.
/// #[derive(Clone, Default)]
/// struct Shared(Arc<Mutex<Vec<u8>>>);
/// impl Write for Shared {
///     fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
///         self.0.lock().unwrap().extend_from_slice(b);
///         Ok(b.len())
///     }
///     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
/// }
///
/// let out = Shared::default();
/// let sink = fapilog::WriterSink::new(out.clone()).named("memory");
/// let pipeline = fapilog::Pipeline::builder().sink(sink).build()?;
/// fapilog::info!(pipeline.logger("app"), "hello");
/// pipeline.flush(std::time::Duration::from_secs(5))?;
/// assert!(String::from_utf8_lossy(&out.0.lock().unwrap()).contains("\"message\":\"hello\""));
/// # Ok::<(), fapilog::Error>(())
/// ```
#[derive(Debug)]
pub struct WriterSink<W> {
    writer: W,
    format: Format,
    name: String,
}

impl<W: Write + Send + 'static> WriterSink<W> {
    /// JSON envelopes to `writer`, named `writer`.
    pub fn new(writer: W) -> WriterSink<W> {
        WriterSink::with_format(writer, Format::Json)
    }

    /// Lines in `format` to `writer`.
    pub fn with_format(writer: W, format: Format) -> WriterSink<W> {
        WriterSink {
            writer,
            format,
            name: "writer".to_owned(),
        }
    }

    /// Names the sink (names are unique within a pipeline).
    #[must_use]
    pub fn named(mut self, name: impl Into<String>) -> WriterSink<W> {
        self.name = name.into();
        self
    }

    /// The writer back (for a sink not handed to a pipeline).
    pub fn into_inner(self) -> W {
        self.writer
    }
}

impl<W: Write + Send + 'static> Sink for WriterSink<W> {
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
        self.writer.write_all(batch.as_bytes())?;
        self.writer.flush()?;
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.writer.flush()?;
        Ok(())
    }
}
