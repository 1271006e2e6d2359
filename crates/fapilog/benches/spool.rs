//! What the disk spool costs and how fast it gives back (cargo feature
//! `spool`).
//!
//! Each iteration logs 100 000 events of the workload (one message and
//! four fields) through a pipeline whose only sink passes every batch
//! through its spool (`SpoolMode::Always`):
//!
//! - `write/{interval,every_batch}`: the sink is down (its breaker open),
//!   so every batch is written to the spool and stays there; timed from the
//!   first log call until the spool has taken the last event;
//! - `replay`: a new pipeline on that spool with a sink that discards;
//!   timed from `build` (recovery included) until `flush` returns.
//!
//! Throughput is in events; the MB/s figure is printed once per row
//! from the spool's bytes. `cargo bench -p fapilog --features spool --bench spool`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use fapilog::sinks::{
    BreakerPolicy, RetryPolicy, SinkOptions, SpoolFsync, SpoolMode, SpoolOptions, WhenFull,
};
use fapilog::{Backpressure, Batch, Pipeline, Sink, SinkError};

const EVENTS: u64 = 100_000;

/// Down while `down` is set (its breaker then stays open), else discards.
struct Target(Arc<AtomicBool>);

impl Sink for Target {
    fn name(&self) -> &str {
        "target"
    }
    fn write_batch(&mut self, _: &Batch) -> Result<(), SinkError> {
        if self.0.load(Ordering::Relaxed) {
            return Err(SinkError::Transient {
                message: "down".into(),
                after: None,
            });
        }
        Ok(())
    }
}

fn pipeline(dir: &std::path::Path, fsync: SpoolFsync, down: bool) -> Pipeline {
    let options = SinkOptions::new()
        .when_full(WhenFull::Block)
        .retry(RetryPolicy::none().max_delay(Duration::from_secs(5)))
        .breaker(
            BreakerPolicy::default()
                .failure_threshold(1)
                .cooldown(Duration::from_secs(3600)),
        )
        .spool(
            SpoolOptions::new(dir)
                .mode(SpoolMode::Always)
                .fsync(fsync)
                .max_bytes(8 << 30),
        );
    Pipeline::builder()
        .queue_capacity(65_536)
        .backpressure(Backpressure::Block)
        .sink_with(Target(Arc::new(AtomicBool::new(down))), options)
        .build()
        .expect("pipeline")
}

fn spooled(p: &Pipeline) -> (u64, u64) {
    let s = p.metrics().sinks[0].spool.clone().expect("spool");
    (s.spooled, s.bytes)
}

/// Logs `EVENTS` events and waits until the spool holds them; the time
/// and the spool's bytes.
fn write(dir: &std::path::Path, fsync: SpoolFsync) -> (Duration, u64) {
    let p = pipeline(dir, fsync, true);
    let log = p.logger("bench");
    let start = Instant::now();
    for i in 0..EVENTS {
        fapilog::info!(
            log,
            "request handled",
            user_id = i,
            path = "/api/v1/users/42",
            status = 200,
            latency = 12.5
        );
    }
    while spooled(&p).0 < EVENTS {
        std::thread::sleep(Duration::from_micros(200));
    }
    let took = start.elapsed();
    let bytes = spooled(&p).1;
    p.shutdown(Duration::from_millis(100));
    (took, bytes)
}

fn replay(dir: &std::path::Path) -> Duration {
    let start = Instant::now();
    let p = pipeline(dir, SpoolFsync::default(), false);
    p.flush(Duration::from_secs(600)).expect("replayed");
    let took = start.elapsed();
    assert_eq!(
        p.metrics().sinks[0].spool.as_ref().map(|s| s.pending),
        Some(0)
    );
    p.shutdown(Duration::from_secs(5));
    took
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("spool");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(EVENTS));
    for (name, fsync) in [
        ("interval", SpoolFsync::Interval(Duration::from_millis(500))),
        ("every_batch", SpoolFsync::EveryBatch),
    ] {
        let mut reported = false;
        g.bench_function(format!("write/{name}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let dir = tempfile::tempdir().expect("tempdir");
                    let (took, bytes) = write(dir.path(), fsync);
                    if !reported {
                        reported = true;
                        println!(
                            "write/{name}: {:.0} events/s, {:.1} MB/s ({bytes} bytes)",
                            EVENTS as f64 / took.as_secs_f64(),
                            bytes as f64 / took.as_secs_f64() / 1e6
                        );
                    }
                    total += took;
                }
                total
            })
        });
    }
    let mut reported = false;
    g.bench_function("replay", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir().expect("tempdir");
                let (_, bytes) = write(dir.path(), SpoolFsync::Never);
                let took = replay(dir.path());
                if !reported {
                    reported = true;
                    println!(
                        "replay: {:.0} events/s, {:.1} MB/s ({bytes} bytes)",
                        EVENTS as f64 / took.as_secs_f64(),
                        bytes as f64 / took.as_secs_f64() / 1e6
                    );
                }
                total += took;
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
