//! The OTLP logs sink against a receiver that decodes with the official
//! OpenTelemetry classes: the log data model as the collector sees it,
//! thousands of events once and in order, a collector down at start or
//! going down mid-run, the OTLP retry rules (429/502/503/504 retried with
//! `Retry-After`, other statuses refused, partial success counted and not
//! retried), request splitting, and the driver's drops, retries and
//! breaker as the metrics show them.
//!
//! No OpenTelemetry Collector can be installed on this machine (no
//! Debian, PyPI or npm package ships one with an OTLP receiver): each test
//! starts `tests/otlp_receiver.py` (PyPI `opentelemetry-proto` +
//! `protobuf`, installed by `./scripts/test`) on a port of its own, so the
//! tests run in parallel. Without that Python the tests fail, saying to
//! run `./scripts/test`.
#![cfg(feature = "otlp")]

mod common;
#[path = "common/otlp.rs"]
mod otlp;

use std::collections::HashSet;
use std::time::Duration;

use common::{sink_metrics, wait_until};
use fapilog::sinks::{BreakerPolicy, DivertReason, RetryPolicy, SinkHealth, SinkOptions, WhenFull};
use fapilog::stages::{ManualClock, StageClock};
use fapilog::testing::CaptureSink;
use fapilog::{FieldValue, Format, Pipeline, Settings};
use fapilog_sinks::{Compression, OtlpProtocol, OtlpSink};
use otlp::{attr, build, log_seq, partial, retry_after, seqs, status, Receiver};
use serde_json::{json, Value};

const LONG: Duration = Duration::from_secs(60);

/// Retries that wait for a collector to come back, without a breaker.
fn patient() -> SinkOptions {
    SinkOptions::new()
        .retry(
            RetryPolicy::default()
                .max_attempts(100_000)
                .initial(Duration::from_millis(20))
                .max_delay(Duration::from_millis(200))
                .max_elapsed(Duration::from_secs(120)),
        )
        .breaker(BreakerPolicy::off())
}

/// Milliseconds since the epoch of an RFC 3339 `…T…Z` timestamp.
fn rfc3339_ms(ts: &str) -> i64 {
    let n = |r: std::ops::Range<usize>| ts[r].parse::<i64>().unwrap();
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    let (hh, mm, ss) = (n(11..13), n(14..16), n(17..19));
    let ms = if ts.as_bytes()[19] == b'.' {
        n(20..23)
    } else {
        0
    };
    // Days from the civil date (H. Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    ((days * 86_400 + hh * 3600 + mm * 60 + ss) * 1000) + ms
}

