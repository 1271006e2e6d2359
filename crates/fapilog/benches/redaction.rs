//! What redaction costs per event, with and without the CREDENTIALS preset.
//!
//! - `stages/*`: the redactors alone on one event of the standard workload
//!   (message + request_id, user_id, path, status, latency, plus the core's
//!   diagnostics): `none` (no redactor), `url_credentials` (the default
//!   list), `credentials` (the preset: field mask + regex mask),
//!   `credentials_url` (both), and `credentials_secrets` (an event that does
//!   hold a password field and a bearer token, rebuilt each iteration);
//! - `worker/*`: the worker alone. The sink holds the worker while the
//!   producer fills the queue with 50 000 events of the workload, then the
//!   drain is timed: stages (the default enrichers and processors in every
//!   row), encoding, batching, a sink that discards. Rows: `no_redaction`
//!   (no redactor at all), `credentials` (the preset alone),
//!   `default_url_credentials` (the settings' default redactor list).
//!
//! `cargo bench -p fapilog --bench redaction`.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use fapilog::stages::redactors::presets::CREDENTIALS;
use fapilog::stages::redactors::{redaction_for, FieldMaskConfig, RegexMaskConfig, UrlCredentials};
use fapilog::{
    Backpressure, Batch, Event, Level, Pipeline, Redactor, Settings, Sink, SinkError, Value,
};

fn workload_event() -> Event<'static> {
    let mut ev = Event::new(Level::INFO, "request handled");
    ev.context.insert("request_id", Value::from("req-00000001"));
    ev.context
        .insert("correlation_id", Value::from("req-00000001"));
    ev.diagnostics.insert("service", Value::from("api"));
    ev.diagnostics.insert("env", Value::from("production"));
    ev.diagnostics.insert("host", Value::from("web-01"));
    ev.diagnostics.insert("pid", Value::U64(12345));
    ev.data.insert("user_id", Value::I64(42));
    ev.data.insert("path", Value::from("/api/v1/users/42"));
    ev.data.insert("status", Value::I64(200));
    ev.data.insert("latency", Value::F64(12.5));
    ev
}

fn credentials() -> Vec<Box<dyn Redactor>> {
    let (fm, rm) = redaction_for(
        &[&CREDENTIALS],
        &FieldMaskConfig::default(),
        &RegexMaskConfig::default(),
    )
    .expect("the preset compiles");
    vec![Box::new(fm), Box::new(rm)]
}

fn run_all(rs: &[Box<dyn Redactor>], ev: &mut Event<'_>) {
    for r in rs {
        let _ = r.redact(ev);
    }
}

fn stages(c: &mut Criterion) {
    let mut g = c.benchmark_group("stages");
    let sets: Vec<(&str, Vec<Box<dyn Redactor>>)> = vec![
        ("none", Vec::new()),
        ("url_credentials", vec![Box::new(UrlCredentials::default())]),
        ("credentials", credentials()),
        (
            "credentials_field_mask",
            credentials().into_iter().take(1).collect(),
        ),
        (
            "credentials_regex_mask",
            credentials().into_iter().skip(1).collect(),
        ),
        ("credentials_url", {
            let mut v = credentials();
            v.push(Box::new(UrlCredentials::default()));
            v
        }),
    ];
    for (name, rs) in &sets {
        // A clean event is not changed, so the same one is reused.
        let mut ev = workload_event();
        g.bench_function(*name, |b| {
            b.iter(|| run_all(black_box(rs), black_box(&mut ev)))
        });
    }
    let rs = credentials();
    g.bench_function("credentials_secrets", |b| {
        b.iter_batched(
            || {
                let mut ev = workload_event();
                ev.message = "auth with Bearer abc.def.ghi".into();
                ev.data.insert("password", Value::from("hunter2"));
                ev
            },
            |mut ev| {
                run_all(&rs, &mut ev);
                ev
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

#[derive(Clone, Copy)]
enum Redaction {
    /// No redactor at all (the settings' default `url_credentials` removed).
    Off,
    /// The settings' default: `url_credentials`.
    Default,
    /// The CREDENTIALS preset alone.
    Credentials,
}

/// Discards batches; while closed, holds the worker inside `write_batch`
/// so the queue can be filled before the timed drain.
#[derive(Clone, Default)]
struct Gate(Arc<(Mutex<GateState>, Condvar)>);

#[derive(Default)]
struct GateState {
    closed: bool,
    waiting: bool,
}

impl Gate {
    fn set(&self, closed: bool) {
        let (m, cv) = &*self.0;
        let mut g = m.lock().expect("gate lock");
        g.closed = closed;
        cv.notify_all();
    }

    fn wait_until_holding(&self) {
        let (m, cv) = &*self.0;
        let mut g = m.lock().expect("gate lock");
        while !g.waiting {
            g = cv.wait(g).expect("gate lock");
        }
    }
}

struct GateSink(Gate);

impl Sink for GateSink {
    fn name(&self) -> &str {
        "gate"
    }
    fn write_batch(&mut self, _batch: &Batch) -> Result<(), SinkError> {
        let (m, cv) = &*(self.0).0;
        let mut g = m.lock().expect("gate lock");
        while g.closed {
            g.waiting = true;
            cv.notify_all();
            g = cv.wait(g).expect("gate lock");
        }
        g.waiting = false;
        Ok(())
    }
}

const CHUNK: u64 = 50_000;

fn gated_pipeline(r: Redaction, gate: &Gate) -> Pipeline {
    let mut settings = Settings::default();
    if !matches!(r, Redaction::Default) {
        settings.stages.redactors.clear();
    }
    let mut b = Pipeline::builder()
        .settings(settings)
        .queue_capacity(1 << 17)
        .batch_max_events(256)
        .backpressure(Backpressure::Block)
        .sink(GateSink(gate.clone()));
    if matches!(r, Redaction::Credentials) {
        b = b.redaction_preset(&CREDENTIALS);
    }
    b.build().expect("valid settings")
}

/// The worker alone: the queue is filled while the worker is held, then
/// the drain is timed (stages, encoding, batching; the sink discards).
fn worker(c: &mut Criterion) {
    let mut g = c.benchmark_group("worker");
    g.measurement_time(Duration::from_secs(8));
    for (name, r) in [
        ("no_redaction", Redaction::Off),
        ("credentials", Redaction::Credentials),
        ("default_url_credentials", Redaction::Default),
    ] {
        let gate = Gate::default();
        let p = gated_pipeline(r, &gate);
        let log = p.logger("app");
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let n = left.min(CHUNK);
                    left -= n;
                    gate.set(true);
                    fapilog::info!(log, "hold");
                    p.flush(Duration::from_millis(1)).ok();
                    gate.wait_until_holding();
                    for i in 0..n {
                        fapilog::info!(
                            log,
                            "request handled",
                            request_id = "req-00000001",
                            user_id = i,
                            path = "/api/v1/users/42",
                            status = 200,
                            latency = 12.5
                        );
                    }
                    let start = Instant::now();
                    gate.set(false);
                    p.flush(Duration::from_secs(60)).expect("flushed");
                    total += start.elapsed();
                }
                total
            })
        });
        let m = p.metrics();
        assert_eq!(m.dropped_total, 0, "no event may be lost");
    }
    g.finish();
}

criterion_group!(benches, stages, worker);
criterion_main!(benches);
