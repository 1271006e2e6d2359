//! Context binding: fields bound once and seen on every line logged inside
//! the binding, on this thread ([`bind`]) or across `.await` points and
//! worker threads of an async runtime ([`Context::scope`]).
//!
//! The current context is a shared, immutable frame. A log call takes one
//! reference to it (no copy); binding makes a new frame holding the parent's
//! fields plus the new ones, so binding is the slow, rare operation and
//! logging the fast, common one.
//!
//! ```
//! use fapilog::{context, FieldValue};
//!
//! let _guard = context::bind(&[("request_id", FieldValue::Str("req-1"))]);
//! assert_eq!(
//!     context::Context::current().get("request_id").as_deref(),
//!     Some("req-1")
//! );
//! ```
//!
//! For async code, wrap the future: the context is set on whichever thread
//! polls it and restored after each poll.
//!
//! ```
//! # async fn handler() {}
//! use fapilog::{context::Context, FieldValue};
//! let fut = Context::current()
//!     .with(&[("request_id", FieldValue::Str("req-2"))])
//!     .scope(handler());
//! # drop(fut);
//! ```

use std::cell::RefCell;
use std::future::Future;
use std::io::Write as _;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use crate::field::FieldValue;
use crate::value::{Text, Value};

/// Bound fields: owned, immutable once shared.
#[derive(Debug, Default)]
pub(crate) struct Fields {
    pub(crate) entries: Vec<(Text<'static>, Value<'static>)>,
}

impl Fields {
    /// A new frame: `parent`'s fields, then `new` (a new value replaces a parent's).
    pub(crate) fn extend(parent: Option<&Fields>, new: &[(&str, FieldValue<'_>)]) -> Fields {
        let mut entries = parent.map(|p| p.entries.clone()).unwrap_or_default();
        for (k, v) in new {
            let value = owned_value(v);
            match entries.iter_mut().find(|(ek, _)| ek.as_str() == *k) {
                Some(slot) => slot.1 = value,
                None => entries.push((Text::Shared(Arc::from(*k)), value)),
            }
        }
        Fields { entries }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Value<'static>> {
        self.entries
            .iter()
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, v)| v)
    }
}

