//! Throughput of the HTTP sink on loopback: a pipeline with the sink
//! against an in-process HTTP server (axum) that reads every body and
//! answers 204. N events are logged as fast as one thread can; the clock
//! stops when `flush` returns, i.e. when the server has answered every
//! request. Prints events/s and bytes/s (body bytes on the wire, and the
//! envelopes' own bytes).
//!
//! ```text
//! cargo bench -p fapilog-sinks --features http --bench throughput_http
//! FAPILOG_BENCH_EVENTS=500000 cargo bench -p fapilog-sinks --features http --bench throughput_http
//! ```

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use fapilog_sinks::{BatchFormat, Compression, HttpSink, HttpSinkBuilder};
use support::Received;

fn run_quiet(builder: HttpSinkBuilder, n: u64, received: &Received) {
    measure(builder, n, received);
}

fn run(label: &str, builder: HttpSinkBuilder, n: u64, received: &Received) {
    let (n, secs, wire, requests, envelope_bytes) = measure(builder, n, received);
    println!(
        "http {label:<12} {n} events in {secs:.2} s: {:>9.0} events/s, {:>7.1} MB/s on the wire, {:>7.1} MB/s of envelopes, {requests} requests",
        n as f64 / secs,
        wire as f64 / secs / 1e6,
        envelope_bytes as f64 / secs / 1e6,
    );
}

/// Logs `n` events and waits until all are delivered: (n, seconds, wire bytes, requests, envelope bytes).
fn measure(builder: HttpSinkBuilder, n: u64, received: &Received) -> (u64, f64, u64, u64, u64) {
    let p = support::blocking_pipeline(builder.build().expect("a valid sink"));
    let log = p.logger("bench");
    let (req0, bytes0) = received.now();
    let start = Instant::now();
    support::log_requests(&log, n);
    p.flush(Duration::from_secs(600)).expect("flushed");
    let secs = start.elapsed().as_secs_f64();
    let m = support::all_written(&p, "http", n);
    let (req1, bytes1) = received.now();
    p.shutdown(Duration::from_secs(10));
    (n, secs, bytes1 - bytes0, req1 - req0, m.bytes)
}

fn main() {
    let n = support::events(500_000);
    let received = Arc::new(Received::default());
    let url = support::serve(Arc::clone(&received), "/ingest");
    // Warm-up (connections, allocator, page cache), not reported.
    run_quiet(HttpSink::builder(&url), 20_000, &received);
    run("array", HttpSink::builder(&url), n, &received);
    run(
        "ndjson",
        HttpSink::builder(&url).format(BatchFormat::Ndjson),
        n,
        &received,
    );
    run(
        "ndjson+gzip",
        HttpSink::builder(&url)
            .format(BatchFormat::Ndjson)
            .compression(Compression::Gzip),
        n,
        &received,
    );
}
