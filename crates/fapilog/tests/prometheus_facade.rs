//! The `metrics` feature: the same numbers through the `metrics` facade.
#![cfg(feature = "metrics")]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fapilog::testing::CaptureSink;
use fapilog::Pipeline;
use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, Key, KeyName, Metadata, Recorder, SharedString,
    Unit,
};

#[derive(Default)]
struct Cell(AtomicU64);

impl CounterFn for Cell {
    fn increment(&self, v: u64) {
        self.0.fetch_add(v, Ordering::Relaxed);
    }
    fn absolute(&self, v: u64) {
        self.0.store(v, Ordering::Relaxed);
    }
}

impl GaugeFn for Cell {
    fn increment(&self, _: f64) {}
    fn decrement(&self, _: f64) {}
    fn set(&self, v: f64) {
        self.0.store(v.to_bits(), Ordering::Relaxed);
    }
}

#[derive(Default)]
struct Rec {
    counters: Mutex<BTreeMap<String, Arc<Cell>>>,
    gauges: Mutex<BTreeMap<String, Arc<Cell>>>,
}

fn name(key: &Key) -> String {
    let mut s = key.name().to_owned();
    for l in key.labels() {
        s.push_str(&format!(",{}={}", l.key(), l.value()));
    }
    s
}

impl Recorder for Rec {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let cell = Arc::clone(self.counters.lock().unwrap().entry(name(key)).or_default());
        Counter::from_arc(cell)
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        let cell = Arc::clone(self.gauges.lock().unwrap().entry(name(key)).or_default());
        Gauge::from_arc(cell)
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

#[test]
fn publishes_the_snapshot() {
    let (sink, _captured) = CaptureSink::new();
    let p = Pipeline::builder().sink(sink).build().unwrap();
    for _ in 0..3 {
        fapilog::info!(p.logger("m"), "hello");
    }
    p.flush(Duration::from_secs(5)).unwrap();
    let _ = p.shutdown(Duration::from_secs(5));
    fapilog::error!(p.logger("m"), "late");
    let snap = p.metrics();
    let rec = Rec::default();
    metrics::with_local_recorder(&rec, || fapilog::metrics_facade::publish(&snap));
    let c = rec.counters.lock().unwrap();
    let get = |k: &str| c.get(k).map(|v| v.0.load(Ordering::Relaxed));
    assert_eq!(get("fapilog_events_submitted_total"), Some(snap.submitted));
    assert_eq!(get("fapilog_events_written_total"), Some(3));
    assert_eq!(
        get("fapilog_events_dropped_total,level=ERROR,reason=shutdown"),
        Some(1)
    );
    assert_eq!(get("fapilog_sink_errors_total,sink=capture"), Some(0));
    let g = rec.gauges.lock().unwrap();
    let hw = g
        .get("fapilog_queue_high_watermark")
        .map(|v| f64::from_bits(v.0.load(Ordering::Relaxed)));
    assert_eq!(hw, Some(snap.queue_high_watermark as f64));
}
