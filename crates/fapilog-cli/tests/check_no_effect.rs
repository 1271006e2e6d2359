//! `fapilog check` flags settings that are valid but change nothing.

use std::process::Command;

fn check(env: &[(&str, &str)]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_fapilog"))
        .env_clear()
        .envs(env.iter().copied())
        .arg("check")
        .output()
        .expect("run fapilog");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn notes(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| l.starts_with("# no effect:"))
        .collect()
}

#[test]
fn options_of_a_filter_that_is_not_listed_are_flagged() {
    let text = check(&[("FAPILOG_FILTER_CONFIG__SAMPLING__SAMPLE_RATE", "0.1")]);
    assert_eq!(
        notes(&text),
        ["# no effect: filter_config.sampling.* is set, but core.filters does not list sampling"],
        "{text}"
    );
    let text = check(&[
        ("FAPILOG_FILTER_CONFIG__SAMPLING__SAMPLE_RATE", "0.1"),
        ("FAPILOG_CORE__FILTERS", "sampling"),
    ]);
    assert!(notes(&text).is_empty(), "{text}");
}

#[test]
fn level_overrides_alone_are_not_flagged_but_an_unused_min_level_is() {
    let text = check(&[("FAPILOG_FILTER_CONFIG__LEVEL__OVERRIDES", "app.db=debug")]);
    assert!(notes(&text).is_empty(), "{text}");
    let text = check(&[("FAPILOG_FILTER_CONFIG__LEVEL__MIN_LEVEL", "ERROR")]);
    assert_eq!(notes(&text).len(), 1, "{text}");
    assert!(
        notes(&text)[0].contains("filter_config.level.min_level"),
        "{text}"
    );
    let text = check(&[
        ("FAPILOG_CORE__FILTERS", "level"),
        ("FAPILOG_CORE__LOG_LEVEL", "DEBUG"),
    ]);
    assert!(notes(&text)[0].contains("core.log_level (DEBUG)"), "{text}");
}

#[test]
fn rust_log_is_shown_with_its_origin_and_span_directives_are_flagged() {
    let text = check(&[("RUST_LOG", "warn,my_crate[req{id=1}]=debug")]);
    assert!(text.contains("FAPILOG_CORE__LOG_LEVEL=WARNING"), "{text}");
    assert!(text.contains("RUST_LOG"), "{text}");
    assert_eq!(notes(&text).len(), 1, "{text}");
    assert!(
        notes(&text)[0].contains("my_crate[req{id=1}]=debug"),
        "{text}"
    );
}
