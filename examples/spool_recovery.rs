//! How long a sink's disk spool takes to give back a 60 s outage at
//! 100 000 events/s: 6 000 000 events are logged while the sink is down
//! (all of them go to the spool), then a new pipeline on the same spool
//! delivers them to a sink that is up (and discards them).
//!
//! `cargo run --release -p fapilog --features spool --example spool_recovery [events] [fsync]`
//! where `fsync` is `interval` (500 ms, the default), `every_batch` or
//! `never`. Needs about 3.1 GB of free disk under the system's temp
//! directory for the default 6 000 000 events; removed at the end.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fapilog::sinks::{
    BreakerPolicy, RetryPolicy, SinkOptions, SpoolFsync, SpoolMode, SpoolOptions, WhenFull,
};
use fapilog::{Backpressure, Batch, Pipeline, Sink, SinkError};

/// Down while `down` is set; else counts what it receives.
struct Target {
    down: bool,
    got: Arc<AtomicU64>,
}

impl Sink for Target {
    fn name(&self) -> &str {
        "target"
    }
    fn write_batch(&mut self, batch: &Batch) -> Result<(), SinkError> {
        if self.down {
            return Err(SinkError::Transient {
                message: "down".into(),
                after: None,
            });
        }
        self.got.fetch_add(batch.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

fn pipeline(
    dir: &std::path::Path,
    sink: Target,
    fsync: SpoolFsync,
) -> Result<Pipeline, fapilog::Error> {
    let options = SinkOptions::new()
        .when_full(WhenFull::Block)
        .retry(RetryPolicy::none())
        .breaker(
            BreakerPolicy::default()
                .failure_threshold(1)
                .cooldown(Duration::from_secs(3600)),
        )
        .spool(
            SpoolOptions::new(dir)
                .mode(SpoolMode::Always)
                .fsync(fsync)
                .segment_bytes(64 << 20)
                .max_bytes(16 << 30),
        );
    Pipeline::builder()
        .queue_capacity(65_536)
        .backpressure(Backpressure::Block)
        .sink_with(sink, options)
        .build()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let events: u64 = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 6_000_000,
    };
    let fsync = match std::env::args().nth(2).as_deref() {
        Some("every_batch") => SpoolFsync::EveryBatch,
        Some("never") => SpoolFsync::Never,
        _ => SpoolFsync::Interval(Duration::from_millis(500)),
    };
    let dir = tempfile::tempdir()?;

    let got = Arc::new(AtomicU64::new(0));
    let down = Target {
        down: true,
        got: Arc::clone(&got),
    };
    let p = pipeline(dir.path(), down, fsync)?;
    let log = p.logger("outage");
    let start = Instant::now();
    for i in 0..events {
        fapilog::info!(
            log,
            "request handled",
            user_id = i,
            path = "/api/v1/users/42",
            status = 200,
            latency = 12.5
        );
    }
    let spool = |p: &Pipeline| p.metrics().sinks[0].spool.clone().ok_or("no spool");
    while spool(&p)?.spooled < events {
        std::thread::sleep(Duration::from_millis(1));
    }
    let wrote = start.elapsed();
    let bytes = spool(&p)?.bytes;
    p.shutdown(Duration::from_millis(100));
    drop(p);
    println!(
        "outage ({fsync:?}): {events} events spooled in {:.2} s ({:.0} events/s, {:.1} MB/s, {:.2} GB on disk)",
        wrote.as_secs_f64(),
        events as f64 / wrote.as_secs_f64(),
        bytes as f64 / wrote.as_secs_f64() / 1e6,
        bytes as f64 / 1e9
    );

    let start = Instant::now();
    let up = Target {
        down: false,
        got: Arc::clone(&got),
    };
    let p = pipeline(dir.path(), up, fsync)?;
    let opened = start.elapsed();
    p.flush(Duration::from_secs(3600))?;
    let replayed = start.elapsed();
    let m = spool(&p)?;
    p.shutdown(Duration::from_secs(5));
    println!(
        "recovery: {} events delivered in {:.2} s ({:.0} events/s, {:.1} MB/s; open and recover {:.1} ms); {} left, {} corrupt",
        got.load(Ordering::Relaxed),
        replayed.as_secs_f64(),
        events as f64 / replayed.as_secs_f64(),
        bytes as f64 / replayed.as_secs_f64() / 1e6,
        opened.as_secs_f64() * 1e3,
        m.pending,
        m.corrupt_skipped
    );
    Ok(())
}
