//! Throughput of the Loki sink on loopback: a pipeline with the sink
//! pushing to a minimal in-process push endpoint (it reads each body and
//! answers 204 without decoding, so the client side is what is measured),
//! N events, wall time from the first log call until `flush` returns, i.e.
//! until Loki answered every push.
//!
//! ```text
//! cargo bench -p fapilog-sinks --features loki --bench throughput_loki
//! ```
//! `FAPILOG_BENCH_EVENTS` sets N (default 200,000).

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fapilog::sinks::SinkOptions;
use fapilog::{Backpressure, Pipeline, WhenFull};
use fapilog_sinks::{Compression, LokiEncoding, LokiSink};

/// A keep-alive HTTP/1.1 server answering 204 to every request; counts
/// the body bytes it received.
fn serve(listener: TcpListener, received: Arc<AtomicU64>) {
    for stream in listener.incoming().flatten() {
        let received = Arc::clone(&received);
        std::thread::spawn(move || {
            let _ = handle(stream, &received);
        });
    }
}

fn handle(stream: TcpStream, received: &AtomicU64) -> std::io::Result<()> {
    let mut out = stream.try_clone()?;
    let mut r = BufReader::new(stream);
    let mut line = String::new();
    loop {
        let mut len = 0usize;
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Ok(());
        }
        loop {
            line.clear();
            r.read_line(&mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; len];
        r.read_exact(&mut body)?;
        received.fetch_add(len as u64, Ordering::Relaxed);
        out.write_all(b"HTTP/1.1 204 No Content\r\n\r\n")?;
    }
}

fn run(label: &str, n: u64, encoding: LokiEncoding, compression: Compression) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let received = Arc::new(AtomicU64::new(0));
    let r = Arc::clone(&received);
    std::thread::spawn(move || serve(listener, r));

    let sink = LokiSink::builder(format!("http://{addr}"))
        .label("service", "bench")
        .label_keys(["level", "logger"])
        .encoding(encoding)
        .compression(compression)
        .build()
        .expect("the sink");
    let p = Pipeline::builder()
        .backpressure(Backpressure::Block)
        .sink_with(sink, SinkOptions::new().when_full(WhenFull::Block))
        .build()
        .expect("the pipeline");
    let (api, db) = (p.logger("api"), p.logger("db"));
    let start = Instant::now();
    for i in 0..n {
        if i % 4 == 0 {
            fapilog::warning!(db, "slow query", i = i, table = "orders", ms = 120);
        } else {
            fapilog::info!(
                api,
                "request served",
                i = i,
                path = "/v1/orders",
                status = 200
            );
        }
    }
    p.flush(Duration::from_secs(300)).expect("flush");
    let secs = start.elapsed().as_secs_f64();
    let m = p.metrics();
    let s = m.sinks.iter().find(|s| s.name == "loki").expect("metrics");
    assert_eq!(s.written, n, "every event delivered");
    let wire = received.load(Ordering::Relaxed);
    println!(
        "loki {label:<16} {n} events in {secs:.3} s: {:>9.0} events/s, {:>7.1} MB/s of log lines ({} B), {:>7.1} MB/s on the wire ({} B)",
        n as f64 / secs,
        s.bytes as f64 / secs / 1e6,
        s.bytes,
        wire as f64 / secs / 1e6,
        wire
    );
    drop(p.shutdown(Duration::from_secs(10)));
}

fn main() {
    let n = support::events(200_000);
    run(
        "protobuf+snappy",
        n,
        LokiEncoding::Protobuf,
        Compression::None,
    );
    run("json", n, LokiEncoding::Json, Compression::None);
    run("json+gzip", n, LokiEncoding::Json, Compression::Gzip);
}
