//! The HTTP sink against a loopback HTTP server (`common/http_server.rs`).
//!
//! A generic HTTP receiver has no reference implementation to install: any
//! HTTP server is the real thing for it, so these tests run against the
//! in-process server, which records each request's raw bytes and answers
//! from a script (429 with `Retry-After`, 5xx, 400, a hang). Bodies are
//! decoded with serde_json and compared with the events logged: count,
//! order, content, duplicates. Each test has its own server and port, so
//! they run in parallel.
#![cfg(feature = "http")]

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use common::http_server::{events, Recorded, Reply, Server};
use common::{failing_fast, free_port, patient_retry, sink_metrics, wait_until};
use fapilog::sinks::{DivertReason, RetryPolicy, SinkErrorKind, SinkOptions, WhenFull};
use fapilog::stages::{ManualClock, StageClock};
use fapilog::testing::CaptureSink;
use fapilog::{Backpressure, Format, Pipeline, Settings};
use fapilog_sinks::{Auth, BatchFormat, Compression, HttpSink, HttpSinkBuilder};
use serde_json::Value;

const LONG: Duration = Duration::from_secs(30);

fn index(e: &Value) -> u64 {
    e["log"]["data"]["i"].as_u64().expect("data.i")
}

/// Every index in `0..n` exactly once and in order, with unique message ids.
fn assert_all_once_in_order(events: &[Value], n: u64) {
    let got: Vec<u64> = events.iter().map(index).collect();
    assert_eq!(got.len() as u64, n, "count");
    assert_eq!(got, (0..n).collect::<Vec<_>>(), "order / duplicates");
    let ids: HashSet<&str> = events
        .iter()
        .map(|e| {
            e["log"]["context"]["message_id"]
                .as_str()
                .expect("message_id")
        })
        .collect();
    assert_eq!(ids.len() as u64, n, "unique message ids");
}

#[test]
fn thousands_of_events_arrive_as_json_arrays_in_order_once_each() {
    let server = Server::start(Reply::Status(204));
    let sink = HttpSink::builder(server.url("/ingest"))
        .max_events(500)
        .build()
        .unwrap();
    let p = Pipeline::builder().sink(sink).build().unwrap();
    let log = p.logger("app");
    for i in 0..5000u64 {
        fapilog::info!(log, "event", i = i, note = "naïve ☃");
    }
    p.flush(LONG).unwrap();
    let reqs = server.requests();
    for r in &reqs {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/ingest");
        assert_eq!(r.header("content-type"), Some("application/json"));
        let n = serde_json::from_slice::<Vec<Value>>(&r.body).unwrap().len();
        assert!((1..=500).contains(&n), "{n} events in one request");
    }
    let evs = events(&reqs);
    assert_all_once_in_order(&evs, 5000);
    assert_eq!(evs[7]["log"]["message"], "event");
    assert_eq!(evs[7]["log"]["data"]["note"], "naïve ☃");
    assert_eq!(evs[7]["log"]["logger"], "app");
    let m = sink_metrics(&p, "http");
    assert_eq!((m.written, m.errors), (5000, 0));
    let r = p.shutdown(LONG);
    assert!(r.is_complete());
}

#[test]
fn ndjson_bodies_are_lines_joined_by_newlines_without_a_trailing_one() {
    let server = Server::start(Reply::Status(200));
    let sink = HttpSink::builder(server.url("/nd"))
        .format(BatchFormat::Ndjson)
        .method("PUT")
        .build()
        .unwrap();
    let p = Pipeline::builder().sink(sink).build().unwrap();
    let log = p.logger("app");
    for i in 0..300u64 {
        fapilog::warn!(log, "line", i = i);
    }
    p.flush(LONG).unwrap();
    let mut evs = Vec::new();
    for r in server.requests() {
        assert_eq!(r.method, "PUT");
        assert_eq!(r.header("content-type"), Some("application/x-ndjson"));
        let text = r.text();
        assert!(!text.ends_with('\n') && !text.is_empty(), "{text:?}");
        for line in text.split('\n') {
            evs.push(serde_json::from_str::<Value>(line).expect("one JSON object per line"));
        }
    }
    assert_all_once_in_order(&evs, 300);
    assert_eq!(evs[0]["log"]["level"], "WARNING");
}

