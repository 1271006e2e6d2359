//! Each sink runs behind its own driver: a slow or dead sink slows nothing
//! else; failures are retried with backoff, a breaker stops calling a sink
//! that keeps failing, and what a sink gives up on goes to its fallback.
//!
//! Time is a `ManualClock`: the drivers' waits advance it instead of
//! sleeping, so the retry spacing is exact and nothing here sleeps.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Gate;
use fapilog::sinks::{
    BreakerPolicy, DivertReason, RetryPolicy, Route, SinkDropReason, SinkErrorKind, SinkHealth,
    SinkOptions, WhenFull,
};
use fapilog::stages::{ManualClock, StageClock};
use fapilog::testing::{CaptureSink, Captured};
use fapilog::{Backpressure, Batch, Format, Level, Pipeline, Sink, SinkError};

const LONG: Duration = Duration::from_secs(30);

/// What a scripted sink answers to each call, in order; `Ok` once the script runs out.
type Script = Arc<Mutex<Vec<Result<(), SinkError>>>>;

/// A sink that answers from a script and records when each attempt was
/// made (on the manual clock) and what it accepted.
struct Scripted {
    name: &'static str,
    script: Script,
    clock: ManualClock,
    attempts: Arc<Mutex<Vec<Duration>>>,
    accepted: Arc<Mutex<Vec<String>>>,
}

struct ScriptedHandle {
    script: Script,
    attempts: Arc<Mutex<Vec<Duration>>>,
    accepted: Arc<Mutex<Vec<String>>>,
}

impl ScriptedHandle {
    fn attempts(&self) -> Vec<Duration> {
        self.attempts.lock().unwrap().clone()
    }
    fn accepted(&self) -> Vec<String> {
        self.accepted.lock().unwrap().clone()
    }
    fn push(&self, answers: impl IntoIterator<Item = Result<(), SinkError>>) {
        let mut s = self.script.lock().unwrap();
        s.extend(answers);
    }
}

fn scripted(name: &'static str, clock: &ManualClock) -> (Scripted, ScriptedHandle) {
    let script: Script = Arc::default();
    let attempts: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let accepted: Arc<Mutex<Vec<String>>> = Arc::default();
    (
        Scripted {
            name,
            script: Arc::clone(&script),
            clock: clock.clone(),
            attempts: Arc::clone(&attempts),
            accepted: Arc::clone(&accepted),
        },
        ScriptedHandle {
            script,
            attempts,
            accepted,
        },
    )
}

fn message(line: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(line).unwrap();
    v["log"]["message"].as_str().unwrap().to_owned()
}

impl Sink for Scripted {
    fn name(&self) -> &str {
        self.name
    }
    fn write_batch(&mut self, batch: &Batch) -> Result<(), SinkError> {
        self.attempts.lock().unwrap().push(self.clock.now());
        let next = {
            let mut s = self.script.lock().unwrap();
            if s.is_empty() {
                Ok(())
            } else {
                s.remove(0)
            }
        };
        match next {
            Ok(()) => {
                let mut acc = self.accepted.lock().unwrap();
                acc.extend(batch.lines().map(|l| message(l.bytes)));
                Ok(())
            }
            Err(SinkError::Partial {
                rejected,
                message: why,
            }) => {
                let mut acc = self.accepted.lock().unwrap();
                for (i, l) in batch.lines().enumerate() {
                    if !rejected.contains(&i) {
                        acc.push(message(l.bytes));
                    }
                }
                Err(SinkError::Partial {
                    rejected,
                    message: why,
                })
            }
            Err(e) => Err(e),
        }
    }
}

fn capture(name: &str) -> (CaptureSink, Captured) {
    CaptureSink::named(name, Format::Json)
}

fn sink<'a>(m: &'a fapilog::MetricsSnapshot, name: &str) -> &'a fapilog::SinkMetrics {
    m.sinks.iter().find(|s| s.name == name).unwrap()
}

