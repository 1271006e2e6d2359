//! The stderr fallback writes what the sinks would have written: the batch
//! encoded after redaction. A child process (this test binary re-run with
//! `FAPILOG_REDACTION_FALLBACK_CHILD` set) logs secrets under the
//! `production` preset into a sink that always fails; its stderr holds the
//! lines, masked.

mod common;

use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::Arc;
use std::time::Duration;

use common::FlakySink;
use fapilog::settings::Preset;
use fapilog::Pipeline;

const CHILD: &str = "FAPILOG_REDACTION_FALLBACK_CHILD";

/// The child's role; does nothing in an ordinary test run.
#[test]
fn child_role() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let p = Pipeline::builder()
        .stage_settings(&Preset::Production.settings().stages)
        .expect("preset stages")
        .sink(FlakySink {
            name: "flaky",
            panic: false,
            failing: Arc::new(AtomicBool::new(true)),
            written: Arc::new(AtomicUsize::new(0)),
        })
        .build()
        .expect("pipeline");
    let log = p.logger("app");
    fapilog::info!(
        log,
        "fallback db_password=Zfallback1 here",
        api_key = "Zfallback2"
    );
    fapilog::info!(log, "card 4111 1111 1111 1111 Bearer Zfallback3token");
    p.flush(Duration::from_secs(30)).expect("flushed");
}

#[test]
fn the_stderr_fallback_gets_redacted_lines() {
    let out = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "child_role", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .expect("child ran");
    assert!(out.status.success(), "child failed: {out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("\"schema_version\""))
        .collect();
    assert_eq!(lines.len(), 2, "fallback lines on stderr: {err}");
    assert!(
        lines[0].contains(r#""message":"fallback db_password=***""#),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains(r#""api_key":"***""#), "{}", lines[0]);
    // The card number with its spaces: "4111" alone can turn up in a
    // timestamp (`"ts":1795869000.0411134`) or a message id.
    for secret in ["Zfallback", "4111 1111"] {
        assert!(!err.contains(secret), "{secret} on stderr: {err}");
    }
}
