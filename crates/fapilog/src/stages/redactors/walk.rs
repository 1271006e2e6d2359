//! Walking an event's values for the redactors: every string (message,
//! `context`, `diagnostics`, `data`, nested maps and arrays, tags), and every
//! keyed value with its path.

use crate::envelope::Event;
use crate::value::{Map, Text, Value};

/// Nesting beyond this is not walked: a map or array this deep is replaced
/// whole by [`TOO_DEEP`] (fail closed; the encoder stops at the same depth).
pub(crate) const MAX_WALK_DEPTH: usize = 64;

/// What replaces a value nested too deep to inspect.
pub const TOO_DEEP: &str = "[too deep to redact]";

/// Calls `f` on every string of the event (not keys); `f` returns how many
/// things it changed, and the sum is returned.
pub(crate) fn each_string(ev: &mut Event<'_>, f: &mut impl FnMut(&mut Text<'_>) -> u64) -> u64 {
    let mut n = f(&mut ev.message);
    for m in [&mut ev.context, &mut ev.diagnostics, &mut ev.data] {
        n += map_strings(m, f, 0);
    }
    for t in &mut ev.tags {
        n += f(t);
    }
    n
}

fn map_strings(m: &mut Map<'_>, f: &mut impl FnMut(&mut Text<'_>) -> u64, depth: usize) -> u64 {
    let mut n = 0;
    for (_, v) in m.iter_mut() {
        n += value_strings(v, f, depth + 1);
    }
    n
}

fn value_strings(v: &mut Value<'_>, f: &mut impl FnMut(&mut Text<'_>) -> u64, depth: usize) -> u64 {
    match v {
        Value::Str(t) => f(t),
        Value::Map(m) if depth < MAX_WALK_DEPTH => map_strings(m, f, depth),
        Value::Array(a) if depth < MAX_WALK_DEPTH => {
            a.iter_mut().map(|x| value_strings(x, f, depth + 1)).sum()
        }
        Value::Map(_) | Value::Array(_) => {
            *v = Value::Str(Text::Borrowed(TOO_DEEP));
            1
        }
        _ => 0,
    }
}

/// One step of a key path, linked to its parent (no allocation).
#[derive(Clone, Copy)]
pub(crate) struct Path<'p> {
    pub(crate) key: &'p str,
    pub(crate) parent: Option<&'p Path<'p>>,
    pub(crate) depth: usize,
}

impl<'p> Path<'p> {
    pub(crate) fn root(section: &'p str) -> Path<'p> {
        Path {
            key: section,
            parent: None,
            depth: 0,
        }
    }

    pub(crate) fn child(&'p self, key: &'p str) -> Path<'p> {
        Path {
            key,
            parent: Some(self),
            depth: self.depth + 1,
        }
    }

    /// The dotted path from the envelope root (`data.user.password`).
    pub(crate) fn write_dotted(&self, out: &mut String) {
        if let Some(p) = self.parent {
            p.write_dotted(out);
            out.push('.');
        }
        out.push_str(self.key);
    }
}

/// ASCII-lowercases `s` into `buf`; `None` when it does not fit.
pub(crate) fn lower<'b>(s: &str, buf: &'b mut [u8; 64]) -> Option<&'b mut [u8]> {
    let b = s.as_bytes();
    if b.len() > buf.len() {
        return None;
    }
    let out = &mut buf[..b.len()];
    for (o, c) in out.iter_mut().zip(b) {
        *o = c.to_ascii_lowercase();
    }
    Some(out)
}