/// One event per batch, so each log call is one delivery.
fn builder(clock: &ManualClock) -> fapilog::PipelineBuilder {
    Pipeline::builder()
        .batch_max_events(1)
        .sink_clock(clock.clone())
}

#[test]
fn retries_are_spaced_by_the_backoff_and_then_succeed() {
    let clock = ManualClock::new();
    let (s, h) = scripted("flaky", &clock);
    h.push([
        Err(SinkError::transient("timeout")),
        Err(SinkError::transient("timeout")),
        Err(SinkError::transient("timeout")),
    ]);
    let retry = RetryPolicy::default()
        .max_attempts(5)
        .initial(Duration::from_millis(100))
        .max_delay(Duration::from_secs(10));
    let p = builder(&clock)
        .sink_with(s, SinkOptions::new().retry(retry))
        .build()
        .unwrap();
    fapilog::info!(p.logger("app"), "one");
    p.flush(LONG).unwrap();

    let at = h.attempts();
    assert_eq!(at.len(), 4, "three failures, then success");
    // Full jitter: the n-th retry waits at most initial × 2^n.
    for (n, pair) in at.windows(2).enumerate() {
        let gap = pair[1] - pair[0];
        assert!(
            gap <= Duration::from_millis(100 << n),
            "retry {n} waited {gap:?}"
        );
    }
    assert_eq!(h.accepted(), ["one"]);
    let m = p.metrics();
    let flaky = sink(&m, "flaky");
    assert_eq!(flaky.retries, 3);
    assert_eq!(flaky.errors_of(SinkErrorKind::Transient), 3);
    assert_eq!(flaky.written, 1);
    assert_eq!(flaky.health, SinkHealth::Healthy);
    assert_eq!(m.written, 1);
    assert_eq!(m.failed, 0);
}

#[test]
fn retry_after_is_honoured() {
    let clock = ManualClock::new();
    let (s, h) = scripted("throttled", &clock);
    h.push([Err(SinkError::retry_after("429", Duration::from_secs(7)))]);
    let p = builder(&clock).sink(s).build().unwrap();
    fapilog::info!(p.logger("app"), "one");
    p.flush(LONG).unwrap();
    let at = h.attempts();
    assert_eq!(at.len(), 2);
    assert_eq!(at[1] - at[0], Duration::from_secs(7));
    assert_eq!(h.accepted(), ["one"]);
}

#[test]
fn a_rejected_batch_is_never_retried_and_goes_to_the_fallback() {
    let clock = ManualClock::new();
    let (s, h) = scripted("primary", &clock);
    h.push([Err(SinkError::Rejected("400 bad request".into()))]);
    let (backup, backup_lines) = capture("backup");
    let p = builder(&clock)
        .sink_with(s, SinkOptions::new().fallback("backup"))
        .sink(backup)
        // The backup takes no line of its own: only what the primary gives up.
        .route(Route::to(&["backup"]).logger_prefix("no-such-logger"))
        .build()
        .unwrap();
    let log = p.logger("app");
    fapilog::info!(log, "refused");
    fapilog::info!(log, "accepted");
    p.flush(LONG).unwrap();
    assert_eq!(h.attempts().len(), 2, "one attempt per batch");
    assert_eq!(h.accepted(), ["accepted"]);
    assert_eq!(backup_lines.messages(), ["refused"]);
    let m = p.metrics();
    let primary = sink(&m, "primary");
    assert_eq!(primary.errors_of(SinkErrorKind::Rejected), 1);
    assert_eq!(primary.retries, 0);
    assert_eq!(primary.diverted_for(DivertReason::Rejected), 1);
    assert_eq!(primary.diverted_to_fallback, 1);
    assert_eq!(sink(&m, "backup").received_diverted, 1);
}

