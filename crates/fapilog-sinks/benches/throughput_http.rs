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

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fapilog::sinks::{SinkOptions, WhenFull};
use fapilog::{Backpressure, Pipeline};
use fapilog_sinks::{BatchFormat, Compression, HttpSink, HttpSinkBuilder};

/// Counts what the receiver read.
#[derive(Default)]
struct Received {
    requests: AtomicU64,
    bytes: AtomicU64,
}

/// A loopback receiver on its own thread and runtime; returns its URL.
fn serve(received: Arc<Received>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    listener.set_nonblocking(true).expect("non-blocking");
    let addr = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
                let r = Arc::clone(&received);
                async move {
                    r.requests.fetch_add(1, Ordering::Relaxed);
                    r.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
                    axum::http::StatusCode::NO_CONTENT
                }
            });
            axum::serve(listener, app).await.expect("serve");
        });
    });
    format!("http://{addr}/ingest")
}

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
    let sink = builder.build().expect("a valid sink");
    let p = Pipeline::builder()
        .batch_max_events(1000)
        .backpressure(Backpressure::Block)
        .sink_with(sink, SinkOptions::new().when_full(WhenFull::Block))
        .build()
        .expect("pipeline");
    let log = p.logger("bench");
    let (req0, bytes0) = (
        received.requests.load(Ordering::Relaxed),
        received.bytes.load(Ordering::Relaxed),
    );
    let start = Instant::now();
    for i in 0..n {
        fapilog::info!(
            log,
            "request served",
            i = i,
            path = "/api/orders",
            status = 200u16,
            user = "alice"
        );
    }
    p.flush(Duration::from_secs(600)).expect("flushed");
    let secs = start.elapsed().as_secs_f64();
    let m = p
        .metrics()
        .sinks
        .into_iter()
        .find(|s| s.name == "http")
        .expect("metrics");
    assert_eq!(m.written, n, "every event delivered");
    let wire = received.bytes.load(Ordering::Relaxed) - bytes0;
    let requests = received.requests.load(Ordering::Relaxed) - req0;
    p.shutdown(Duration::from_secs(10));
    (n, secs, wire, requests, m.bytes)
}

fn main() {
    let n: u64 = std::env::var("FAPILOG_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500_000);
    let received = Arc::new(Received::default());
    let url = serve(Arc::clone(&received));
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
