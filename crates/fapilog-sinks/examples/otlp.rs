//! Logs to an OpenTelemetry Collector (or any OTLP/HTTP logs endpoint).
//!
//! ```text
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318 \
//!     cargo run -p fapilog-sinks --features otlp --example otlp
//! ```
//!
//! Without the variable it sends to `http://localhost:4318`. A collector
//! that is down does not fail the program: the driver retries, and the
//! shutdown report says what was delivered.

use std::time::Duration;

use fapilog::sinks::{RetryPolicy, SinkOptions, WhenFull};
use fapilog::{FieldValue, Pipeline};
use fapilog_sinks::{Compression, OtlpSink};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
        .unwrap_or_else(|_| fapilog_sinks::OTLP_DEFAULT_ENDPOINT.to_owned());
    let mut sink = OtlpSink::builder(endpoint)
        .compression(Compression::Gzip)
        .timeout(Duration::from_secs(10))
        .resource_attribute("service.namespace", "examples");
    if let Ok(token) = std::env::var("OTLP_BEARER_TOKEN") {
        sink = sink.bearer(token);
    }
    let pipeline = Pipeline::builder()
        .sink_with(
            sink.build()?,
            SinkOptions::new()
                .when_full(WhenFull::Block)
                .retry(RetryPolicy::default().max_attempts(5)),
        )
        .build()?;

    let log = pipeline.logger("checkout");
    // Bound W3C ids become the record's trace_id / span_id.
    let traced = log.bind(&[
        ("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736".into()),
        ("span_id", "00f067aa0ba902b7".into()),
    ]);
    traced.info(
        "order placed",
        &[
            ("order_id", FieldValue::I64(42)),
            ("total", FieldValue::F64(19.99)),
        ],
    );
    log.warning("stock low", &[("sku", "A-7".into())]);

    let report = pipeline.shutdown(Duration::from_secs(15));
    for s in &report.sinks {
        println!(
            "{}: {} written, {} diverted, {} dropped",
            s.name, s.written, s.diverted, s.dropped
        );
    }
    Ok(())
}
