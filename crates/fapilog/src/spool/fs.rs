//! The spool's view of the filesystem: a small seam so tests can inject
//! ENOSPC, EIO and short writes, and model a power cut (every file cut back
//! to the length it had at its last fsync).

#[cfg(test)]
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What the spool does to files. Paths are whole paths.
pub(crate) trait Fs: Send + Sync {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// The names of the files in `dir`.
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// Up to `max` bytes of `path` from `offset`.
    fn read_at(&self, path: &Path, offset: u64, max: usize) -> io::Result<Vec<u8>>;
    /// Appends all of `data`, creating the file if needed.
    fn append(&self, path: &Path, data: &[u8]) -> io::Result<()>;
    /// Writes `data` as the whole file.
    fn write(&self, path: &Path, data: &[u8]) -> io::Result<()>;
    fn sync(&self, path: &Path) -> io::Result<()>;
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    fn set_len(&self, path: &Path, len: u64) -> io::Result<()>;
    fn len(&self, path: &Path) -> io::Result<u64>;
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    fn remove(&self, path: &Path) -> io::Result<()>;
}

/// The real filesystem. Keeps the file being appended to open.
#[derive(Default)]
pub(crate) struct StdFs {
    open: Mutex<Option<(PathBuf, File)>>,
}

impl StdFs {
    fn with_file<T>(
        &self,
        path: &Path,
        f: impl FnOnce(&mut File) -> io::Result<T>,
    ) -> io::Result<T> {
        let mut slot = match self.open.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if slot.as_ref().is_none_or(|(p, _)| p != path) {
            let file = OpenOptions::new().create(true).append(true).open(path)?;
            *slot = Some((path.to_owned(), file));
        }
        match slot.as_mut() {
            Some((_, file)) => f(file),
            None => Err(io::Error::other("no open file")),
        }
    }

    fn forget(&self, path: &Path) {
        let mut slot = match self.open.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if slot.as_ref().is_some_and(|(p, _)| p == path) {
            *slot = None;
        }
    }
}

impl Fs for StdFs {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir)? {
            if let Some(n) = e?.file_name().to_str() {
                out.push(n.to_owned());
            }
        }
        Ok(out)
    }

    fn read_at(&self, path: &Path, offset: u64, max: usize) -> io::Result<Vec<u8>> {
        let mut f = File::open(path)?;
        f.seek(SeekFrom::Start(offset))?;
        let mut out = Vec::new();
        f.take(max as u64).read_to_end(&mut out)?;
        Ok(out)
    }

    fn append(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        self.with_file(path, |f| f.write_all(data))
    }

    fn write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        self.forget(path);
        let mut f = File::create(path)?;
        f.write_all(data)
    }

    fn sync(&self, path: &Path) -> io::Result<()> {
        self.with_file(path, |f| f.sync_data())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }

    fn set_len(&self, path: &Path, len: u64) -> io::Result<()> {
        self.with_file(path, |f| f.set_len(len))
    }

    fn len(&self, path: &Path) -> io::Result<u64> {
        Ok(std::fs::metadata(path)?.len())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.forget(from);
        self.forget(to);
        std::fs::rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        self.forget(path);
        std::fs::remove_file(path)
    }
}

/// One file of [`MemFs`]: its bytes and how many of them an fsync made durable.
#[cfg(test)]
#[derive(Clone, Default, Debug)]
struct MemFile {
    data: Vec<u8>,
    synced: usize,
    /// The name is durable (an fsync of its directory ran since it appeared).
    name_synced: bool,
}

/// A fault to inject into [`MemFs`].
#[cfg(test)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Appends fail with ENOSPC after writing nothing.
    Full,
    /// Appends write half of their data, then fail with ENOSPC.
    ShortWrite,
    /// fsync fails with EIO.
    SyncEio,
}

/// An in-memory filesystem for tests, after Vector's `FileModel`: it knows
/// the last synced length of every file, so [`MemFs::power_cut`] keeps
/// exactly what an fsync made durable.
#[cfg(test)]
#[derive(Default)]
pub(crate) struct MemFs {
    files: Mutex<HashMap<PathBuf, MemFile>>,
    fault: Mutex<Option<Fault>>,
    /// Set: the next `remove` or `rename` "crashes": it panics before
    /// acting, leaving the files as a crash at that step would.
    pub(crate) crash_on: Mutex<Option<&'static str>>,
}

