//! Ship logs to NATS JetStream: every event published with `Nats-Msg-Id` =
//! its `message_id`, delivered once the stream acknowledges it.
//!
//! ```text
//! NATS_URL=nats://127.0.0.1:4222 cargo run -p fapilog-sinks --features nats --example nats
//! ```
//!
//! The example creates the stream `FAPILOG_EXAMPLE` (subjects
//! `example.logs.*`) when it does not exist; in production a stream is
//! infrastructure, created by its owner (`nats stream add`).

use std::time::Duration;

use fapilog::sinks::{RetryPolicy, SinkOptions, WhenFull};
use fapilog::Pipeline;
use fapilog_sinks::NatsSink;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned());

    let sink = NatsSink::builder(&url)
        // One subject per level: example.logs.info, example.logs.error, …
        .subject("example.logs.{level}")
        .create_stream("FAPILOG_EXAMPLE")
        .ack_timeout(Duration::from_secs(5))
        .build()?;
    // The sink's own counters stay readable once it is in the pipeline.
    let counters = sink.get_ref().counters();

    let pipeline = Pipeline::builder()
        .service("checkout")
        .sink_with(
            sink,
            // Wait for the server rather than drop, retrying for a minute.
            SinkOptions::new()
                .when_full(WhenFull::Block)
                .retry(RetryPolicy::default().max_attempts(20)),
        )
        .build()?;

    let log = pipeline.logger("checkout.api");
    for order in 0..100u32 {
        fapilog::info!(log, "order placed", order_id = order, amount_cents = 1299);
    }
    fapilog::error!(log, "payment gateway timeout", gateway = "acme");

    let report = pipeline.shutdown(Duration::from_secs(10));
    println!(
        "written {} of {} events to {url}; the stream stored {} new and {} duplicates",
        report.written,
        report.submitted,
        counters.stored(),
        counters.duplicates()
    );
    if !report.is_complete() {
        eprintln!("not everything was delivered: {report:?}");
        std::process::exit(1);
    }
    Ok(())
}
