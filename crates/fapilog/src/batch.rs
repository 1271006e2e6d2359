//! Batches: encoded events, back to back in one buffer, handed to sinks
//! together so a sink writes many lines per syscall or request.

use std::time::SystemTime;

use crate::encode::{self, Format, TraceName};
use crate::envelope::{Event, MessageId};
use crate::level::Level;

/// When the worker hands a batch to the sinks: whichever limit is reached first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchLimits {
    /// Events per batch (`FAPILOG_CORE__BATCH_MAX_SIZE`, default 256).
    pub max_events: usize,
    /// Encoded bytes per batch (default 1 MiB).
    pub max_bytes: usize,
    /// Longest an event waits in a batch (`FAPILOG_CORE__BATCH_TIMEOUT_SECONDS`, default 250 ms).
    pub max_age: std::time::Duration,
}

impl Default for BatchLimits {
    fn default() -> Self {
        BatchLimits {
            max_events: 256,
            max_bytes: 1 << 20,
            max_age: std::time::Duration::from_millis(250),
        }
    }
}

/// Encoded events in one format, each line ending in `\n`.
///
/// ```
/// use fapilog::{Batch, Event, Format, Level};
/// let mut batch = Batch::new(Format::Json);
/// batch.push(&Event::new(Level::INFO, "one"));
/// batch.push(&Event::new(Level::ERROR, "two"));
/// assert_eq!(batch.len(), 2);
/// let levels: Vec<_> = batch.lines().map(|l| l.level).collect();
/// assert_eq!(levels, [Level::INFO, Level::ERROR]);
/// ```
#[derive(Clone, Debug)]
pub struct Batch {
    format: Format,
    trace_name: TraceName,
    bytes: Vec<u8>,
    ends: Vec<LineMeta>,
}

/// What a batch keeps of each line besides its bytes, so that no sink has
/// to parse the JSON back for the event's time or de-duplication key.
#[derive(Clone, Copy, Debug)]
struct LineMeta {
    end: usize,
    level: Level,
    time: SystemTime,
    id: MessageId,
}

/// One line of a batch.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct BatchLine<'a> {
    /// The event's level.
    pub level: Level,
    /// The encoded event, without its newline.
    pub bytes: &'a [u8],
    /// When the event was logged (not when it is sent).
    pub time: SystemTime,
    /// The envelope's `context.message_id`: a receiver's de-duplication key.
    pub message_id: MessageId,
}

impl Batch {
    /// An empty batch for `format`.
    pub fn new(format: Format) -> Batch {
        Batch::with_trace_name(format, TraceName::default())
    }

    pub(crate) fn with_trace_name(format: Format, trace_name: TraceName) -> Batch {
        Batch {
            format,
            trace_name,
            bytes: Vec::with_capacity(64 * 1024),
            ends: Vec::with_capacity(256),
        }
    }

    /// Encodes and appends one event.
    pub fn push(&mut self, event: &Event<'_>) {
        encode::write_event(&mut self.bytes, event, self.format, self.trace_name);
        self.ends.push(LineMeta {
            end: self.bytes.len(),
            level: event.level,
            time: event.timestamp,
            id: event.message_id,
        });
    }

    /// Appends one line that `write` encodes (newline included); `write` is
    /// told whether the format is [`Format::Flat`]. For JSON batches only.
    pub(crate) fn push_with(
        &mut self,
        level: Level,
        time: SystemTime,
        id: MessageId,
        write: impl FnOnce(&mut Vec<u8>, bool),
    ) {
        write(&mut self.bytes, self.format == Format::Flat);
        self.ends.push(LineMeta {
            end: self.bytes.len(),
            level,
            time,
            id,
        });
    }

    /// Appends one already encoded line (without its newline), as the
    /// spool replays it.
    #[cfg_attr(not(feature = "spool"), allow(dead_code))]
    pub(crate) fn push_line(&mut self, level: Level, time: SystemTime, id: MessageId, line: &[u8]) {
        self.push_with(level, time, id, |bytes, _| {
            bytes.extend_from_slice(line);
            bytes.push(b'\n');
        });
    }

    /// How TRACE lines are named in this batch.
    #[cfg_attr(not(feature = "spool"), allow(dead_code))]
    pub(crate) fn trace_name(&self) -> TraceName {
        self.trace_name
    }

    /// A new batch holding the lines at `indices` (in that order).
    pub(crate) fn select(&self, indices: &[u32]) -> Batch {
        let mut out = Batch {
            format: self.format,
            trace_name: self.trace_name,
            bytes: Vec::new(),
            ends: Vec::with_capacity(indices.len()),
        };
        for &i in indices {
            let i = i as usize;
            let start = if i == 0 { 0 } else { self.ends[i - 1].end };
            let meta = self.ends[i];
            out.bytes.extend_from_slice(&self.bytes[start..meta.end]);
            out.ends.push(LineMeta {
                end: out.bytes.len(),
                ..meta
            });
        }
        out
    }

    /// The level of each line, in order.
    pub(crate) fn levels(&self) -> impl Iterator<Item = Level> + '_ {
        self.ends.iter().map(|m| m.level)
    }

    /// The format of every line.
    pub fn format(&self) -> Format {
        self.format
    }

    /// All lines, newline-terminated, back to back.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// `true` when there are no events.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Encoded size in bytes.
    pub fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    /// The lines, in order.
    pub fn lines(&self) -> impl Iterator<Item = BatchLine<'_>> {
        let mut start = 0;
        self.ends.iter().map(move |m| {
            let line = BatchLine {
                level: m.level,
                bytes: &self.bytes[start..m.end - 1],
                time: m.time,
                message_id: m.id,
            };
            start = m.end;
            line
        })
    }

    /// Empties the batch, keeping its buffers.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }
}
