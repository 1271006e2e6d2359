//! Throughput of the webhook sink on loopback: a pipeline with the signed
//! sink against an in-process HTTP server (axum) that reads every body and
//! answers 204. The clock stops when `flush` returns (every request
//! answered). With `batch_size` 1 (fapilog's default) each event is one
//! signed request; with 100, one signed array per 100 events.
//!
//! ```text
//! cargo bench -p fapilog-sinks --features webhook --bench throughput_webhook
//! ```

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use fapilog_sinks::WebhookSink;
use support::Received;

fn run(batch_size: usize, n: u64, url: &str, received: &Received) {
    let sink = WebhookSink::builder(url)
        .secret("bench-secret")
        .batch_size(batch_size)
        .build()
        .expect("a valid sink");
    let p = support::blocking_pipeline(sink);
    let log = p.logger("bench");
    let (req0, bytes0) = received.now();
    let start = Instant::now();
    support::log_requests(&log, n);
    p.flush(Duration::from_secs(600)).expect("flushed");
    let secs = start.elapsed().as_secs_f64();
    support::all_written(&p, "webhook", n);
    let (req1, bytes1) = received.now();
    let (wire, requests) = (bytes1 - bytes0, req1 - req0);
    println!(
        "webhook batch_size {batch_size:<4} {n} events in {secs:.2} s: {:>9.0} events/s, {:>7.1} MB/s, {requests} signed requests",
        n as f64 / secs,
        wire as f64 / secs / 1e6,
    );
    p.shutdown(Duration::from_secs(10));
}

fn main() {
    let n = support::events(500_000);
    let received = Arc::new(Received::default());
    let url = support::serve(Arc::clone(&received), "/hook");
    run(100, 20_000, &url, &received); // warm-up
    run(1, (n / 10).max(1), &url, &received);
    run(100, n, &url, &received);
}
