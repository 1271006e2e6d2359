//! Criterion benches of the caller's path, one per step a log call can stop at:
//!
//! - `disabled`: a call below the level gate (the one relaxed load);
//! - `capture_only`: building the record of the 5-field workload through
//!   [`Logger::capture`] and dropping it unsent (clock read, field copies);
//! - `enabled_5_fields`: the whole call into a pipeline whose worker encodes
//!   and hands batches to a sink that discards them, `Backpressure::Drop`,
//!   a large queue. Timed in chunks smaller than the queue, with a flush
//!   between chunks outside the timed region, so no call meets a full
//!   queue; the drops are counted and printed anyway;
//! - `enabled_5_fields_steady`: the same without the flushes: the worker
//!   competes with the caller and the queue may fill, so part of the calls
//!   take the (counted) drop path; the share is printed;
//! - `bound_context`: the 5-field call from a logger with a bound field,
//!   under a thread-local context binding (`request_id`).
//!
//! `cargo bench -p fapilog --bench call_path`.

use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use fapilog::{Backpressure, Batch, FieldValue, Level, Logger, Pipeline, Sink, SinkError};

/// Accepts every batch and keeps nothing.
struct Discard;

impl Sink for Discard {
    fn name(&self) -> &str {
        "discard"
    }
    fn write_batch(&mut self, _batch: &Batch) -> Result<(), SinkError> {
        Ok(())
    }
}

const QUEUE: usize = 1 << 16;
/// Calls per timed chunk: half the queue, so a chunk never fills it.
const CHUNK: u64 = (QUEUE / 2) as u64;

fn pipeline(level: Level) -> Pipeline {
    Pipeline::builder()
        .level(level)
        .queue_capacity(QUEUE)
        .backpressure(Backpressure::Drop)
        .sink(Discard)
        .build()
        .expect("valid settings")
}

const IDS: [&str; 4] = [
    "req-00000001",
    "req-00000002",
    "req-00000003",
    "req-00000004",
];

#[inline(always)]
fn call(log: &Logger, i: u64) {
    fapilog::info!(
        log,
        "request handled",
        request_id = IDS[(i & 3) as usize],
        user_id = 1000 + i,
        path = "/api/v1/orders",
        status = 200_u64,
        latency_ms = 12.5
    );
}

/// Times `iters` calls in chunks of [`CHUNK`], draining the queue between
/// chunks outside the timed region.
fn chunked(p: &Pipeline, log: &Logger, iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        let n = CHUNK.min(iters - done);
        let start = Instant::now();
        for i in done..done + n {
            call(log, black_box(i));
        }
        total += start.elapsed();
        done += n;
        p.flush(Duration::from_secs(30)).expect("flush");
    }
    total
}

fn report_drops(name: &str, p: &Pipeline) {
    let m = p.metrics();
    let share = if m.submitted > 0 {
        100.0 * m.dropped_total as f64 / m.submitted as f64
    } else {
        0.0
    };
    eprintln!(
        "{name}: submitted {} written {} dropped {} ({share:.2}%)",
        m.submitted, m.written, m.dropped_total
    );
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("call_path");

    let p = pipeline(Level::WARNING);
    let log = p.logger("bench");
    g.bench_function("disabled", |b| {
        let mut i = 0u64;
        b.iter(|| {
            call(&log, black_box(i));
            i += 1;
        })
    });
    report_drops("disabled", &p);
    drop(p);

    let p = pipeline(Level::INFO);
    let log = p.logger("bench");
    g.bench_function("capture_only", |b| {
        let mut i = 0u64;
        b.iter(|| {
            if let Some(mut call) = log.capture(Level::INFO) {
                call.message("request handled");
                call.field("request_id", FieldValue::Str(IDS[(i & 3) as usize]));
                call.field("user_id", FieldValue::U64(1000 + i));
                call.field("path", FieldValue::Str("/api/v1/orders"));
                call.field("status", FieldValue::U64(200));
                call.field("latency_ms", FieldValue::F64(12.5));
                black_box(&call);
            }
            i += 1;
        })
    });
    report_drops("capture_only (nothing submitted)", &p);

    g.bench_function("enabled_5_fields", |b| {
        b.iter_custom(|iters| chunked(&p, &log, iters))
    });
    report_drops("enabled_5_fields", &p);
    drop(p);

    let p = pipeline(Level::INFO);
    let log = p.logger("bench");
    g.bench_function("enabled_5_fields_steady", |b| {
        let mut i = 0u64;
        b.iter(|| {
            call(&log, black_box(i));
            i += 1;
        })
    });
    report_drops("enabled_5_fields_steady", &p);
    drop(p);

    let p = pipeline(Level::INFO);
    let log = p
        .logger("bench")
        .bind(&[("tenant", FieldValue::Str("acme"))]);
    let _ctx = fapilog::context::bind(&[("request_id", FieldValue::Str("req-bound"))]);
    g.bench_function("bound_context", |b| {
        b.iter_custom(|iters| chunked(&p, &log, iters))
    });
    report_drops("bound_context", &p);
    drop(p);

    g.finish();
}

criterion_group! {
    name = call_path;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(call_path);
