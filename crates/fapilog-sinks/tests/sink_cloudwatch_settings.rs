//! The CloudWatch Logs sink opened from fapilog's `FAPILOG_CLOUDWATCH__*`
//! variables through `fapilog_sinks::factory()`. Its own test binary: the
//! credentials come from the process's `AWS_*` variables, set here once.
#![cfg(feature = "cloudwatch")]

mod common;
#[path = "common/cloudwatch.rs"]
mod moto;

use std::time::Duration;

use fapilog::{Pipeline, Settings};
use moto::Moto;

const SECRET: &str = "settings-test-secret-key";

fn aws_env() {
    // Only this binary's tests run in this process, and all set the same values.
    std::env::set_var("AWS_ACCESS_KEY_ID", "AKIDSETTINGS");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", SECRET);
}

fn build(vars: &[(&str, &str)]) -> Result<Pipeline, fapilog::Error> {
    let settings = Settings::from_env_vars(vars.iter().copied())?;
    Pipeline::builder()
        .settings(settings)
        .sink_factory(fapilog_sinks::factory())
        .build()
}

#[test]
fn core_sinks_cloudwatch_opens_the_sink_from_fapilogs_variables() {
    aws_env();
    let moto = Moto::start();
    let url = moto.url();
    let p = build(&[
        ("FAPILOG_CORE__SINKS", "cloudwatch"),
        ("FAPILOG_CLOUDWATCH__ENDPOINT_URL", &url),
        ("FAPILOG_CLOUDWATCH__REGION", "us-east-1"),
        ("FAPILOG_CLOUDWATCH__LOG_GROUP_NAME", "/test/settings"),
        ("FAPILOG_CLOUDWATCH__LOG_STREAM_NAME", "from-env"),
        ("FAPILOG_CLOUDWATCH__MAX_RETRIES", "4"),
        ("FAPILOG_CLOUDWATCH__RETRY_BASE_DELAY", "0.05"),
        ("FAPILOG_CLOUDWATCH__CIRCUIT_BREAKER_THRESHOLD", "7"),
    ])
    .unwrap();
    let log = p.logger("app");
    for seq in 0..500u64 {
        fapilog::info!(log, "from settings", seq = seq);
    }
    let report = p.shutdown(Duration::from_secs(60));
    assert!(report.is_complete(), "{report:?}");
    let names: Vec<&str> = report.sinks.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["cloudwatch"]);
    let events = moto.events("/test/settings", "from-env");
    assert_eq!(events.len(), 500);
}

#[test]
fn a_bad_region_endpoint_or_group_fails_the_build_naming_key_and_value() {
    aws_env();
    for (key, value, named) in [
        (
            "FAPILOG_CLOUDWATCH__REGION",
            "moon-base",
            "sink_config.cloudwatch.region",
        ),
        (
            "FAPILOG_CLOUDWATCH__ENDPOINT_URL",
            "not a url",
            "sink_config.cloudwatch.endpoint_url",
        ),
        (
            "FAPILOG_CLOUDWATCH__LOG_GROUP_NAME",
            "bad group!",
            "sink_config.cloudwatch.log_group_name",
        ),
        (
            "FAPILOG_CLOUDWATCH__LOG_STREAM_NAME",
            "a*b",
            "sink_config.cloudwatch.log_stream_name",
        ),
    ] {
        let mut vars = vec![
            ("FAPILOG_CORE__SINKS", "cloudwatch"),
            ("FAPILOG_CLOUDWATCH__REGION", "us-east-1"),
        ];
        vars.retain(|(k, _)| *k != key);
        vars.push((key, value));
        let err = match build(&vars) {
            Ok(_) => panic!("{key}={value} must fail the build"),
            Err(e) => e,
        };
        let text = format!("{err} {:?}", std::error::Error::source(&err));
        assert!(text.contains("cloudwatch"), "{text}");
        assert!(text.contains(named) && text.contains(value), "{text}");
        assert!(!text.contains(SECRET), "{text}");
    }
}

#[test]
fn a_destination_that_is_down_does_not_fail_the_build() {
    aws_env();
    let port = common::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let p = build(&[
        ("FAPILOG_CORE__SINKS", "cloudwatch"),
        ("FAPILOG_CLOUDWATCH__ENDPOINT_URL", &url),
        ("FAPILOG_CLOUDWATCH__REGION", "eu-central-1"),
        ("FAPILOG_CLOUDWATCH__MAX_RETRIES", "1"),
    ])
    .unwrap();
    fapilog::info!(p.logger("app"), "lost, and counted");
    let report = p.shutdown(Duration::from_secs(30));
    let sink = &report.sinks[0];
    assert_eq!(sink.written, 0);
    assert_eq!(sink.diverted, 1, "{report:?}");
}
