//! Throughput of the webhook sink on loopback: a pipeline with the signed
//! sink against an in-process HTTP server (axum) that reads every body and
//! answers 204. The clock stops when `flush` returns (every request
//! answered). With `batch_size` 1 (fapilog's default) each event is one
//! signed request; with 100, one signed array per 100 events.
//!
//! ```text
//! cargo bench -p fapilog-sinks --features webhook --bench throughput_webhook
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fapilog::sinks::{SinkOptions, WhenFull};
use fapilog::{Backpressure, Pipeline};
use fapilog_sinks::WebhookSink;

#[derive(Default)]
struct Received {
    requests: AtomicU64,
    bytes: AtomicU64,
}

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
    format!("http://{addr}/hook")
}

fn run(batch_size: usize, n: u64, url: &str, received: &Received) {
    let sink = WebhookSink::builder(url)
        .secret("bench-secret")
        .batch_size(batch_size)
        .build()
        .expect("a valid sink");
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
        .find(|s| s.name == "webhook")
        .expect("metrics");
    assert_eq!(m.written, n, "every event delivered");
    let wire = received.bytes.load(Ordering::Relaxed) - bytes0;
    let requests = received.requests.load(Ordering::Relaxed) - req0;
    println!(
        "webhook batch_size {batch_size:<4} {n} events in {secs:.2} s: {:>9.0} events/s, {:>7.1} MB/s, {requests} signed requests",
        n as f64 / secs,
        wire as f64 / secs / 1e6,
    );
    p.shutdown(Duration::from_secs(10));
}

fn main() {
    let n: u64 = std::env::var("FAPILOG_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500_000);
    let received = Arc::new(Received::default());
    let url = serve(Arc::clone(&received));
    run(100, 20_000, &url, &received); // warm-up
    run(1, (n / 10).max(1), &url, &received);
    run(100, n, &url, &received);
}
