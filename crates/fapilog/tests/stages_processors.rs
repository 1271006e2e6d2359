//! The built-in processors, and plugin isolation, through the public API.

use std::time::Duration;

use fapilog::stages::processors::{
    Exceptions, ExceptionsConfig, SizeAction, SizeGuard, SizeGuardConfig,
};
use fapilog::testing::CaptureSink;
use fapilog::{
    json, Enricher, Event, Filter, Map, Pipeline, PipelineBuilder, StageError, Value, Verdict,
};
use serde_json::{json as j, Value as J};

fn run(builder: PipelineBuilder, f: impl FnOnce(&fapilog::Logger)) -> (Vec<String>, Pipeline) {
    let (sink, captured) = CaptureSink::new();
    let p = builder.sink(sink).build().expect("valid pipeline");
    f(&p.logger("app"));
    p.flush(Duration::from_secs(10)).expect("flushed");
    let lines = captured
        .lines()
        .into_iter()
        .filter(|l| !l.contains(r#""logger":"fapilog""#))
        .collect();
    (lines, p)
}

fn parse(line: &str) -> J {
    serde_json::from_str::<J>(line).expect("JSON")["log"].clone()
}

#[test]
fn size_guard_truncates_the_largest_fields_first() {
    let big = "é".repeat(40_000); // 80 000 bytes
    let medium = "m".repeat(3_000);
    let (lines, p) = run(
        Pipeline::builder().processor(SizeGuard::new(10_000).unwrap()),
        |log| {
            fapilog::info!(
                log,
                "big one",
                big = big.as_str(),
                medium = medium.as_str(),
                keep = 1
            );
            fapilog::info!(log, "small", n = 2);
        },
    );
    assert_eq!(lines.len(), 2);
    assert!(lines[0].len() <= 10_000, "line is {} bytes", lines[0].len());
    let l = parse(&lines[0]);
    let b = l["data"]["big"].as_str().unwrap();
    assert!(b.ends_with("[truncated]") && b.len() < 10_000);
    assert_eq!(
        l["data"]["medium"].as_str().unwrap().len(),
        3_000,
        "the smaller field is kept"
    );
    assert_eq!(l["data"]["keep"], 1);
    assert_eq!(l["data"]["_truncated"], true);
    assert!(l["data"]["_original_size"].as_u64().unwrap() > 80_000);
    assert_eq!(l["message"], "big one");
    assert_eq!(parse(&lines[1])["message"], "small");
    assert_eq!(p.stage_counters().size_guard_truncated, 1);
}

#[test]
fn size_guard_replaces_large_structures_when_strings_do_not_suffice() {
    let many: Vec<i64> = (0..5_000).collect();
    let (lines, _) = run(
        Pipeline::builder().processor(SizeGuard::new(2_000).unwrap()),
        |log| {
            fapilog::info!(
                log,
                "numbers",
                many = json(&many),
                small = json(&j!({"a": 1}))
            );
        },
    );
    assert!(lines[0].len() <= 2_000);
    let l = parse(&lines[0]);
    assert_eq!(l["data"]["many"], "[truncated]");
    assert_eq!(l["data"]["small"], j!({"a": 1}));
}

#[test]
fn size_guard_drops_with_a_count() {
    let mut cfg = SizeGuardConfig::default();
    cfg.max_bytes = 1_000;
    cfg.action = SizeAction::Drop;
    let (lines, p) = run(
        Pipeline::builder().processor(SizeGuard::from_config(&cfg).unwrap()),
        |log| {
            fapilog::info!(log, "too big", blob = "x".repeat(5_000).as_str());
            fapilog::info!(log, "fits");
        },
    );
    assert_eq!(lines.len(), 1);
    assert_eq!(p.stage_counters().size_guard_dropped, 1);
    assert_eq!(p.metrics().filtered, 1);
    assert!(SizeGuard::new(10).is_err());
}

/// Puts a long backtrace into `diagnostics.exception`, as a captured error would.
struct FakeBacktrace(usize);

impl Enricher for FakeBacktrace {
    fn name(&self) -> &str {
        "fake_backtrace"
    }
    fn enrich(&self, ev: &mut Event<'_>) -> Result<(), StageError> {
        let mut stack = String::from("io::Error: failed\n");
        for i in 0..20 {
            stack.push_str(&format!("Caused by: cause {i}\n"));
        }
        stack.push_str("stack backtrace:\n");
        for i in 0..self.0 {
            stack.push_str(&format!(
                "  {i}: app::f{i}\n             at src/lib.rs:{i}:5\n"
            ));
        }
        let mut ex = Map::new();
        ex.insert("error.type", Value::from("io::Error"));
        ex.insert("error.stack", Value::from(stack));
        ex.insert(
            "error.frames",
            Value::Array((0..self.0).map(|i| Value::from(format!("f{i}"))).collect()),
        );
        ev.diagnostics.insert("exception", Value::Map(ex));
        Ok(())
    }
}

#[test]
fn exceptions_bound_frames_and_characters() {
    let (lines, p) = run(
        Pipeline::builder()
            .enricher(FakeBacktrace(50))
            .processor(Exceptions::default()),
        |log| fapilog::error!(log, "failed"),
    );
    let ex = &parse(&lines[0])["diagnostics"]["exception"];
    let stack = ex["error.stack"].as_str().unwrap();
    assert!(
        stack.contains("  9: app::f9") && !stack.contains("10: app::f10"),
        "{stack}"
    );
    assert!(stack.ends_with("... 40 more frames\n"), "{stack}");
    assert!(
        stack.contains("Caused by: cause 9\nCaused by: ... 10 more causes\nstack backtrace:"),
        "{stack}"
    );
    assert_eq!(ex["error.frames"].as_array().unwrap().len(), 10);
    assert_eq!(p.stage_counters().exceptions_bounded, 1);

    let mut cfg = ExceptionsConfig::default();
    cfg.max_frames = 10_000;
    cfg.max_stack_chars = 1_000;
    let (lines, _) = run(
        Pipeline::builder()
            .enricher(FakeBacktrace(200))
            .processor(Exceptions::from_config(&cfg).unwrap()),
        |log| fapilog::error!(log, "failed"),
    );
    let stack = parse(&lines[0])["diagnostics"]["exception"]["error.stack"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(stack.len(), 1_000);
    assert!(stack.ends_with("..."));
    cfg.max_stack_chars = 10;
    assert!(Exceptions::from_config(&cfg).is_err());
}

struct Panicky;

impl Filter for Panicky {
    fn name(&self) -> &str {
        "panicky_filter"
    }
    fn filter(&self, _ev: &Event<'_>) -> Result<Verdict, StageError> {
        panic!("filter bug")
    }
}

struct FailingEnricher;

impl Enricher for FailingEnricher {
    fn name(&self) -> &str {
        "failing_enricher"
    }
    fn enrich(&self, _ev: &mut Event<'_>) -> Result<(), StageError> {
        Err(StageError::new("no data"))
    }
}

#[test]
fn failing_plugins_are_isolated_and_counted() {
    let (lines, p) = run(
        Pipeline::builder()
            .filter(Panicky)
            .enricher(FailingEnricher),
        |log| {
            for i in 0..3 {
                fapilog::info!(log, "still here", i = i);
            }
        },
    );
    assert_eq!(lines.len(), 3, "the events go on");
    let m = p.metrics();
    let by = |name: &str| {
        m.stage_errors
            .iter()
            .find(|s| s.stage == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(by("panicky_filter").panics, 3);
    assert_eq!(by("failing_enricher").errors, 3);
    fapilog::info!(p.logger("app"), "the worker survived");
    p.flush(Duration::from_secs(10)).unwrap();
}

/// A filter whose `name()` panics once when armed: the runner calls it
/// outside the stage guard, so the panic reaches the worker, which must restart.
struct NameBomb(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Filter for NameBomb {
    fn name(&self) -> &str {
        if self.0.swap(false, std::sync::atomic::Ordering::SeqCst) {
            panic!("bug in a plugin's name()");
        }
        "name_bomb"
    }
    fn filter(&self, _ev: &Event<'_>) -> Result<Verdict, StageError> {
        Ok(Verdict::Keep)
    }
}

#[test]
fn a_worker_that_dies_is_restarted_and_counted() {
    let (sink, captured) = CaptureSink::new();
    let armed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let p = Pipeline::builder()
        .filter(NameBomb(armed.clone()))
        .sink(sink)
        .build()
        .unwrap();
    let log = p.logger("app");
    fapilog::info!(log, "first");
    p.flush(Duration::from_secs(10)).unwrap();
    armed.store(true, std::sync::atomic::Ordering::SeqCst);
    // The events the dying worker held are lost (they count as unflushed).
    fapilog::info!(log, "lost with the worker");
    p.flush(Duration::from_secs(10)).unwrap();
    fapilog::info!(log, "third");
    p.flush(Duration::from_secs(10)).unwrap();
    let msgs = captured.messages();
    assert_eq!(msgs.first().map(String::as_str), Some("first"));
    assert!(msgs.contains(&"third".to_owned()), "{msgs:?}");
    assert_eq!(p.stage_counters().worker_restarts, 1);
    fapilog::info!(log, "still running");
    p.flush(Duration::from_secs(10)).unwrap();
    assert!(captured.messages().contains(&"still running".to_owned()));
}
