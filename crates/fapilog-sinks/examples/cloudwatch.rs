//! Logs to CloudWatch Logs: a pipeline with the CloudWatch sink, a few
//! events, and a shutdown that reports what was delivered.
//!
//! Against moto (what the tests use):
//!
//! ```sh
//! python -m moto.server -H 127.0.0.1 -p 5000 &
//! AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
//!   cargo run -p fapilog-sinks --features cloudwatch --example cloudwatch
//! ```
//!
//! Against AWS: set `CLOUDWATCH_ENDPOINT_URL=` (empty) and `AWS_REGION`, and
//! real credentials in `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` (and
//! `AWS_SESSION_TOKEN` for temporary ones).

use std::time::Duration;

use fapilog::sinks::{RetryPolicy, SinkOptions, WhenFull};
use fapilog::Pipeline;
use fapilog_sinks::CloudWatchSink;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let endpoint = std::env::var("CLOUDWATCH_ENDPOINT_URL")
        .unwrap_or_else(|_| "http://127.0.0.1:5000".to_owned());
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_owned());

    let mut builder = CloudWatchSink::builder("/fapilog/example")
        .log_stream("example")
        .region(region)
        .timeout(Duration::from_secs(10));
    if !endpoint.is_empty() {
        builder = builder.endpoint_url(endpoint);
    }
    // Credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; a bad
    // option fails here, naming it (secrets masked).
    let sink = builder.build()?;

    let pipeline = Pipeline::builder()
        .sink_with(
            sink,
            SinkOptions::new()
                // Wait rather than drop when CloudWatch is slow.
                .when_full(WhenFull::Block)
                .retry(RetryPolicy::default().max_attempts(5)),
        )
        .build()?;
    let log = pipeline.logger("example");
    for order in 0..10u64 {
        fapilog::info!(log, "order placed", order_id = order, amount = 42.5);
    }
    fapilog::warn!(log, "stock low", sku = "A-1");

    let report = pipeline.shutdown(Duration::from_secs(30));
    let sink = &report.sinks[0];
    println!(
        "delivered {} events to CloudWatch Logs, diverted {}, dropped {}",
        sink.written, sink.diverted, sink.dropped
    );
    if !report.is_complete() {
        println!("not everything was delivered: {report:?}");
    }
    Ok(())
}