#[test]
fn one_event_is_still_an_array_and_wrapped_bodies_use_their_key() {
    let server = Server::start(Reply::Status(202));
    let array = HttpSink::builder(server.url("/array"))
        .name("array")
        .build()
        .unwrap();
    let wrapped = HttpSink::builder(server.url("/wrapped"))
        .name("wrapped")
        .format(BatchFormat::wrapped("records"))
        .build()
        .unwrap();
    let p = Pipeline::builder()
        .sink(array)
        .sink(wrapped)
        .build()
        .unwrap();
    fapilog::info!(p.logger("app"), "alone", i = 0u64);
    p.flush(LONG).unwrap();
    let reqs = server.requests();
    let body = |path: &str| -> Value {
        let r = reqs.iter().find(|r| r.path == path).expect("a request");
        serde_json::from_slice(&r.body).unwrap()
    };
    let a = body("/array");
    assert_eq!(a.as_array().map(Vec::len), Some(1), "{a}");
    let w = body("/wrapped");
    assert_eq!(w.as_object().map(|o| o.len()), Some(1), "{w}");
    assert_eq!(w["records"][0]["log"]["message"], "alone");
    assert_eq!(w["records"], a);
}

#[test]
fn flat_lines_post_the_inner_log_object_as_fapilog_does() {
    let server = Server::start(Reply::Status(204));
    let sink = HttpSink::builder(server.url("/flat"))
        .line_format(Format::Flat)
        .build()
        .unwrap();
    let p = Pipeline::builder().sink(sink).build().unwrap();
    fapilog::info!(p.logger("app"), "flat", i = 0u64);
    p.flush(LONG).unwrap();
    let body: Value = serde_json::from_slice(&server.requests()[0].body).unwrap();
    let entry = &body[0];
    assert_eq!(entry["message"], "flat");
    assert_eq!(entry["data"]["i"], 0);
    assert!(entry.get("schema_version").is_none(), "{entry}");
    let e = err(HttpSink::builder("http://h/").line_format(Format::Pretty { color: false }));
    assert!(e.contains("line_format"), "{e}");
}

#[test]
fn gzip_auth_and_static_headers_reach_the_server() {
    let server = Server::start(Reply::Status(204));
    let bearer = HttpSink::builder(server.url("/bearer"))
        .name("bearer")
        .compression(Compression::Gzip)
        .auth(Auth::Bearer("t0ken".into()))
        .header("X-Team", "core")
        .build()
        .unwrap();
    let basic = HttpSink::builder(server.url("/basic"))
        .name("basic")
        .auth(Auth::Basic {
            user: "Aladdin".into(),
            password: "open sesame".into(),
        })
        .build()
        .unwrap();
    let p = Pipeline::builder()
        .sink(bearer)
        .sink(basic)
        .build()
        .unwrap();
    let log = p.logger("app");
    for i in 0..200u64 {
        fapilog::info!(log, "zipped", i = i);
    }
    p.flush(LONG).unwrap();
    let reqs = server.requests();
    let (gz, plain): (Vec<Recorded>, Vec<Recorded>) =
        reqs.into_iter().partition(|r| r.path == "/bearer");
    for r in &gz {
        assert_eq!(r.header("content-encoding"), Some("gzip"));
        assert_eq!(&r.body[..2], &[0x1f, 0x8b], "a gzip stream");
        assert_eq!(r.header("authorization"), Some("Bearer t0ken"));
        assert_eq!(r.header("x-team"), Some("core"));
    }
    assert_all_once_in_order(&events(&gz), 200);
    for r in &plain {
        assert_eq!(r.header("content-encoding"), None);
        assert_eq!(
            r.header("authorization"),
            Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
        );
    }
    assert_all_once_in_order(&events(&plain), 200);
}

/// A server answering `first` once, then 204, recording the manual clock's
/// time of each request.
fn throttling_server(first: Reply, clock: &ManualClock) -> (Server, Arc<Mutex<Vec<Duration>>>) {
    let server = Server::start(Reply::Status(204));
    let times: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let (t, c) = (Arc::clone(&times), clock.clone());
    server.respond_with(move |_| {
        let mut t = t.lock().unwrap();
        t.push(c.now());
        if t.len() == 1 {
            first.clone()
        } else {
            Reply::Status(204)
        }
    });
    (server, times)
}

