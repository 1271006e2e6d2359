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
            let _ = fadvise_dont_need(&self.file, self.written_back, len);
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

/// Asks the kernel to start writing `len` bytes from `offset` to disk and
/// to drop them from the page cache once written (`POSIX_FADV_DONTNEED`).
#[cfg(all(target_os = "linux", not(miri)))]
#[allow(unsafe_code)]
fn fadvise_dont_need(file: &File, offset: u64, len: u64) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (libc::off_t::try_from(offset), libc::off_t::try_from(len)) else {
        return Ok(()); // beyond `off_t`: no advice, which changes nothing
    };
    // SAFETY: `posix_fadvise` takes no pointer; the descriptor is borrowed
    // from `file`, which stays open for the whole call, and a bad offset or
    // length is reported as an error code, never undefined behaviour.
    let rc =
        unsafe { libc::posix_fadvise(file.as_raw_fd(), offset, len, libc::POSIX_FADV_DONTNEED) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::from_raw_os_error(rc))
    }
}

/// Miri cannot call into the C library: no advice there.
#[cfg(all(target_os = "linux", miri))]
fn fadvise_dont_need(_file: &File, _offset: u64, _len: u64) -> std::io::Result<()> {
    Ok(())
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

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn the_writeback_advice_is_taken_for_a_written_range_and_refused_for_a_bad_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = File::create(dir.path().join("advice.log")).unwrap();
        file.write_all(&[b'x'; 4096]).unwrap();
        fadvise_dont_need(&file, 0, 4096).unwrap();
        // A length beyond `off_t` is no advice at all, not an error.
        fadvise_dont_need(&file, 0, u64::MAX).unwrap();
        #[cfg(not(miri))]
        {
            // The kernel checks its arguments: advice on a pipe is ESPIPE,
            // so a wrong binding shows as a wrong error, not as silence.
            let mut child = std::process::Command::new("true")
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let pipe = File::from(std::os::fd::OwnedFd::from(child.stdout.take().unwrap()));
            let err = fadvise_dont_need(&pipe, 0, 1).unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::ESPIPE), "{err}");
            child.wait().unwrap();
        }
    }
}
