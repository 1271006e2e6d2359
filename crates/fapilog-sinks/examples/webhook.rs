//! Send error events to a webhook, signed the way fapilog signs them
//! (`X-Fapilog-Signature-256: sha256=<hex>` over `"{ts}.{body}"`), and
//! print what was delivered.
//!
//! ```text
//! FAPILOG_EXAMPLE_WEBHOOK_ENDPOINT=http://127.0.0.1:8080/hook \
//! FAPILOG_EXAMPLE_WEBHOOK_SECRET=change-me \
//!     cargo run -p fapilog-sinks --features webhook --example webhook
//! ```
//!
//! The receiver verifies as shown in `docs/sinks/webhook.md`. The same sink
//! from fapilog's variables: `FAPILOG_CORE__SINKS=webhook`,
//! `FAPILOG_SINK_CONFIG__WEBHOOK__ENDPOINT=…`, `…__SECRET=…`.

use std::time::Duration;

use fapilog::sinks::{Route, SinkOptions, StdoutSink};
use fapilog::{Level, Pipeline};
use fapilog_sinks::WebhookSink;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let endpoint = std::env::var("FAPILOG_EXAMPLE_WEBHOOK_ENDPOINT")
        .unwrap_or_else(|_| "http://127.0.0.1:8080/hook".to_owned());
    let secret =
        std::env::var("FAPILOG_EXAMPLE_WEBHOOK_SECRET").unwrap_or_else(|_| "change-me".to_owned());
    // One signed request per event (fapilog's default `batch_size` 1).
    let sink = WebhookSink::builder(&endpoint)
        .secret(secret)
        .timeout(Duration::from_secs(5))
        .build()?;

    let pipeline = Pipeline::builder()
        .service("billing")
        .sink_with(sink, SinkOptions::new())
        .sink(StdoutSink::json())
        // Everything to stdout; only errors page someone.
        .route(Route::to(&["stdout_json"]))
        .route(Route::to(&["webhook"]).levels(&[Level::ERROR, Level::CRITICAL]))
        .route_overlap(true)
        .build()?;
    let log = pipeline.logger("billing.charges");
    fapilog::info!(log, "charge attempted", amount_cents = 4200u32);
    fapilog::error!(
        log,
        "card declined",
        reason = "insufficient funds",
        customer = "Zoë"
    );

    let report = pipeline.shutdown(Duration::from_secs(10));
    for sink in &report.sinks {
        println!(
            "{}: {} written, {} diverted, {} dropped → {endpoint}",
            sink.name, sink.written, sink.diverted, sink.dropped
        );
    }
    Ok(())
}
