//! Sinks and helpers shared by the integration tests.
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use fapilog::{Batch, Enricher, Event, Sink, SinkError, StageError};

/// A sink that blocks every write until its gate is opened, so a test can
/// hold the sink (the worker then stops once its next batch is full).
pub struct GatedSink {
    gate: Arc<Gate>,
    lines: Arc<Mutex<Vec<String>>>,
    blocks: bool,
}

/// An enricher that blocks the worker thread itself until its gate is
/// opened: the worker holds exactly the event it is enriching and takes
/// nothing more from the queue, so a test can fill the queue exactly.
pub struct GatedStage {
    gate: Arc<Gate>,
}

impl Enricher for GatedStage {
    fn name(&self) -> &str {
        "gated"
    }

    fn enrich(&self, _: &mut Event<'_>) -> Result<(), StageError> {
        self.gate.pass();
        Ok(())
    }
}

#[derive(Default)]
pub struct Gate {
    open: Mutex<bool>,
    cv: Condvar,
    blocked: AtomicUsize,
}

impl Gate {
    /// Blocks until the gate is open (counted as blocked meanwhile).
    pub fn pass(&self) {
        self.blocked.fetch_add(1, Ordering::SeqCst);
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.cv.wait(open).unwrap();
        }
        self.blocked.fetch_sub(1, Ordering::SeqCst);
    }

    pub fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.cv.notify_all();
    }

    /// Waits until the worker is blocked at the gate.
    pub fn wait_blocked(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.blocked.load(Ordering::SeqCst) == 0 {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::yield_now();
        }
        true
    }
}

pub struct GatedHandle {
    pub gate: Arc<Gate>,
    pub lines: Arc<Mutex<Vec<String>>>,
}

impl GatedHandle {
    pub fn envelopes(&self) -> Vec<serde_json::Value> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl GatedSink {
    pub fn new() -> (GatedSink, GatedHandle) {
        let gate = Arc::new(Gate::default());
        let lines = Arc::new(Mutex::new(Vec::new()));
        (
            GatedSink {
                gate: Arc::clone(&gate),
                lines: Arc::clone(&lines),
                blocks: true,
            },
            GatedHandle { gate, lines },
        )
    }

    /// A sink that never blocks, and a stage that holds the worker instead.
    pub fn with_stage() -> (GatedSink, GatedStage, GatedHandle) {
        let (mut sink, handle) = GatedSink::new();
        sink.blocks = false;
        let stage = GatedStage {
            gate: Arc::clone(&handle.gate),
        };
        (sink, stage, handle)
    }
}

impl Sink for GatedSink {
    fn name(&self) -> &str {
        "gated"
    }

    fn when_full(&self) -> fapilog::WhenFull {
        fapilog::WhenFull::Block
    }

    fn write_batch(&mut self, batch: &Batch) -> Result<(), SinkError> {
        if self.blocks {
            self.gate.pass();
        }
        let mut lines = self.lines.lock().unwrap();
        for l in batch.lines() {
            lines.push(String::from_utf8(l.bytes.to_vec()).unwrap());
        }
        Ok(())
    }
}

/// A sink that fails (or panics) on demand.
pub struct FlakySink {
    pub name: &'static str,
    pub panic: bool,
    pub failing: Arc<AtomicBool>,
    pub written: Arc<AtomicUsize>,
}

impl Sink for FlakySink {
    fn name(&self) -> &str {
        self.name
    }

    fn write_batch(&mut self, batch: &Batch) -> Result<(), SinkError> {
        if self.failing.load(Ordering::SeqCst) {
            if self.panic {
                panic!("flaky sink panics on purpose");
            }
            return Err(SinkError::Rejected("flaky sink fails on purpose".into()));
        }
        self.written.fetch_add(batch.len(), Ordering::SeqCst);
        Ok(())
    }
}

/// Envelopes that are user events (not the pipeline's own `logs dropped` reports).
pub fn user_events(all: &[serde_json::Value]) -> Vec<&serde_json::Value> {
    all.iter()
        .filter(|e| e["log"]["message"] != "logs dropped")
        .collect()
}

/// Sum of `data.dropped` over the in-band `logs dropped` reports.
pub fn reported_drops(all: &[serde_json::Value]) -> u64 {
    all.iter()
        .filter(|e| e["log"]["message"] == "logs dropped")
        .map(|e| e["log"]["data"]["dropped"].as_u64().unwrap())
        .sum()
}
pub mod secrets;

/// An enricher that makes no promise: every event of its pipeline takes
/// the event path (the reference the direct path is compared against).
pub struct EventPath;

impl Enricher for EventPath {
    fn name(&self) -> &str {
        "event_path"
    }
    fn enrich(&self, _: &mut Event<'_>) -> Result<(), StageError> {
        Ok(())
    }
}

/// A constant enricher that counts how often it runs (the direct path runs
/// it once, on its probe event) and adds `diagnostics.region`.
pub struct Counted(pub Arc<AtomicUsize>);

impl Enricher for Counted {
    fn name(&self) -> &str {
        "counted"
    }
    fn enrich(&self, ev: &mut Event<'_>) -> Result<(), StageError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        ev.diagnostics
            .insert("region", fapilog::Value::from("eu-west-1"));
        Ok(())
    }
    fn is_constant(&self) -> bool {
        true
    }
}
