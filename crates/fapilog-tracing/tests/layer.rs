//! The layer: events, spans as context, filters, level and name mapping.

use fapilog::testing::LogCapture;
use fapilog::{context, FieldValue};
use fapilog_tracing::{FapilogLayer, LogEvents, LoggerName, TraceLevel};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Registry};

fn subscriber(layer: FapilogLayer) -> impl tracing::Subscriber + Send + Sync {
    Registry::default().with(layer)
}

#[test]
fn event_fields_become_data_and_context() {
    let capture = LogCapture::new();
    let sub = subscriber(FapilogLayer::new(capture.logger("app")));
    tracing::subscriber::with_default(sub, || {
        let err = std::io::Error::other("disk full");
        tracing::info!(
            user_id = 42,
            path = "/login",
            ok = true,
            latency = 1.5,
            big = 1u128 << 100,
            dbg = ?vec![1, 2],
            shown = %"text",
            "user {} logged in", "bob"
        );
        tracing::error!(
            error = &err as &(dyn std::error::Error + 'static),
            "write failed"
        );
    });
    let line = capture.assert_logged("user bob logged in");
    line.assert_field("level", "INFO")
        .assert_field("logger", "layer")
        .assert_field("context.user_id", "42")
        .assert_field("data.path", "/login")
        .assert_field("data.ok", true)
        .assert_field("data.latency", 1.5)
        .assert_field("data.big", (1u128 << 100).to_string())
        .assert_field("data.dbg", "[1, 2]")
        .assert_field("data.shown", "text")
        .assert_absent("data.span_path")
        .assert_absent("data.message");
    let line = capture.assert_logged("write failed");
    line.assert_field("level", "ERROR")
        .assert_field("diagnostics.exception.error.message", "disk full");
}

#[test]
fn spans_become_context_with_path_and_late_records() {
    let capture = LogCapture::new();
    let sub = subscriber(FapilogLayer::new(capture.logger("app")));
    tracing::subscriber::with_default(sub, || {
        let outer = tracing::info_span!(
            "request",
            request_id = "req-1",
            tenant_id = "acme",
            route = "/orders",
            user_id = tracing::field::Empty
        );
        let _o = outer.enter();
        tracing::info!("before auth");
        outer.record("user_id", "u-7");
        let inner = tracing::debug_span!("db", table = "orders", route = "/inner");
        inner.in_scope(|| tracing::info!(rows = 3, "query"));
        tracing::info!("after");
    });
    capture.assert_count(3);
    capture
        .assert_logged("before auth")
        .assert_field("context.request_id", "req-1")
        // fapilog's rule: only a request scope's `correlation_id` sets it.
        .assert_field("context.correlation_id", serde_json::Value::Null)
        .assert_field("context.tenant_id", "acme")
        .assert_field("data.route", "/orders")
        .assert_field("data.span_path", "request")
        .assert_absent("context.user_id");
    capture
        .assert_logged("query")
        .assert_field("context.request_id", "req-1")
        .assert_field("context.user_id", "u-7")
        .assert_field("data.table", "orders")
        .assert_field("data.route", "/inner")
        .assert_field("data.rows", 3)
        .assert_field("data.span_path", "request:db");
    capture
        .assert_logged("after")
        .assert_field("context.user_id", "u-7")
        .assert_field("data.span_path", "request")
        .assert_absent("data.table");
}

#[test]
fn span_fields_layer_over_the_bound_context() {
    let capture = LogCapture::new();
    let sub = subscriber(FapilogLayer::new(capture.logger("app")));
    tracing::subscriber::with_default(sub, || {
        let span = tracing::info_span!("job", user_id = 9);
        let _e = span.enter();
        {
            let _g = context::bind(&[
                ("request_id", FieldValue::Str("bound-1")),
                ("user_id", FieldValue::I64(1)),
            ]);
            tracing::info!("one");
        }
        let _g = context::bind(&[("request_id", FieldValue::Str("bound-2"))]);
        tracing::info!("two");
    });
    capture
        .assert_logged("one")
        .assert_field("context.request_id", "bound-1")
        .assert_field("context.user_id", "9");
    capture
        .assert_logged("two")
        .assert_field("context.request_id", "bound-2")
        .assert_field("context.user_id", "9");
}

#[test]
fn events_without_spans_keep_the_bound_context() {
    let capture = LogCapture::new();
    let sub = subscriber(FapilogLayer::new(capture.logger("app")));
    tracing::subscriber::with_default(sub, || {
        let _g = context::bind(&[("request_id", FieldValue::Str("r-9"))]);
        tracing::warn!("plain");
    });
    capture
        .assert_logged("plain")
        .assert_field("level", "WARNING")
        .assert_field("context.request_id", "r-9");
}

#[test]
fn explicit_parent_spans_apply() {
    let capture = LogCapture::new();
    let sub = subscriber(FapilogLayer::new(capture.logger("app")));
    tracing::subscriber::with_default(sub, || {
        let span = tracing::info_span!("detached", request_id = "d-1");
        tracing::info!(parent: &span, "explicit");
        tracing::info!("outside");
    });
    capture
        .assert_logged("explicit")
        .assert_field("context.request_id", "d-1");
    capture
        .assert_logged("outside")
        .assert_field("context.correlation_id", serde_json::Value::Null);
}

#[test]
fn env_filter_composes() {
    let capture = LogCapture::new();
    let sub = Registry::default()
        .with(EnvFilter::new("warn,layer::chatty=trace"))
        .with(FapilogLayer::new(capture.logger("app")));
    tracing::subscriber::with_default(sub, || {
        tracing::info!("filtered out");
        tracing::warn!("kept warning");
        tracing::trace!(target: "layer::chatty", "kept trace");
        tracing::debug!(target: "other", "filtered debug");
    });
    assert_eq!(capture.messages(), ["kept warning", "kept trace"]);
    capture
        .assert_logged("kept trace")
        .assert_field("level", "DEBUG")
        .assert_field("logger", "layer::chatty");
}

#[test]
fn trace_level_and_logger_name_options() {
    let capture =
        LogCapture::with_builder(fapilog::Pipeline::builder().include_location(true)).unwrap();
    let layer = FapilogLayer::new(capture.logger("fixed"))
        .logger_name(LoggerName::Logger)
        .without_span_path()
        .with_file_and_line();
    tracing::subscriber::with_default(subscriber(layer), || {
        let span = tracing::info_span!("s");
        let _e = span.enter();
        tracing::trace!(target: "somewhere", "fine detail");
    });
    let line = capture.assert_logged("fine detail");
    line.assert_field("level", "DEBUG")
        .assert_field("logger", "fixed")
        .assert_absent("data.span_path");
    line.assert_field(
        "diagnostics.location.file",
        "crates/fapilog-tracing/tests/layer.rs",
    );
}

#[test]
fn trace_as_debug_passes_a_debug_gate_and_as_trace_does_not() {
    for (mapping, expected) in [
        (TraceLevel::AsDebug, vec!["fine"]),
        (TraceLevel::AsTrace, vec![]),
    ] {
        let capture = LogCapture::new();
        capture.pipeline().set_level(fapilog::Level::DEBUG);
        let layer = FapilogLayer::new(capture.logger("a")).trace_level(mapping);
        tracing::subscriber::with_default(subscriber(layer), || tracing::trace!("fine"));
        assert_eq!(capture.messages(), expected, "{mapping:?}");
    }
}

#[test]
fn pipeline_level_gates_events() {
    let capture = LogCapture::new();
    capture.pipeline().set_level(fapilog::Level::WARNING);
    tracing::subscriber::with_default(subscriber(FapilogLayer::new(capture.logger("a"))), || {
        tracing::info!("below");
        tracing::error!("above");
    });
    assert_eq!(capture.messages(), ["above"]);
}

#[test]
fn tracing_log_events_are_named_after_the_log_target_or_ignored() {
    let record = log::Record::builder()
        .level(log::Level::Info)
        .target("legacy::db")
        .file(Some("legacy.rs"))
        .line(Some(3))
        .args(format_args!("from log"))
        .build();

    let capture = LogCapture::new();
    tracing::subscriber::with_default(subscriber(FapilogLayer::new(capture.logger("a"))), || {
        tracing_log::format_trace(&record).expect("format_trace");
    });
    capture
        .assert_logged("from log")
        .assert_field("logger", "legacy::db")
        .assert_absent("data.log.target")
        .assert_absent("data.log.line");
    let raw = &capture.flushed().lines()[0];
    assert!(!raw.contains("log.target"), "{raw}");

    let ignored = LogCapture::new();
    let layer = FapilogLayer::new(ignored.logger("a")).log_events(LogEvents::Ignore);
    tracing::subscriber::with_default(subscriber(layer), || {
        tracing_log::format_trace(&record).expect("format_trace");
        tracing::info!("native");
    });
    assert_eq!(ignored.messages(), ["native"]);
}

#[test]
fn threads_never_mix_span_contexts() {
    let capture = LogCapture::new();
    let sub = subscriber(FapilogLayer::new(capture.logger("app")));
    let dispatch = tracing::Dispatch::new(sub);
    std::thread::scope(|s| {
        for t in 0..4 {
            let dispatch = dispatch.clone();
            s.spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || {
                    for i in 0..50 {
                        let id = format!("t{t}-{i}");
                        let span = tracing::info_span!("req", request_id = id.as_str());
                        let _e = span.enter();
                        tracing::info!(expect = id.as_str(), "tick");
                    }
                });
            });
        }
    });
    let lines = capture.find_all("tick");
    assert_eq!(lines.len(), 200);
    for l in lines {
        assert_eq!(
            l.get("context.request_id"),
            l.get("data.expect"),
            "{:?}",
            l.0
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instrumented_futures_carry_span_context() {
    use tracing::Instrument;
    let capture = LogCapture::new();
    let dispatch = tracing::Dispatch::new(subscriber(FapilogLayer::new(capture.logger("app"))));
    let _g = tracing::dispatcher::set_default(&dispatch);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let id = format!("task-{i}");
        let span = tracing::info_span!("task", request_id = id.as_str());
        let dispatch = dispatch.clone();
        tasks.push(tokio::spawn(
            async move {
                tokio::task::yield_now().await;
                tracing::info!(expect = id.as_str(), "in task");
            }
            .instrument(span)
            .with_subscriber_compat(dispatch),
        ));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let lines = capture.find_all("in task");
    assert_eq!(lines.len(), 8);
    for l in lines {
        assert_eq!(l.get("context.request_id"), l.get("data.expect"));
    }
}

/// `tracing::instrument::WithSubscriber` without importing its trait name twice.
trait WithSubscriberCompat: Sized {
    fn with_subscriber_compat(
        self,
        d: tracing::Dispatch,
    ) -> tracing::instrument::WithDispatch<Self>;
}

impl<F: std::future::Future> WithSubscriberCompat for F {
    fn with_subscriber_compat(
        self,
        d: tracing::Dispatch,
    ) -> tracing::instrument::WithDispatch<Self> {
        tracing::instrument::WithSubscriber::with_subscriber(self, d)
    }
}

#[test]
fn a_value_recorded_on_a_parent_reaches_children_made_before_it() {
    let capture = LogCapture::new();
    let sub = subscriber(FapilogLayer::new(capture.logger("app")));
    tracing::subscriber::with_default(sub, || {
        let outer = tracing::info_span!("req", user_id = tracing::field::Empty);
        let _o = outer.enter();
        let inner = tracing::info_span!("step");
        let _i = inner.enter();
        tracing::info!("first");
        outer.record("user_id", "u-late");
        tracing::info!("second");
    });
    capture
        .assert_logged("first")
        .assert_absent("context.user_id");
    capture
        .assert_logged("second")
        .assert_field("context.user_id", "u-late")
        .assert_field("data.span_path", "req:step");
}
