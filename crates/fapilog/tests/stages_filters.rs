//! The built-in filters through the public API, on a manual clock.

use std::sync::Arc;
use std::time::Duration;

use fapilog::stages::filters::{
    AdaptiveSamplingConfig, AdaptiveSamplingFilter, FirstOccurrenceConfig, FirstOccurrenceFilter,
    LevelFilter, OverflowAction, RateLimitConfig, RateLimitFilter, SamplingConfig, SamplingFilter,
    TraceSamplingFilter,
};
use fapilog::stages::ManualClock;
use fapilog::testing::CaptureSink;
use fapilog::{Level, Logger, Pipeline, PipelineBuilder};
use serde_json::Value as J;

struct Run {
    pipeline: Pipeline,
    captured: fapilog::testing::Captured,
}

impl Run {
    fn new(builder: PipelineBuilder) -> Run {
        let (sink, captured) = CaptureSink::new();
        let pipeline = builder.sink(sink).build().expect("valid pipeline");
        Run { pipeline, captured }
    }

    fn log(&self, name: &str) -> Logger {
        self.pipeline.logger(name)
    }

    fn logs(&self) -> Vec<J> {
        self.pipeline
            .flush(Duration::from_secs(10))
            .expect("flushed");
        self.captured
            .envelopes()
            .into_iter()
            .map(|e| e["log"].clone())
            .collect()
    }

