//! The rotating file sink, with fapilog's file names and semantics.
//!
//! - **Names**: `{prefix}-{UTC %Y%m%d-%H%M%S}[-N].jsonl` (`.log` for the
//!   human format), `-N` counting up from 1 when the name is taken, so one
//!   shipper glob (`fapilog-*.jsonl*`) matches Python and Rust services.
//!   A new file is opened at start-up, at each rotation, never appended to
//!   an older one.
//! - **Size**: a file is rotated before a write that would take it past
//!   `max_bytes`; a batch is split at line boundaries, so no file passes
//!   the limit unless one line alone does (it then gets a file of its own).
//! - **Time**: with an interval, files are rotated at multiples of it
//!   counted from the epoch (an hourly file starts on the hour, UTC).
//! - **Retention** on rotated files (the active one never counts, so a
//!   restart deletes exactly what a rotation would): count, total bytes,
//!   age; applied at start-up and after each rotation.
//! - **Compression** (`.gz`, level 5, feature `gzip`) and retention run on a
//!   small background thread, never on the writing one ([`Housekeeping`]).
//! - **Outside interference**: before each batch the path is compared
//!   with the open file (device and inode); a deleted directory is
//!   recreated and a file moved away (logrotate) reopened, so no line goes
//!   into an unlinked file. [`ReopenHandle`] (and, with the `sighup`
//!   feature, SIGHUP) reopens on demand for `create`-style logrotate.
//! - **Writes**: one `write` per batch (or per part of a batch around a
//!   rotation). A failed or short write is cut back to the last whole
//!   batch, so a file never holds a torn line, and the error is returned
//!   for the driver to retry.

mod housekeeping;
mod naming;

pub use housekeeping::Housekeeping;

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::{Sink, SinkError};
use crate::batch::Batch;
use crate::encode::Format;
use crate::error::Error;

use housekeeping::{Plan, Retention};

/// The clock the sink reads for names, time rotation and age retention.
pub(crate) type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// When the sink asks the kernel to put written data on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FsyncPolicy {
    /// Never: the kernel writes back on its own schedule (a crash of the
    /// process loses nothing; a power loss may lose the last seconds).
    Never,
    /// When a file is closed (rotation, `stop`): every rotated file is on
    /// disk before it is compressed or shipped. The default.
    #[default]
    OnRotate,
    /// After every batch, and on rotation: a power loss loses at most the
    /// batch being written, at the cost of one `fdatasync` per batch.
    EveryBatch,
}

/// Asks a [`RotatingFileSink`] to reopen its file at the same path before
/// its next batch: what `create`-style logrotate expects after it has
/// renamed the file (usually sent as SIGHUP).
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// let sink = fapilog::sinks::RotatingFileSink::builder(dir.path()).build()?;
/// let reopen = sink.reopen_handle();
/// // ... after logrotate has moved the file away:
/// reopen.reopen();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct ReopenHandle {
    flag: Arc<AtomicBool>,
}

impl ReopenHandle {
    /// Reopens the file before the next batch.
    pub fn reopen(&self) {
        self.flag.store(true, Ordering::Release);
    }

    /// Reopens the file whenever the process receives SIGHUP (from now on).
    /// This replaces SIGHUP's default action (ending the process).
    #[cfg(all(unix, feature = "sighup"))]
    pub fn reopen_on_sighup(&self) -> std::io::Result<()> {
        signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&self.flag)).map(|_| ())
    }

    fn take(&self) -> bool {
        // One relaxed load per batch in the common case.
        self.flag.load(Ordering::Relaxed) && self.flag.swap(false, Ordering::Acquire)
    }
}

/// Options of a [`RotatingFileSink`]; see [`RotatingFileSink::builder`].
#[must_use = "a builder does nothing until `build` is called"]
pub struct RotatingFileBuilder {
    dir: PathBuf,
    prefix: String,
    format: Format,
    name: Option<String>,
    max_bytes: Option<u64>,
    interval: Option<Duration>,
    retention: Retention,
    compress: bool,
    fsync: FsyncPolicy,
    check_every: Duration,
    clock: Clock,
}

impl std::fmt::Debug for RotatingFileBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RotatingFileBuilder")
            .field("dir", &self.dir)
            .field("prefix", &self.prefix)
            .field("format", &self.format)
            .field("max_bytes", &self.max_bytes)
            .field("interval", &self.interval)
            .field("retention", &self.retention)
            .field("compress", &self.compress)
            .field("fsync", &self.fsync)
            .finish_non_exhaustive()
    }
}

/// fapilog's default `max_bytes`: 10 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 10 << 20;

