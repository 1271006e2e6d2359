//! Ship logs to an HTTP endpoint as gzipped NDJSON batches, with a bearer
//! token, and print what was delivered.
//!
//! ```text
//! # any receiver: e.g. `nc -lk 8080`, or a log collector's HTTP input
//! FAPILOG_EXAMPLE_HTTP_ENDPOINT=http://127.0.0.1:8080/logs \
//! FAPILOG_EXAMPLE_HTTP_TOKEN=secret \
//!     cargo run -p fapilog-sinks --features http --example http
//! ```
//!
//! The same sink from fapilog's variables, with no code change:
//! `FAPILOG_CORE__SINKS=http FAPILOG_HTTP__ENDPOINT=… FAPILOG_HTTP__BATCH_FORMAT=ndjson`
//! and `fapilog_sinks::init()`.

use std::time::Duration;

use fapilog::sinks::{RetryPolicy, SinkOptions};
use fapilog::Pipeline;
use fapilog_sinks::{Auth, BatchFormat, Compression, HttpSink};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let endpoint = std::env::var("FAPILOG_EXAMPLE_HTTP_ENDPOINT")
        .unwrap_or_else(|_| "http://127.0.0.1:8080/logs".to_owned());
    let mut builder = HttpSink::builder(&endpoint)
        .format(BatchFormat::Ndjson)
        .compression(Compression::Gzip)
        .header("X-Service", "checkout")
        .max_events(500)
        .timeout(Duration::from_secs(5));
    if let Ok(token) = std::env::var("FAPILOG_EXAMPLE_HTTP_TOKEN") {
        builder = builder.auth(Auth::Bearer(token));
    }
    // `build` checks the options but does not connect: a receiver that is
    // down now is retried by the sink's driver.
    let sink = builder.build()?;

    let pipeline = Pipeline::builder()
        .service("checkout")
        .sink_with(
            sink,
            // A few quick retries; what is given up on goes to stderr, counted.
            SinkOptions::new().retry(RetryPolicy::default().max_attempts(3)),
        )
        .build()?;
    let log = pipeline.logger("checkout.api");
    for order in 0..10u32 {
        fapilog::info!(log, "order placed", order_id = order, total_cents = 1299u32);
    }
    fapilog::warn!(log, "payment provider slow", latency_ms = 1800u32);

    let report = pipeline.shutdown(Duration::from_secs(10));
    for sink in &report.sinks {
        println!(
            "{}: {} written, {} diverted, {} dropped → {endpoint}",
            sink.name, sink.written, sink.diverted, sink.dropped
        );
    }
    Ok(())
}
