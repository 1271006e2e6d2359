//! Helpers for tests: capture what a piece of code logs, then assert on the
//! envelopes.
//!
//! [`LogCapture`] is a private pipeline (every level, nothing dropped)
//! writing into memory; give its [`Logger`] to the code under
//! test. Each capture has its own pipeline, so tests running in parallel
//! (plain `#[test]` or `#[tokio::test]`) never see each other's lines.
//!
//! ```
//! use fapilog::testing::LogCapture;
//!
//! let capture = LogCapture::new();
//! let log = capture.logger("orders");
//! fapilog::info!(log, "order placed", order_id = 7, request_id = "req-1");
//! fapilog::warning!(log, "slow payment", latency_ms = 912.5);
//!
//! let line = capture.assert_logged("order placed");
//! line.assert_field("data.order_id", 7);
//! line.assert_field("context.request_id", "req-1");
//! assert_eq!(capture.find("slow payment").unwrap().level(), "WARNING");
//! capture.assert_no_line_contains("hunter2");
//! ```
//!
//! [`CaptureSink`] is the sink underneath, for a pipeline you build yourself:
//!
//! ```
//! use std::time::Duration;
//! use fapilog::testing::CaptureSink;
//!
//! let (sink, captured) = CaptureSink::new();
//! let pipeline = fapilog::Pipeline::builder().sink(sink).build().unwrap();
//! fapilog::info!(pipeline.logger("t"), "hello", n = 1);
//! pipeline.flush(Duration::from_secs(5)).unwrap();
//! assert_eq!(captured.messages(), ["hello"]);
//! captured.assert_logged("hello").assert_field("data.n", 1);
//! ```

use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::batch::Batch;
use crate::encode::Format;
use crate::error::Error;
use crate::level::Level;
use crate::logger::Logger;
use crate::pipeline::{Pipeline, PipelineBuilder};
use crate::queue::Backpressure;
use crate::sinks::{Sink, SinkError, WhenFull};

/// How long the helpers wait for the pipeline to flush before they panic.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Store {
    lines: Mutex<Vec<String>>,
    grew: Condvar,
}

impl Store {
    fn lock(&self) -> MutexGuard<'_, Vec<String>> {
        match self.lines.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
}

/// A sink that keeps every line in memory; read them through its [`Captured`] handle.
pub struct CaptureSink {
    name: String,
    format: Format,
    store: Arc<Store>,
}

/// The read side of a [`CaptureSink`].
#[derive(Clone)]
pub struct Captured {
    store: Arc<Store>,
}

impl fmt::Debug for Captured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Captured")
            .field("lines", &self.len())
            .finish()
    }
}

impl CaptureSink {
    /// A JSON capture sink named `capture`, and its handle.
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> (CaptureSink, Captured) {
        CaptureSink::named("capture", Format::Json)
    }

    /// A capture sink with a name and format of your choice.
    pub fn named(name: &str, format: Format) -> (CaptureSink, Captured) {
        let store = Arc::new(Store::default());
        (
            CaptureSink {
                name: name.to_owned(),
                format,
                store: Arc::clone(&store),
            },
            Captured { store },
        )
    }
}

impl Sink for CaptureSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn format(&self) -> Format {
        self.format
    }

    /// Local: a full buffer makes the worker wait (see [`WhenFull::Block`]).
    fn when_full(&self) -> WhenFull {
        WhenFull::Block
    }

    fn write_batch(&mut self, batch: &Batch) -> Result<(), SinkError> {
        let mut lines = self.store.lock();
        for l in batch.lines() {
            lines.push(String::from_utf8_lossy(l.bytes).into_owned());
        }
        self.store.grew.notify_all();
        Ok(())
    }
}

impl Captured {
    /// The raw lines, in arrival order.
    pub fn lines(&self) -> Vec<String> {
        self.store.lock().clone()
    }

    /// Number of lines so far.
    pub fn len(&self) -> usize {
        self.store.lock().len()
    }