/// An owned copy of a call-site value, for binding.
pub(crate) fn owned_value(v: &FieldValue<'_>) -> Value<'static> {
    let shared = |s: String| Value::Str(Text::Shared(Arc::from(s)));
    match *v {
        FieldValue::Null => Value::Null,
        FieldValue::Bool(b) => Value::Bool(b),
        FieldValue::I64(i) => Value::I64(i),
        FieldValue::U64(u) => Value::U64(u),
        FieldValue::F64(f) => Value::F64(f),
        FieldValue::Str(s) => Value::Str(Text::Shared(Arc::from(s))),
        FieldValue::Display(d) => shared(d.to_string()),
        FieldValue::Debug(d) => shared(format!("{d:?}")),
        FieldValue::Error(e) => shared(e.error.to_string()),
        FieldValue::Json(j) => {
            let mut buf = Vec::new();
            match j.write_json(&mut buf) {
                Ok(()) => {
                    let text = String::from_utf8_lossy(&buf);
                    match Value::from_json(&text) {
                        Ok(v) => v.into_owned(),
                        Err(e) => shared(format!("<unserializable value: {e}>")),
                    }
                }
                Err(e) => {
                    buf.clear();
                    let _ = write!(buf, "<unserializable value: {e}>");
                    shared(String::from_utf8_lossy(&buf).into_owned())
                }
            }
        }
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<Fields>>> = const { RefCell::new(None) };
}

/// The current frame of this thread, for a log call: one reference count.
#[inline]
pub(crate) fn current_frame() -> Option<Arc<Fields>> {
    CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
}

fn swap_current(frame: Option<Arc<Fields>>) -> Option<Arc<Fields>> {
    CURRENT
        .try_with(|c| std::mem::replace(&mut *c.borrow_mut(), frame))
        .ok()
        .flatten()
}

/// A set of bound fields that can be entered on a thread or scoped over a future.
///
/// Cheap to clone (one shared pointer).
#[derive(Clone, Debug, Default)]
pub struct Context {
    pub(crate) frame: Option<Arc<Fields>>,
}

impl Context {
    /// The context active on this thread (empty when nothing is bound).
    pub fn current() -> Context {
        Context {
            frame: current_frame(),
        }
    }

    /// An empty context.
    pub fn empty() -> Context {
        Context { frame: None }
    }

    /// This context plus `fields` (a new value for a key replaces the old).
    #[must_use]
    pub fn with(&self, fields: &[(&str, FieldValue<'_>)]) -> Context {
        Context {
            frame: Some(Arc::new(Fields::extend(self.frame.as_deref(), fields))),
        }
    }

    /// The value bound to `key`, as text (strings as they are, other values as JSON).
    pub fn get(&self, key: &str) -> Option<String> {
        let v = self.frame.as_ref()?.get(key)?;
        Some(match v {
            Value::Str(t) => t.as_str().to_owned(),
            other => serde_json::to_string(other).unwrap_or_default(),
        })
    }

    /// `true` when both are the same frame (one pointer comparison): lets a
    /// bridge cache what it derived from a context.
    pub fn ptr_eq(&self, other: &Context) -> bool {
        match (&self.frame, &other.frame) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }

    /// `true` when nothing is bound.
    pub fn is_empty(&self) -> bool {
        self.frame.as_ref().is_none_or(|f| f.entries.is_empty())
    }

    /// The bound keys, in binding order.
    pub fn keys(&self) -> Vec<String> {
        self.frame
            .as_ref()
            .map(|f| {
                f.entries
                    .iter()
                    .map(|(k, _)| k.as_str().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Makes this the current context of this thread until the guard drops.
    pub fn enter(&self) -> ContextGuard {
        ContextGuard {
            previous: swap_current(self.frame.clone()),
            _not_send: PhantomData,
        }
    }

    /// Runs `future` inside this context: the context is current whenever
    /// the future is polled, on whatever thread polls it.
    pub fn scope<F: Future>(self, future: F) -> Scoped<F> {
        Scoped {
            context: self,
            future,
        }
    }

    /// Runs `f` inside this context.
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        let _g = self.enter();
        f()
    }
}

/// Binds `fields` on this thread until the returned guard drops.
///
/// Bindings nest: the guard restores the context that was current before.
#[must_use = "the binding ends when the guard drops"]
pub fn bind(fields: &[(&str, FieldValue<'_>)]) -> ContextGuard {
    Context::current().with(fields).enter()
}

/// Restores the previous context of this thread when dropped.
#[must_use = "the binding ends when the guard drops"]
pub struct ContextGuard {
    previous: Option<Arc<Fields>>,
    // The binding belongs to this thread: the guard must drop here.
    _not_send: PhantomData<*const ()>,
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        swap_current(self.previous.take());
    }
}

impl std::fmt::Debug for ContextGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ContextGuard")
    }
}

pin_project_lite::pin_project! {
    /// A future that runs inside a [`Context`]; see [`Context::scope`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Scoped<F> {
        context: Context,
        #[pin]
        future: F,
    }
}

impl<F: Future> Future for Scoped<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _g = this.context.enter();
        this.future.poll(cx)
    }
}

/// Extension for futures: `fut.in_current_context()` carries the caller's
/// context into a spawned task.
pub trait FutureExt: Future + Sized {
    /// Runs this future inside the context current now.
    fn in_current_context(self) -> Scoped<Self> {
        Context::current().scope(self)
    }

    /// Runs this future inside `context`.
    fn with_context(self, context: Context) -> Scoped<Self> {
        context.scope(self)
    }
}

impl<F: Future> FutureExt for F {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_nest_and_restore() {
        assert!(Context::current().keys().is_empty());
        let g1 = bind(&[("request_id", FieldValue::Str("a"))]);
        {
            let _g2 = bind(&[
                ("user_id", FieldValue::I64(7)),
                ("request_id", FieldValue::Str("b")),
            ]);
            let c = Context::current();
            assert_eq!(c.get("request_id").as_deref(), Some("b"));
            assert_eq!(c.get("user_id").as_deref(), Some("7"));
        }
        assert_eq!(Context::current().get("request_id").as_deref(), Some("a"));
        assert_eq!(Context::current().get("user_id"), None);
        drop(g1);
        assert!(Context::current().keys().is_empty());
    }
}
