//! Throughput of the OTLP sink on loopback: a pipeline whose only sink is
//! the OTLP sink (protobuf, gzip, default 4 MiB request cap) sends N
//! events to a loopback HTTP server (the tests' recording server, which
//! answers 200); the wall time runs from the first log call until
//! `flush` returns, i.e. until every request was answered.
//!
//! ```text
//! cargo bench -p fapilog-sinks --features otlp --bench throughput_otlp
//! FAPILOG_BENCH_EVENTS=500000 cargo bench -p fapilog-sinks --features otlp --bench throughput_otlp
//! ```

#[path = "../tests/common/http_server.rs"]
#[allow(dead_code)]
mod http_server;

mod support;

use std::time::{Duration, Instant};

use fapilog::sinks::{SinkOptions, WhenFull};
use fapilog::{Backpressure, FieldValue, Pipeline};
use fapilog_sinks::OtlpSink;
use http_server::{Reply, Server};

fn main() {
    let n = support::events(200_000);
    let server = Server::start(Reply::Status(200));
    let sink = OtlpSink::builder(server.url(""))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let pipeline = Pipeline::builder()
        .backpressure(Backpressure::Block)
        .sink_with(sink, SinkOptions::new().when_full(WhenFull::Block))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let log = pipeline.logger("bench");
    let started = Instant::now();
    for i in 0..n {
        log.info(
            "order placed",
            &[
                ("seq", FieldValue::U64(i)),
                ("tenant", FieldValue::Str("acme")),
                ("amount", FieldValue::F64(19.99)),
            ],
        );
    }
    pipeline
        .flush(Duration::from_secs(600))
        .unwrap_or_else(|e| panic!("{e}"));
    let elapsed = started.elapsed().as_secs_f64();
    let m = pipeline
        .metrics()
        .sinks
        .into_iter()
        .find(|s| s.name == "otlp")
        .unwrap_or_else(|| panic!("no otlp sink"));
    assert_eq!(m.written, n, "every event delivered");
    let requests = server.requests();
    let wire: usize = requests.iter().map(|r| r.body.len()).sum();
    println!(
        "otlp: {n} events in {elapsed:.3} s = {:.0} events/s; envelopes {:.1} MB/s ({} bytes); \
         on the wire (protobuf + gzip) {:.1} MB/s ({wire} bytes in {} requests)",
        n as f64 / elapsed,
        m.bytes as f64 / elapsed / 1e6,
        m.bytes,
        wire as f64 / elapsed / 1e6,
        requests.len(),
    );
    pipeline.shutdown(Duration::from_secs(30));
}
