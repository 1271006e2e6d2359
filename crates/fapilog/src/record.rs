//! The record: the compact, owned form of one log call that travels through
//! the queue.
//!
//! Capture copies the dynamic parts of a call (numbers, string bytes, the
//! text of `Display`/`Debug` values, pre-serialized JSON) into inline storage
//! sized for ordinary calls, so the common case allocates nothing; a call with
//! more than [`INLINE_FIELDS`] fields or [`INLINE_BYTES`] bytes of text spills
//! to the heap. Bound context travels as a shared pointer, not a copy.

use std::fmt;
use std::fmt::Write as _;
use std::mem::MaybeUninit;
use std::ptr::addr_of_mut;
use std::sync::Arc;

use smallvec::SmallVec;

#[allow(unsafe_code)]
mod inline;
use inline::InlineVec;

use crate::context::Fields;
use crate::field::{ErrorValue, FieldValue};
use crate::level::Level;

/// Fields stored inline before a record spills to the heap.
pub const INLINE_FIELDS: usize = 6;
/// Bytes of text (strings, formatted values, JSON) stored inline.
pub const INLINE_BYTES: usize = 128;

/// A byte range inside a record's text storage.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Span {
    start: u32,
    len: u32,
}

impl Span {
    fn range(self) -> std::ops::Range<usize> {
        let s = self.start as usize;
        s..s + self.len as usize
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Key {
    Static(&'static str),
    Inline(Span),
}

/// A captured value.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Raw {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    Str(Span),
    /// Compact JSON text from a `Serialize` value.
    Json(Span),
    /// An error: length-prefixed parts (type, message, sources…, optional backtrace).
    Error(Span),
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Message {
    Static(&'static str),
    Inline(Span),
}

/// Where a call came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    /// Source file.
    pub file: &'static str,
    /// Line in the file.
    pub line: u32,
    /// Module path.
    pub module: &'static str,
}

/// One log call, owned, as it sits in the queue.
///
/// Laid out in order of use (`repr(C)`): the header, then the fields, then
/// the text, each vector's length before its storage, so an ordinary call
/// written into a queue slot dirties about five cache lines, not all seven.
#[repr(C)]
pub(crate) struct Record {
    pub(crate) time: u64,
    pub(crate) logger: &'static str,
    pub(crate) message: Message,
    pub(crate) location: Option<&'static Location>,
    pub(crate) bound: Option<Arc<Fields>>,
    pub(crate) context: Option<Arc<Fields>>,
    pub(crate) level: Level,
    pub(crate) fields: InlineVec<(Key, Raw), INLINE_FIELDS>,
    pub(crate) bytes: Bytes,
}

/// A record's text storage.
pub(crate) type Bytes = InlineVec<u8, INLINE_BYTES>;

/// Everything a record starts with but its message and fields: what a call
/// reads before it claims a queue slot.
pub(crate) struct Head {
    pub(crate) time: u64,
    pub(crate) level: Level,
    pub(crate) logger: &'static str,
    pub(crate) location: Option<&'static Location>,
    pub(crate) bound: Option<Arc<Fields>>,
    pub(crate) context: Option<Arc<Fields>>,
}

/// The parts of an error record, decoded on the worker.
pub(crate) struct ErrorParts<'a> {
    pub(crate) type_name: &'a str,
    pub(crate) message: &'a str,
    pub(crate) sources: SmallVec<[&'a str; 4]>,
    pub(crate) backtrace: Option<&'a str>,
}

impl Record {
    /// Captures a call whose field names are static, in one go (the tests'
    /// shorthand; the logger builds from a [`Head`]).
    #[cfg(test)]
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn capture(
        time: u64,
        level: Level,
        logger: &'static str,
        message: fmt::Arguments<'_>,
        fields: &[(&'static str, FieldValue<'_>)],
        location: Option<&'static Location>,
        bound: Option<Arc<Fields>>,
        context: Option<Arc<Fields>>,
    ) -> Record {
        let mut r = Record::empty(time, level, logger, location, bound, context);
        r.capture_call(message, fields);
        r
    }

    /// Captures the message and static-named fields into an empty record
    /// (the part of [`Record::capture`] done in place, in a queue slot).
    #[inline(always)]
    pub(crate) fn capture_call(
        &mut self,
        message: fmt::Arguments<'_>,
        fields: &[(&'static str, FieldValue<'_>)],
    ) {
        self.message = self.capture_message(message);
        for (k, v) in fields {
            self.push_field(Key::Static(k), v);
        }
    }

    /// An empty record with `head`.
    #[inline(always)]
    pub(crate) fn from_head(head: Head) -> Record {
        Record::empty(
            head.time,
            head.level,
            head.logger,
            head.location,
            head.bound,
            head.context,
        )
    }

    /// Writes an empty record with `head` into `slot`, field by field: the
    /// inline storage is left uninitialized instead of being built on the
    /// stack and copied in, as a `Record` value would be.
    #[inline(always)]
    #[allow(unsafe_code)]
    pub(crate) fn init_in(slot: &mut MaybeUninit<Record>, head: Head) -> &mut Record {
        let p = slot.as_mut_ptr();
        // SAFETY: `p` is valid for writes; every field of `Record` is written
        // (the vectors write all of theirs but the `MaybeUninit` storage)
        // before the reference is made.
        unsafe {
            addr_of_mut!((*p).time).write(head.time);
            addr_of_mut!((*p).level).write(head.level);
            addr_of_mut!((*p).logger).write(head.logger);
            addr_of_mut!((*p).message).write(Message::Static(""));
            addr_of_mut!((*p).location).write(head.location);
            addr_of_mut!((*p).bound).write(head.bound);
            addr_of_mut!((*p).context).write(head.context);
            InlineVec::init_in(addr_of_mut!((*p).fields));
            InlineVec::init_in(addr_of_mut!((*p).bytes));
            &mut *p
        }
    }

    #[inline]
    pub(crate) fn empty(
        time: u64,
        level: Level,
        logger: &'static str,
        location: Option<&'static Location>,
        bound: Option<Arc<Fields>>,
        context: Option<Arc<Fields>>,
    ) -> Record {
        Record {
            time,
            level,
            logger,
            message: Message::Static(""),
            location,
            bound,
            context,
            fields: InlineVec::new(),
            bytes: InlineVec::new(),
        }
    }

    #[inline]
    pub(crate) fn capture_message(&mut self, message: fmt::Arguments<'_>) -> Message {
        match message.as_str() {
            Some(s) => Message::Static(s),
            None => {
                let start = self.bytes.len();
                // Writing into memory cannot fail; a `Display` impl that
                // errors leaves what it wrote.
                let _ = self.bytes.write_fmt(message);
                Message::Inline(self.span_from(start))
            }
        }
    }

    /// Sets the message from borrowed text (copied).
    #[inline]
    pub(crate) fn set_message_str(&mut self, message: &str) {
        self.message = Message::Inline(self.push_bytes(message.as_bytes()));
    }

    /// Adds a field whose name is borrowed (copied into the record).
    #[inline]
    pub(crate) fn push_dyn_field(&mut self, key: &str, value: &FieldValue<'_>) {
        let k = Key::Inline(self.push_bytes(key.as_bytes()));
        self.push_field(k, value);
    }

    #[inline(always)]
    pub(crate) fn push_field(&mut self, key: Key, value: &FieldValue<'_>) {
        let raw = match *value {
            FieldValue::Null => Raw::Null,
            FieldValue::Bool(b) => Raw::Bool(b),
            FieldValue::I64(v) => Raw::I64(v),
            FieldValue::U64(v) => Raw::U64(v),
            FieldValue::F64(v) => Raw::F64(v),
            FieldValue::Str(s) => Raw::Str(self.push_bytes(s.as_bytes())),
            FieldValue::Display(d) => {
                let start = self.bytes.len();
                let _ = write!(self.bytes, "{d}");
                Raw::Str(self.span_from(start))
            }
            FieldValue::Debug(d) => {
                let start = self.bytes.len();
                let _ = write!(self.bytes, "{d:?}");
                Raw::Str(self.span_from(start))
            }
            FieldValue::Json(j) => {
                let start = self.bytes.len();
                match j.write_json(&mut self.bytes) {
                    Ok(()) => Raw::Json(self.span_from(start)),
                    Err(e) => {
                        self.bytes.truncate(start);
                        let _ = write!(self.bytes, "<unserializable value: {e}>");
                        Raw::Str(self.span_from(start))
                    }
                }
            }
            FieldValue::Error(e) => Raw::Error(self.push_error(e)),
        };
        self.fields.push((key, raw));
    }

    fn push_error(&mut self, e: ErrorValue<'_>) -> Span {
        let start = self.bytes.len();
        self.bytes.push(u8::from(e.backtrace));
        self.push_part(|b| b.extend_from_slice(e.type_name.as_bytes()));
        self.push_part(|b| {
            let _ = write!(b, "{}", e.error);
        });
        let mut source = e.error.source();
        // Bounded: a cyclic or absurdly long chain must not loop forever.
        let mut depth = 0;
        while let Some(s) = source {
            if depth == 32 {
                break;
            }
            self.push_part(|b| {
                let _ = write!(b, "{s}");
            });
            source = s.source();
            depth += 1;
        }
        if e.backtrace {
            let bt = std::backtrace::Backtrace::force_capture();
            self.push_part(|b| {
                let _ = write!(b, "{bt}");
            });
        }
        self.span_from(start)
    }

    fn push_part(&mut self, f: impl FnOnce(&mut Bytes)) {
        let at = self.bytes.len();
        self.bytes.extend_from_slice(&[0; 4]);
        f(&mut self.bytes);
        let len = (self.bytes.len() - at - 4) as u32;
        self.bytes[at..at + 4].copy_from_slice(&len.to_le_bytes());
    }

    #[inline(always)]
    fn push_bytes(&mut self, b: &[u8]) -> Span {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(b);
        self.span_from(start)
    }

    #[inline(always)]
    fn span_from(&self, start: usize) -> Span {
        Span {
            start: start as u32,
            len: (self.bytes.len() - start) as u32,
        }
    }

    /// The text behind a span. Everything stored is UTF-8 (copied from
    /// `&str` or written by `fmt`), so the lossy path never allocates in
    /// practice; it only guards against a logic error.
    pub(crate) fn text(&self, span: Span) -> &str {
        let b = &self.bytes[span.range()];
        std::str::from_utf8(b).unwrap_or("<invalid utf-8>")
    }

    pub(crate) fn key(&self, key: Key) -> &str {
        match key {
            Key::Static(s) => s,
            Key::Inline(span) => self.text(span),
        }
    }

    pub(crate) fn message(&self) -> &str {
        match self.message {
            Message::Static(s) => s,
            Message::Inline(span) => self.text(span),
        }
    }

    pub(crate) fn error_parts(&self, span: Span) -> ErrorParts<'_> {
        let b = &self.bytes[span.range()];
        let has_bt = b.first().copied() == Some(1);
        let mut parts: SmallVec<[&str; 8]> = SmallVec::new();
        let mut i = 1;
        while i + 4 <= b.len() {
            let len = u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as usize;
            let s = i + 4;
            let e = (s + len).min(b.len());
            parts.push(std::str::from_utf8(&b[s..e]).unwrap_or("<invalid utf-8>"));
            i = e;
        }
        let backtrace = if has_bt && parts.len() > 2 {
            parts.pop()
        } else {
            None
        };
        let mut it = parts.into_iter();
        let type_name = it.next().unwrap_or("");
        let message = it.next().unwrap_or("");
        ErrorParts {
            type_name,
            message,
            sources: it.collect(),
            backtrace,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(Inner);
    #[derive(Debug)]
    struct Inner;
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("outer failed")
        }
    }
    impl fmt::Display for Inner {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("inner cause")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
    impl std::error::Error for Inner {}

    #[test]
    fn captures_every_kind_of_value() {
        let e = Outer(Inner);
        let fields = [
            ("s", FieldValue::Str("hé")),
            ("n", FieldValue::I64(-3)),
            ("d", crate::display(&1.5)),
            ("e", crate::err(&e).into()),
        ];
        let r = Record::capture(
            0,
            Level::INFO,
            "t",
            format_args!("x={}", 1),
            &fields,
            None,
            None,
            None,
        );
        assert_eq!(r.message(), "x=1");
        assert_eq!(r.fields.len(), 4);
        let Raw::Str(s) = r.fields[0].1 else { panic!() };
        assert_eq!(r.text(s), "hé");
        let Raw::Str(d) = r.fields[2].1 else { panic!() };
        assert_eq!(r.text(d), "1.5");
        let Raw::Error(es) = r.fields[3].1 else {
            panic!()
        };
        let p = r.error_parts(es);
        assert!(p.type_name.ends_with("Outer"));
        assert_eq!(p.message, "outer failed");
        assert_eq!(p.sources.as_slice(), ["inner cause"]);
        assert!(p.backtrace.is_none());
    }

    #[test]
    fn a_large_call_spills_and_reads_back_whole() {
        let long = "x".repeat(INLINE_BYTES);
        let names = ["a", "b", "c", "d", "e", "f", "g", "h"];
        let fields: Vec<_> = names.iter().map(|n| (*n, FieldValue::Str(&long))).collect();
        let r = Record::capture(
            0,
            Level::INFO,
            "t",
            format_args!("{}", "m"),
            &fields,
            None,
            None,
            None,
        );
        assert_eq!(r.message(), "m");
        assert_eq!(r.fields.len(), names.len());
        for (&(key, raw), name) in r.fields.iter().zip(names) {
            assert_eq!(r.key(key), name);
            let Raw::Str(s) = raw else { panic!() };
            assert_eq!(r.text(s), long);
        }
    }

    #[test]
    fn static_messages_are_not_copied() {
        let r = Record::capture(
            0,
            Level::INFO,
            "t",
            format_args!("plain"),
            &[],
            None,
            None,
            None,
        );
        assert!(matches!(r.message, Message::Static("plain")));
        assert!(r.bytes.is_empty());
    }
}
