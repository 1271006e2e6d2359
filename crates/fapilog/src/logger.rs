//! The logger: a cheap handle with a name and bound fields, whose calls
//! capture a record and offer it to the queue.
//!
//! The call path, in order: level gate (one relaxed atomic load), clock read,
//! one reference to the thread's bound context, a slot claimed in the
//! lock-free queue (one compare-and-swap), the message and fields captured
//! straight into that slot's inline storage, the slot published. No
//! formatting of the envelope, no JSON, no syscall, no lock, no copy of the
//! record, no allocation for calls of ordinary size. (Calls built field by
//! field through [`Logger::capture`], and calls that meet a full queue, a
//! protected level or waiting producers, capture on the stack and are moved
//! into the queue instead.)

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};
use std::time::Instant;

use crate::clock;
use crate::context::{self, Fields};
use crate::field::FieldValue;
use crate::level::{Gate, Level};
use crate::metrics::DropReason;
use crate::queue::{Backpressure, Offer};
use crate::record::{Head, Location, Record};
use crate::shared::Shared;

/// A named handle onto a pipeline. Clone it freely.
///
/// ```
/// use fapilog::{FieldValue, Level, Pipeline};
/// use fapilog::testing::CaptureSink;
///
/// let (sink, captured) = CaptureSink::new();
/// let pipeline = Pipeline::builder().sink(sink).build().unwrap();
/// let log = pipeline.logger("orders").bind(&[("tenant", FieldValue::Str("acme"))]);
///
/// log.info("order placed", &[("order_id", FieldValue::I64(7))]);
/// fapilog::warning!(log, "slow payment", latency_ms = 912.5);
///
/// pipeline.flush(std::time::Duration::from_secs(5)).unwrap();
/// let lines = captured.envelopes();
/// assert_eq!(lines[0]["log"]["logger"], "orders");
/// assert_eq!(lines[0]["log"]["data"]["tenant"], "acme");
/// assert_eq!(lines[1]["log"]["level"], "WARNING");
/// ```
#[derive(Clone)]
pub struct Logger {
    shared: Arc<Shared>,
    /// The level gate, held here so the check costs one load through `self`.
    gate: Arc<Gate>,
    name: &'static str,
    bound: Option<Arc<Fields>>,
}

impl fmt::Debug for Logger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Logger").field("name", &self.name).finish()
    }
}

static NAMES: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);

/// Interns a logger name: loggers are few and long-lived, and a `&'static
/// str` name costs the hot path nothing to carry.
pub(crate) fn intern(name: &str) -> &'static str {
    let mut g = match NAMES.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    let set = g.get_or_insert_with(HashSet::new);
    if let Some(s) = set.get(name) {
        return s;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    set.insert(leaked);
    leaked
}

impl Logger {
    pub(crate) fn new(shared: Arc<Shared>, name: &'static str) -> Logger {
        Logger {
            gate: Arc::clone(&shared.gate),
            shared,
            name,
            bound: None,
        }
    }

    /// The logger's name.
    pub fn name(&self) -> &str {
        self.name
    }

    /// A logger of the same pipeline with another name (bound fields kept).
    pub fn named(&self, name: &str) -> Logger {
        Logger {
            shared: Arc::clone(&self.shared),
            gate: Arc::clone(&self.gate),
            name: intern(name),
            bound: self.bound.clone(),
        }
    }

    /// A logger of the same pipeline with a `&'static` name, without interning.
    pub fn named_static(&self, name: &'static str) -> Logger {
        Logger {
            shared: Arc::clone(&self.shared),
            gate: Arc::clone(&self.gate),
            name,
            bound: self.bound.clone(),
        }
    }

