//! Priority shedding: lower levels go first under pressure. Under `Drop`,
//! ERROR and CRITICAL are never dropped while lower levels occupy the queue
//! (they evict them); under `Wait` and `Block` nothing is evicted: a
//! protected event past its reserve waits like any other.

mod common;

use std::time::Duration;

use common::{user_events, GatedSink};
use fapilog::{Backpressure, DropReason, Level, Pipeline};

const LONG: Duration = Duration::from_secs(30);

fn gated(capacity: usize, reserve: usize) -> (Pipeline, common::GatedHandle) {
    gated_with(capacity, reserve, &[Level::ERROR, Level::CRITICAL])
}

/// A pipeline whose worker is held inside a stage, so the queue fills
/// deterministically.
fn gated_with(
    capacity: usize,
    reserve: usize,
    protected: &[Level],
) -> (Pipeline, common::GatedHandle) {
    gated_policy(capacity, reserve, protected, Backpressure::Drop)
}

fn gated_policy(
    capacity: usize,
    reserve: usize,
    protected: &[Level],
    policy: Backpressure,
) -> (Pipeline, common::GatedHandle) {
    let (sink, stage, handle) = GatedSink::with_stage();
    let p = Pipeline::builder()
        .enricher(stage)
        .level(Level::DEBUG)
        .queue_capacity(capacity)
        .protected_queue_capacity(reserve)
        .protected_levels(protected)
        .batch_max_events(4)
        .batch_max_age(Duration::from_millis(1))
        .backpressure(policy)
        .sink(sink)
        .build()
        .unwrap();
    fapilog::info!(p.logger("hold"), "holder");
    assert!(handle.gate.wait_blocked(LONG));
    (p, handle)
}

fn count(events: &[&serde_json::Value], level: &str) -> usize {
    events.iter().filter(|e| e["log"]["level"] == level).count()
}

#[test]
fn under_drop_errors_take_the_reserve_then_evict_the_oldest_lower_level_events() {
    let (p, h) = gated(100, 10);
    let log = p.logger("t");
    for i in 0..100 {
        fapilog::info!(log, "info", i = i);
    }
    for i in 0..30 {
        fapilog::error!(log, "error", i = i);
    }
    let m = p.metrics();
    assert_eq!(m.dropped_at("ERROR"), 0);
    assert_eq!(m.dropped_for(DropReason::Evicted), 20);
    assert_eq!(m.dropped_at("INFO"), 20);
    h.gate.open();
    p.shutdown(LONG);
    let all = h.envelopes();
    let ev = user_events(&all);
    assert_eq!(count(&ev, "ERROR"), 30);
    assert_eq!(count(&ev, "INFO"), 1 + 80);
    // The evicted INFO events are the oldest: 20..100 survive.
    let first_info = ev
        .iter()
        .find(|e| e["log"]["message"] == "info")
        .map(|e| e["log"]["data"]["i"].as_u64().unwrap());
    assert_eq!(first_info, Some(20));
}

#[test]
fn debug_is_shed_at_three_quarters_so_info_keeps_the_last_quarter() {
    let (p, h) = gated(100, 10);
    let log = p.logger("t");
    for i in 0..100 {
        fapilog::debug!(log, "debug", i = i);
    }
    assert_eq!(p.metrics().dropped_at("DEBUG"), 25);
    for i in 0..25 {
        fapilog::info!(log, "info", i = i);
    }
    assert_eq!(p.metrics().dropped_at("INFO"), 0);
    fapilog::info!(log, "one too many");
    assert_eq!(p.metrics().dropped_at("INFO"), 1);
    h.gate.open();
    p.shutdown(LONG);
    let all = h.envelopes();
    let ev = user_events(&all);
    assert_eq!(count(&ev, "DEBUG"), 75);
    assert_eq!(count(&ev, "INFO"), 1 + 25);
}

#[test]
fn protected_events_meet_the_policy_only_when_no_lower_level_is_queued() {
    let (p, h) = gated(10, 5);
    let log = p.logger("t");
    for i in 0..7 {
        fapilog::critical!(log, "c", i = i);
    }
    let m = p.metrics();
    assert_eq!(m.dropped_at("CRITICAL"), 2);
    assert_eq!(m.dropped_for(DropReason::QueueFull), 2);
    h.gate.open();
    p.shutdown(LONG);
    assert_eq!(count(&user_events(&h.envelopes()), "CRITICAL"), 5);
}

#[test]
fn custom_protected_levels_are_honoured() {
    let audit = Level::custom(60, "AUDIT");
    let (p, h) = gated_with(10, 3, &[audit]);
    let log = p.logger("t");
    for _ in 0..10 {
        fapilog::error!(log, "not protected here");
    }
    fapilog::error!(log, "this one is dropped");
    fapilog::log!(log, audit, "audit survives");
    let m = p.metrics();
    assert_eq!(m.dropped_at("ERROR"), 1);
    assert_eq!(m.dropped_at("CUSTOM"), 0);
    h.gate.open();
    p.shutdown(LONG);
    let all = h.envelopes();
    assert!(all.iter().any(|e| e["log"]["level"] == "AUDIT"));
}

#[test]
fn a_threads_lines_keep_call_order_across_levels() {
    // A reserve large enough that nothing is evicted.
    let (p, h) = gated(100, 50);
    let log = p.logger("order");
    for i in 0..40u32 {
        match i % 4 {
            0 => fapilog::info!(log, "o", i = i),
            1 => fapilog::error!(log, "o", i = i),
            2 => fapilog::warning!(log, "o", i = i),
            _ => fapilog::critical!(log, "o", i = i),
        }
    }
    h.gate.open();
    p.shutdown(LONG);
    let all = h.envelopes();
    let seq: Vec<u64> = user_events(&all)
        .iter()
        .filter(|e| e["log"]["message"] == "o")
        .map(|e| e["log"]["data"]["i"].as_u64().unwrap())
        .collect();
    assert_eq!(seq, (0..40).collect::<Vec<_>>());
}

#[test]
fn under_wait_errors_past_their_reserve_wait_and_never_evict() {
    let (p, h) = gated_policy(
        10,
        2,
        &[Level::ERROR, Level::CRITICAL],
        Backpressure::Wait {
            timeout: Duration::from_millis(1),
        },
    );
    let log = p.logger("t");
    for i in 0..10 {
        fapilog::info!(log, "info", i = i);
    }
    for i in 0..3 {
        fapilog::error!(log, "error", i = i);
    }
    let m = p.metrics();
    assert_eq!(m.dropped_for(DropReason::Evicted), 0);
    // The third ERROR found its reserve and the main queue full, waited,
    // and timed out (the worker is held).
    assert_eq!(m.dropped_for(DropReason::WaitTimeout), 1);
    assert_eq!(m.dropped_at("INFO"), 0);
    h.gate.open();
    p.shutdown(LONG);
    let all = h.envelopes();
    let ev = user_events(&all);
    assert_eq!(count(&ev, "INFO"), 1 + 10);
    assert_eq!(count(&ev, "ERROR"), 2);
}