    fn messages(&self) -> Vec<String> {
        self.logs()
            .iter()
            .map(|l| l["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

#[test]
fn level_overrides_and_run_time_changes() {
    let r = Run::new(
        Pipeline::builder()
            .level_filter(LevelFilter::new(Level::WARNING).with_override("app.db", Level::DEBUG)),
    );
    fapilog::debug!(r.log("app.db.pool"), "db debug");
    fapilog::debug!(r.log("app.dbx"), "not a child");
    fapilog::info!(r.log("app"), "app info");
    fapilog::warning!(r.log("app"), "app warning");
    assert_eq!(r.messages(), ["db debug", "app warning"]);

    // A change applies to the events the worker processes after it: flush first.
    let h = r.pipeline.levels().expect("a level handle");
    h.set_override("app", Level::INFO);
    h.clear_override("app.db");
    fapilog::info!(r.log("app"), "app info 2");
    fapilog::debug!(r.log("app.db"), "db debug 2");
    fapilog::info!(r.log("app.db"), "db info 2");
    r.logs();
    h.apply_spec("error,hyper=debug").unwrap();
    fapilog::warning!(r.log("other"), "other warning");
    fapilog::debug!(r.log("hyper"), "hyper debug");
    assert_eq!(
        r.messages()[2..],
        ["app info 2", "db info 2", "hyper debug"]
    );
    assert_eq!(h.level_for("hyper.client"), Level::DEBUG);
    assert!(h.apply_spec("app=loud").is_err());
}

#[test]
fn level_overrides_from_a_spec() {
    let r = Run::new(
        Pipeline::builder()
            .level_overrides("app.db=debug,hyper=error")
            .unwrap(),
    );
    fapilog::debug!(r.log("app.db"), "a");
    fapilog::info!(r.log("app"), "b");
    fapilog::warning!(r.log("hyper"), "c");
    assert_eq!(r.messages(), ["a", "b"]);
    let Err(err) = Pipeline::builder().level_overrides("app=nope") else {
        panic!("a bad level is an error")
    };
    assert!(
        err.to_string().contains("filter_config.level.overrides"),
        "{err}"
    );
}

#[test]
fn sampling_per_level_never_samples_warnings() {
    let mut cfg = SamplingConfig::default();
    cfg.sample_rate = 0.0;
    cfg.level_rates.insert("DEBUG".into(), 1.0);
    let r = Run::new(
        Pipeline::builder()
            .level(Level::DEBUG)
            .filter(SamplingFilter::from_config(&cfg).unwrap()),
    );
    for _ in 0..10 {
        fapilog::info!(r.log("a"), "info");
    }
    fapilog::debug!(r.log("a"), "debug");
    fapilog::warning!(r.log("a"), "warning");
    fapilog::error!(r.log("a"), "error");
    assert_eq!(r.messages(), ["debug", "warning", "error"]);
    assert_eq!(r.pipeline.stage_counters().sampled_out, 10);

    let mut half = SamplingConfig::default();
    half.sample_rate = 0.5;
    half.seed = Some(7);
    let r = Run::new(Pipeline::builder().filter(SamplingFilter::from_config(&half).unwrap()));
    for _ in 0..400 {
        fapilog::info!(r.log("a"), "x");
    }
    let kept = r.messages().len();
    assert!((100..300).contains(&kept), "kept {kept} of 400 at 0.5");
    assert!(SamplingFilter::new(1.5).is_err());
}

#[test]
fn adaptive_sampling_follows_the_load_and_exposes_its_rate() {
    let clock = ManualClock::new();
    let mut cfg = AdaptiveSamplingConfig::default();
    cfg.target_eps = 10.0;
    cfg.window_seconds = 10.0;
    cfg.smoothing_factor = 1.0;
    cfg.seed = Some(1);
    let f = AdaptiveSamplingFilter::with_clock(&cfg, Arc::new(clock.clone())).unwrap();
    let r = Run::new(Pipeline::builder().filter(f));
    // 100 events in the first second: measured 100 eps, so the rate becomes 0.1.
    for _ in 0..99 {
        fapilog::info!(r.log("a"), "x");
    }
    r.logs();
    clock.advance(Duration::from_secs(1));
    fapilog::info!(r.log("a"), "x");
    r.logs();
    let rate = r
        .pipeline
        .stage_counters()
        .adaptive_sample_rate
        .expect("a rate");
    assert!((rate - 0.1).abs() < 1e-9, "rate {rate}");
    r.captured.clear();
    for _ in 0..1000 {
        fapilog::info!(r.log("a"), "x");
    }
    fapilog::error!(r.log("a"), "protected");
    let logs = r.logs();
    assert!((40..200).contains(&logs.len()), "kept {}", logs.len());
    assert!(logs.iter().any(|l| l["message"] == "protected"));
}

#[test]
fn rate_limit_token_bucket_with_suppression_summary() {
    let clock = ManualClock::new();
    let mut cfg = RateLimitConfig::default();
    cfg.capacity = 3;
    cfg.refill_rate_per_sec = 1.0;
    let f = RateLimitFilter::with_clock(&cfg, Arc::new(clock.clone())).unwrap();
    let r = Run::new(Pipeline::builder().filter(f));
    for i in 0..5 {
        fapilog::info!(r.log("a"), "burst", i = i);
    }
    fapilog::error!(r.log("a"), "protected passes");
    r.logs(); // the worker has seen them all before the clock moves
    clock.advance(Duration::from_secs(2));
    fapilog::info!(r.log("a"), "after");
    let logs = r.logs();
    let msgs: Vec<_> = logs
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        msgs,
        ["burst", "burst", "burst", "protected passes", "after"]
    );
    assert_eq!(logs[4]["data"]["rate_limit_suppressed"], 2);
    assert_eq!(r.pipeline.stage_counters().rate_limited, 2);
}

#[test]
fn rate_limit_per_field_with_bounded_keys_and_marking() {
    let clock = ManualClock::new();
    let mut cfg = RateLimitConfig::default();
    cfg.capacity = 1;
    cfg.refill_rate_per_sec = 0.0;
    cfg.key_field = Some("user".into());
    cfg.max_keys = 2;
    let f = RateLimitFilter::with_clock(&cfg, Arc::new(clock.clone())).unwrap();
    let r = Run::new(Pipeline::builder().filter(f));
    for u in ["a", "a", "b", "b", "c", "d"] {
        fapilog::info!(r.log("x"), "hit", user = u);
    }
    let users: Vec<_> = r.logs().iter().map(|l| l["data"]["user"].clone()).collect();
    assert_eq!(users, ["a", "b", "c", "d"]);
    assert!(r.pipeline.stage_counters().rate_limit_keys_tracked <= 2);

    cfg.overflow_action = OverflowAction::Mark;
    cfg.key_field = Some("logger".into());
    let r = Run::new(
        Pipeline::builder().filter(RateLimitFilter::with_clock(&cfg, Arc::new(clock)).unwrap()),
    );
    fapilog::info!(r.log("one"), "m");
    fapilog::info!(r.log("one"), "m");
    fapilog::info!(r.log("two"), "m");
    let logs = r.logs();
    assert_eq!(logs.len(), 3);
    assert!(logs[0]["data"].get("rate_limited").is_none());
    assert_eq!(logs[1]["data"]["rate_limited"], true);
    assert!(logs[2]["data"].get("rate_limited").is_none());
}

#[test]
fn first_occurrence_writes_once_then_counts_repeats() {
    let clock = ManualClock::new();
    let cfg = FirstOccurrenceConfig::default();
    let f = FirstOccurrenceFilter::with_clock(&cfg, Arc::new(clock.clone())).unwrap();
    let r = Run::new(Pipeline::builder().filter(f));
    for _ in 0..4 {
        fapilog::info!(r.log("a"), "disk almost full");
    }
    fapilog::info!(r.log("a"), "another");
    r.logs(); // the worker has seen them all before the clock moves
    clock.advance(Duration::from_secs(61));
    fapilog::info!(r.log("a"), "disk almost full");
    let logs = r.logs();
    let msgs: Vec<_> = logs
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    assert_eq!(msgs, ["disk almost full", "another", "disk almost full"]);
    assert_eq!(logs[2]["data"]["repeats_suppressed"], 3);
    assert_eq!(r.pipeline.stage_counters().deduplicated, 3);

    let mut by_user = FirstOccurrenceConfig::default();
    by_user.key_fields = vec!["message".into(), "user".into()];
    let r = Run::new(
        Pipeline::builder()
            .filter(FirstOccurrenceFilter::with_clock(&by_user, Arc::new(clock)).unwrap()),
    );
    for u in ["a", "b", "a"] {
        fapilog::info!(r.log("x"), "login", user = u);
    }
    assert_eq!(r.logs().len(), 2);
}

#[test]
fn trace_sampling_keeps_whole_traces() {
    let f = TraceSamplingFilter::new(0.5).unwrap();
    let ids: Vec<String> = (0..64u64)
        .map(|i| {
            format!(
                "{:032x}",
                i.wrapping_mul(0x9e37_79b9_7f4a_7c15) as u128 * 0x1_0000_0001
            )
        })
        .collect();
    let expected: Vec<bool> = ids.iter().map(|id| f.keeps(id)).collect();
    assert!(expected.iter().any(|k| *k) && expected.iter().any(|k| !*k));
    let r = Run::new(Pipeline::builder().filter(f));
    for round in 0..3 {
        for id in &ids {
            fapilog::info!(r.log("a"), "step", trace_id = id.as_str(), round = round);
        }
    }
    fapilog::info!(r.log("a"), "no trace");
    fapilog::error!(r.log("a"), "protected", trace_id = "whatever");
    let logs = r.logs();
    let kept_ids: Vec<&str> = logs
        .iter()
        .filter_map(|l| l["context"]["trace_id"].as_str())
        .collect();
    for (id, keep) in ids.iter().zip(&expected) {
        let n = kept_ids.iter().filter(|k| **k == id.as_str()).count();
        assert_eq!(n, if *keep { 3 } else { 0 }, "trace {id}: all or nothing");
    }
    let msgs: Vec<_> = logs
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    assert!(msgs.contains(&"no trace") && msgs.contains(&"protected"));
}

#[test]
fn protected_levels_can_be_sampled_when_asked() {
    let mut cfg = SamplingConfig::default();
    cfg.sample_rate = 0.0;
    cfg.always_pass_levels = vec![];
    let r = Run::new(Pipeline::builder().filter(SamplingFilter::from_config(&cfg).unwrap()));
    fapilog::error!(r.log("a"), "gone");
    assert!(r.messages().is_empty());
}
