use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Sink, SinkError, WhenFull};
use crate::batch::Batch;
use crate::encode::Format;

/// Appends batches to one file (no rotation: that comes with the rotating
/// file sink). One `write` per batch; `flush` and `stop` sync the file to disk.
///
/// When a write fails or is cut short (a full disk, `RLIMIT_FSIZE`), the
/// part of the batch that made it into the file is truncated away and the
/// error returned: the file always ends on a whole line, and the batch is
/// reported in one place only (the pipeline's fallback).
///
/// On Linux, every [`FileSink::writeback_every`] bytes (8 MiB by default)
/// it asks the kernel to start writing what it appended to disk, without
/// waiting for it, and to drop those pages from the page cache once written
/// (`posix_fadvise(DONTNEED)`). A log file is written once and rarely read
/// back: this keeps its dirty memory bounded, lets the disk work while the
/// pipeline encodes, keeps the final sync at shutdown short, and leaves the
/// page cache to the application.
///
/// ```no_run
/// let sink = fapilog::FileSink::create("app.jsonl").expect("open log file");
/// let pipeline = fapilog::Pipeline::builder().sink(sink).build().expect("valid settings");
/// # drop(pipeline);
/// ```
#[derive(Debug)]
pub struct FileSink {
    path: PathBuf,
    file: File,
    format: Format,
    name: String,
    /// Bytes between two writeback requests (0: never).
    writeback_every: u64,
    /// Offset up to which writeback was requested, and the end of the file.
    written_back: u64,
    end: u64,
}

/// Default of [`FileSink::writeback_every`].
const WRITEBACK_EVERY: u64 = 8 << 20;

impl FileSink {
    /// Opens (creating, appending) `path` for JSON envelopes.
    pub fn create(path: impl AsRef<Path>) -> Result<FileSink, crate::Error> {
        FileSink::with_format(path, Format::Json)
    }

    /// Opens `path` for lines in `format`.
    pub fn with_format(path: impl AsRef<Path>, format: Format) -> Result<FileSink, crate::Error> {
        let path = path.as_ref().to_path_buf();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|source| crate::Error::Open {
                path: path.display().to_string(),
                source,
            })?;
        let end = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(FileSink {
            name: format!("file:{}", path.display()),
            path,
            file,
            format,
            writeback_every: WRITEBACK_EVERY,
            written_back: end,
            end,
        })
    }

    /// How many appended bytes trigger a request to start writing them to
    /// disk (Linux; default 8 MiB; 0 turns it off, leaving it all to the
    /// kernel's own schedule).
    pub fn writeback_every(mut self, bytes: u64) -> FileSink {
        self.writeback_every = bytes;
        self
    }

    /// Starts the writeback of what was appended since the last request.
    fn request_writeback(&mut self) {
        #[cfg(target_os = "linux")]
        {
            let len = self.end - self.written_back;
            if self.writeback_every == 0 || len < self.writeback_every {
                return;
            }
            // Advice only: a failure changes nothing the caller relies on.
            let _ = rustix::fs::fadvise(
                &self.file,
                self.written_back,
                std::num::NonZeroU64::new(len),
                rustix::fs::Advice::DontNeed,
            );
            self.written_back = self.end;
        }
    }

    /// After a failed or short write (a full disk, a file size limit), the
    /// file may end with part of the batch: cut it back to the end of the
    /// last whole batch, so the next write starts a line of its own and no
    /// event is both in the file and in the fallback. Truncating frees space,
    /// so it works on a full disk; should it fail anyway, the torn line is
    /// at least terminated.
    fn cut_torn_batch(&mut self) {
        if self.file.set_len(self.end).is_ok() {
            return;
        }
        let Ok(len) = self.file.metadata().map(|m| m.len()) else {
            return;
        };
        if len > self.end && self.file.write_all(b"\n").is_ok() {
            self.end = len + 1;
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Sink for FileSink {
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
        if let Err(e) = self.file.write_all(batch.as_bytes()) {
            self.cut_torn_batch();
            // The whole batch is reported as failed (and written to the
            // fallback): none of it stays in the file.
            return Err(e.into());
        }
        self.end += batch.byte_len() as u64;
        self.request_writeback();
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.file.flush()?;
        Ok(())
    }

    fn stop(&mut self) -> Result<(), SinkError> {
        self.file.sync_data()?;
        Ok(())
    }
}
