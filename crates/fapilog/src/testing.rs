//! Helpers for tests: a sink that keeps what it receives in memory.
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
//! ```

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::batch::Batch;
use crate::encode::Format;
use crate::sinks::{Sink, SinkError};

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

    /// The `log.message` of every envelope (or of flat lines), in order.
    pub fn messages(&self) -> Vec<String> {
        self.envelopes()
            .iter()
            .filter_map(|e| {
                let log = e.get("log").unwrap_or(e);
                log.get("message")
                    .and_then(|m| m.as_str())
                    .map(str::to_owned)
            })
            .collect()
    }

    /// Waits until at least `n` lines arrived; `false` when `timeout` passed first.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut g = self.store.lock();
        while g.len() < n {
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
}