#[test]
fn a_partial_success_keeps_the_rest_and_diverts_only_the_refused_lines() {
    let clock = ManualClock::new();
    let (s, h) = scripted("primary", &clock);
    h.push([Err(SinkError::Partial {
        rejected: vec![1],
        message: "line 2 too large".into(),
    })]);
    let (backup, backup_lines) = capture("backup");
    let p = Pipeline::builder()
        .batch_max_events(3)
        .sink_clock(clock.clone())
        .sink_with(s, SinkOptions::new().fallback("backup"))
        .sink(backup)
        .route(Route::to(&["backup"]).logger_prefix("no-such-logger"))
        .build()
        .unwrap();
    let log = p.logger("app");
    for m in ["a", "b", "c"] {
        log.info(m, &[]);
    }
    p.flush(LONG).unwrap();
    assert_eq!(h.attempts().len(), 1, "a partial success is not retried");
    assert_eq!(h.accepted(), ["a", "c"]);
    assert_eq!(backup_lines.messages(), ["b"]);
    let m = p.metrics();
    assert_eq!(sink(&m, "primary").written, 2);
    assert_eq!(sink(&m, "primary").diverted_for(DivertReason::Rejected), 1);
    assert_eq!(m.written, 3, "every line reached some sink");
    assert_eq!(m.failed, 0);
}

#[test]
fn the_breaker_opens_diverts_and_probes_after_the_cooldown() {
    let clock = ManualClock::new();
    let (s, h) = scripted("dead", &clock);
    h.push((0..3).map(|_| Err(SinkError::transient("connection refused"))));
    let (backup, backup_lines) = capture("backup");
    let options = SinkOptions::new()
        .retry(RetryPolicy::none())
        .breaker(
            BreakerPolicy::default()
                .failure_threshold(3)
                .cooldown(Duration::from_secs(30)),
        )
        .fallback("backup");
    let p = builder(&clock)
        .sink_with(s, options)
        .sink(backup)
        .route(Route::to(&["backup"]).logger_prefix("no-such-logger"))
        .build()
        .unwrap();
    let log = p.logger("app");
    for i in 0..6 {
        log.info(&format!("e{i}"), &[]);
    }
    p.flush(LONG).unwrap();
    // Three failures open the breaker; the next three never reach the sink.
    assert_eq!(h.attempts().len(), 3);
    assert_eq!(p.health().sinks[0], ("dead".to_string(), SinkHealth::Open));
    assert!(!p.health().is_ready());
    assert_eq!(
        backup_lines.messages(),
        ["e0", "e1", "e2", "e3", "e4", "e5"],
        "the fallback got exactly what the primary gave up on"
    );
    let m = p.metrics();
    let dead = sink(&m, "dead");
    assert_eq!(dead.breaker_opened, 1);
    assert_eq!(dead.diverted_for(DivertReason::RetriesExhausted), 2);
    assert_eq!(dead.diverted_for(DivertReason::BreakerOpen), 4);
    assert_eq!(dead.diverted_to_fallback, 6);

    // After the cooldown one batch probes; the sink is back, the breaker closes.
    clock.advance(Duration::from_secs(30));
    fapilog::info!(log, "probe");
    fapilog::info!(log, "after");
    p.flush(LONG).unwrap();
    assert_eq!(h.accepted(), ["probe", "after"]);
    assert_eq!(p.health().sinks[0].1, SinkHealth::Healthy);
    assert!(p.health().is_ready());
}

