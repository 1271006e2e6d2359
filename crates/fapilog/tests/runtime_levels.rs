//! Changing levels at run time, with and without per-logger overrides.

use std::time::Duration;

use fapilog::testing::CaptureSink;
use fapilog::{Level, Pipeline};

const LONG: Duration = Duration::from_secs(30);

#[test]
fn set_level_moves_the_gate_at_once() {
    let (sink, captured) = CaptureSink::new();
    let p = Pipeline::builder().sink(sink).build().unwrap();
    let log = p.logger("app");
    fapilog::debug!(log, "hidden");
    p.set_level(Level::DEBUG);
    fapilog::debug!(log, "shown");
    p.set_level(Level::ERROR);
    fapilog::warning!(log, "hidden too");
    p.flush(LONG).unwrap();
    assert_eq!(captured.messages(), ["shown"]);
}

#[test]
fn set_level_with_overrides_keeps_the_overrides() {
    let (sink, captured) = CaptureSink::new();
    let p = Pipeline::builder()
        .level_overrides("app.db=debug")
        .unwrap()
        .sink(sink)
        .build()
        .unwrap();
    p.set_level(Level::WARNING);
    fapilog::info!(p.logger("app"), "app info is below WARNING");
    fapilog::debug!(p.logger("app.db"), "db debug passes its override");
    fapilog::warning!(p.logger("app"), "app warning passes");
    p.flush(LONG).unwrap();
    assert_eq!(
        captured.messages(),
        ["db debug passes its override", "app warning passes"]
    );
}
