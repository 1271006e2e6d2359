//! The readiness answer follows the sinks' drivers: 503 while a sink's
//! circuit breaker is open.

use std::time::Duration;

use fapilog::sinks::{BreakerPolicy, RetryPolicy, SinkOptions};
use fapilog::{Batch, Pipeline, Sink, SinkError};

struct Down;

impl Sink for Down {
    fn name(&self) -> &str {
        "down"
    }
    fn write_batch(&mut self, _: &Batch) -> Result<(), SinkError> {
        Err(SinkError::transient("connection refused"))
    }
}

#[test]
fn an_open_breaker_makes_the_instance_unready() {
    let pipeline = Pipeline::builder()
        .sink_with(
            Down,
            SinkOptions::new()
                .retry(RetryPolicy::none())
                .breaker(BreakerPolicy::default().failure_threshold(1)),
        )
        .build()
        .unwrap();
    let ready = fapilog_axum::health_response(&pipeline);
    assert_eq!(ready.status(), 200);

    fapilog::info!(pipeline.logger("app"), "goes nowhere");
    pipeline.flush(Duration::from_secs(10)).unwrap();
    let r = fapilog_axum::health_response(&pipeline);
    assert_eq!(r.status(), 503);
    let body: serde_json::Value = serde_json::from_str(r.body()).unwrap();
    assert_eq!(body["ready"], false);
    assert_eq!(body["sinks"]["down"], "open");
}
