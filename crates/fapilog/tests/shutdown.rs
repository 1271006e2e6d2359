//! Drain on shutdown: nothing queued is lost when shutdown has time, and
//! what could not be written is reported when it has not.

mod common;

use std::time::Duration;

use common::{user_events, GatedSink};
use fapilog::testing::CaptureSink;
use fapilog::{Backpressure, DropReason, Pipeline};

const LONG: Duration = Duration::from_secs(30);

#[test]
fn shutdown_drains_everything_queued() {
    let (sink, captured) = CaptureSink::new();
    let p = Pipeline::builder()
        .queue_capacity(100_000)
        .batch_max_age(Duration::from_secs(60))
        .sink(sink)
        .build()
        .unwrap();
    let log = p.logger("drain");
    for i in 0..50_000u32 {
        fapilog::info!(log, "e", i = i);
    }
    let report = p.shutdown(LONG);
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.submitted, 50_000);
    assert_eq!(report.written, 50_000);
    assert_eq!(captured.len(), 50_000);
    // A second call returns the same report.
    assert_eq!(p.shutdown(LONG), report);
}

#[test]
fn dropping_the_last_handle_drains() {
    let (sink, captured) = CaptureSink::new();
    let p = Pipeline::builder()
        .batch_max_age(Duration::from_secs(60))
        .sink(sink)
        .build()
        .unwrap();
    let log = p.logger("drop");
    for i in 0..1000u32 {
        fapilog::info!(log, "e", i = i);
    }
    let clone = p.clone();
    drop(p);
    // A clone keeps the pipeline running: it still takes events.
    fapilog::info!(log, "after the first drop");
    drop(clone);
    // Dropping the last handle drained everything, in order.
    assert_eq!(captured.len(), 1001);
    assert_eq!(
        captured.messages().last().map(String::as_str),
        Some("after the first drop")
    );
    // The logger outlives the pipeline: its calls are counted, not written.
    fapilog::info!(log, "late");
}

#[test]
fn calls_after_shutdown_are_counted_as_dropped() {
    let (sink, _captured) = CaptureSink::new();
    let p = Pipeline::builder().sink(sink).build().unwrap();
    let log = p.logger("late");
    p.shutdown(LONG);
    fapilog::error!(log, "too late");
    let m = p.metrics();
    assert_eq!(m.dropped_for(DropReason::Shutdown), 1);
}

#[test]
fn a_stuck_sink_makes_shutdown_time_out_and_say_what_is_unwritten() {
    let (sink, h) = GatedSink::new();
    let p = Pipeline::builder()
        .queue_capacity(100)
        .batch_max_events(10)
        .batch_max_age(Duration::from_millis(1))
        .backpressure(Backpressure::Drop)
        .sink(sink)
        .build()
        .unwrap();
    let log = p.logger("stuck");
    fapilog::info!(log, "first");
    assert!(h.gate.wait_blocked(LONG));
    for i in 0..50u32 {
        fapilog::info!(log, "queued", i = i);
    }
    let report = p.shutdown(Duration::from_millis(50));
    assert!(report.timed_out);
    assert_eq!(report.submitted, 51);
    assert_eq!(report.written, 0);
    // Everything is accounted for: dropped at the deadline or still in flight.
    assert_eq!(report.dropped_total() + report.unflushed, 51);
    assert!(!report.is_complete());
    h.gate.open();
}

#[test]
fn flush_waits_for_the_events_logged_before_it() {
    let (sink, captured) = CaptureSink::new();
    let p = Pipeline::builder()
        .batch_max_age(Duration::from_secs(60))
        .workers(2)
        .sink(sink)
        .build()
        .unwrap();
    let log = p.logger("f");
    for round in 1..=5usize {
        for i in 0..1000 {
            fapilog::info!(log, "e", round = round, i = i);
        }
        p.flush(LONG).unwrap();
        assert_eq!(captured.len(), round * 1000);
    }
    let report = p.shutdown(LONG);
    assert!(report.is_complete());
    assert_eq!(user_events(&captured.envelopes()).len(), 5000);
}

#[test]
fn flush_never_returns_before_the_events_logged_before_it() {
    // A race once let a flush that arrived while the worker was between
    // "queue empty" and "flush requested" return with the events still queued.
    let (sink, captured) = CaptureSink::new();
    let p = Pipeline::builder().sink(sink).build().unwrap();
    let log = p.logger("race");
    for i in 0..3000usize {
        fapilog::info!(log, "e", i = i);
        p.flush(LONG).unwrap();
        assert_eq!(captured.len(), i + 1, "flush {i} returned early");
    }
}
