//! The embedded default: v1.1 JSON envelopes on stdout, configured from
//! `FAPILOG_*` environment variables.
//!
//! ```text
//! cargo run --example quickstart
//! FAPILOG_CORE__SINKS=stdout_pretty cargo run --example quickstart
//! ```

use fapilog::{context, FieldValue};

#[derive(Debug)]
struct PaymentDeclined;

impl std::fmt::Display for PaymentDeclined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("card declined by issuer")
    }
}

impl std::error::Error for PaymentDeclined {}

#[derive(serde::Serialize)]
struct Cart {
    items: u32,
    total_cents: u64,
    currency: &'static str,
}

fn main() -> Result<(), fapilog::Error> {
    let guard = fapilog::init()?;

    fapilog::info!("service started", port = 8080, tls = false);

    let log = fapilog::logger("checkout").expect("initialised above");
    let _request = context::bind(&[
        ("request_id", FieldValue::Str("req-7f3a")),
        ("user_id", FieldValue::Str("u-42")),
    ]);
    let cart = Cart {
        items: 3,
        total_cents: 4_599,
        currency: "EUR",
    };
    fapilog::info!(
        log,
        "cart priced",
        cart = fapilog::json(&cart),
        latency_ms = 12.5
    );
    fapilog::warning!(log, "payment retry", attempt = 2);
    fapilog::error!(
        log,
        "payment failed",
        error = fapilog::err(&PaymentDeclined)
    );

    let report = guard.pipeline().shutdown(std::time::Duration::from_secs(5));
    eprintln!(
        "drained: submitted={} written={} dropped={}",
        report.submitted,
        report.written,
        report.dropped_total()
    );
    Ok(())
}