fn bad(key: &str, value: impl ToString, expected: &str) -> Error {
    Error::InvalidSetting {
        key: format!("rotating_file.{key}"),
        value: value.to_string(),
        expected: expected.to_owned(),
    }
}

/// Compression asked for in a build without the `gzip` feature is an error
/// naming the setting and the feature.
fn compression_available(compress: bool, gzip_built: bool) -> Result<(), Error> {
    if compress && !gzip_built {
        return Err(bad(
            "compress_rotated",
            true,
            "false: gzip needs the `gzip` cargo feature of fapilog",
        ));
    }
    Ok(())
}

impl RotatingFileBuilder {
    /// File names start with `prefix` (default `fapilog`), followed by `-`
    /// and the UTC time the file was opened.
    pub fn filename_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The line format (default [`Format::Json`], files `.jsonl`;
    /// [`Format::Pretty`] gives `.log` files).
    pub fn format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }

    /// The sink's name in metrics, routing and fallbacks (default
    /// `rotating_file`, fapilog's name; give a second rotating file sink of
    /// one pipeline its own).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Rotates before a write that would take the file past `bytes`
    /// (default 10 MiB; 0 is refused by `build`).
    pub fn max_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = Some(bytes);
        self
    }

    /// No size limit: rotate by time only (or never).
    pub fn no_size_limit(mut self) -> Self {
        self.max_bytes = None;
        self
    }

    /// Rotates at every multiple of `interval` since the epoch (UTC); zero
    /// is refused by `build`.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = Some(interval);
        self
    }

    /// Keeps at most `n` rotated files besides the active one.
    pub fn max_files(mut self, n: usize) -> Self {
        self.retention.max_files = Some(n);
        self
    }

    /// Keeps the newest rotated files whose sizes add up to at most `bytes`.
    pub fn max_total_bytes(mut self, bytes: u64) -> Self {
        self.retention.max_total_bytes = Some(bytes);
        self
    }

    /// Deletes rotated files closed more than `age` ago.
    pub fn max_age(mut self, age: Duration) -> Self {
        self.retention.max_age = Some(age);
        self
    }

    /// Gzips rotated files to `<name>.gz` on the background thread (needs
    /// the `gzip` cargo feature; without it, [`build`](Self::build) fails
    /// naming `compress_rotated` and the feature).
    pub fn compress(mut self, on: bool) -> Self {
        self.compress = on;
        self
    }

    /// When to sync to disk (default [`FsyncPolicy::OnRotate`]).
    pub fn fsync(mut self, policy: FsyncPolicy) -> Self {
        self.fsync = policy;
        self
    }

    /// How often the path is compared with the open file, to notice a
    /// deleted directory or a file moved away (default: before every
    /// batch, one `stat`).
    pub fn check_path_every(mut self, every: Duration) -> Self {
        self.check_every = every;
        self
    }

    /// The wall clock for names, time rotation and age retention (default
    /// [`SystemTime::now`]); tests pass a manual one.
    pub fn clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Checks the options, creates the directory, opens the first file and
    /// starts the housekeeping (retention at start-up included).
    pub fn build(self) -> Result<RotatingFileSink, Error> {
        if self.prefix.is_empty() || self.prefix.contains(['/', '\\']) {
            return Err(bad(
                "filename_prefix",
                &self.prefix,
                "a non-empty file name without a path separator",
            ));
        }
        if self.max_bytes == Some(0) {
            return Err(bad(
                "max_bytes",
                0,
                "a size of at least 1 byte (no_size_limit() to rotate by time only)",
            ));
        }
        if self.interval == Some(Duration::ZERO) {
            return Err(bad("interval_seconds", 0, "a positive interval"));
        }
        compression_available(self.compress, cfg!(feature = "gzip"))?;
        let ext = match self.format {
            Format::Pretty { .. } => ".log",
            _ => ".jsonl",
        };
        let housekeeping = Housekeeping::start(Plan {
            dir: self.dir.clone(),
            prefix: self.prefix.clone(),
            ext,
            retention: self.retention,
            compress: self.compress,
            clock: Arc::clone(&self.clock),
        })
        .map_err(Error::Spawn)?;
        let name = self.name.unwrap_or_else(|| "rotating_file".to_owned());
        let mut sink = RotatingFileSink {
            name,
            format: self.format,
            dir: self.dir,
            prefix: self.prefix,
            ext,
            max_bytes: self.max_bytes,
            interval: self.interval,
            fsync: self.fsync,
            check_every: self.check_every,
            next_check: SystemTime::UNIX_EPOCH,
            clock: self.clock,
            reopen: ReopenHandle::default(),
            housekeeping,
            active: None,
            last_stem: None,
        };
        let now = (sink.clock)();
        sink.open_new(now).map_err(|source| Error::Open {
            path: sink.dir.display().to_string(),
            source,
        })?;
        Ok(sink)
    }
}

