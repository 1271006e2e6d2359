//! A plugin that panics on every event does not flood stderr: no standard
//! panic report per panic, one line per plugin per interval, every panic
//! counted. Runs in a child process so its stderr can be measured.

mod child;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fapilog::{Backpressure, Batch, Enricher, Event, Pipeline, Sink, SinkError, StageError};

const EVENTS: u64 = 100_000;

struct AlwaysPanics;

impl Enricher for AlwaysPanics {
    fn name(&self) -> &str {
        "always_panics"
    }

    fn enrich(&self, _: &mut Event<'_>) -> Result<(), StageError> {
        panic!("this enricher panics on every event");
    }
}

struct Counting(Arc<AtomicU64>);

impl Sink for Counting {
    fn name(&self) -> &str {
        "counting"
    }

    fn write_batch(&mut self, batch: &Batch) -> Result<(), SinkError> {
        self.0.fetch_add(batch.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

#[test]
fn child_entry() {
    if child::role().as_deref() != Some("panicking_enricher") {
        return;
    }
    let written = Arc::new(AtomicU64::new(0));
    let pipeline = Pipeline::builder()
        .backpressure(Backpressure::Block)
        .enricher(AlwaysPanics)
        .sink(Counting(Arc::clone(&written)))
        .build()
        .unwrap();
    let log = pipeline.logger("app");
    for seq in 0..EVENTS {
        fapilog::info!(log, "event", seq = seq);
    }
    let report = pipeline.shutdown(Duration::from_secs(120));
    // The event goes on without the enricher's work.
    assert_eq!(report.written, EVENTS, "{report:?}");
    let m = pipeline.metrics();
    let stage = m
        .stage_errors
        .iter()
        .find(|s| s.stage == "always_panics")
        .unwrap();
    assert_eq!(stage.panics, EVENTS);
    assert_eq!(written.load(Ordering::Relaxed), EVENTS);
}

#[test]
fn an_enricher_panicking_on_every_event_writes_a_bounded_report_to_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let output = child::command("child_entry", "panicking_enricher", &dir.path().join("x"))
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let stderr = child::text(&output.stderr);
    assert!(
        output.status.success(),
        "{}",
        &stderr[..stderr.len().min(4000)]
    );
    assert!(stderr.len() < 8 * 1024, "{} bytes of stderr", stderr.len());
    assert!(!stderr.contains("stack backtrace"), "{stderr}");
    let reports: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("plugin panicked"))
        .collect();
    assert!(!reports.is_empty(), "{stderr}");
    assert!(reports[0].contains("always_panics"));
    assert!(reports[0].contains("this enricher panics on every event"));
    assert!(reports[0].contains("plugin_panics.rs"));
}
