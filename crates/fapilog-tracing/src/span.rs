//! Spans as context: each span keeps its own fields (owned, cold path);
//! an event asks its innermost span for the merged [`Context`] of the whole
//! scope, built once and cached until the thread's context or a recorded
//! value changes.

use std::error::Error as StdError;
use std::fmt;
use std::sync::{Arc, Mutex};

use fapilog::{Context, FieldValue};
use tracing_core::field::{Field, Visit};
use tracing_subscriber::registry::{LookupSpan, SpanRef};

/// A span field value, owned.
#[derive(Clone, Debug)]
pub(crate) enum Owned {
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    Str(Box<str>),
}

impl Owned {
    fn as_field(&self) -> FieldValue<'_> {
        match self {
            Owned::Bool(b) => FieldValue::Bool(*b),
            Owned::I64(i) => FieldValue::I64(*i),
            Owned::U64(u) => FieldValue::U64(*u),
            Owned::F64(f) => FieldValue::F64(*f),
            Owned::Str(s) => FieldValue::Str(s),
        }
    }
}

/// What the layer keeps in a span's extensions.
#[derive(Debug)]
pub(crate) struct SpanData {
    /// `outer:inner` names from the root span down to this one.
    pub(crate) path: Arc<str>,
    /// This span's own fields, in recording order (a new value replaces).
    pub(crate) fields: Vec<(&'static str, Owned)>,
    cache: Mutex<Option<Cached>>,
}

#[derive(Debug)]
struct Cached {
    epoch: u64,
    base: Context,
    merged: Context,
}

impl SpanData {
    pub(crate) fn new(path: Arc<str>) -> SpanData {
        SpanData {
            path,
            fields: Vec::new(),
            cache: Mutex::new(None),
        }
    }

    fn cached(&self, epoch: u64, base: &Context) -> Option<Context> {
        let g = match self.cache.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        g.as_ref()
            .filter(|c| c.epoch == epoch && c.base.ptr_eq(base))
            .map(|c| c.merged.clone())
    }

    fn store(&self, epoch: u64, base: Context, merged: Context) {
        let mut g = match self.cache.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *g = Some(Cached {
            epoch,
            base,
            merged,
        });
    }
}

/// Records span fields into a [`SpanData`].
pub(crate) struct SpanVisitor<'a>(pub(crate) &'a mut Vec<(&'static str, Owned)>);

impl SpanVisitor<'_> {
    fn put(&mut self, field: &Field, value: Owned) {
        let name = field.name();
        match self.0.iter_mut().find(|(k, _)| *k == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
    }
}

impl Visit for SpanVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Owned::F64(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Owned::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Owned::U64(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Owned::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Owned::Str(value.into()));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn StdError + 'static)) {
        self.put(field, Owned::Str(value.to_string().into()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, Owned::Str(format!("{value:?}").into()));
    }
}

/// The context of an event whose innermost span is `leaf`: the thread's
/// current context, then the fields of every span from the root down (an
/// inner span's value wins). Also returns the span path.
pub(crate) fn context_of<'a, R: LookupSpan<'a>>(
    leaf: &SpanRef<'a, R>,
    epoch: u64,
) -> Option<(Context, Arc<str>)> {
    let base = Context::current();
    {
        let ext = leaf.extensions();
        let data = ext.get::<SpanData>()?;
        if let Some(ctx) = data.cached(epoch, &base) {
            return Some((ctx, Arc::clone(&data.path)));
        }
    }
    // Cold path: gather the scope's fields, root first.
    let mut owned: Vec<(&'static str, Owned)> = Vec::new();
    for span in leaf.scope().from_root() {
        let ext = span.extensions();
        if let Some(data) = ext.get::<SpanData>() {
            owned.extend(data.fields.iter().cloned());
        }
    }
    let merged = if owned.is_empty() {
        base.clone()
    } else {
        let fields: Vec<(&str, FieldValue<'_>)> =
            owned.iter().map(|(k, v)| (*k, v.as_field())).collect();
        base.with(&fields)
    };
    let ext = leaf.extensions();
    let data = ext.get::<SpanData>()?;
    data.store(epoch, base, merged.clone());
    Some((merged, Arc::clone(&data.path)))
}