/// The file being written.
struct Active {
    file: File,
    path: PathBuf,
    size: u64,
    id: FileId,
    /// When the time interval ends.
    deadline: Option<SystemTime>,
}

/// What identifies a file behind a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileId {
    #[cfg(unix)]
    dev: u64,
    #[cfg(unix)]
    ino: u64,
}

impl FileId {
    fn of(m: &fs::Metadata) -> FileId {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            FileId {
                dev: m.dev(),
                ino: m.ino(),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = m;
            FileId {}
        }
    }
}

/// Writes batches to rotating files named as fapilog names them (see the
/// [module docs](self) for the rules).
///
/// ```
/// use std::time::Duration;
/// # let dir = tempfile::tempdir()?;
/// let sink = fapilog::sinks::RotatingFileSink::builder(dir.path())
///     .filename_prefix("api")
///     .max_bytes(50 << 20)
///     .interval(Duration::from_secs(24 * 3600))
///     .max_files(14)
///     .compress(true)
///     .build()?;
/// assert!(sink.current_path().file_name().unwrap().to_str().unwrap().starts_with("api-"));
/// let pipeline = fapilog::Pipeline::builder().sink(sink).build()?;
/// fapilog::info!(pipeline.logger("app"), "to a rotating file");
/// pipeline.shutdown(Duration::from_secs(5));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RotatingFileSink {
    name: String,
    format: Format,
    dir: PathBuf,
    prefix: String,
    ext: &'static str,
    max_bytes: Option<u64>,
    interval: Option<Duration>,
    fsync: FsyncPolicy,
    check_every: Duration,
    next_check: SystemTime,
    clock: Clock,
    reopen: ReopenHandle,
    housekeeping: Housekeeping,
    active: Option<Active>,
    /// The name stem and `-N` of the last file opened.
    last_stem: Option<(String, u32)>,
}

impl std::fmt::Debug for RotatingFileSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RotatingFileSink")
            .field("name", &self.name)
            .field("path", &self.active.as_ref().map(|a| &a.path))
            .finish_non_exhaustive()
    }
}

impl RotatingFileSink {
    /// Options for a sink writing into `directory` (created if missing),
    /// with fapilog's defaults: prefix `fapilog`, JSON lines, 10 MiB
    /// files, no time rotation, no retention limit, no compression.
    pub fn builder(directory: impl AsRef<Path>) -> RotatingFileBuilder {
        RotatingFileBuilder {
            dir: directory.as_ref().to_path_buf(),
            prefix: "fapilog".to_owned(),
            format: Format::Json,
            name: None,
            max_bytes: Some(DEFAULT_MAX_BYTES),
            interval: None,
            retention: Retention::default(),
            compress: false,
            fsync: FsyncPolicy::default(),
            check_every: Duration::ZERO,
            clock: Arc::new(SystemTime::now),
        }
    }

    /// The file being written (the last one opened, if a reopen failed).
    pub fn current_path(&self) -> &Path {
        self.active.as_ref().map_or(&self.dir, |a| &a.path)
    }

    /// A handle that makes the sink reopen its file before the next batch.
    pub fn reopen_handle(&self) -> ReopenHandle {
        self.reopen.clone()
    }

    /// A handle on the background compression and retention.
    pub fn housekeeping(&self) -> Housekeeping {
        self.housekeeping.clone()
    }

    /// Opens a new file named for `now`. The housekeeper touches no file
    /// from the moment the writer starts opening one until it knows the new
    /// active file's name (it would take the new file for a rotated one).
    fn open_new(&mut self, now: SystemTime) -> std::io::Result<()> {
        self.housekeeping.opening();
        let opened = self.create_next(now);
        if opened.is_err() {
            self.housekeeping.open_failed();
        }
        opened
    }

    fn create_next(&mut self, now: SystemTime) -> std::io::Result<()> {
        fs::create_dir_all(&self.dir)?;
        let stem = naming::stem(&self.prefix, now);
        // Many rotations within one second: start after the last index used.
        let mut index = match &self.last_stem {
            Some((last, i)) if *last == stem => i + 1,
            _ => 0,
        };
        let (file, path) = loop {
            let name = naming::file_name(&stem, index, self.ext);
            let path = self.dir.join(&name);
            let gz = self.dir.join(format!("{name}.gz"));
            if !gz.exists() {
                match OpenOptions::new().append(true).create_new(true).open(&path) {
                    Ok(f) => break (f, path),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(e),
                }
            }
            index += 1;
        };
        self.last_stem = Some((stem, index));
        let meta = file.metadata()?;
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        self.active = Some(Active {
            file,
            path,
            size: meta.len(),
            id: FileId::of(&meta),
            deadline: self.interval.map(|i| naming::next_boundary(now, i)),
        });
        self.housekeeping.request(&name);
        Ok(())
    }

