//! Throughput of the NATS JetStream sink against the machine's NATS server
//! (`FAPILOG_TEST_NATS`, default `nats://127.0.0.1:4222`) on loopback.
//!
//! Method: a fresh file-backed stream; a pipeline whose only sink is the
//! NATS sink (`WhenFull::Block`, callers `Backpressure::Block`, so nothing
//! is dropped); N events logged from one thread; the clock runs from the
//! first event until `shutdown` returns, i.e. until every publish is
//! acknowledged by the stream. Then the stream's message count is checked.
//! events/s = N / wall time; bytes/s = the sink's written bytes (envelope
//! lines) / wall time.
//!
//! `cargo bench -p fapilog-sinks --features nats --bench throughput_nats`
//! (`FAPILOG_BENCH_EVENTS` sets N, default 200 000.)

mod support;

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, stream};
use fapilog::sinks::{SinkOptions, WhenFull};
use fapilog::{Backpressure, Pipeline};
use fapilog_sinks::NatsSink;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url =
        std::env::var("FAPILOG_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned());
    let n = support::events(200_000);
    let name = format!("FAPILOG_BENCH_{}", std::process::id());
    let subject = format!("fapilog_bench.{}", std::process::id());

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let js = rt.block_on(async {
        let client = async_nats::connect(url.as_str()).await.map_err(|e| {
            format!("NATS does not answer at {url}: {e} (run ./scripts/test, which starts it)")
        })?;
        let js = jetstream::new(client);
        js.create_stream(stream::Config {
            name: name.clone(),
            subjects: vec![subject.clone()],
            ..Default::default()
        })
        .await?;
        Ok::<_, Box<dyn std::error::Error>>(js)
    })?;

    let sink = NatsSink::builder(url.as_str()).subject(&subject).build()?;
    let counters = sink.get_ref().counters();
    let pipeline = Pipeline::builder()
        .backpressure(Backpressure::Block)
        .sink_with(sink, SinkOptions::new().when_full(WhenFull::Block))
        .build()?;
    let log = pipeline.logger("bench");

    let start = Instant::now();
    support::log_requests(&log, n);
    let report = pipeline.shutdown(Duration::from_secs(600));
    let elapsed = start.elapsed();

    let bytes = pipeline
        .metrics()
        .sinks
        .iter()
        .find(|s| s.name == "nats")
        .map(|s| s.bytes)
        .unwrap_or_default();
    let stored = rt.block_on(async {
        let mut s = js.get_stream(&name).await?;
        let n = s.info().await?.state.messages;
        js.delete_stream(&name).await?;
        Ok::<_, Box<dyn std::error::Error>>(n)
    })?;

    let secs = elapsed.as_secs_f64();
    println!("nats jetstream sink, {n} events, loopback {url}");
    println!(
        "  written {} failed {} stored in the stream {stored} (acked new {}, duplicates {})",
        report.written,
        report.failed,
        counters.stored(),
        counters.duplicates()
    );
    println!("  wall time {secs:.3} s (first event to every publish acknowledged)");
    println!("  {:.0} events/s", n as f64 / secs);
    println!(
        "  {:.1} MB/s ({bytes} bytes of envelope lines)",
        bytes as f64 / secs / 1e6
    );
    if stored != n {
        return Err(format!("the stream holds {stored} messages, expected {n}").into());
    }
    Ok(())
}
