//! One level gate: the pipeline's levels (`RUST_LOG`, `core.log_level`,
//! per-target overrides) decide what the layer logs, per `tracing` target,
//! with default settings otherwise.

use std::time::Duration;

use fapilog::settings::Settings;
use fapilog::testing::{CaptureSink, Captured};
use fapilog::Pipeline;
use fapilog_tracing::{FapilogLayer, TraceLevel};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Registry};

fn events() {
    tracing::debug!(target: "my_crate::db", "db debug");
    tracing::trace!(target: "my_crate::db", "db trace");
    tracing::debug!(target: "my_crate", "crate debug");
    tracing::debug!(target: "other", "other debug");
    tracing::info!(target: "other", "other info");
}

/// With `TraceLevel::AsTrace`: EnvFilter's exact meaning.
const WANT: [&str; 3] = ["db debug", "crate debug", "other info"];

fn run(
    pipeline: &Pipeline,
    sub: impl tracing::Subscriber + Send + Sync,
    c: &Captured,
) -> Vec<String> {
    tracing::subscriber::with_default(sub, events);
    pipeline.flush(Duration::from_secs(30)).unwrap();
    c.messages()
}

#[test]
fn rust_log_directives_reach_the_layer() {
    let s = Settings::from_env_vars([("RUST_LOG", "info,my_crate=debug")]).unwrap();
    let (sink, c) = CaptureSink::new();
    let p = Pipeline::builder().settings(s).sink(sink).build().unwrap();
    let sub = Registry::default()
        .with(FapilogLayer::new(p.logger("app")).trace_level(TraceLevel::AsTrace));
    assert_eq!(run(&p, sub, &c), WANT);
}

#[test]
fn by_default_trace_events_count_as_debug() {
    let s = Settings::from_env_vars([("RUST_LOG", "info,my_crate=debug")]).unwrap();
    let (sink, c) = CaptureSink::new();
    let p = Pipeline::builder().settings(s).sink(sink).build().unwrap();
    let sub = Registry::default().with(FapilogLayer::new(p.logger("app")));
    assert_eq!(
        run(&p, sub, &c),
        ["db debug", "db trace", "crate debug", "other info"]
    );
}

#[test]
fn the_documented_example_delivers_the_debug_lines() {
    // The layer's doc example: the same directives for the pipeline and an
    // EnvFilter in front agree, so the debug lines of my_crate arrive.
    let spec = "info,my_crate=debug";
    let (sink, c) = CaptureSink::new();
    let p = Pipeline::builder()
        .level_overrides(spec)
        .unwrap()
        .sink(sink)
        .build()
        .unwrap();
    let sub = Registry::default()
        .with(EnvFilter::new(spec))
        .with(FapilogLayer::new(p.logger("app")).trace_level(TraceLevel::AsTrace));
    assert_eq!(run(&p, sub, &c), WANT);
}
