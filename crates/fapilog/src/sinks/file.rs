use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Sink, SinkError};
use crate::batch::Batch;
use crate::encode::Format;

/// Appends batches to one file (no rotation: that comes with the rotating
/// file sink). One `write` per batch; `flush` and `stop` sync the file to disk.
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
}

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
        Ok(FileSink {
            name: format!("file:{}", path.display()),
            path,
            file,
            format,
        })
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

    fn write_batch(&mut self, batch: &Batch) -> Result<(), SinkError> {
        self.file.write_all(batch.as_bytes())?;
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