#[cfg(test)]
#[allow(dead_code)]
impl MemFs {
    fn files(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, MemFile>> {
        match self.files.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    pub(crate) fn set_fault(&self, fault: Option<Fault>) {
        *match self.fault.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        } = fault;
    }

    fn fault(&self) -> Option<Fault> {
        *match self.fault.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// A power cut: every file back to its last synced length; files whose
    /// names were never made durable vanish.
    pub(crate) fn power_cut(&self) {
        let mut files = self.files();
        files.retain(|_, f| f.name_synced);
        for f in files.values_mut() {
            f.data.truncate(f.synced);
        }
    }

    /// The raw bytes of a file, for tests that corrupt or inspect it.
    pub(crate) fn bytes(&self, path: &Path) -> Option<Vec<u8>> {
        self.files().get(path).map(|f| f.data.clone())
    }

    /// Replaces a file's bytes (as durable), for tests that corrupt it.
    pub(crate) fn put(&self, path: &Path, data: Vec<u8>) {
        let synced = data.len();
        self.files().insert(
            path.to_owned(),
            MemFile {
                data,
                synced,
                name_synced: true,
            },
        );
    }

    pub(crate) fn paths(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = self.files().keys().cloned().collect();
        v.sort();
        v
    }

    pub(crate) fn total_bytes(&self) -> usize {
        self.files().values().map(|f| f.data.len()).sum()
    }

    fn crash_point(&self, step: &'static str) {
        let hit = {
            let mut c = match self.crash_on.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            if *c == Some(step) {
                *c = None;
                true
            } else {
                false
            }
        };
        if hit {
            panic!("crash point {step}");
        }
    }
}

#[cfg(test)]
fn not_found(path: &Path) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, path.display().to_string())
}

#[cfg(test)]
impl Fs for MemFs {
    fn create_dir_all(&self, _dir: &Path) -> io::Result<()> {
        Ok(())
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        Ok(self
            .files()
            .keys()
            .filter(|p| p.parent() == Some(dir))
            .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
            .collect())
    }

    fn read_at(&self, path: &Path, offset: u64, max: usize) -> io::Result<Vec<u8>> {
        let files = self.files();
        let f = files.get(path).ok_or_else(|| not_found(path))?;
        let start = (offset as usize).min(f.data.len());
        let end = start.saturating_add(max).min(f.data.len());
        Ok(f.data[start..end].to_vec())
    }

    fn append(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        let fault = self.fault();
        let mut files = self.files();
        let f = files.entry(path.to_owned()).or_default();
        match fault {
            Some(Fault::Full) => Err(io::Error::from_raw_os_error(28)),
            Some(Fault::ShortWrite) => {
                f.data.extend_from_slice(&data[..data.len() / 2]);
                Err(io::Error::from_raw_os_error(28))
            }
            _ => {
                f.data.extend_from_slice(data);
                Ok(())
            }
        }
    }

    fn write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        let mut files = self.files();
        let f = files.entry(path.to_owned()).or_default();
        f.data = data.to_vec();
        f.synced = f.synced.min(data.len());
        Ok(())
    }

    fn sync(&self, path: &Path) -> io::Result<()> {
        if self.fault() == Some(Fault::SyncEio) {
            return Err(io::Error::from_raw_os_error(5));
        }
        let mut files = self.files();
        let f = files.get_mut(path).ok_or_else(|| not_found(path))?;
        f.synced = f.data.len();
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        if self.fault() == Some(Fault::SyncEio) {
            return Err(io::Error::from_raw_os_error(5));
        }
        for (p, f) in self.files().iter_mut() {
            if p.parent() == Some(dir) {
                f.name_synced = true;
            }
        }
        Ok(())
    }

    fn set_len(&self, path: &Path, len: u64) -> io::Result<()> {
        let mut files = self.files();
        let f = files.get_mut(path).ok_or_else(|| not_found(path))?;
        f.data.resize(len as usize, 0);
        f.synced = f.synced.min(f.data.len());
        Ok(())
    }

    fn len(&self, path: &Path) -> io::Result<u64> {
        let files = self.files();
        Ok(files.get(path).ok_or_else(|| not_found(path))?.data.len() as u64)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.crash_point("rename");
        let mut files = self.files();
        let f = files.remove(from).ok_or_else(|| not_found(from))?;
        // A rename is durable once the directory is synced; the model
        // keeps it simple and treats the new name as durable when the
        // data was.
        files.insert(to.to_owned(), f);
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        self.crash_point("remove");
        self.files()
            .remove(path)
            .map(|_| ())
            .ok_or_else(|| not_found(path))
    }
}