#[test]
fn records_follow_the_opentelemetry_log_data_model() {
    let rx = Receiver::start(&[]);
    let (capture, captured) = CaptureSink::named("capture", Format::Json);
    let sink = OtlpSink::builder(rx.endpoint())
        .bearer("tok-123")
        .header("x-tenant", "acme")
        .resource_attribute("service.namespace", "shop");
    let settings = Settings::from_env_vars([
        ("FAPILOG_SERVICE", "checkout"),
        ("FAPILOG_ENV", "prod"),
        ("FAPILOG_CORE__LOG_LEVEL", "DEBUG"),
    ])
    .unwrap();
    let p = Pipeline::builder()
        .settings(settings)
        .sink(build(sink))
        .sink(capture)
        .build()
        .unwrap();
    let log = p.logger("shop.cart");
    let traced = log.bind(&[
        ("trace_id", "0af7651916cd43dd8448eb211c80319c".into()),
        ("span_id", "b7ad6b7169203331".into()),
        ("request_id", "req-9".into()),
    ]);
    let odd = log.bind(&[("trace_id", "t-1".into()), ("span_id", "s-1".into())]);
    let cart = json!({"items": [1, "two"], "total": 9.5});
    log.debug("debugging", &[]);
    traced.info(
        "order placed",
        &[
            ("order_id", FieldValue::I64(7)),
            ("ratio", FieldValue::F64(0.5)),
            ("paid", FieldValue::Bool(true)),
            ("cart", FieldValue::Json(&cart)),
        ],
    );
    odd.warning("slow", &[]);
    log.error("failed", &[]);
    log.critical("down", &[]);
    p.flush(LONG).unwrap();
    assert!(rx.wait_records(5, LONG));
    let records = rx.records();
    assert_eq!(records.len(), 5, "{records:#?}");

    let levels: Vec<(i64, &str, &str)> = records
        .iter()
        .map(|r| {
            (
                r["severity_number"].as_i64().unwrap(),
                r["severity_text"].as_str().unwrap(),
                r["body"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        levels,
        [
            (5, "DEBUG", "debugging"),
            (9, "INFO", "order placed"),
            (13, "WARNING", "slow"),
            (17, "ERROR", "failed"),
            (21, "CRITICAL", "down"),
        ]
    );
    // The event's own time (to the envelope's millisecond), not the send time.
    let envelopes: Vec<Value> = captured
        .lines()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (r, e) in records.iter().zip(&envelopes) {
        let t = r["time_unix_nano"].as_u64().unwrap();
        let observed = r["observed_time_unix_nano"].as_u64().unwrap();
        let ts = e["log"]["timestamp"].as_str().unwrap();
        assert_eq!((t / 1_000_000) as i64, rfc3339_ms(ts), "{ts}");
        assert!(observed >= t);
        assert_eq!(
            attr(r, "message_id"),
            &e["log"]["context"]["message_id"],
            "the envelope's message_id is an attribute"
        );
        assert_eq!(r["scope"], "fapilog");
        assert_eq!(r["resource"]["service.name"], "checkout");
        assert_eq!(r["resource"]["deployment.environment"], "prod");
        assert_eq!(r["resource"]["service.namespace"], "shop");
        assert_eq!(
            r["resource"]["process.pid"].as_u64(),
            Some(u64::from(std::process::id()))
        );
        assert!(r["resource"]["host.name"].is_string());
        assert_eq!(attr(r, "logger.name"), "shop.cart");
    }
    let order = &records[1];
    assert_eq!(order["trace_id"], "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(order["span_id"], "b7ad6b7169203331");
    assert!(
        attr(order, "trace_id").is_null(),
        "valid ids are not attributes"
    );
    assert_eq!(attr(order, "request_id"), "req-9");
    assert_eq!(attr(order, "order_id"), 7);
    assert_eq!(attr(order, "ratio"), &json!({"double": 0.5}));
    assert_eq!(attr(order, "paid"), true);
    assert_eq!(
        attr(order, "cart"),
        &json!({"items": [1, "two"], "total": {"double": 9.5}})
    );
    let slow = &records[2];
    assert_eq!(slow["trace_id"], "", "t-1 is no trace id");
    assert_eq!(slow["span_id"], "");
    assert_eq!(attr(slow, "trace_id"), "t-1");
    assert_eq!(attr(slow, "span_id"), "s-1");

    let req = &rx.requests()[0];
    assert_eq!(req["path"], "/v1/logs");
    assert_eq!(req["headers"]["content-type"], "application/x-protobuf");
    assert_eq!(req["headers"]["content-encoding"], "gzip");
    assert_eq!(req["headers"]["authorization"], "Bearer tok-123");
    assert_eq!(req["headers"]["x-tenant"], "acme");
    assert!(p.shutdown(LONG).is_complete());
}

#[test]
fn thousands_of_events_arrive_once_and_in_order() {
    let rx = Receiver::start(&[]);
    let p = Pipeline::builder()
        .sink(build(OtlpSink::builder(rx.endpoint())))
        .build()
        .unwrap();
    log_seq(&p, 0..5000);
    p.flush(LONG).unwrap();
    assert!(rx.wait_records(5000, LONG));
    let records = rx.records();
    assert_eq!(seqs(&records), (0..5000).collect::<Vec<_>>());
    let ids: HashSet<&str> = records
        .iter()
        .map(|r| attr(r, "message_id").as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 5000, "no duplicate message_id");
    let report = p.shutdown(LONG);
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(sink_metrics(&p, "otlp").written, 5000);
}

#[test]
fn a_collector_down_at_start_loses_nothing_with_block() {
    let mut rx = Receiver::reserve();
    let p = Pipeline::builder()
        .sink_with(
            build(OtlpSink::builder(rx.endpoint())),
            patient().when_full(WhenFull::Block),
        )
        .build()
        .expect("a collector that is down does not fail the build");
    otlp::down_at_start_loses_nothing(&mut rx, &p);
}

#[test]
fn a_collector_that_goes_down_mid_run_and_comes_back_loses_nothing() {
    let mut rx = Receiver::start(&[]);
    let p = Pipeline::builder()
        .sink_with(
            build(OtlpSink::builder(rx.endpoint())),
            patient().when_full(WhenFull::Block),
        )
        .build()
        .unwrap();
    otlp::down_mid_run_loses_nothing(&mut rx, &p);
}

#[test]
fn with_drop_newest_every_loss_is_counted() {
    let mut rx = Receiver::reserve();
    // A second sink, so the OTLP sink's own `when_full` applies (a sole
    // sink always blocks) and so we know when every batch was handed out.
    let (capture, captured) = CaptureSink::named("capture", Format::Json);
    let p = Pipeline::builder()
        .batch_max_events(100)
        .sink_with(
            build(OtlpSink::builder(rx.endpoint())),
            patient().when_full(WhenFull::DropNewest).buffer_batches(1),
        )
        .sink(capture)
        .build()
        .unwrap();
    log_seq(&p, 0..100);
    assert!(wait_until(LONG, || sink_metrics(&p, "otlp").retries >= 1));
    log_seq(&p, 100..1000);
    assert!(wait_until(LONG, || captured.lines().len() == 1000));
    let dropped = sink_metrics(&p, "otlp").dropped_total();
    assert!(
        dropped >= 700,
        "the collector is down: the buffer holds one batch, {dropped}"
    );
    rx.restart(&[]);
    p.flush(LONG).unwrap();
    let got = seqs(&rx.records());
    // The INFO drops are the test's events; the in-band `logs dropped`
    // event (a WARNING) may be dropped too.
    let m = sink_metrics(&p, "otlp");
    let info_dropped: u64 = m
        .dropped
        .iter()
        .filter(|(level, _, _)| *level == "INFO")
        .map(|(_, _, n)| n)
        .sum();
    assert_eq!(
        got.len() as u64 + info_dropped,
        1000,
        "every event delivered or counted"
    );
    assert!(
        got.windows(2).all(|w| w[0] < w[1]),
        "in order, no duplicate"
    );
    assert_eq!(&got[..100], &(0..100).collect::<Vec<_>>()[..]);
    let report = p.shutdown(LONG);
    let otlp = report.sinks.iter().find(|s| s.name == "otlp").unwrap();
    assert_eq!(otlp.dropped, sink_metrics(&p, "otlp").dropped_total());
}

#[test]
fn a_429_with_retry_after_is_waited_out_and_resends_the_same_bytes() {
    let rx = Receiver::start(&[retry_after(429, "3")]);
    let clock = ManualClock::new();
    let p = Pipeline::builder()
        .sink_clock(clock.clone())
        .sink_with(
            build(OtlpSink::builder(rx.endpoint())),
            SinkOptions::new().retry(RetryPolicy::default().initial(Duration::from_millis(1))),
        )
        .build()
        .unwrap();
    log_seq(&p, 0..10);
    p.flush(LONG).unwrap();
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 2, "{reqs:#?}");
    assert_eq!(reqs[0]["status"], 429);
    assert_eq!(reqs[1]["status"], 200);
    assert_eq!(
        reqs[0]["sha256"], reqs[1]["sha256"],
        "the same bytes resent"
    );
    assert!(
        clock.now() >= Duration::from_secs(3),
        "Retry-After honoured"
    );
    assert_eq!(seqs(&rx.records()), (0..10).collect::<Vec<_>>());
    assert_eq!(sink_metrics(&p, "otlp").retries, 1);
}

#[test]
fn only_502_503_and_504_are_retried_among_server_errors() {
    let rx = Receiver::start(&[status(502), status(503), status(504), status(500)]);
    let clock = ManualClock::new();
    let p = Pipeline::builder()
        .batch_max_events(5)
        .sink_clock(clock)
        .sink_with(build(OtlpSink::builder(rx.endpoint())), SinkOptions::new())
        .build()
        .unwrap();
    log_seq(&p, 0..5);
    p.flush(LONG).unwrap();
    log_seq(&p, 5..10);
    p.flush(LONG).unwrap();
    log_seq(&p, 10..15);
    p.flush(LONG).unwrap();
    let statuses: Vec<u64> = rx
        .requests()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    // The fourth attempt of the first batch gets the 500: refused at once.
    assert_eq!(statuses, [502, 503, 504, 500, 200, 200]);
    assert_eq!(seqs(&rx.records()), (5..15).collect::<Vec<_>>());
    let m = sink_metrics(&p, "otlp");
    assert_eq!(m.retries, 3);
    assert_eq!(
        m.diverted_for(DivertReason::Rejected),
        5,
        "500 is refused, not retried"
    );
}

#[test]
fn a_400_or_413_refuses_the_request_at_once() {
    let rx = Receiver::start(&[json!({"status": 400, "body": "bad request"}), status(413)]);
    let p = Pipeline::builder()
        .batch_max_events(5)
        .sink_with(build(OtlpSink::builder(rx.endpoint())), SinkOptions::new())
        .build()
        .unwrap();
    for k in 0..3 {
        log_seq(&p, k * 5..k * 5 + 5);
        p.flush(LONG).unwrap();
    }
    let statuses: Vec<u64> = rx
        .requests()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [400, 413, 200], "never retried");
    assert_eq!(seqs(&rx.records()), [10, 11, 12, 13, 14]);
    let m = sink_metrics(&p, "otlp");
    assert_eq!(m.retries, 0);
    assert_eq!(m.diverted_for(DivertReason::Rejected), 10);
    assert_eq!(m.written, 5);
}

#[test]
fn a_partial_success_is_counted_and_not_retried() {
    let rx = Receiver::start(&[partial(2, "2 records had invalid attributes")]);
    let p = Pipeline::builder()
        .batch_max_events(5)
        .sink_with(build(OtlpSink::builder(rx.endpoint())), SinkOptions::new())
        .build()
        .unwrap();
    log_seq(&p, 0..5);
    p.flush(LONG).unwrap();
    assert_eq!(rx.requests().len(), 1, "not retried");
    let m = sink_metrics(&p, "otlp");
    assert_eq!(m.retries, 0);
    assert_eq!(m.diverted_for(DivertReason::Rejected), 2);
    assert_eq!(m.written, 3);
}

#[test]
fn large_batches_are_split_under_the_cap_and_an_oversized_record_is_refused_alone() {
    let rx = Receiver::start(&[]);
    let p = Pipeline::builder()
        .sink(build(
            OtlpSink::builder(rx.endpoint()).max_request_bytes(4096),
        ))
        .build()
        .unwrap();
    let log = p.logger("big");
    let pad = "p".repeat(100);
    for i in 0..1000i64 {
        if i == 500 {
            log.info(&"x".repeat(8192), &[("seq", FieldValue::I64(-1))]);
        }
        log.info(
            "event",
            &[("seq", FieldValue::I64(i)), ("pad", FieldValue::Str(&pad))],
        );
    }
    p.flush(LONG).unwrap();
    let reqs = rx.requests();
    assert!(reqs.len() >= 40, "{} requests", reqs.len());
    for r in &reqs {
        assert!(r["raw_len"].as_u64().unwrap() <= 4096, "{}", r["raw_len"]);
    }
    assert_eq!(seqs(&rx.records()), (0..1000).collect::<Vec<_>>());
    let m = sink_metrics(&p, "otlp");
    assert_eq!(
        m.diverted_for(DivertReason::Rejected),
        1,
        "the 8 KiB record alone"
    );
    assert_eq!(m.written, 1000);
}

#[test]
fn the_breaker_opens_after_consecutive_failures_and_shows_in_the_metrics() {
    let rx = Receiver::start(&[status(503), status(503)]);
    let p = Pipeline::builder()
        .batch_max_events(1)
        .sink_with(
            build(OtlpSink::builder(rx.endpoint())),
            SinkOptions::new().retry(RetryPolicy::none()).breaker(
                BreakerPolicy::default()
                    .failure_threshold(2)
                    .cooldown(Duration::from_secs(3600)),
            ),
        )
        .build()
        .unwrap();
    for i in 0..6 {
        log_seq(&p, i..i + 1);
        p.flush(LONG).unwrap();
    }
    assert_eq!(
        rx.requests().len(),
        2,
        "no request while the breaker is open"
    );
    let m = sink_metrics(&p, "otlp");
    assert_eq!(m.breaker_opened, 1);
    assert_eq!(m.health, SinkHealth::Open);
    assert_eq!(m.errors, 2, "two failed requests");
    // The batch whose failure opened the breaker counts as diverted by it.
    assert_eq!(m.diverted_for(DivertReason::RetriesExhausted), 1);
    assert_eq!(m.diverted_for(DivertReason::BreakerOpen), 5);
    assert_eq!(m.written, 0);
}

#[test]
fn otlp_json_carries_the_same_records_and_its_partial_success_counts() {
    let rx = Receiver::start(&[partial(1, "one too old")]);
    let p = Pipeline::builder()
        .batch_max_events(3)
        .sink(build(
            OtlpSink::builder(rx.endpoint())
                .protocol(OtlpProtocol::HttpJson)
                .compression(Compression::None),
        ))
        .build()
        .unwrap();
    let log = p.logger("json").bind(&[
        ("trace_id", "0af7651916cd43dd8448eb211c80319c".into()),
        ("span_id", "b7ad6b7169203331".into()),
    ]);
    for i in 0..6i64 {
        log.error(
            "as json",
            &[
                ("seq", FieldValue::I64(i)),
                ("big", FieldValue::I64(i64::MAX)),
            ],
        );
    }
    p.flush(LONG).unwrap();
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 2, "{reqs:#?}");
    assert_eq!(reqs[0]["headers"]["content-type"], "application/json");
    let records = rx.records();
    assert_eq!(seqs(&records), (0..6).collect::<Vec<_>>());
    let r = &records[0];
    assert_eq!(r["severity_number"], 17);
    assert_eq!(r["body"], "as json");
    assert_eq!(r["trace_id"], "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(r["span_id"], "b7ad6b7169203331");
    assert_eq!(
        attr(r, "big"),
        i64::MAX,
        "64-bit integers survive as strings"
    );
    let m = sink_metrics(&p, "otlp");
    assert_eq!(
        m.diverted_for(DivertReason::Rejected),
        1,
        "the JSON partial success"
    );
    assert_eq!(m.written, 5);
    assert_eq!(m.retries, 0);
}

#[test]
fn a_request_without_an_answer_times_out_and_is_resent_unchanged() {
    let rx = Receiver::start(&[json!({ "hang": 5 })]);
    let clock = ManualClock::new();
    let p = Pipeline::builder()
        .sink_clock(clock)
        .sink_with(
            build(OtlpSink::builder(rx.endpoint()).timeout(Duration::from_millis(300))),
            SinkOptions::new(),
        )
        .build()
        .unwrap();
    log_seq(&p, 0..10);
    p.flush(LONG).unwrap();
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 2, "{reqs:#?}");
    assert_eq!(
        reqs[0]["status"], 0,
        "the first never got its answer in time"
    );
    assert_eq!(
        reqs[0]["sha256"], reqs[1]["sha256"],
        "the same bytes resent"
    );
    assert_eq!(seqs(&rx.records()), (0..10).collect::<Vec<_>>());
    let m = sink_metrics(&p, "otlp");
    assert_eq!(m.retries, 1);
    assert_eq!(m.written, 10);
}

#[test]
fn a_503_with_an_http_date_retry_after_is_waited_out() {
    let when = std::time::SystemTime::now() + Duration::from_secs(20);
    let rx = Receiver::start(&[retry_after(503, &httpdate::fmt_http_date(when))]);
    let clock = ManualClock::new();
    let p = Pipeline::builder()
        .sink_clock(clock.clone())
        .sink_with(
            build(OtlpSink::builder(rx.endpoint())),
            SinkOptions::new().retry(RetryPolicy::default().initial(Duration::from_millis(1))),
        )
        .build()
        .unwrap();
    log_seq(&p, 0..3);
    p.flush(LONG).unwrap();
    let statuses: Vec<u64> = rx
        .requests()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [503, 200]);
    // The date is 20 s ahead when sent, to the second: at least 15 s waited.
    assert!(clock.now() >= Duration::from_secs(15), "{:?}", clock.now());
    assert_eq!(seqs(&rx.records()), [0, 1, 2]);
}