#[test]
fn retry_after_in_seconds_is_honoured() {
    let clock = ManualClock::new();
    let (server, times) = throttling_server(Reply::retry_after(429, "3"), &clock);
    let sink = HttpSink::builder(server.url("/")).build().unwrap();
    let p = Pipeline::builder()
        .sink_clock(clock.clone())
        .sink(sink)
        .build()
        .unwrap();
    fapilog::info!(p.logger("app"), "throttled", i = 0u64);
    p.flush(LONG).unwrap();
    let t = times.lock().unwrap().clone();
    assert_eq!(t.len(), 2, "one 429, one retry");
    assert!(
        t[1] - t[0] >= Duration::from_secs(3),
        "waited {:?}",
        t[1] - t[0]
    );
    let reqs = server.requests();
    assert_eq!(
        reqs[0].body, reqs[1].body,
        "the retry resends the same bytes"
    );
    let m = sink_metrics(&p, "http");
    assert_eq!((m.written, m.retries), (1, 1));
    assert_eq!(m.errors_of(SinkErrorKind::Transient), 1);
}

#[test]
fn a_retry_after_beyond_the_policys_max_delay_is_capped() {
    let clock = ManualClock::new();
    let (server, times) = throttling_server(Reply::retry_after(429, "86400"), &clock);
    let sink = HttpSink::builder(server.url("/")).build().unwrap();
    let retry = RetryPolicy::default().max_delay(Duration::from_secs(10));
    let p = Pipeline::builder()
        .sink_clock(clock.clone())
        .sink_with(sink, SinkOptions::new().retry(retry))
        .build()
        .unwrap();
    fapilog::info!(p.logger("app"), "throttled", i = 0u64);
    p.flush(LONG).unwrap();
    let t = times.lock().unwrap().clone();
    assert_eq!(t.len(), 2);
    // On the manual clock: the wait is the policy's cap, not a day.
    assert_eq!(t[1] - t[0], Duration::from_secs(10));
    assert_eq!(sink_metrics(&p, "http").written, 1);
}

#[test]
fn retry_after_as_an_http_date_is_honoured() {
    let clock = ManualClock::new();
    let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(20));
    let (server, times) = throttling_server(Reply::retry_after(503, &date), &clock);
    let sink = HttpSink::builder(server.url("/")).build().unwrap();
    let p = Pipeline::builder()
        .sink_clock(clock.clone())
        .sink(sink)
        .build()
        .unwrap();
    fapilog::info!(p.logger("app"), "throttled", i = 0u64);
    p.flush(LONG).unwrap();
    let t = times.lock().unwrap().clone();
    assert_eq!(t.len(), 2);
    // The date has whole seconds: at least 18 of the 20 remain when parsed.
    assert!(
        t[1] - t[0] >= Duration::from_secs(18),
        "waited {:?}",
        t[1] - t[0]
    );
    assert_eq!(sink_metrics(&p, "http").written, 1);
}

#[test]
fn server_errors_are_retried_with_the_same_bytes_and_501_is_not() {
    let clock = ManualClock::new();
    let server = Server::start(Reply::Status(204));
    server.script([Reply::Status(503), Reply::Status(500), Reply::Status(408)]);
    let sink = HttpSink::builder(server.url("/")).build().unwrap();
    let p = Pipeline::builder()
        .sink_clock(clock.clone())
        .sink(sink)
        .build()
        .unwrap();
    let log = p.logger("app");
    for i in 0..50u64 {
        fapilog::info!(log, "retried", i = i);
    }
    p.flush(LONG).unwrap();
    let reqs = server.requests();
    assert!(reqs.len() >= 4);
    assert_eq!(reqs[0].body, reqs[1].body);
    assert_eq!(reqs[1].body, reqs[2].body);
    assert_eq!(reqs[2].body, reqs[3].body);
    assert_all_once_in_order(&events(&reqs[3..]), 50);
    let m = sink_metrics(&p, "http");
    assert_eq!((m.written, m.retries), (50, 3));

    // 501 Not Implemented is a refusal: diverted at once, never resent.
    server.script([Reply::Status(501)]);
    let before = server.count();
    fapilog::info!(log, "refused", i = 50u64);
    p.flush(LONG).unwrap();
    assert_eq!(server.count(), before + 1);
    let m = sink_metrics(&p, "http");
    assert_eq!(m.retries, 3);
    assert_eq!(m.diverted_total(), 1);
}