    /// A child logger that adds `fields` to every line. Context keys
    /// (`request_id`, `user_id`, …) go to `context`, others to `data`.
    #[must_use]
    pub fn bind(&self, fields: &[(&str, FieldValue<'_>)]) -> Logger {
        Logger {
            shared: Arc::clone(&self.shared),
            gate: Arc::clone(&self.gate),
            name: self.name,
            bound: Some(Arc::new(Fields::extend(self.bound.as_deref(), fields))),
        }
    }

    /// `true` when a call at `level` would be logged: the one check made
    /// before anything else.
    #[inline(always)]
    pub fn enabled(&self, level: Level) -> bool {
        self.gate.allows(level)
    }

    /// A record stamped now with the call captured (built off the queue,
    /// for the async path).
    #[inline(always)]
    fn record(
        &self,
        level: Level,
        message: fmt::Arguments<'_>,
        fields: &[(&'static str, FieldValue<'_>)],
        location: Option<&'static Location>,
    ) -> Record {
        let mut r = Record::from_head(self.head(level, location));
        r.capture_call(message, fields);
        r
    }

    /// The call the macros make: the message as format arguments (a literal
    /// is not copied), static field names, an optional call site.
    #[inline]
    pub fn log_args(
        &self,
        level: Level,
        message: fmt::Arguments<'_>,
        fields: &[(&'static str, FieldValue<'_>)],
        location: Option<&'static Location>,
    ) {
        if !self.enabled(level) {
            return;
        }
        // Everything that can fail is read before a queue slot is claimed.
        let head = self.head(level, location);
        self.shared
            .queue
            .offer_with(head, &self.shared.metrics, |r| {
                r.capture_call(message, fields)
            });
    }

    /// Logs `message` with `fields` at `level`.
    #[inline]
    pub fn log(&self, level: Level, message: &str, fields: &[(&'static str, FieldValue<'_>)]) {
        if !self.enabled(level) {
            return;
        }
        let head = self.head(level, None);
        self.shared
            .queue
            .offer_with(head, &self.shared.metrics, |r| {
                r.set_message_str(message);
                for (k, v) in fields {
                    r.push_field(crate::record::Key::Static(k), v);
                }
            });
    }

    /// Logs with field names that are not `'static` (bridges from other
    /// logging APIs); the names are copied into the record.
    pub fn log_dynamic(
        &self,
        level: Level,
        name: Option<&str>,
        message: fmt::Arguments<'_>,
        fields: &[(&str, FieldValue<'_>)],
        location: Option<&'static Location>,
    ) {
        if !self.enabled(level) {
            return;
        }
        let logger = match name {
            Some(n) if n != self.name => intern(n),
            _ => self.name,
        };
        let mut r = self.empty_record(level, logger, location);
        r.message = r.capture_message(message);
        for (k, v) in fields {
            r.push_dyn_field(k, v);
        }
        self.shared.queue.offer(r, &self.shared.metrics);
    }

    /// Starts a call built field by field (for bridges such as a `tracing`
    /// layer, whose values arrive one at a time); `None` below the level gate.
    ///
    /// ```
    /// use fapilog::{FieldValue, Level};
    /// # let pipeline = fapilog::Pipeline::builder().sink(fapilog::testing::CaptureSink::new().0).build().unwrap();
    /// let log = pipeline.logger("bridge");
    /// if let Some(mut call) = log.capture(Level::INFO) {
    ///     call.message_args(format_args!("request {}", 7));
    ///     call.field("status", FieldValue::U64(200));
    ///     call.field_dyn("http.method", FieldValue::Str("GET"));
    ///     call.submit();
    /// }
    /// ```
    #[inline]
    pub fn capture(&self, level: Level) -> Option<Capture<'_>> {
        if !self.enabled(level) {
            return None;
        }
        Some(Capture {
            logger: self,
            record: self.empty_record(level, self.name, None),
        })
    }

    /// Logs at TRACE.
    #[inline]
    pub fn trace(&self, message: &str, fields: &[(&'static str, FieldValue<'_>)]) {
        self.log(Level::TRACE, message, fields);
    }
    /// Logs at DEBUG.
    #[inline]
    pub fn debug(&self, message: &str, fields: &[(&'static str, FieldValue<'_>)]) {
        self.log(Level::DEBUG, message, fields);
    }
    /// Logs at INFO.
    #[inline]
    pub fn info(&self, message: &str, fields: &[(&'static str, FieldValue<'_>)]) {
        self.log(Level::INFO, message, fields);
    }
    /// Logs at WARNING.
    #[inline]
    pub fn warning(&self, message: &str, fields: &[(&'static str, FieldValue<'_>)]) {
        self.log(Level::WARNING, message, fields);
    }
    /// Logs at ERROR.
    #[inline]
    pub fn error(&self, message: &str, fields: &[(&'static str, FieldValue<'_>)]) {
        self.log(Level::ERROR, message, fields);
    }
    /// Logs at CRITICAL.
    #[inline]
    pub fn critical(&self, message: &str, fields: &[(&'static str, FieldValue<'_>)]) {
        self.log(Level::CRITICAL, message, fields);
    }

    /// The async call: the record is captured now, and under the `Wait` and
    /// `Block` policies the returned future awaits room in the queue instead
    /// of parking the executor's thread. Under `Wait` it gives up (counted)
    /// when the timeout passes.
    ///
    /// ```
    /// # async fn demo(log: fapilog::Logger) {
    /// use fapilog::{FieldValue, Level};
    /// log.log_async(Level::INFO, format_args!("job done"), &[("jobs", FieldValue::U64(3))], None)
    ///     .await;
    /// # }
    /// ```
    pub fn log_async(
        &self,
        level: Level,
        message: fmt::Arguments<'_>,
        fields: &[(&'static str, FieldValue<'_>)],
        location: Option<&'static Location>,
    ) -> Submit {
        if !self.enabled(level) {
            return Submit {
                shared: Arc::clone(&self.shared),
                record: None,
                deadline: None,
                outcome: Submitted::Disabled,
            };
        }
        Submit::new(
            Arc::clone(&self.shared),
            self.record(level, message, fields, location),
        )
    }

    /// The start of a record stamped now, carrying this logger's and the
    /// thread's context.
    #[inline(always)]
    fn head(&self, level: Level, location: Option<&'static Location>) -> Head {
        Head {
            time: clock::raw_now(),
            level,
            logger: self.name,
            location,
            bound: self.bound.clone(),
            context: context::current_frame(),
        }
    }

    /// A record stamped now, carrying this logger's and the thread's context.
    #[inline(always)]
    fn empty_record(
        &self,
        level: Level,
        logger: &'static str,
        location: Option<&'static Location>,
    ) -> Record {
        Record::from_head(Head {
            logger,
            ..self.head(level, location)
        })
    }
}

/// What became of an async log call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Submitted {
    /// In the queue.
    Queued,
    /// Below the level gate; nothing was captured.
    Disabled,
    /// Dropped, for this reason (and counted).
    Dropped(DropReason),
}

/// The future of [`Logger::log_async`].
#[must_use = "the event is queued only when the future is awaited"]
pub struct Submit {
    shared: Arc<Shared>,
    record: Option<Record>,
    deadline: Option<Instant>,
    outcome: Submitted,
}

impl fmt::Debug for Submit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Submit")
            .field("pending", &self.record.is_some())
            .finish()
    }
}

