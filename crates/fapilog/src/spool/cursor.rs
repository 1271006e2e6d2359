//! The persisted read cursor: the sequence number of the first frame not
//! yet delivered. Written whole to a temporary file, synced, then renamed
//! over the old one, so a crash leaves the old cursor or the new one.
//!
//! ```text
//! cursor := next_seq u64 LE | crc u32 LE (CRC32C of next_seq)
//! ```

use std::io;
use std::path::{Path, PathBuf};

use super::fs::Fs;

pub(crate) const FILE: &str = "cursor";
const TEMP: &str = "cursor.tmp";

fn path(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

/// The cursor on disk, or why there is none (the spool then replays every
/// frame it still has).
pub(crate) fn load(fs: &dyn Fs, dir: &Path) -> Result<u64, CursorState> {
    let bytes = match fs.read_at(&path(dir, FILE), 0, 64) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(CursorState::Missing),
        Err(_) => return Err(CursorState::Corrupt),
    };
    let b: [u8; 12] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| CursorState::Corrupt)?;
    let seq = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
    let crc = u32::from_le_bytes([b[8], b[9], b[10], b[11]]);
    if crc32c::crc32c(&b[..8]) != crc {
        return Err(CursorState::Corrupt);
    }
    Ok(seq)
}

/// Why no cursor was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CursorState {
    Missing,
    Corrupt,
}

/// Persists `seq`: temp file, fsync (when `durable`), rename, directory fsync.
pub(crate) fn store(fs: &dyn Fs, dir: &Path, seq: u64, durable: bool) -> io::Result<()> {
    let mut b = [0u8; 12];
    b[..8].copy_from_slice(&seq.to_le_bytes());
    let crc = crc32c::crc32c(&b[..8]);
    b[8..].copy_from_slice(&crc.to_le_bytes());
    let temp = path(dir, TEMP);
    fs.write(&temp, &b)?;
    if durable {
        fs.sync(&temp)?;
    }
    fs.rename(&temp, &path(dir, FILE))?;
    if durable {
        fs.sync_dir(dir)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spool::fs::MemFs;

    #[test]
    fn the_cursor_round_trips_and_a_torn_one_is_corrupt() {
        let fs = MemFs::default();
        let dir = Path::new("/s");
        assert_eq!(load(&fs, dir), Err(CursorState::Missing));
        store(&fs, dir, 42, true).unwrap();
        assert_eq!(load(&fs, dir), Ok(42));
        fs.put(&dir.join(FILE), vec![1, 2, 3]);
        assert_eq!(load(&fs, dir), Err(CursorState::Corrupt));
    }
}
