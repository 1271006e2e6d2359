//! What the throughput benches share: the event count, the workload, a
//! loopback receiver that counts what it reads, and the pipeline that
//! never drops.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use fapilog::sinks::{SinkOptions, WhenFull};
use fapilog::{Backpressure, Logger, Pipeline, Sink, SinkMetrics};

/// N: `FAPILOG_BENCH_EVENTS`, else `default`.
pub fn events(default: u64) -> u64 {
    std::env::var("FAPILOG_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The workload: `n` access-log events of five fields, as fast as one
/// thread can log them.
pub fn log_requests(log: &Logger, n: u64) {
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
}

/// A pipeline that loses nothing: batches of up to 1,000 events, `Block`
/// for the callers and for the sink.
pub fn blocking_pipeline(sink: impl Sink) -> Pipeline {
    Pipeline::builder()
        .batch_max_events(1000)
        .backpressure(Backpressure::Block)
        .sink_with(sink, SinkOptions::new().when_full(WhenFull::Block))
        .build()
        .expect("pipeline")
}

/// The metrics of sink `name`, which must have written `n` events.
pub fn all_written(p: &Pipeline, name: &str, n: u64) -> SinkMetrics {
    let m = p
        .metrics()
        .sinks
        .into_iter()
        .find(|s| s.name == name)
        .expect("metrics");
    assert_eq!(m.written, n, "every event delivered");
    m
}

/// What the loopback receiver read.
#[derive(Default)]
pub struct Received {
    pub requests: AtomicU64,
    pub bytes: AtomicU64,
}

impl Received {
    /// (requests, body bytes) so far.
    pub fn now(&self) -> (u64, u64) {
        (
            self.requests.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }
}

/// A loopback HTTP receiver (axum) on its own thread and runtime that
/// reads every body, counts it and answers 204; returns its URL + `path`.
pub fn serve(received: Arc<Received>, path: &str) -> String {
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
    format!("http://{addr}{path}")
}