#[test]
fn a_failed_probe_reopens_the_breaker_for_longer() {
    let clock = ManualClock::new();
    let (s, h) = scripted("dead", &clock);
    h.push((0..2).map(|_| Err(SinkError::transient("down"))));
    let options = SinkOptions::new()
        .retry(RetryPolicy::default().max_attempts(10))
        .breaker(
            BreakerPolicy::default()
                .failure_threshold(1)
                .cooldown(Duration::from_secs(10)),
        );
    let p = builder(&clock).sink_with(s, options).build().unwrap();
    let log = p.logger("app");
    let s10 = Duration::from_secs(10);
    // "a" fails its first attempt and is retried (the breaker counts
    // batches given up on, not attempts): it gets through.
    fapilog::info!(log, "a");
    p.flush(LONG).unwrap();
    assert_eq!(h.accepted(), ["a"]);
    assert_eq!(h.attempts().len(), 3);

    // Now a batch that fails for good opens the breaker.
    // Ten attempts for "b", one for the probe.
    h.push((0..11).map(|_| Err(SinkError::transient("down"))));
    fapilog::info!(log, "b");
    p.flush(LONG).unwrap();
    assert_eq!(p.health().sinks[0].1, SinkHealth::Open);
    let before = h.attempts().len();
    // The probe after 10 s gets one attempt, fails, and reopens for 20 s.
    clock.advance(s10);
    fapilog::info!(log, "c");
    p.flush(LONG).unwrap();
    assert_eq!(h.attempts().len(), before + 1, "a probe is attempted once");
    clock.advance(s10);
    fapilog::info!(log, "d");
    p.flush(LONG).unwrap();
    assert_eq!(
        h.attempts().len(),
        before + 1,
        "still open 10 s later: {:?}",
        h.attempts()
    );
    h.script.lock().unwrap().clear();
    clock.advance(s10);
    fapilog::info!(log, "e");
    p.flush(LONG).unwrap();
    assert_eq!(h.accepted(), ["a", "e"]);
    let m = p.metrics();
    assert_eq!(sink(&m, "dead").breaker_opened, 2);
    assert_eq!(sink(&m, "dead").diverted_total(), 3, "b, c and d");
}

/// A sink that holds every write until its gate opens: the slow destination.
struct Slow {
    gate: Arc<Gate>,
    written: Arc<AtomicUsize>,
}

impl Sink for Slow {
    fn name(&self) -> &str {
        "slow"
    }
    fn write_batch(&mut self, batch: &Batch) -> Result<(), SinkError> {
        self.gate.pass();
        self.written.fetch_add(batch.len(), Ordering::SeqCst);
        Ok(())
    }
}

#[test]
fn a_stuck_sink_slows_nothing_and_its_drops_are_reported_in_band() {
    let gate = Arc::new(Gate::default());
    let written = Arc::new(AtomicUsize::new(0));
    let (fast, fast_lines) = capture("fast");
    let p = Pipeline::builder()
        .batch_max_events(10)
        // Callers never wait: any slowdown of the worker would show as drops.
        .backpressure(Backpressure::Drop)
        .queue_capacity(100_000)
        .drop_summary_interval(Duration::from_millis(1))
        .sink_with(
            Slow {
                gate: Arc::clone(&gate),
                written: Arc::clone(&written),
            },
            SinkOptions::new().buffer_batches(2),
        )
        .sink(fast)
        .build()
        .unwrap();
    let log = p.logger("app");
    for i in 0..5_000u32 {
        fapilog::info!(log, "event", i = i);
    }
    // The slow sink is stuck in its first write; the fast one gets everything.
    assert!(fast_lines.wait_until(LONG, |lines| {
        lines.iter().filter(|l| l.contains("\"event\"")).count() == 5_000
    }));
    let m = p.metrics();
    assert_eq!(m.dropped_total, 0, "no caller was turned away");
    let slow = sink(&m, "slow");
    // One batch in the sink's hands, two in its buffer: the rest dropped,
    // counted (with the in-band reports the slow sink could not take either).
    assert!(slow.dropped_for(SinkDropReason::BufferFull) >= 5_000 - 30);
    assert_eq!(slow.buffer_depth, 2);
    // The fast sink is told, in band.
    fapilog::info!(log, "one more");
    assert!(fast_lines.wait_until(LONG, |lines| {
        lines
            .iter()
            .any(|l| l.contains("logs dropped") && l.contains("sink_dropped"))
    }));
    let reported: u64 = fast_lines
        .envelopes()
        .iter()
        .filter(|e| e["log"]["message"] == "logs dropped")
        .map(|e| {
            e["log"]["data"]["sink_dropped"]["slow"]
                .as_u64()
                .unwrap_or(0)
        })
        .sum();
    assert!(reported >= 5_000 - 30, "reported {reported}");

    gate.open();
    let report = p.shutdown(LONG);
    assert_eq!(
        written.load(Ordering::SeqCst) as u64,
        sink(&p.metrics(), "slow").written
    );
    assert_eq!(report.written, 5_001, "every event reached the fast sink");
    assert_eq!(report.failed, 0);
    let slow = report.sinks.iter().find(|s| s.name == "slow").unwrap();
    assert!(slow.dropped >= 5_000 - 30);
    assert_eq!(slow.health, SinkHealth::Stopped);
    assert!(
        !report.is_complete(),
        "a sink lost lines: the report says so"
    );
}

