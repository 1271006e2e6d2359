//! `RUST_LOG` and per-module levels: one gate for the whole pipeline.
//!
//! `RUST_LOG` (EnvFilter syntax) is read with the environment, below the
//! `FAPILOG_*` variables; per-target overrides turn the level filter on by
//! themselves and the caller-side gate follows the lowest level enabled.

use std::process::Command;
use std::time::Duration;

use fapilog::settings::Settings;
use fapilog::testing::{CaptureSink, Captured};
use fapilog::{Level, Pipeline};

const LONG: Duration = Duration::from_secs(30);

fn pipeline(vars: &[(&str, &str)]) -> (Pipeline, Captured) {
    let s = Settings::from_env_vars(vars.iter().copied()).expect("valid variables");
    let (sink, captured) = CaptureSink::new();
    let p = Pipeline::builder().settings(s).sink(sink).build().unwrap();
    (p, captured)
}

fn log_everywhere(p: &Pipeline) {
    for name in [
        "my_crate::db",
        "my_crate::db::pool",
        "my_crate.db",
        "other",
        "app.db",
    ] {
        let log = p.logger(name);
        fapilog::trace!(log, "trace", at = name);
        fapilog::debug!(log, "debug", at = name);
        fapilog::info!(log, "info", at = name);
    }
    p.flush(LONG).unwrap();
}

fn seen(c: &Captured) -> Vec<String> {
    c.envelopes()
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["log"]["data"]["at"].as_str().unwrap(),
                e["log"]["message"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn rust_log_targets_lower_the_gate_for_those_targets_only() {
    let (p, c) = pipeline(&[("RUST_LOG", "info,my_crate::db=debug")]);
    assert!(
        p.logger("anything").enabled(Level::DEBUG),
        "the gate follows the lowest directive"
    );
    log_everywhere(&p);
    assert_eq!(
        seen(&c),
        [
            "my_crate::db debug",
            "my_crate::db info",
            "my_crate::db::pool debug",
            "my_crate::db::pool info",
            "my_crate.db debug",
            "my_crate.db info",
            "other info",
            "app.db info",
        ]
    );
}

#[test]
fn a_bare_rust_log_level_sets_the_global_level() {
    let (p, c) = pipeline(&[("RUST_LOG", "debug")]);
    log_everywhere(&p);
    assert_eq!(c.messages().iter().filter(|m| *m == "debug").count(), 5);
    assert!(!c.messages().contains(&"trace".to_owned()));
}

#[test]
fn fapilog_variables_outrank_rust_log() {
    let (p, c) = pipeline(&[
        ("RUST_LOG", "debug"),
        ("FAPILOG_CORE__LOG_LEVEL", "WARNING"),
    ]);
    log_everywhere(&p);
    assert!(c.messages().is_empty(), "{:?}", c.messages());

    let (p, c) = pipeline(&[
        ("RUST_LOG", "info,my_crate=trace"),
        ("FAPILOG_FILTER_CONFIG__LEVEL__OVERRIDES", "app.db=debug"),
    ]);
    log_everywhere(&p);
    let s = seen(&c);
    assert!(s.contains(&"app.db debug".to_owned()), "{s:?}");
    assert!(
        !s.iter()
            .any(|l| l.starts_with("my_crate") && !l.ends_with("info")),
        "{s:?}"
    );
}

#[test]
fn overrides_alone_turn_the_level_filter_on() {
    let (p, c) = pipeline(&[(
        "FAPILOG_FILTER_CONFIG__LEVEL__OVERRIDES",
        "app.db=debug,my_crate=trace",
    )]);
    assert!(p.levels().is_some(), "the level filter is installed");
    log_everywhere(&p);
    let s = seen(&c);
    for want in [
        "app.db debug",
        "my_crate::db trace",
        "my_crate.db trace",
        "other info",
    ] {
        assert!(s.contains(&want.to_owned()), "{want} missing from {s:?}");
    }
    assert!(!s.contains(&"other debug".to_owned()), "{s:?}");
}

#[test]
fn overrides_keep_core_log_level_as_the_global_minimum() {
    let (p, c) = pipeline(&[
        ("FAPILOG_CORE__LOG_LEVEL", "DEBUG"),
        ("FAPILOG_FILTER_CONFIG__LEVEL__OVERRIDES", "app.db=error"),
    ]);
    log_everywhere(&p);
    let s = seen(&c);
    assert!(s.contains(&"other debug".to_owned()), "{s:?}");
    assert!(!s.iter().any(|l| l.starts_with("app.db")), "{s:?}");
}

#[test]
fn off_silences_a_target_and_bad_levels_fail() {
    let (p, c) = pipeline(&[("RUST_LOG", "info,other=off")]);
    log_everywhere(&p);
    assert!(!seen(&c).iter().any(|l| l.starts_with("other")));
    let e = Settings::from_env_vars([("RUST_LOG", "info,my_crate=verbose")])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("RUST_LOG") && e.contains("my_crate=verbose"),
        "{e}"
    );
}

/// `fapilog::init()` in a child process with `RUST_LOG=debug` and nothing else.
#[test]
fn init_reads_rust_log() {
    if std::env::var_os("RUST_LOG_TEST_CHILD").is_some() {
        let _guard = fapilog::init().expect("init");
        fapilog::debug!("debug from init", n = 1);
        fapilog::trace!("trace from init");
        return;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "init_reads_rust_log",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env_clear()
        .env("RUST_LOG_TEST_CHILD", "1")
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains(r#""message":"debug from init""#), "{text}");
    assert!(!text.contains("trace from init"), "{text}");
}
