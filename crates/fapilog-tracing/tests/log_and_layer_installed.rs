//! The documented setup, installed for real (own process): `LogBridge` as
//! the `log` logger and `FapilogLayer` in the global subscriber. Each
//! `log` record and each `tracing` event is logged exactly once.

use fapilog::testing::LogCapture;
use fapilog_tracing::{FapilogLayer, InstallError, LogBridge};
use tracing_subscriber::layer::SubscriberExt;

#[test]
fn bridge_and_layer_together_log_once() {
    let capture = LogCapture::new();
    LogBridge::new(capture.logger("log"))
        .install()
        .expect("first install");
    let again = LogBridge::new(capture.logger("log")).install();
    assert!(matches!(again, Err(InstallError::AlreadySet)));
    // LogTracer would now be refused too: the `log` slot is taken.
    assert!(tracing_log::LogTracer::init().is_err());

    let subscriber =
        tracing_subscriber::registry().with(FapilogLayer::new(capture.logger("tracing")));
    tracing::subscriber::set_global_default(subscriber).expect("global subscriber");

    log::info!(target: "legacy", user_id = 3; "from log");
    tracing::info!(user_id = 4, "from tracing");
    let span = tracing::info_span!("req", request_id = "r-1");
    span.in_scope(|| log::warn!("log inside a span"));

    let messages = capture.messages();
    assert_eq!(
        messages.iter().filter(|m| *m == "from log").count(),
        1,
        "{messages:?}"
    );
    assert_eq!(
        messages.iter().filter(|m| *m == "from tracing").count(),
        1,
        "{messages:?}"
    );
    assert_eq!(messages.len(), 3, "{messages:?}");
    capture
        .assert_logged("from log")
        .assert_field("logger", "legacy")
        .assert_field("context.user_id", "3");
    capture
        .assert_logged("from tracing")
        .assert_field("context.user_id", "4");
}