/// Bursts 5,000 events under `Backpressure::Block` into `Slow`, held at its
/// gate until the worker waits on it (with `options`, and a fast sink
/// beside it when `with_fast`); returns the drain report and what `Slow` wrote.
fn burst_into_a_held_sink(
    options: Option<SinkOptions>,
    with_fast: Option<CaptureSink>,
) -> (fapilog::DrainReport, usize) {
    let gate = Arc::new(Gate::default());
    let written = Arc::new(AtomicUsize::new(0));
    let slow = Slow {
        gate: Arc::clone(&gate),
        written: Arc::clone(&written),
    };
    let mut b = Pipeline::builder()
        .batch_max_events(10)
        .backpressure(Backpressure::Block)
        .queue_capacity(1_000);
    b = match options {
        Some(o) => b.sink_with(slow, o),
        None => b.sink(slow),
    };
    if let Some(fast) = with_fast {
        b = b.sink(fast);
    }
    let p = b.build().unwrap();
    let log = p.logger("app");
    let opener = std::thread::spawn(move || {
        assert!(gate.wait_blocked(LONG));
        gate.open();
    });
    for i in 0..5_000u32 {
        fapilog::info!(log, "event", i = i);
    }
    opener.join().unwrap();
    let r = p.shutdown(LONG);
    (r, written.load(Ordering::SeqCst))
}

#[test]
fn block_makes_the_worker_wait_and_loses_nothing() {
    let (fast, fast_lines) = capture("fast");
    let options = SinkOptions::new()
        .buffer_batches(2)
        .when_full(WhenFull::Block);
    let (r, written) = burst_into_a_held_sink(Some(options), Some(fast));
    assert!(r.is_complete(), "{r:?}");
    assert_eq!(written, 5_000);
    assert_eq!(fast_lines.len(), 5_000);
}

#[test]
fn routes_by_level_logger_prefix_and_field_with_and_without_overlap() {
    for overlap in [false, true] {
        let (all, all_lines) = capture("all");
        let (errors, error_lines) = capture("errors");
        let (payments, payment_lines) = capture("payments");
        let (acme, acme_lines) = capture("acme");
        let p = Pipeline::builder()
            .sink(all)
            .sink(errors)
            .sink(payments)
            .sink(acme)
            .route(Route::to(&["errors"]).min_level(Level::ERROR))
            .route(Route::to(&["payments"]).logger_prefix("payments"))
            .route(Route::to(&["acme"]).field_equals("tenant", "acme"))
            .route_overlap(overlap)
            .build()
            .unwrap();
        let web = p.logger("web");
        let pay = p.logger("payments.refunds");
        fapilog::info!(web, "w-info");
        fapilog::error!(web, "w-error");
        fapilog::error!(pay, "p-error");
        fapilog::info!(pay, "p-info", tenant = "acme");
        fapilog::info!(web, "w-acme", tenant = "acme");
        assert!(p.shutdown(LONG).is_complete());
        assert_eq!(
            all_lines.messages(),
            ["w-info", "w-error", "p-error", "p-info", "w-acme"],
            "a sink no rule names takes everything"
        );
        assert_eq!(error_lines.messages(), ["w-error", "p-error"]);
        if overlap {
            assert_eq!(payment_lines.messages(), ["p-error", "p-info"]);
            assert_eq!(acme_lines.messages(), ["p-info", "w-acme"]);
        } else {
            assert_eq!(payment_lines.messages(), ["p-info"], "first match wins");
            assert_eq!(acme_lines.messages(), ["w-acme"]);
        }
    }
}

