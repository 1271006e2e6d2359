//! `MetricsSnapshot::to_prometheus`: names, types, labels and values.

use std::time::Duration;

use fapilog::testing::CaptureSink;
use fapilog::{Batch, Format, Pipeline, Sink, SinkError};

struct Failing;

impl Sink for Failing {
    fn name(&self) -> &str {
        "broken \"sink\""
    }
    fn format(&self) -> Format {
        Format::Json
    }
    fn write_batch(&mut self, _batch: &Batch) -> Result<(), SinkError> {
        Err(SinkError::Rejected("no".into()))
    }
}

fn value_of(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l[series.len() + 1..].parse().ok())
}

#[test]
fn exposes_counts_drops_sinks_and_histogram() {
    let (sink, captured) = CaptureSink::new();
    let pipeline = Pipeline::builder()
        .sink(sink)
        .sink(Failing)
        .build()
        .expect("pipeline");
    let log = pipeline.logger("app");
    for i in 0..3 {
        fapilog::info!(log, "hello", i = i);
    }
    pipeline.flush(Duration::from_secs(5)).expect("flush");
    assert!(captured.wait_for(3, Duration::from_secs(5)));
    let _ = pipeline.shutdown(Duration::from_secs(5));
    fapilog::error!(log, "after shutdown");

    let m = pipeline.metrics();
    let text = m.to_prometheus();

    assert_eq!(
        value_of(&text, "fapilog_events_submitted_total"),
        Some(m.submitted as f64)
    );
    assert!(m.submitted >= 4);
    assert_eq!(
        value_of(
            &text,
            "fapilog_events_dropped_total{level=\"ERROR\",reason=\"shutdown\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        value_of(
            &text,
            "fapilog_sink_errors_total{sink=\"broken \\\"sink\\\"\"}"
        ),
        Some(m.sink_errors() as f64)
    );
    assert!(m.sink_errors() >= 1);
    assert_eq!(
        value_of(&text, "fapilog_flush_seconds_bucket{le=\"+Inf\"}"),
        Some(m.flush_count as f64)
    );
    assert_eq!(
        value_of(&text, "fapilog_flush_seconds_count"),
        Some(m.flush_count as f64)
    );
    // The failing sink's driver: its refusals diverted, to stderr, and its state.
    let broken = "sink=\"broken \\\"sink\\\"\"";
    assert_eq!(
        value_of(
            &text,
            &format!("fapilog_sink_diverted_total{{{broken},reason=\"rejected\"}}")
        ),
        Some(3.0)
    );
    assert_eq!(
        value_of(
            &text,
            &format!("fapilog_sink_diverted_to_total{{{broken},to=\"stderr\"}}")
        ),
        Some(3.0)
    );
    assert_eq!(
        value_of(
            &text,
            &format!("fapilog_sink_health{{{broken},state=\"stopped\"}}")
        ),
        Some(1.0)
    );
    assert_eq!(
        value_of(&text, "fapilog_sink_bytes_written_total{sink=\"capture\"}"),
        Some(m.sinks[0].bytes as f64)
    );
    assert!(m.sinks[0].bytes > 0);
    assert!(value_of(&text, "fapilog_queue_high_watermark").is_some());
    assert_eq!(value_of(&text, "fapilog_queue_depth"), Some(0.0));

    for (name, kind) in [
        ("fapilog_events_submitted_total", "counter"),
        ("fapilog_events_dropped_total", "counter"),
        ("fapilog_queue_high_watermark", "gauge"),
        ("fapilog_queue_depth", "gauge"),
        ("fapilog_flush_seconds", "histogram"),
        ("fapilog_sink_errors_total", "counter"),
        ("fapilog_sink_retries_total", "counter"),
        ("fapilog_sink_dropped_total", "counter"),
        ("fapilog_sink_buffer_batches", "gauge"),
        ("fapilog_sink_write_seconds", "summary"),
    ] {
        assert!(
            text.contains(&format!("# TYPE {name} {kind}\n")),
            "missing TYPE for {name}"
        );
    }
}

#[test]
fn every_line_is_well_formed() {
    let (sink, _captured) = CaptureSink::new();
    let pipeline = Pipeline::builder().sink(sink).build().expect("pipeline");
    fapilog::warning!(pipeline.logger("x"), "w");
    pipeline.flush(Duration::from_secs(5)).expect("flush");
    let text = pipeline.metrics().to_prometheus();
    assert!(text.ends_with('\n'));
    let mut buckets = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') {
            let mut parts = line.splitn(4, ' ');
            assert_eq!(parts.next(), Some("#"));
            assert!(matches!(parts.next(), Some("HELP" | "TYPE")), "{line}");
            assert!(parts.next().is_some_and(|n| n.starts_with("fapilog_")));
            continue;
        }
        assert!(line.starts_with("fapilog_"), "{line}");
        let (_, value) = line.rsplit_once(' ').expect("value");
        let v: f64 = value.parse().expect("numeric value");
        if line.starts_with("fapilog_flush_seconds_bucket") {
            buckets.push(v);
        }
    }
    assert!(
        buckets.windows(2).all(|w| w[0] <= w[1]),
        "cumulative buckets"
    );
    assert_eq!(buckets.len(), fapilog::FLUSH_BUCKETS.len() + 1);
}