#[test]
fn a_400_diverts_that_request_to_the_fallback_and_later_batches_go_through() {
    let server = Server::start(Reply::Status(204));
    // The second request is refused.
    server.script([
        Reply::Status(204),
        Reply::With {
            status: 400,
            headers: Vec::new(),
            body: b"bad line".to_vec(),
        },
    ]);
    let sink = HttpSink::builder(server.url("/"))
        .max_events(10)
        .build()
        .unwrap();
    let (capture, captured) = CaptureSink::new();
    let p = Pipeline::builder()
        .sink_with(
            sink,
            SinkOptions::new()
                .fallback("capture")
                .retry(patient_retry()),
        )
        .sink(capture)
        .build()
        .unwrap();
    let log = p.logger("app");
    for i in 0..1000u64 {
        fapilog::info!(log, "mixed", i = i);
    }
    p.flush(LONG).unwrap();
    let reqs = server.requests();
    let refused: Vec<u64> = events(&reqs[1..2]).iter().map(index).collect();
    assert_eq!(refused.len(), 10);
    // Nothing refused was sent twice; everything else arrived once.
    let mut delivered: Vec<Value> = events(&reqs[..1]);
    delivered.extend(events(&reqs[2..]));
    let delivered: Vec<u64> = delivered.iter().map(index).collect();
    assert_eq!(delivered.len(), 990);
    assert!(delivered.iter().all(|i| !refused.contains(i)));
    let mut all = delivered.clone();
    all.extend(&refused);
    all.sort_unstable();
    assert_eq!(all, (0..1000).collect::<Vec<_>>());
    // The fallback holds exactly the refused events (and saw every event
    // as a sink of its own too).
    let diverted: Vec<u64> = captured
        .envelopes()
        .iter()
        .filter(|e| e["log"]["message"] == "mixed")
        .map(index)
        .collect();
    assert_eq!(diverted.len(), 1010);
    let m = sink_metrics(&p, "http");
    assert_eq!(m.written, 990);
    assert_eq!(m.diverted_to_fallback, 10);
    assert!(
        m.diverted.contains(&(DivertReason::Rejected, 10)),
        "{:?}",
        m.diverted
    );
    assert_eq!(m.retries, 0, "a 400 is never retried");
}

#[test]
fn an_event_above_max_bytes_is_refused_locally_and_counted() {
    let server = Server::start(Reply::Status(204));
    let sink = HttpSink::builder(server.url("/"))
        .max_bytes(4096)
        .build()
        .unwrap();
    let (capture, captured) = CaptureSink::new();
    let p = Pipeline::builder()
        .sink_with(sink, SinkOptions::new().fallback("capture"))
        .sink(capture)
        .build()
        .unwrap();
    let log = p.logger("app");
    let big = "x".repeat(10_000);
    for i in 0..100u64 {
        if i == 40 {
            fapilog::info!(log, "huge", i = i, blob = big.as_str());
        } else {
            fapilog::info!(log, "small", i = i);
        }
    }
    p.flush(LONG).unwrap();
    let reqs = server.requests();
    assert!(reqs.iter().all(|r| r.body.len() <= 4096));
    let got: Vec<u64> = events(&reqs).iter().map(index).collect();
    let expected: Vec<u64> = (0..100).filter(|&i| i != 40).collect();
    assert_eq!(got, expected);
    let m = sink_metrics(&p, "http");
    assert_eq!(m.written, 99);
    assert_eq!(m.diverted_to_fallback, 1);
    assert_eq!(
        captured.find_all("huge").len(),
        2,
        "its own copy and the diverted one"
    );
}

