//! What redaction costs per event, with and without the CREDENTIALS preset.
//!
//! - `stages/*`: the redactors alone on one event of the standard workload
//!   (message + request_id, user_id, path, status, latency, plus the core's
//!   diagnostics): `none` (no redactor), `url_credentials` (the default
//!   list), `credentials` (the preset: field mask + regex mask),
//!   `credentials_url` (both), and `credentials_secrets` (an event that does
//!   hold a password field and a bearer token, rebuilt each iteration);
//! - `worker/*`: the whole worker path: one producer logs the workload into
//!   a pipeline (`Backpressure::Block`, a sink that discards) and each
//!   sample ends with a flush, so the time per event is the worker's
//!   (stages + encoding + batching): `no_redaction` (no redactor at all),
//!   `credentials` (the preset alone) and `default_url_credentials` (the
//!   settings' default redactor list). The default enrichers and
//!   processors run in every row.
//!
//! `cargo bench -p fapilog --bench redaction`.

use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use fapilog::stages::redactors::presets::CREDENTIALS;
use fapilog::stages::redactors::{redaction_for, FieldMaskConfig, RegexMaskConfig, UrlCredentials};
use fapilog::{
    Backpressure, Batch, Event, Level, Pipeline, Redactor, Settings, Sink, SinkError, Value,
};

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

fn pipeline(r: Redaction) -> Pipeline {
    let mut settings = Settings::default();
    if !matches!(r, Redaction::Default) {
        settings.stages.redactors.clear();
    }
    let mut b = Pipeline::builder()
        .settings(settings)
        .queue_capacity(1 << 16)
        .backpressure(Backpressure::Block)
        .sink(Discard);
    if matches!(r, Redaction::Credentials) {
        b = b.redaction_preset(&CREDENTIALS);
    }
    b.build().expect("valid settings")
}

fn worker(c: &mut Criterion) {
    let mut g = c.benchmark_group("worker");
    g.measurement_time(Duration::from_secs(8));
    for (name, r) in [
        ("no_redaction", Redaction::Off),
        ("credentials", Redaction::Credentials),
        ("default_url_credentials", Redaction::Default),
    ] {
        let p = pipeline(r);
        let log = p.logger("app");
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for i in 0..iters {
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
                p.flush(Duration::from_secs(60)).expect("flushed");
                start.elapsed()
            })
        });
        let m = p.metrics();
        assert_eq!(m.dropped_total, 0, "no event may be lost");
    }
    g.finish();
}

criterion_group!(benches, stages, worker);
criterion_main!(benches);