    /// `true` when nothing arrived.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every line parsed as JSON (a line that is not JSON becomes a string).
    pub fn envelopes(&self) -> Vec<serde_json::Value> {
        self.store
            .lock()
            .iter()
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|_| serde_json::Value::String(l.clone()))
            })
            .collect()
    }

    /// Every line as a [`Line`], in arrival order.
    pub fn records(&self) -> Vec<Line> {
        self.envelopes().into_iter().map(Line).collect()
    }

    /// The `log.message` of every envelope (or of flat lines), in order.
    pub fn messages(&self) -> Vec<String> {
        self.records()
            .iter()
            .filter_map(|l| l.message().map(str::to_owned))
            .collect()
    }

    /// Waits until at least `n` lines arrived; `false` when `timeout` passed first.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, |lines| lines.len() >= n)
    }

    /// Waits until `done` holds for the lines so far (checked at each new
    /// batch); `false` when `timeout` passed first.
    pub fn wait_until(&self, timeout: Duration, mut done: impl FnMut(&[String]) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut g = self.store.lock();
        while !done(&g) {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            g = match self.store.grew.wait_timeout(g, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
        true
    }

    /// Forgets every line so far.
    pub fn clear(&self) {
        self.store.lock().clear();
    }

    /// The first line whose message is `message`.
    pub fn find(&self, message: &str) -> Option<Line> {
        self.records()
            .into_iter()
            .find(|l| l.message() == Some(message))
    }

    /// Every line whose message is `message`.
    pub fn find_all(&self, message: &str) -> Vec<Line> {
        self.filter(|l| l.message() == Some(message))
    }

    /// Every line for which `keep` holds.
    pub fn filter(&self, mut keep: impl FnMut(&Line) -> bool) -> Vec<Line> {
        self.records().into_iter().filter(|l| keep(l)).collect()
    }

    /// The first line whose message is `message`.
    ///
    /// # Panics
    /// When there is none (the message lists what was logged).
    #[track_caller]
    pub fn assert_logged(&self, message: &str) -> Line {
        match self.find(message) {
            Some(l) => l,
            None => panic!(
                "no line with message {message:?}; logged: {:?}",
                self.messages()
            ),
        }
    }

    /// Asserts that exactly `n` lines were captured.
    ///
    /// # Panics
    /// When the count differs (the message lists the lines).
    #[track_caller]
    pub fn assert_count(&self, n: usize) {
        let lines = self.lines();
        assert_eq!(lines.len(), n, "expected {n} lines, got: {lines:#?}");
    }

    /// Asserts that no raw line contains `needle` (a secret, a header value…).
    ///
    /// # Panics
    /// On the first line that does.
    #[track_caller]
    pub fn assert_no_line_contains(&self, needle: &str) {
        if let Some(line) = self.lines().iter().find(|l| l.contains(needle)) {
            panic!("a line contains {needle:?}: {line}");
        }
    }
}

/// One captured line, parsed; its fields are read by dotted path relative
/// to the envelope's `log` object (`"context.request_id"`, `"data.status"`).
#[derive(Clone, Debug, PartialEq)]
pub struct Line(pub serde_json::Value);

impl Line {
    /// The inner `log` object (the whole line for flat output).
    pub fn log(&self) -> &serde_json::Value {
        self.0.get("log").unwrap_or(&self.0)
    }

    /// The value at a dotted path under `log` (`"data.user.id"`). Keys that
    /// contain dots themselves are found too
    /// (`"diagnostics.exception.error.type"`).
    pub fn get(&self, path: &str) -> Option<&serde_json::Value> {
        let parts: Vec<&str> = path.split('.').collect();
        lookup(self.log(), &parts)
    }

    /// The value at `path` as a string, when it is one.
    pub fn str(&self, path: &str) -> Option<&str> {
        self.get(path).and_then(|v| v.as_str())
    }

    /// `log.message`.
    pub fn message(&self) -> Option<&str> {
        self.str("message")
    }

    /// `log.level` (empty when absent).
    pub fn level(&self) -> &str {
        self.str("level").unwrap_or("")
    }

    /// Asserts the value at `path` equals `expected`.
    ///
    /// # Panics
    /// When it differs or is absent (the message shows the line).
    #[track_caller]
    pub fn assert_field(&self, path: &str, expected: impl Into<serde_json::Value>) -> &Self {
        let expected = expected.into();
        match self.get(path) {
            Some(v) if *v == expected => self,
            Some(v) => panic!("{path}: expected {expected}, got {v} in {}", self.0),
            None => panic!("{path}: expected {expected}, absent from {}", self.0),
        }
    }

    /// Asserts that nothing is at `path`.
    ///
    /// # Panics
    /// When something is.
    #[track_caller]
    pub fn assert_absent(&self, path: &str) -> &Self {
        if let Some(v) = self.get(path) {
            panic!("{path}: expected nothing, got {v} in {}", self.0);
        }
        self
    }
}

/// Follows `parts` down `value`, trying the shortest key first and joining
/// parts with dots for keys that contain them.
fn lookup<'v>(value: &'v serde_json::Value, parts: &[&str]) -> Option<&'v serde_json::Value> {
    if parts.is_empty() {
        return Some(value);
    }
    let map = value.as_object()?;
    let mut key = String::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            key.push('.');
        }
        key.push_str(part);
        if let Some(found) = map.get(&key).and_then(|v| lookup(v, &parts[i + 1..])) {
            return Some(found);
        }
    }
    None
}

