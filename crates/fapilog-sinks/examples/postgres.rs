//! Logs into PostgreSQL, fapilog's table.
//!
//! ```text
//! FAPILOG_POSTGRES__DSN="host=127.0.0.1 user=postgres dbname=test" \
//!     cargo run -p fapilog-sinks --features postgres --example postgres
//! ```
//!
//! The same sink opens from fapilog's variables alone, with
//! `fapilog_sinks::init()` and `FAPILOG_CORE__SINKS=postgres`.

use std::time::Duration;

use fapilog::sinks::{SinkOptions, WhenFull};
use fapilog::Pipeline;
use fapilog_sinks::{InsertMethod, PostgresSink};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dsn = std::env::var("FAPILOG_POSTGRES__DSN")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".to_owned());
    let sink = PostgresSink::builder(dsn)
        .schema("public")
        .table("fapilog_example")
        // fapilog's five columns, plus two more read from the envelope.
        .extract_fields([
            "timestamp",
            "level",
            "logger",
            "correlation_id",
            "message",
            "message_id",
            "request_id",
        ])
        .insert_method(InsertMethod::Unnest)
        .build()?;
    // Wait for the database rather than drop lines when it is slow or down.
    let pipeline = Pipeline::builder()
        .sink_with(sink, SinkOptions::new().when_full(WhenFull::Block))
        .build()?;

    let log = pipeline.logger("orders");
    for order in 0..10u32 {
        fapilog::info!(log, "order placed", order = order, request_id = "req-42");
    }
    fapilog::warning!(log, "stock low", sku = "A-17", left = 3u32);

    let report = pipeline.shutdown(Duration::from_secs(10));
    println!(
        "written {} events, lost {} (read them with: SELECT id, \"timestamp\", level, message, event \
         FROM public.fapilog_example ORDER BY id)",
        report.written, report.failed
    );
    Ok(())
}
