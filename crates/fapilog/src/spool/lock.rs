//! One process per spool directory: an exclusive `flock` on `<dir>/lock`,
//! held for the life of the spool and released by the kernel when the
//! process dies (no stale locks after `kill -9`).

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// The held lock; dropping it releases it.
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
}

/// Takes the lock without waiting: `ErrorKind::WouldBlock` when another
/// process (or another spool of this one) holds it.
pub(crate) fn acquire(dir: &Path) -> io::Result<DirLock> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("lock"))?;
    try_lock(&file)?;
    Ok(DirLock { _file: file })
}

#[cfg(target_os = "linux")]
fn try_lock(file: &File) -> io::Result<()> {
    use rustix::fs::{flock, FlockOperation};
    flock(file, FlockOperation::NonBlockingLockExclusive).map_err(|e| {
        if e == rustix::io::Errno::WOULDBLOCK {
            io::Error::new(io::ErrorKind::WouldBlock, "the spool directory is locked")
        } else {
            io::Error::from(e)
        }
    })
}

/// Elsewhere the directory is not locked (documented in `docs/spool.md`).
#[cfg(not(target_os = "linux"))]
fn try_lock(_file: &File) -> io::Result<()> {
    Ok(())
}
