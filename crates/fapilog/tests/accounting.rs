//! The counts add up: every log call is counted once, in exactly one outcome.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use fapilog::testing::CaptureSink;
use fapilog::{Backpressure, DropReason, Event, Pipeline, RedactionFailMode, Redactor, StageError};

/// Fails on every tenth event it sees.
struct EveryTenthFails(AtomicU64);

impl Redactor for EveryTenthFails {
    fn name(&self) -> &str {
        "every_tenth_fails"
    }

    fn redact(&self, _: &mut Event<'_>) -> Result<(), StageError> {
        if self.0.fetch_add(1, Ordering::Relaxed) % 10 == 9 {
            return Err(StageError::new("fails on purpose"));
        }
        Ok(())
    }
}

#[test]
fn events_withheld_by_a_failing_redactor_are_counted_once_and_the_drain_report_adds_up() {
    let (sink, captured) = CaptureSink::new();
    let pipeline = Pipeline::builder()
        .backpressure(Backpressure::Block)
        .redactor(EveryTenthFails(AtomicU64::new(0)))
        .redaction_fail_mode(RedactionFailMode::Closed)
        .sink(sink)
        .build()
        .unwrap();
    let log = pipeline.logger("app");
    let calls = 20_000u64;
    for i in 0..calls {
        fapilog::info!(log, "event", seq = i);
    }
    pipeline.flush(Duration::from_secs(30)).unwrap();
    let m = pipeline.metrics();
    assert_eq!(m.submitted, calls, "{m:?}");
    assert_eq!(m.dropped_for(DropReason::RedactionFailed), calls / 10);

    let r = pipeline.shutdown(Duration::from_secs(30));
    assert_eq!(r.submitted, calls, "{r:?}");
    assert_eq!(r.written, calls - calls / 10, "{r:?}");
    assert_eq!(r.dropped, vec![(DropReason::RedactionFailed, calls / 10)]);
    assert_eq!(r.unflushed, 0, "{r:?}");
    assert_eq!(
        r.written + r.failed + r.filtered + r.dropped_total() + r.unflushed,
        r.submitted
    );
    let users = captured
        .envelopes()
        .into_iter()
        .filter(|e| e["log"]["message"] == "event")
        .count() as u64;
    assert_eq!(users, calls - calls / 10);
}