    /// Closes the active file and opens the next one.
    fn rotate(&mut self, now: SystemTime) -> std::io::Result<()> {
        if let Some(a) = self.active.take() {
            if self.fsync != FsyncPolicy::Never {
                if let Err(e) = a.file.sync_data() {
                    let p = a.path.display().to_string();
                    let e = e.to_string();
                    crate::diagnostics::warn(
                        "rotating_file",
                        "cannot sync a rotated file",
                        &[("path", p.as_str()), ("error", e.as_str())],
                    );
                }
            }
        }
        self.open_new(now)
    }

    /// Reopens the active path (creating the directory and the file again
    /// if they are gone); the interval deadline stays.
    fn reopen_path(&mut self) -> std::io::Result<()> {
        let Some(a) = self.active.as_mut() else {
            return Ok(());
        };
        if let Some(dir) = a.path.parent() {
            fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().append(true).create(true).open(&a.path)?;
        let meta = file.metadata()?;
        a.file = file;
        a.size = meta.len();
        a.id = FileId::of(&meta);
        Ok(())
    }

    /// Reopens when asked to, or when the path no longer leads to the open
    /// file (directory deleted, file moved away).
    fn check_path(&mut self, now: SystemTime) -> std::io::Result<()> {
        if self.reopen.take() {
            return self.reopen_path();
        }
        if now < self.next_check {
            return Ok(());
        }
        self.next_check = now.checked_add(self.check_every).unwrap_or(now);
        let Some(a) = self.active.as_mut() else {
            return Ok(());
        };
        match fs::metadata(&a.path) {
            Ok(m) if FileId::of(&m) == a.id => {
                // Someone may have truncated it (copytruncate): follow.
                a.size = m.len();
                Ok(())
            }
            _ => self.reopen_path(),
        }
    }

    /// Appends `chunk` to the active file in one `write` where the kernel
    /// takes it whole; on failure the file is cut back to where it was.
    fn append(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        let Some(a) = self.active.as_mut() else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no log file is open",
            ));
        };
        match a.file.write_all(chunk) {
            Ok(()) => {
                a.size += chunk.len() as u64;
                Ok(())
            }
            Err(e) => {
                // No torn line: back to the last whole batch.
                let _ = a.file.set_len(a.size);
                Err(e)
            }
        }
    }

    fn size(&self) -> u64 {
        self.active.as_ref().map_or(0, |a| a.size)
    }
}

impl Sink for RotatingFileSink {
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
        let now = (self.clock)();
        if self.active.is_none() {
            self.open_new(now)?;
        }
        self.check_path(now)?;
        if self
            .active
            .as_ref()
            .and_then(|a| a.deadline)
            .is_some_and(|d| now >= d)
        {
            self.rotate(now)?;
        }
        let bytes = batch.as_bytes();
        match self.max_bytes {
            Some(max) if self.size() + bytes.len() as u64 > max => {
                // Split at line boundaries, rotating between the parts.
                let (mut start, mut pos) = (0usize, 0usize);
                for line in batch.lines() {
                    let len = line.bytes.len() + 1;
                    let part = (pos - start + len) as u64;
                    if self.size() + part > max && (pos > start || self.size() > 0) {
                        if pos > start {
                            self.append(&bytes[start..pos])?;
                            start = pos;
                        }
                        self.rotate(now)?;
                    }
                    pos += len;
                }
                if pos > start {
                    self.append(&bytes[start..pos])?;
                }
            }
            _ => self.append(bytes)?,
        }
        if self.fsync == FsyncPolicy::EveryBatch {
            if let Some(a) = &self.active {
                a.file.sync_data()?;
            }
        }
        Ok(())
    }

    fn stop(&mut self) -> Result<(), SinkError> {
        if self.fsync != FsyncPolicy::Never {
            if let Some(a) = &self.active {
                a.file.sync_data()?;
            }
        }
        Ok(())
    }
}

impl Drop for RotatingFileSink {
    fn drop(&mut self) {
        self.housekeeping.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_without_the_gzip_feature_is_refused_naming_the_setting_and_the_feature() {
        let msg = compression_available(true, false)
            .expect_err("compression needs the gzip feature")
            .to_string();
        assert!(msg.contains("rotating_file.compress_rotated"), "{msg}");
        assert!(msg.contains("`gzip` cargo feature"), "{msg}");
        assert!(compression_available(false, false).is_ok());
        assert!(compression_available(true, true).is_ok());
    }
}
