//! Segment files: `<first seq, 20 digits>.seg`, frames back to back.
//!
//! Recovery reads a segment frame by frame: a frame cut short at the end
//! (a torn tail) ends the segment there; a frame whose checksum fails is
//! skipped and counted; a length beyond [`MAX_PAYLOAD`] or beyond the end of
//! the file ends the segment (counted once), so nothing is ever allocated
//! past what the file holds.

use std::path::{Path, PathBuf};

use super::frame::{Header, HEADER, MAX_PAYLOAD};

pub(crate) const SUFFIX: &str = ".seg";

/// The file name of the segment whose first frame is `seq`.
pub(crate) fn name(seq: u64) -> String {
    format!("{seq:020}{SUFFIX}")
}

/// The first sequence number a segment file name carries.
pub(crate) fn parse_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SUFFIX)?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// What the spool knows of one segment.
#[derive(Clone, Debug)]
pub(crate) struct Segment {
    pub(crate) first_seq: u64,
    pub(crate) path: PathBuf,
    /// Bytes of whole frames (the file may be longer only while a write fails).
    pub(crate) len: u64,
}

impl Segment {
    pub(crate) fn new(dir: &Path, first_seq: u64, len: u64) -> Segment {
        Segment {
            first_seq,
            path: dir.join(name(first_seq)),
            len,
        }
    }
}

/// One step of reading a segment's bytes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// A whole, checked frame: its header; the payload is
    /// `bytes[at + HEADER..at + frame_len]`.
    Frame(Header),
    /// A frame whose checksum failed: skip `frame_len` bytes.
    Corrupt(usize),
    /// An implausible header: the rest of the segment cannot be framed.
    Unframeable,
    /// Fewer bytes than a whole frame: the end, or a torn tail.
    End,
}

/// Reads the frame at `at` in `bytes`.
pub(crate) fn step(bytes: &[u8], at: usize) -> Step {
    let rest = &bytes[at.min(bytes.len())..];
    let Some(h) = Header::parse(rest) else {
        return Step::End;
    };
    if h.len as usize > MAX_PAYLOAD {
        return Step::Unframeable;
    }
    let len = h.frame_len();
    if rest.len() < len {
        return Step::End;
    }
    if h.checks(&rest[HEADER..len]) {
        Step::Frame(h)
    } else {
        Step::Corrupt(len)
    }
}

/// What a scan of a whole segment found.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Scan {
    /// Bytes of frames up to the last one that could be framed.
    pub(crate) valid_len: u64,
    /// The sequence number after the last whole frame, if any.
    pub(crate) next_seq: Option<u64>,
    /// Whole frames, good or corrupt. A segment's frames take consecutive
    /// sequence numbers from its first, so this bounds the next one even
    /// when the last frames are corrupt.
    pub(crate) frames: u64,
    /// Frames skipped as corrupt (an unframeable rest counts once).
    pub(crate) corrupt: u64,
    /// `true` when bytes after `valid_len` were not a whole frame (torn tail).
    pub(crate) torn: bool,
}

/// Scans a segment's bytes, as recovery does for the newest segment.
pub(crate) fn scan(bytes: &[u8]) -> Scan {
    let mut s = Scan::default();
    let mut at = 0;
    loop {
        match step(bytes, at) {
            Step::Frame(h) => {
                at += h.frame_len();
                s.next_seq = Some(h.seq + 1);
                s.valid_len = at as u64;
                s.frames += 1;
            }
            Step::Corrupt(len) => {
                // A whole frame with a bad checksum: counted, and the
                // frames after it are still good.
                at += len;
                s.corrupt += 1;
                s.valid_len = at as u64;
                s.frames += 1;
            }
            Step::Unframeable => {
                s.corrupt += 1;
                s.torn = true;
                return s;
            }
            Step::End => {
                s.torn = at < bytes.len();
                return s;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::Batch;
    use crate::encode::Format;
    use crate::envelope::Event;
    use crate::level::Level;

    fn frames(n: u64) -> Vec<u8> {
        let mut out = Vec::new();
        for seq in 0..n {
            let mut b = Batch::new(Format::Json);
            b.push(&Event::new(Level::INFO, "x"));
            super::super::frame::encode(&mut out, seq, &b, std::time::SystemTime::now());
        }
        out
    }

    #[test]
    fn names_round_trip() {
        assert_eq!(parse_name(&name(42)), Some(42));
        assert_eq!(parse_name("cursor"), None);
        assert_eq!(parse_name("12.seg"), None);
    }

    #[test]
    fn a_torn_tail_ends_the_scan_at_the_last_whole_frame() {
        let whole = frames(3);
        let cut = &whole[..whole.len() - 5];
        let s = scan(cut);
        assert!(s.torn);
        assert_eq!(s.next_seq, Some(2));
        assert_eq!(s.corrupt, 0);
        assert!(s.valid_len < cut.len() as u64);
        assert_eq!(scan(&whole).valid_len, whole.len() as u64);
    }

    #[test]
    fn an_implausible_length_allocates_nothing_and_ends_the_segment() {
        let mut b = frames(2);
        b[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        let s = scan(&b);
        assert_eq!((s.valid_len, s.corrupt, s.torn), (0, 1, true));
    }
}