#[test]
fn a_hanging_server_times_out_and_the_request_is_retried() {
    let server = Server::start(Reply::Status(204));
    server.script([Reply::Hang]);
    let sink = HttpSink::builder(server.url("/"))
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let p = Pipeline::builder()
        .sink_with(sink, SinkOptions::new().retry(patient_retry()))
        .build()
        .unwrap();
    let log = p.logger("app");
    for i in 0..20u64 {
        fapilog::info!(log, "slow", i = i);
    }
    p.flush(LONG).unwrap();
    let reqs = server.requests();
    assert_eq!(
        reqs[0].body, reqs[1].body,
        "the timed-out request is resent as is"
    );
    assert_all_once_in_order(&events(&reqs[1..]), 20);
    let m = sink_metrics(&p, "http");
    assert!(m.retries >= 1);
    assert!(m.errors_of(SinkErrorKind::Transient) >= 1);
    assert_eq!(m.written, 20);
    // The hanging handler would keep the server's graceful shutdown waiting.
    std::mem::forget(server);
}

/// Logs `n` events (`i` from `from`) on a thread of its own: with `Block`
/// the call may wait while the server is down.
fn log_on_a_thread(p: &Arc<Pipeline>, from: u64, n: u64) -> std::thread::JoinHandle<()> {
    let p = Arc::clone(p);
    std::thread::spawn(move || {
        let log = p.logger("app");
        for i in from..from + n {
            fapilog::info!(log, "event", i = i);
        }
    })
}

#[test]
fn a_server_down_at_start_loses_nothing_once_it_comes_up() {
    let port = free_port();
    let sink = HttpSink::builder(format!("http://127.0.0.1:{port}/"))
        .max_events(100)
        .build()
        .expect("building never connects");
    let p = Arc::new(
        Pipeline::builder()
            .backpressure(Backpressure::Block)
            .sink_with(
                sink,
                SinkOptions::new()
                    .when_full(WhenFull::Block)
                    .retry(patient_retry()),
            )
            .build()
            .expect("a server that is down does not fail the build"),
    );
    let logging = log_on_a_thread(&p, 0, 2000);
    assert!(
        wait_until(LONG, || sink_metrics(&p, "http").retries >= 3),
        "the sink retries while the server is down"
    );
    let server = Server::start_at(port, Reply::Status(204));
    logging.join().unwrap();
    p.flush(LONG).unwrap();
    assert_all_once_in_order(&events(&server.requests()), 2000);
    let m = sink_metrics(&p, "http");
    assert_eq!(
        (m.written, m.dropped_total(), m.diverted_total()),
        (2000, 0, 0)
    );
    assert!(m.errors_of(SinkErrorKind::Transient) >= 3);
}

#[test]
fn a_server_going_down_and_back_mid_run_loses_nothing_with_block() {
    let server = Server::start(Reply::Status(204));
    let port = server.addr.port();
    let sink = HttpSink::builder(server.url("/"))
        .max_events(100)
        .build()
        .unwrap();
    let p = Arc::new(
        Pipeline::builder()
            .backpressure(Backpressure::Block)
            .sink_with(
                sink,
                SinkOptions::new()
                    .when_full(WhenFull::Block)
                    .retry(patient_retry()),
            )
            .build()
            .unwrap(),
    );
    log_on_a_thread(&p, 0, 1000).join().unwrap();
    p.flush(LONG).unwrap();
    let first = server.requests();
    server.shutdown();

    let logging = log_on_a_thread(&p, 1000, 1000);
    assert!(wait_until(LONG, || sink_metrics(&p, "http").retries >= 3));
    let server = Server::start_at(port, Reply::Status(204));
    logging.join().unwrap();
    p.flush(LONG).unwrap();
    let mut all = events(&first);
    all.extend(events(&server.requests()));
    assert_all_once_in_order(&all, 2000);
    let m = sink_metrics(&p, "http");
    assert_eq!(
        (m.written, m.dropped_total(), m.diverted_total()),
        (2000, 0, 0)
    );
}

