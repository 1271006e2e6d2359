//! The `log` bridge, called directly (no global logger installed here).

use fapilog::testing::LogCapture;
use fapilog_tracing::{LogBridge, TraceLevel};
use log::Log as _;

fn record<'a>(
    level: log::Level,
    target: &'a str,
    args: std::fmt::Arguments<'a>,
    kvs: &'a dyn log::kv::Source,
) -> log::Record<'a> {
    log::Record::builder()
        .level(level)
        .target(target)
        .file_static(Some("src/legacy.rs"))
        .line(Some(12))
        .module_path_static(Some("legacy"))
        .args(args)
        .key_values(kvs)
        .build()
}

#[test]
fn records_and_key_values_reach_the_pipeline() {
    let capture = LogCapture::new();
    let bridge = LogBridge::new(capture.logger("app"));
    let kvs: &[(&str, log::kv::Value<'_>)] = &[
        ("request_id", log::kv::Value::from("req-5")),
        ("attempt", log::kv::Value::from(2u64)),
        ("delta", log::kv::Value::from(-3i64)),
        ("ratio", log::kv::Value::from(0.5f64)),
        ("ok", log::kv::Value::from(false)),
        ("who", log::kv::Value::from_display(&"shown")),
    ];
    bridge.log(&record(
        log::Level::Warn,
        "legacy::db",
        format_args!("retry {}", 2),
        &kvs,
    ));
    let none: &[(&str, i32)] = &[];
    bridge.log(&record(
        log::Level::Trace,
        "legacy",
        format_args!("fine"),
        &none,
    ));
    let line = capture.assert_logged("retry 2");
    line.assert_field("level", "WARNING")
        .assert_field("logger", "legacy::db")
        .assert_field("context.request_id", "req-5")
        .assert_field("data.attempt", 2)
        .assert_field("data.delta", -3)
        .assert_field("data.ratio", 0.5)
        .assert_field("data.ok", false)
        .assert_field("data.who", "shown");
    capture.assert_logged("fine").assert_field("level", "DEBUG");
}

#[test]
fn level_options_and_gates() {
    let capture =
        LogCapture::with_builder(fapilog::Pipeline::builder().include_location(true)).unwrap();
    let bridge = LogBridge::new(capture.logger("app"))
        .trace_level(TraceLevel::AsTrace)
        .max_level(log::LevelFilter::Debug)
        .with_file_and_line();
    let meta = |l| log::Metadata::builder().level(l).target("x").build();
    assert!(bridge.enabled(&meta(log::Level::Debug)));
    assert!(!bridge.enabled(&meta(log::Level::Trace)));
    let none: &[(&str, i32)] = &[];
    bridge.log(&record(
        log::Level::Trace,
        "t",
        format_args!("too fine"),
        &none,
    ));
    bridge.log(&record(
        log::Level::Error,
        "t",
        format_args!("broken"),
        &none,
    ));
    assert_eq!(capture.messages(), ["broken"]);
    capture
        .assert_logged("broken")
        .assert_field("diagnostics.location.file", "src/legacy.rs")
        .assert_field("diagnostics.location.line", 12);

    capture.pipeline().set_level(fapilog::Level::CRITICAL);
    assert!(!bridge.enabled(&meta(log::Level::Error)));
}

#[test]
fn tracing_span_lifecycle_records_are_skipped() {
    let capture = LogCapture::new();
    let bridge = LogBridge::new(capture.logger("app"));
    let none: &[(&str, i32)] = &[];
    bridge.log(&record(
        log::Level::Trace,
        "tracing::span",
        format_args!("-> s"),
        &none,
    ));
    bridge.log(&record(
        log::Level::Info,
        "app",
        format_args!("real"),
        &none,
    ));
    assert_eq!(capture.messages(), ["real"]);
}
