//! The alternative setup (own process): `tracing_log::LogTracer` forwards
//! `log` records into `tracing`, and the layer logs them once, named after
//! the `log` target.

use fapilog::testing::LogCapture;
use fapilog_tracing::{FapilogLayer, InstallError, LogBridge};
use tracing_subscriber::layer::SubscriberExt;

#[test]
fn log_tracer_events_are_logged_once() {
    let capture = LogCapture::new();
    tracing_log::LogTracer::init().expect("LogTracer");
    assert!(matches!(
        LogBridge::new(capture.logger("log")).install(),
        Err(InstallError::AlreadySet)
    ));
    let subscriber =
        tracing_subscriber::registry().with(FapilogLayer::new(capture.logger("tracing")));
    tracing::subscriber::set_global_default(subscriber).expect("global subscriber");

    let span = tracing::info_span!("req", request_id = "r-2");
    span.in_scope(|| log::info!(target: "legacy::io", "via log tracer"));

    capture.assert_count(1);
    capture
        .assert_logged("via log tracer")
        .assert_field("logger", "legacy::io")
        .assert_field("context.request_id", "r-2");
    capture.assert_no_line_contains("log.target");
}