impl Submit {
    /// The future that offers `record`, with the `Wait` policy's deadline
    /// counted from now.
    fn new(shared: Arc<Shared>, record: Record) -> Submit {
        let deadline = match shared.queue.policy {
            Backpressure::Wait { timeout } => Some(Instant::now() + timeout),
            _ => None,
        };
        Submit {
            shared,
            record: Some(record),
            deadline,
            outcome: Submitted::Queued,
        }
    }
}

impl Future for Submit {
    type Output = Submitted;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Submitted> {
        let this = &mut *self;
        let Some(record) = this.record.take() else {
            return Poll::Ready(this.outcome);
        };
        match this
            .shared
            .queue
            .offer_async(record, this.deadline, cx.waker(), &this.shared.metrics)
        {
            Ok(Offer::Queued) => Poll::Ready(Submitted::Queued),
            Ok(Offer::Dropped(r)) => Poll::Ready(Submitted::Dropped(r)),
            Err(record) => {
                this.record = Some(record);
                Poll::Pending
            }
        }
    }
}

impl Drop for Submit {
    fn drop(&mut self) {
        // A future dropped before it queued its event: count the loss.
        if let Some(r) = self.record.take() {
            self.shared
                .metrics
                .count_drop(r.level, DropReason::WaitTimeout, 1);
        }
    }
}