/// A private pipeline that captures everything logged through its loggers;
/// see the [module docs](self).
///
/// It logs every level (TRACE and up) and never drops (`Block`
/// backpressure). The read methods flush the pipeline first, so a line
/// logged before the call is there.
#[derive(Clone, Debug)]
pub struct LogCapture {
    pipeline: Pipeline,
    captured: Captured,
}

impl Default for LogCapture {
    fn default() -> Self {
        LogCapture::new()
    }
}

impl LogCapture {
    /// A capture with default settings.
    ///
    /// # Panics
    /// If the pipeline cannot start (a thread could not be spawned).
    pub fn new() -> LogCapture {
        match LogCapture::with_builder(Pipeline::builder()) {
            Ok(c) => c,
            Err(e) => panic!("could not start a capture pipeline: {e}"),
        }
    }

    /// A capture over a pipeline you configure (stages, service name…);
    /// the capture sink, every level and `Block` backpressure are added.
    ///
    /// # Errors
    /// When the builder's settings are invalid.
    pub fn with_builder(builder: PipelineBuilder) -> Result<LogCapture, Error> {
        let (sink, captured) = CaptureSink::new();
        let pipeline = builder
            .level(Level::TRACE)
            .backpressure(Backpressure::Block)
            .batch_max_age(Duration::from_millis(5))
            .sink(sink)
            .build()?;
        Ok(LogCapture { pipeline, captured })
    }

    /// A logger of the capture's pipeline.
    pub fn logger(&self, name: &str) -> Logger {
        self.pipeline.logger(name)
    }

    /// The pipeline (for metrics, or to hand to code that wants one).
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// Flushes the pipeline, then returns the read handle.
    ///
    /// # Panics
    /// When the flush does not finish within [`FLUSH_TIMEOUT`].
    #[track_caller]
    pub fn flushed(&self) -> &Captured {
        if let Err(e) = self.pipeline.flush(FLUSH_TIMEOUT) {
            panic!("capture pipeline did not flush: {e}");
        }
        &self.captured
    }

    /// The read handle, without flushing (for [`Captured::wait_for`]).
    pub fn captured(&self) -> &Captured {
        &self.captured
    }

    /// Every line so far, parsed.
    #[track_caller]
    pub fn records(&self) -> Vec<Line> {
        self.flushed().records()
    }

    /// Every message so far.
    #[track_caller]
    pub fn messages(&self) -> Vec<String> {
        self.flushed().messages()
    }

    /// The first line whose message is `message`.
    #[track_caller]
    pub fn find(&self, message: &str) -> Option<Line> {
        self.flushed().find(message)
    }

    /// Every line whose message is `message`.
    #[track_caller]
    pub fn find_all(&self, message: &str) -> Vec<Line> {
        self.flushed().find_all(message)
    }

    /// Every line for which `keep` holds.
    #[track_caller]
    pub fn filter(&self, keep: impl FnMut(&Line) -> bool) -> Vec<Line> {
        self.flushed().filter(keep)
    }

    /// See [`Captured::assert_logged`].
    #[track_caller]
    pub fn assert_logged(&self, message: &str) -> Line {
        self.flushed().assert_logged(message)
    }

    /// See [`Captured::assert_count`].
    #[track_caller]
    pub fn assert_count(&self, n: usize) {
        self.flushed().assert_count(n);
    }

    /// See [`Captured::assert_no_line_contains`].
    #[track_caller]
    pub fn assert_no_line_contains(&self, needle: &str) {
        self.flushed().assert_no_line_contains(needle);
    }

    /// Forgets every line so far (after a flush).
    #[track_caller]
    pub fn clear(&self) {
        self.flushed().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FieldValue;

    #[test]
    fn captures_are_isolated() {
        let a = LogCapture::new();
        let b = LogCapture::new();
        a.logger("a").info("only in a", &[]);
        b.logger("b")
            .trace("only in b", &[("n", FieldValue::I64(1))]);
        assert_eq!(a.messages(), ["only in a"]);
        assert_eq!(b.messages(), ["only in b"]);
        b.assert_logged("only in b").assert_field("data.n", 1);
        a.assert_no_line_contains("only in b");
    }

    #[test]
    fn line_paths() {
        let c = LogCapture::new();
        c.logger("p")
            .info("x", &[("request_id", FieldValue::Str("r"))]);
        let l = c.assert_logged("x");
        let dotted = Line(serde_json::json!({"log": {"a": {"b.c": {"d": 1}}}}));
        dotted.assert_field("a.b.c.d", 1);
        l.assert_field("context.request_id", "r")
            .assert_field("logger", "p")
            .assert_absent("data.request_id");
        assert_eq!(l.level(), "INFO");
        c.assert_count(1);
        c.clear();
        c.assert_count(0);
    }
}
