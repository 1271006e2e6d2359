//! The built-in stages' counters reach the metrics snapshot and the
//! Prometheus text.

use std::time::Duration;

use fapilog::stages::redactors::presets::CREDENTIALS;
use fapilog::testing::CaptureSink;
use fapilog::Pipeline;

#[test]
fn redacted_fields_are_counted_in_metrics_and_prometheus() {
    let (sink, captured) = CaptureSink::new();
    let p = Pipeline::builder()
        .redaction_preset(&CREDENTIALS)
        .sink(sink)
        .build()
        .unwrap();
    fapilog::info!(
        p.logger("auth"),
        "login",
        password = "hunter2",
        user = "ann"
    );
    p.flush(Duration::from_secs(30)).unwrap();
    let line = &captured.lines()[0];
    assert!(!line.contains("hunter2"), "{line}");
    let m = p.metrics();
    assert!(m.stages.redacted_fields >= 1, "{:?}", m.stages);
    let text = m.to_prometheus();
    let value: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("fapilog_redacted_fields_total "))
        .expect("the counter is exported")
        .parse()
        .unwrap();
    assert_eq!(value, m.stages.redacted_fields);
    assert!(text.contains("# TYPE fapilog_rate_limit_keys_tracked gauge"));
}