/// A log call under construction; see [`Logger::capture`].
pub struct Capture<'l> {
    logger: &'l Logger,
    record: Record,
}

impl fmt::Debug for Capture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Capture")
            .field("logger", &self.logger.name)
            .finish()
    }
}

impl Capture<'_> {
    /// Sets the message from format arguments (a literal is not copied).
    pub fn message_args(&mut self, message: fmt::Arguments<'_>) {
        self.record.message = self.record.capture_message(message);
    }

    /// Sets the message (copied).
    pub fn message(&mut self, message: &str) {
        self.record.set_message_str(message);
    }

    /// Overrides the logger name of this one event (interned).
    pub fn logger_name(&mut self, name: &str) {
        if name != self.record.logger {
            self.record.logger = intern(name);
        }
    }

    /// Overrides the logger name with a static one (no interning).
    pub fn logger_name_static(&mut self, name: &'static str) {
        self.record.logger = name;
    }

    /// Adds a field with a static name.
    #[inline]
    pub fn field(&mut self, key: &'static str, value: FieldValue<'_>) {
        self.record
            .push_field(crate::record::Key::Static(key), &value);
    }

    /// Adds a field whose name is copied.
    pub fn field_dyn(&mut self, key: &str, value: FieldValue<'_>) {
        self.record.push_dyn_field(key, &value);
    }

    /// Uses `context` instead of the thread's current context.
    pub fn context(&mut self, context: &crate::context::Context) {
        self.record.context = context.frame.clone();
    }

    /// Sets the call site.
    pub fn location(&mut self, location: &'static Location) {
        self.record.location = Some(location);
    }

    /// Offers the event to the queue under the pipeline's policy.
    #[inline]
    pub fn submit(self) {
        let shared = &self.logger.shared;
        shared.queue.offer(self.record, &shared.metrics);
    }

    /// Offers the event asynchronously; see [`Logger::log_async`].
    pub fn submit_async(self) -> Submit {
        Submit::new(Arc::clone(&self.logger.shared), self.record)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::testing::CaptureSink;
    use crate::{FieldValue, Level, Pipeline};

    struct Panics;
    impl std::fmt::Display for Panics {
        fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            panic!("Display failed")
        }
    }

    #[test]
    fn a_panicking_display_loses_only_its_own_line() {
        let (sink, captured) = CaptureSink::new();
        let pipeline = Pipeline::builder().sink(sink).build().expect("pipeline");
        let log = pipeline.logger("t");
        log.log_args(Level::INFO, format_args!("before"), &[], None);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let bad = FieldValue::Display(&Panics);
            log.log_args(Level::INFO, format_args!("boom"), &[("bad", bad)], None);
        }));
        assert!(caught.is_err());
        log.log_args(
            Level::INFO,
            format_args!("after"),
            &[("n", FieldValue::I64(1))],
            None,
        );
        pipeline.flush(Duration::from_secs(5)).expect("flush");
        assert_eq!(captured.messages(), ["before", "after"]);
        let m = pipeline.metrics();
        assert_eq!((m.submitted, m.written, m.dropped_total), (2, 2, 0));
    }
}
