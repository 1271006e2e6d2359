//! One frame of a segment file, and the batch it carries.
//!
//! ```text
//! frame   := len u32 LE | crc u32 LE | seq u64 LE | payload (len bytes)
//! crc     := CRC32C of seq (8 bytes LE) and payload
//! payload := format u8 | trace u8 | lines u32 | spooled_at_ms u64 | line*
//! line    := priority u8 | name_len u8 | name | time_ns u64 | id [16] | len u32 | bytes
//! ```
//!
//! `name` is empty for the built-in levels. All integers little-endian.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::batch::Batch;
use crate::encode::{Format, TraceName};
use crate::envelope::MessageId;
use crate::level::Level;

/// Bytes before the payload.
pub(crate) const HEADER: usize = 16;
/// Bytes of the payload's own header.
const PAYLOAD_HEADER: usize = 14;
/// The largest payload a frame may have: a longer length is corrupt and is
/// never allocated.
pub(crate) const MAX_PAYLOAD: usize = 64 << 20;

/// A frame's header, as read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) len: u32,
    pub(crate) crc: u32,
    pub(crate) seq: u64,
}

impl Header {
    pub(crate) fn parse(b: &[u8]) -> Option<Header> {
        let b: &[u8; HEADER] = b.get(..HEADER)?.try_into().ok()?;
        Some(Header {
            len: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            crc: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            seq: u64::from_le_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]]),
        })
    }

    /// The frame's whole size.
    pub(crate) fn frame_len(&self) -> usize {
        HEADER + self.len as usize
    }

    /// `true` when `payload` is what this header was written for.
    pub(crate) fn checks(&self, payload: &[u8]) -> bool {
        checksum(self.seq, payload) == self.crc
    }
}

fn checksum(seq: u64, payload: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&seq.to_le_bytes()), payload)
}

/// Appends the frame of `batch` with sequence number `seq` to `out`.
pub(crate) fn encode(out: &mut Vec<u8>, seq: u64, batch: &Batch, now: SystemTime) {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER]);
    out.push(format_code(batch.format()));
    out.push(match batch.trace_name() {
        TraceName::Trace => 1,
        _ => 0,
    });
    out.extend_from_slice(&(batch.len() as u32).to_le_bytes());
    out.extend_from_slice(&millis(now).to_le_bytes());
    for line in batch.lines() {
        let level = line.level;
        out.push(level.priority());
        let builtin = Level::BUILTIN.contains(&level) && builtin_name(level) == level.name();
        let name = if builtin { "" } else { level.name() };
        let name = &name.as_bytes()[..name.len().min(255)];
        out.push(name.len() as u8);
        out.extend_from_slice(name);
        out.extend_from_slice(&nanos(line.time).to_le_bytes());
        out.extend_from_slice(line.message_id.as_bytes());
        out.extend_from_slice(&(line.bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(line.bytes);
    }
    let payload_len = out.len() - start - HEADER;
    let crc = checksum(seq, &out[start + HEADER..]);
    out[start..start + 4].copy_from_slice(&(payload_len as u32).to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    out[start + 8..start + 16].copy_from_slice(&seq.to_le_bytes());
}

/// The lines a payload says it holds, without decoding it.
pub(crate) fn line_count(payload: &[u8]) -> u64 {
    payload
        .get(2..6)
        .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]).into())
}

/// When the payload was spooled.
pub(crate) fn spooled_at(payload: &[u8]) -> Option<SystemTime> {
    let b: [u8; 8] = payload.get(6..14)?.try_into().ok()?;
    UNIX_EPOCH.checked_add(Duration::from_millis(u64::from_le_bytes(b)))
}

/// The batch a payload carries; `None` when it does not parse (a frame
/// whose checksum matched but whose writer was another version).
pub(crate) fn decode(payload: &[u8]) -> Option<Batch> {
    let mut r = Reader(payload);
    let format = match r.u8()? {
        0 => Format::Json,
        1 => Format::Flat,
        2 => Format::Pretty { color: false },
        3 => Format::Pretty { color: true },
        _ => return None,
    };
    let trace = if r.u8()? == 1 {
        TraceName::Trace
    } else {
        TraceName::Debug
    };
    let lines = r.u32()? as usize;
    r.take(8)?;
    let mut batch = Batch::with_trace_name(format, trace);
    for _ in 0..lines {
        let priority = r.u8()?;
        let name_len = r.u8()? as usize;
        let name = std::str::from_utf8(r.take(name_len)?).ok()?;
        let level = if name.is_empty() {
            Level::BUILTIN
                .into_iter()
                .find(|l| l.priority() == priority)?
        } else {
            Level::custom(priority, crate::logger::intern(name))
        };
        let time = UNIX_EPOCH.checked_add(Duration::from_nanos(r.u64()?))?;
        let id: [u8; 16] = r.take(16)?.try_into().ok()?;
        let len = r.u32()? as usize;
        let bytes = r.take(len)?;
        batch.push_line(level, time, MessageId::from_bytes(id), bytes);
    }
    r.0.is_empty().then_some(batch)
}

/// The name a built-in level has, so a custom level that reuses a
/// built-in priority under another name keeps its name.
fn builtin_name(level: Level) -> &'static str {
    Level::BUILTIN
        .into_iter()
        .find(|l| l.priority() == level.priority())
        .map_or("", Level::name)
}

fn format_code(f: Format) -> u8 {
    match f {
        Format::Json => 0,
        Format::Flat => 1,
        Format::Pretty { color: false } => 2,
        Format::Pretty { color: true } => 3,
    }
}

fn millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis().min(u128::from(u64::MAX)) as u64)
}

fn nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos().min(u128::from(u64::MAX)) as u64)
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

const _: () = assert!(PAYLOAD_HEADER == 14);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::Event;

    #[test]
    fn a_batch_survives_the_round_trip_with_its_metadata() {
        let mut b = Batch::new(Format::Json);
        b.push(&Event::new(Level::INFO, "one"));
        b.push(&Event::new(Level::custom(60, "AUDIT"), "two"));
        let mut out = Vec::new();
        encode(&mut out, 7, &b, SystemTime::now());
        let h = Header::parse(&out).unwrap();
        assert_eq!(h.seq, 7);
        assert_eq!(h.frame_len(), out.len());
        let payload = &out[HEADER..];
        assert!(h.checks(payload));
        assert_eq!(line_count(payload), 2);
        let back = decode(payload).unwrap();
        assert_eq!(back.as_bytes(), b.as_bytes());
        let (a, z): (Vec<_>, Vec<_>) = (b.lines().collect(), back.lines().collect());
        for (x, y) in a.iter().zip(&z) {
            assert_eq!(x.level, y.level);
            assert_eq!(x.level.name(), y.level.name());
            assert_eq!(x.message_id, y.message_id);
            assert_eq!(x.time, y.time);
        }
    }

    #[test]
    fn a_flipped_bit_fails_the_checksum() {
        let mut b = Batch::new(Format::Json);
        b.push(&Event::new(Level::INFO, "one"));
        let mut out = Vec::new();
        encode(&mut out, 1, &b, SystemTime::now());
        out[HEADER + 20] ^= 0x10;
        let h = Header::parse(&out).unwrap();
        assert!(!h.checks(&out[HEADER..]));
    }
}