#[test]
fn drop_newest_counts_every_event_lost_while_the_server_is_down() {
    let server = Server::start(Reply::Status(204));
    let port = server.addr.port();
    let sink = HttpSink::builder(server.url("/")).build().unwrap();
    let p = Pipeline::builder()
        .batch_max_events(10)
        // Nothing is lost before the sink: its buffer is what overflows.
        .backpressure(Backpressure::Block)
        .sink_with(
            sink,
            SinkOptions::new()
                .when_full(WhenFull::DropNewest)
                .buffer_batches(2)
                .retry(patient_retry()),
        )
        .build()
        .unwrap();
    server.shutdown();
    let log = p.logger("app");
    let n = 3000u64;
    for i in 0..n {
        fapilog::info!(log, "event", i = i);
    }
    assert!(wait_until(LONG, || sink_metrics(&p, "http")
        .dropped_total()
        > 0));
    let server = Server::start_at(port, Reply::Status(204));
    p.flush(LONG).unwrap();
    // The in-band `logs dropped` reports (WARNING) reach the sink too.
    let got: Vec<u64> = events(&server.requests())
        .iter()
        .filter(|e| e["log"]["message"] == "event")
        .map(index)
        .collect();
    let unique: HashSet<u64> = got.iter().copied().collect();
    assert_eq!(unique.len(), got.len(), "no duplicates");
    assert!(got.windows(2).all(|w| w[0] < w[1]), "in order");
    let m = sink_metrics(&p, "http");
    let info_dropped: u64 = m
        .dropped
        .iter()
        .filter(|(level, _, _)| level.eq_ignore_ascii_case("info"))
        .map(|(_, _, n)| n)
        .sum();
    assert!(info_dropped > 0, "{:?}", m.dropped);
    assert_eq!(m.diverted_total(), 0);
    assert_eq!(p.metrics().dropped_total, 0);
    assert_eq!(
        got.len() as u64 + info_dropped,
        n,
        "every event is delivered or counted lost"
    );
}

#[test]
fn the_breaker_opens_while_the_server_is_down_and_closes_when_it_is_back() {
    let port = free_port();
    let sink = HttpSink::builder(format!("http://127.0.0.1:{port}/"))
        .build()
        .unwrap();
    let (capture, captured) = CaptureSink::new();
    let p = Pipeline::builder()
        .batch_max_events(10)
        .sink_with(
            sink,
            failing_fast(Duration::from_millis(200)).fallback("capture"),
        )
        .sink(capture)
        .build()
        .unwrap();
    let log = p.logger("app");
    let mut i = 0u64;
    assert!(
        wait_until(LONG, || {
            fapilog::info!(log, "event", i = i);
            i += 1;
            sink_metrics(&p, "http").breaker_opened >= 1
        }),
        "the breaker opens"
    );
    let server = Server::start_at(port, Reply::Status(204));
    assert!(
        wait_until(LONG, || {
            fapilog::info!(log, "event", i = i);
            i += 1;
            sink_metrics(&p, "http").health == fapilog::sinks::SinkHealth::Healthy
                && server.count() > 0
        }),
        "a probe succeeds and the breaker closes"
    );
    p.flush(LONG).unwrap();
    let m = sink_metrics(&p, "http");
    assert!(m.retries >= 1, "backoff is visible");
    assert!(m.breaker_opened >= 1);
    assert!(m
        .diverted
        .iter()
        .any(|(r, n)| *r == DivertReason::BreakerOpen && *n > 0));
    // Every event reached the server or, given up on, the fallback.
    let delivered = events(&server.requests()).len() as u64;
    let diverted = captured.find_all("event").len() as u64 - i;
    assert_eq!(delivered, m.written);
    assert_eq!(delivered + diverted, i);
    assert_eq!(m.diverted_to_fallback, diverted);
}

#[test]
fn fapilogs_http_settings_open_the_sink() {
    let server = Server::start(Reply::Status(204));
    let endpoint = server.url("/from-settings");
    let s = Settings::from_env_vars([
        ("FAPILOG_CORE__SINKS", "http"),
        ("FAPILOG_HTTP__ENDPOINT", endpoint.as_str()),
        ("FAPILOG_HTTP__BATCH_FORMAT", "wrapped"),
        ("FAPILOG_HTTP__BATCH_WRAPPER_KEY", "entries"),
        ("FAPILOG_HTTP__BATCH_SIZE", "7"),
        (
            "FAPILOG_HTTP__HEADERS_JSON",
            r#"{"X-Api-Key": "k3y", "X-Team": "core"}"#,
        ),
        ("FAPILOG_HTTP__TIMEOUT_SECONDS", "2.5"),
        ("FAPILOG_HTTP__RETRY_MAX_ATTEMPTS", "4"),
    ])
    .unwrap();
    let p = Pipeline::builder()
        .settings(s)
        .sink_factory(fapilog_sinks::factory())
        .build()
        .unwrap();
    let log = p.logger("app");
    for i in 0..50u64 {
        fapilog::info!(log, "configured", i = i);
    }
    p.flush(LONG).unwrap();
    let reqs = server.requests();
    let mut evs = Vec::new();
    for r in &reqs {
        assert_eq!(r.header("x-api-key"), Some("k3y"));
        assert_eq!(r.header("x-team"), Some("core"));
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        let entries = v["entries"].as_array().expect("wrapped in `entries`");
        assert!(entries.len() <= 7);
        evs.extend(entries.iter().cloned());
    }
    assert_all_once_in_order(&evs, 50);
}

