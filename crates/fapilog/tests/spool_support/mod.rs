//! Sinks and helpers of the spool tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fapilog::sinks::{BreakerPolicy, RetryPolicy, SinkOptions, SpoolOptions, WhenFull};
use fapilog::{Batch, Pipeline, PipelineBuilder, Sink, SinkError};

/// The name of the sink whose spool the tests share across processes.
pub const SINK: &str = "spooled";

/// A sink that fails with `Transient` while `down` is set, and records
/// every line it accepts (its `seq`, or the raw line).
#[derive(Clone)]
pub struct OutageSink {
    pub down: Arc<AtomicBool>,
    pub lines: Arc<Mutex<Vec<String>>>,
    pub batches: Arc<AtomicUsize>,
}

impl OutageSink {
    pub fn new(down: bool) -> OutageSink {
        OutageSink {
            down: Arc::new(AtomicBool::new(down)),
            lines: Arc::default(),
            batches: Arc::default(),
        }
    }

    /// The `seq` of every user event accepted, in order of delivery.
    pub fn seqs(&self) -> Vec<u64> {
        seqs(&self.lines.lock().unwrap())
    }

    pub fn wait_for(&self, n: usize, timeout: Duration) -> bool {
        wait_until(timeout, || self.seqs().len() >= n)
    }
}

impl Sink for OutageSink {
    fn name(&self) -> &str {
        SINK
    }

    fn write_batch(&mut self, batch: &Batch) -> Result<(), SinkError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(SinkError::Transient {
                after: None,
                message: "the destination is down".into(),
            });
        }
        self.batches.fetch_add(1, Ordering::SeqCst);
        let mut lines = self.lines.lock().unwrap();
        for l in batch.lines() {
            lines.push(String::from_utf8(l.bytes.to_vec()).unwrap());
        }
        Ok(())
    }
}

/// A sink that never returns from its first write: the driver is stuck,
/// so every batch stays in the spool (for children that are killed).
pub struct StuckSink;

impl Sink for StuckSink {
    fn name(&self) -> &str {
        SINK
    }

    fn write_batch(&mut self, _: &Batch) -> Result<(), SinkError> {
        loop {
            std::thread::park();
        }
    }
}

/// Fast retries and no breaker, so an outage test does not wait on real time.
pub fn quick(spool: SpoolOptions) -> SinkOptions {
    SinkOptions::new()
        .when_full(WhenFull::Spill)
        .buffer_batches(1)
        .retry(
            RetryPolicy::default()
                .max_attempts(2)
                .initial(Duration::from_millis(1))
                .max_delay(Duration::from_millis(5)),
        )
        .breaker(BreakerPolicy::off())
        .spool(spool)
}

pub fn builder() -> PipelineBuilder {
    Pipeline::builder()
        .queue_capacity(16_384)
        .backpressure(fapilog::Backpressure::Block)
        .batch_max_events(64)
        .batch_max_age(Duration::from_millis(5))
        .shutdown_timeout(Duration::from_secs(30))
}

/// The `seq` fields of the `event…` lines among `lines`.
pub fn seqs(lines: &[String]) -> Vec<u64> {
    lines
        .iter()
        .filter_map(|l| {
            let v: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("garbage line {l:?}: {e}"));
            let event = v["log"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("event"));
            event.then(|| v["log"]["data"]["seq"].as_u64().unwrap())
        })
        .collect()
}

pub fn log(pipeline: &Pipeline, range: std::ops::Range<u64>) {
    let logger = pipeline.logger("app");
    for seq in range {
        fapilog::info!(logger, "event", seq = seq);
    }
}

/// Polls `done` until it holds or `timeout` passes (a deadline, not a sleep
/// that stands in for synchronisation).
pub fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    done()
}

/// Asserts every seq of `0..n` is there; returns the number of duplicates.
pub fn assert_complete(seqs: &[u64], n: u64) -> usize {
    let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
    for s in seqs {
        *counts.entry(*s).or_default() += 1;
    }
    let missing: Vec<u64> = (0..n)
        .filter(|s| !counts.contains_key(s))
        .take(10)
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {n} delivered; first missing {missing:?}",
        counts.len()
    );
    assert!(
        counts.keys().all(|s| *s < n),
        "an event never logged was delivered"
    );
    counts.values().map(|c| c - 1).sum()
}

/// The sink's spool directory under `root`.
pub fn sink_dir(root: &Path) -> PathBuf {
    root.join(SINK)
}

/// Bytes of the segment files in the sink's spool directory.
pub fn segment_bytes(root: &Path) -> u64 {
    std::fs::read_dir(sink_dir(root))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".seg"))
                .map(|e| e.metadata().map_or(0, |m| m.len()))
                .sum()
        })
        .unwrap_or(0)
}

/// The bytes of every file in the sink's spool directory.
pub fn raw_bytes(root: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(sink_dir(root)).unwrap().flatten() {
        out.extend(std::fs::read(e.path()).unwrap_or_default());
    }
    out
}
