//! A failing or panicking sink never takes the pipeline or the app down.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::FlakySink;
use fapilog::sinks::{BreakerPolicy, RetryPolicy, SinkErrorKind, SinkOptions};
use fapilog::testing::CaptureSink;
use fapilog::{Batch, Error, Pipeline, Sink, SinkError};

const LONG: Duration = Duration::from_secs(30);

fn run_with(panic: bool) {
    let failing = Arc::new(AtomicBool::new(true));
    let written = Arc::new(AtomicUsize::new(0));
    let (capture, captured) = CaptureSink::new();
    let p = Pipeline::builder()
        .sink_with(
            FlakySink {
                name: "flaky",
                panic,
                failing: Arc::clone(&failing),
                written: Arc::clone(&written),
            },
            // Give up at once, and never stop trying: each batch fails once.
            SinkOptions::new()
                .retry(RetryPolicy::none())
                .breaker(BreakerPolicy::off()),
        )
        .sink(capture)
        .build()
        .unwrap();
    let log = p.logger("app");
    for i in 0..100u32 {
        fapilog::info!(log, "while failing", i = i);
    }
    p.flush(LONG).unwrap();
    let m = p.metrics();
    assert!(m.sink_errors() > 0);
    // The healthy sink took every event: none is lost for the pipeline.
    assert_eq!(m.written, 100);
    assert_eq!(m.failed, 0);
    assert_eq!(captured.len(), 100);
    let flaky = m.sinks.iter().find(|s| s.name == "flaky").unwrap();
    assert!(flaky.errors > 0);
    let kind = if panic {
        SinkErrorKind::Panic
    } else {
        SinkErrorKind::Rejected
    };
    assert_eq!(flaky.errors_of(kind), flaky.errors);
    // What the flaky sink gave up on went to stderr (no fallback named), once.
    assert_eq!(flaky.diverted_total(), 100);
    assert_eq!(flaky.diverted_to_stderr, 100);

    // The sink recovers; its driver is still alive.
    failing.store(false, Ordering::SeqCst);
    for i in 0..100u32 {
        fapilog::info!(log, "after recovery", i = i);
    }
    let report = p.shutdown(LONG);
    assert_eq!(written.load(Ordering::SeqCst), 100);
    assert_eq!(report.written, 200);
    assert_eq!(report.failed, 0);
    assert_eq!(captured.len(), 200);
    let flaky = report.sinks.iter().find(|s| s.name == "flaky").unwrap();
    assert_eq!((flaky.written, flaky.diverted), (100, 100));
}

#[test]
fn events_that_no_sink_accepts_are_counted_failed() {
    let failing = Arc::new(AtomicBool::new(true));
    let p = Pipeline::builder()
        .sink_with(
            FlakySink {
                name: "only",
                panic: false,
                failing,
                written: Arc::new(AtomicUsize::new(0)),
            },
            SinkOptions::new().retry(RetryPolicy::none()),
        )
        .build()
        .unwrap();
    let log = p.logger("app");
    for i in 0..10u32 {
        fapilog::info!(log, "lost to the sink", i = i);
    }
    let r = p.shutdown(LONG);
    assert_eq!((r.written, r.failed), (0, 10));
    assert!(!r.is_complete());
}

#[test]
fn lines_stderr_refuses_over_its_budget_are_counted_dropped_not_also_diverted() {
    let p = Pipeline::builder()
        .sink_with(
            FlakySink {
                name: "only",
                panic: false,
                failing: Arc::new(AtomicBool::new(true)),
                written: Arc::new(AtomicUsize::new(0)),
            },
            SinkOptions::new().retry(RetryPolicy::none()),
        )
        .batch_max_events(1)
        .build()
        .unwrap();
    let log = p.logger("app");
    // 16 lines of 32 KiB: twice stderr's budget of 256 KiB a second.
    let big = "x".repeat(32 * 1024);
    for i in 0..16u32 {
        fapilog::info!(log, "lost to the sink", i = i, pad = big.as_str());
    }
    let r = p.shutdown(LONG);
    let s = &r.sinks[0];
    assert!(s.diverted > 0 && s.dropped > 0, "{s:?}");
    // Each line once, the in-band `logs dropped` report included.
    let reports = p.metrics().drop_reports;
    assert_eq!(
        s.written + s.diverted + s.dropped,
        r.submitted + reports,
        "{r:?}"
    );
}

#[test]
fn an_erroring_sink_is_counted_and_the_rest_goes_on() {
    run_with(false);
}

#[test]
fn a_panicking_sink_is_isolated() {
    run_with(true);
}

#[test]
fn a_sink_that_cannot_start_fails_the_build_with_its_name() {
    struct NoStart;
    impl Sink for NoStart {
        fn name(&self) -> &str {
            "no-start"
        }
        fn start(&mut self) -> Result<(), SinkError> {
            Err(SinkError::Rejected("endpoint unreachable".into()))
        }
        fn write_batch(&mut self, _: &Batch) -> Result<(), SinkError> {
            Ok(())
        }
    }
    let err = Pipeline::builder().sink(NoStart).build().unwrap_err();
    assert!(matches!(err, Error::SinkStart { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("no-start") && msg.contains("endpoint unreachable"),
        "{msg}"
    );
}

#[test]
fn duplicate_sink_names_are_rejected() {
    let err = Pipeline::builder()
        .sink(CaptureSink::new().0)
        .sink(CaptureSink::new().0)
        .build()
        .unwrap_err();
    assert!(
        matches!(err, Error::DuplicateSink(ref n) if n == "capture"),
        "{err}"
    );
}

#[test]
fn an_unwritable_file_path_is_a_clear_error() {
    let err = fapilog::FileSink::create("/nonexistent-dir/x/app.jsonl").unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent-dir/x/app.jsonl"),
        "{err}"
    );
}

fn file_sink_round_trip(sink: impl FnOnce(&std::path::Path) -> fapilog::FileSink) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.jsonl");
    // Lines already in the file stay: the sink appends.
    std::fs::write(&path, "{\"before\":true}\n").unwrap();
    let p = Pipeline::builder()
        .batch_max_events(64)
        .sink(sink(&path))
        .build()
        .unwrap();
    let log = p.logger("file");
    for i in 0..2000u32 {
        fapilog::info!(log, "line", i = i);
    }
    assert!(p.shutdown(LONG).is_complete());
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2001);
    assert_eq!(lines[0], r#"{"before":true}"#);
    for (i, l) in lines[1..].iter().enumerate() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["log"]["data"]["i"], i);
    }
}

#[test]
fn the_file_sink_writes_whole_lines() {
    file_sink_round_trip(|path| fapilog::FileSink::create(path).unwrap());
}

/// Asking for writeback after every batch (and dropping written pages from
/// the cache) loses and reorders nothing.
#[test]
fn early_writeback_keeps_every_line() {
    file_sink_round_trip(|path| fapilog::FileSink::create(path).unwrap().writeback_every(1));
    file_sink_round_trip(|path| fapilog::FileSink::create(path).unwrap().writeback_every(0));
}