#[test]
fn bad_settings_fail_the_build_naming_the_key_and_value() {
    let build = |vars: &[(&str, &str)]| {
        let mut all = vec![("FAPILOG_CORE__SINKS", "http")];
        all.extend_from_slice(vars);
        let s = Settings::from_env_vars(all).unwrap();
        Pipeline::builder()
            .settings(s)
            .sink_factory(fapilog_sinks::factory())
            .build()
            .err()
            .map(|e| {
                // The core error wraps ours: show the whole chain.
                let mut text = e.to_string();
                let mut src = std::error::Error::source(&e);
                while let Some(s) = src {
                    text.push_str(&format!(" / {s}"));
                    src = s.source();
                }
                text
            })
            .expect("the build fails")
    };
    let e = build(&[("FAPILOG_HTTP__ENDPOINT", "localhost:9000/logs")]);
    assert!(
        e.contains("http.endpoint") && e.contains("localhost:9000/logs"),
        "{e}"
    );
    let e = build(&[("FAPILOG_HTTP__ENDPOINT", "ftp://u:hunter2@example.com/")]);
    assert!(e.contains("ftp://u:***@example.com/"), "{e}");
    assert!(!e.contains("hunter2"), "{e}");
    let e = build(&[
        ("FAPILOG_HTTP__ENDPOINT", "http://127.0.0.1:9/"),
        ("FAPILOG_HTTP__BATCH_FORMAT", "csv"),
    ]);
    assert!(e.contains("http.batch_format") && e.contains("csv"), "{e}");
    let e = build(&[
        ("FAPILOG_HTTP__ENDPOINT", "http://127.0.0.1:9/"),
        ("FAPILOG_HTTP__HEADERS_JSON", r#"{"Bad Header": "x"}"#),
    ]);
    assert!(e.contains("Bad Header"), "{e}");
    let e = build(&[]);
    assert!(e.contains("http.endpoint"), "{e}");
}

/// The error of a build that must fail.
fn err(b: HttpSinkBuilder) -> String {
    match b.build() {
        Ok(_) => panic!("the build succeeded"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn secrets_never_appear_in_debug_output_or_errors() {
    let b = HttpSink::builder("https://user:hunter2@example.com/x")
        .auth(Auth::Bearer("t0psecret".into()))
        .header("Authorization", "Bearer h3ader")
        .header("X-Api-Key", "k3y")
        .header("X-Team", "core");
    let shown = format!("{b:?}");
    for secret in ["hunter2", "t0psecret", "h3ader", "k3y"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(shown.contains("core"), "{shown}");
    let sink = b.build().unwrap();
    let shown = format!("{:?}", sink.get_ref());
    for secret in ["hunter2", "t0psecret", "h3ader", "k3y"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    let e = err(HttpSink::builder("http://h/").header("X-Auth-Token", "s3cret\nx"));
    assert!(e.contains("X-Auth-Token") && !e.contains("s3cret"), "{e}");
    let e = err(HttpSink::builder("ftp://user:hunter2@h/"));
    assert!(e.contains("endpoint") && !e.contains("hunter2"), "{e}");
    let e = err(HttpSink::builder("http://h/").method("P O S T"));
    assert!(e.contains("method") && e.contains("P O S T"), "{e}");
    let e = err(HttpSink::builder("http://h/").max_events(0));
    assert!(e.contains("max_events"), "{e}");
}
