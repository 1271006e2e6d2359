//! The call site in `diagnostics.location`, when asked for.

use std::time::Duration;

use fapilog::testing::CaptureSink;
use fapilog::{Pipeline, Settings};

#[test]
fn location_is_written_only_when_enabled() {
    let (sink, captured) = CaptureSink::new();
    let p = Pipeline::builder()
        .include_location(true)
        .sink(sink)
        .build()
        .unwrap();
    let line = line!() + 1;
    fapilog::info!(p.logger("here"), "where am I");
    p.log_plain("no call site");
    p.flush(Duration::from_secs(30)).unwrap();
    let e = captured.envelopes();
    let loc = &e[0]["log"]["diagnostics"]["location"];
    assert_eq!(loc["file"], file!());
    assert_eq!(loc["line"], line);
    assert_eq!(loc["module"], module_path!());
    assert!(e[1]["log"]["diagnostics"].get("location").is_none());

    let (sink, captured) = CaptureSink::new();
    let p = Pipeline::builder().sink(sink).build().unwrap();
    fapilog::info!(p.logger("here"), "not by default");
    p.flush(Duration::from_secs(30)).unwrap();
    assert!(captured.envelopes()[0]["log"]["diagnostics"]
        .get("location")
        .is_none());
}

#[test]
fn the_setting_comes_from_the_environment_too() {
    let s = Settings::from_env_vars([("FAPILOG_CORE__INCLUDE_LOCATION", "true")]).unwrap();
    assert!(s.core.include_location);
}

trait LogPlain {
    fn log_plain(&self, msg: &str);
}

impl LogPlain for Pipeline {
    fn log_plain(&self, msg: &str) {
        self.logger("here").info(msg, &[]);
    }
}
