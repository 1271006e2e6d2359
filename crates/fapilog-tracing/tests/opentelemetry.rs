//! `tracing-opentelemetry` ids in `context` (feature `opentelemetry`).
#![cfg(feature = "opentelemetry")]

use fapilog::testing::LogCapture;
use fapilog_tracing::FapilogLayer;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;

#[test]
fn otel_trace_and_span_ids_land_in_context() {
    let capture = LogCapture::new();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer())
        .with(FapilogLayer::new(capture.logger("app")));
    let trace_id = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
    let span_id = SpanId::from_hex("00f067aa0ba902b7").unwrap();
    tracing::subscriber::with_default(subscriber, || {
        let remote = SpanContext::new(
            trace_id,
            span_id,
            TraceFlags::SAMPLED,
            true,
            TraceState::NONE,
        );
        let span = tracing::info_span!("handler");
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote));
        span.in_scope(|| tracing::info!("inside"));
        tracing::info!("outside");
    });
    let line = capture.assert_logged("inside");
    line.assert_field("context.trace_id", "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(line.str("context.span_id").map(str::len), Some(16));
    capture
        .assert_logged("outside")
        .assert_absent("context.trace_id");
}