#[test]
fn a_route_or_fallback_to_an_unknown_sink_fails_the_build() {
    let err = Pipeline::builder()
        .sink(capture("a").0)
        .route(Route::to(&["b"]))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("\"b\""), "{err}");
    let err = Pipeline::builder()
        .sink_with(capture("a").0, SinkOptions::new().fallback("nope"))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("\"nope\""), "{err}");
    let err = Pipeline::builder()
        .sink_with(capture("a").0, SinkOptions::new().buffer_batches(0))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("buffer_batches"), "{err}");
}

#[test]
fn the_drain_report_tells_each_sink_s_outcome() {
    let clock = ManualClock::new();
    let (s, h) = scripted("flaky", &clock);
    h.push([Err(SinkError::Rejected("no".into()))]);
    let (ok, _) = capture("ok");
    let p = builder(&clock).sink(s).sink(ok).build().unwrap();
    let log = p.logger("app");
    fapilog::info!(log, "a");
    fapilog::info!(log, "b");
    let r = p.shutdown(LONG);
    assert_eq!(r.written, 2);
    let flaky = r.sinks.iter().find(|s| s.name == "flaky").unwrap();
    assert_eq!((flaky.written, flaky.diverted, flaky.dropped), (1, 1, 0));
    let ok = r.sinks.iter().find(|s| s.name == "ok").unwrap();
    assert_eq!((ok.written, ok.diverted, ok.dropped), (2, 0, 0));
    assert_eq!(ok.health, SinkHealth::Stopped);
}

#[test]
fn fapilog_s_routing_and_breaker_settings_drive_the_sinks() {
    let settings = fapilog::Settings::from_env_vars([
        ("FAPILOG_SINK_ROUTING__ENABLED", "true"),
        (
            "FAPILOG_SINK_ROUTING__RULES",
            r#"[{"levels": ["ERROR", "CRITICAL"], "sinks": ["errors"]}, {"levels": ["*"], "sinks": ["all"]}]"#,
        ),
        ("FAPILOG_CORE__SINK_CIRCUIT_BREAKER_FAILURE_THRESHOLD", "1"),
        ("FAPILOG_CORE__SINK_CIRCUIT_BREAKER_FALLBACK_SINK", "all"),
    ])
    .unwrap();
    let clock = ManualClock::new();
    let (all, all_lines) = capture("all");
    let (errors, h) = scripted("errors", &clock);
    h.push((0..5).map(|_| Err(SinkError::transient("down"))));
    let p = Pipeline::builder()
        .settings(settings)
        .sink_clock(clock.clone())
        .sink(all)
        .sink(errors)
        .build()
        .unwrap();
    let log = p.logger("app");
    fapilog::info!(log, "fine");
    fapilog::error!(log, "broken");
    p.flush(LONG).unwrap();
    // ERROR went to "errors" alone; it failed 5 times (the default retry),
    // which opened its breaker (threshold 1) and diverted the line to the
    // fallback, "all", which otherwise takes what no rule matches.
    assert_eq!(h.attempts().len(), 5);
    assert_eq!(all_lines.messages(), ["fine", "broken"]);
    assert_eq!(p.health().sinks[1].1, SinkHealth::Open);

    let e = fapilog::Settings::from_env_vars([(
        "FAPILOG_SINK_ROUTING__RULES",
        r#"[{"levels": ["LOUD"], "sinks": ["a"]}]"#,
    )])
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("FAPILOG_SINK_ROUTING__RULES") && e.contains("LOUD"),
        "{e}"
    );
}

#[test]
fn a_sole_sink_blocks_so_the_callers_policy_decides() {
    // `Slow` is a sink of the user's own, whose default is `DropNewest`;
    // alone in its pipeline it blocks instead, and `Block` loses nothing.
    let (r, written) = burst_into_a_held_sink(None, None);
    assert!(r.is_complete(), "{r:?}");
    assert_eq!(written, 5_000);
}
