//! Ships a service's logs to Grafana Loki.
//!
//! ```text
//! LOKI_URL=http://127.0.0.1:3100 LOKI_TENANT=team-a cargo run -p fapilog-sinks --features loki --example loki
//! ```
//!
//! Then query them in Grafana or with
//! `logcli query '{service="example-shop", level="ERROR"}'`.
//! With Loki down, the example still runs: the sink retries, and the drain
//! report at the end says what was delivered and what was not.

use std::time::Duration;

use fapilog::sinks::{RetryPolicy, SinkOptions};
use fapilog::{Pipeline, WhenFull};
use fapilog_sinks::{LokiEncoding, LokiSink};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("LOKI_URL").unwrap_or_else(|_| "http://127.0.0.1:3100".to_owned());
    let mut loki = LokiSink::builder(&url)
        // Static labels: a handful of values across the fleet.
        .label("service", "example-shop")
        .label("env", "dev")
        // Low-cardinality fields of each event become labels too; ids
        // (message_id, trace_id…) stay in the line, where LogQL's `| json`
        // finds them.
        .label_keys(["level", "logger"])
        .encoding(LokiEncoding::Protobuf)
        .timeout(Duration::from_secs(5));
    if let Ok(tenant) = std::env::var("LOKI_TENANT") {
        loki = loki.tenant_id(tenant);
    }
    if let Ok(token) = std::env::var("LOKI_TOKEN") {
        loki = loki.bearer_token(token);
    }
    let loki = loki.build()?;

    let pipeline = Pipeline::builder()
        .service("example-shop")
        .sink_with(
            loki,
            SinkOptions::new()
                .when_full(WhenFull::Block)
                .retry(RetryPolicy::default().max_attempts(5)),
        )
        .build()?;

    let http = pipeline.logger("shop.http");
    let db = pipeline.logger("shop.db");
    for order in 0..20u32 {
        fapilog::info!(
            http,
            "order placed",
            order_id = order,
            amount_cents = 1999 + order
        );
        if order % 7 == 0 {
            fapilog::warning!(db, "slow query", order_id = order, duration_ms = 250);
        }
    }
    fapilog::error!(http, "payment provider unreachable", retry_in_s = 30);

    let report = pipeline.shutdown(Duration::from_secs(10));
    for s in &report.sinks {
        println!(
            "{}: {} delivered to {url}, {} diverted, {} dropped",
            s.name, s.written, s.diverted, s.dropped
        );
    }
    Ok(())
}
