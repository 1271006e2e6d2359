//! The webhook sink against a loopback receiver (`common/http_server.rs`)
//! that verifies fapilog's signature the way a receiver should: HMAC-SHA256
//! recomputed over `"{X-Fapilog-Timestamp}." + the raw body bytes`,
//! compared in constant time (`hmac`'s `verify_slice`), timestamps older
//! than the replay tolerance refused.
//!
//! Any HTTP server is the real thing for a webhook receiver, so there is no
//! other server to run here. Each test has its own server and port.
#![cfg(feature = "webhook")]

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::http_server::{Recorded, Reply, Server};
use common::{failing_fast, free_port, patient_retry, sink_metrics, wait_until};
use fapilog::sinks::{DivertReason, SinkHealth, SinkOptions, WhenFull};
use fapilog::testing::CaptureSink;
use fapilog::{Backpressure, Pipeline, Settings};
use fapilog_sinks::{SignatureMode, WebhookSink, WebhookSinkBuilder, WEBHOOK_REPLAY_TOLERANCE};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

const LONG: Duration = Duration::from_secs(30);
const SECRET: &str = "whsec-test-ſecret";

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// What a receiver does: check the timestamp's age, recompute the HMAC
/// over the raw bytes received and compare in constant time.
fn verify(secret: &str, r: &Recorded, now: u64) -> Result<u64, String> {
    let ts_text = r.header("x-fapilog-timestamp").ok_or("no timestamp")?;
    let ts: u64 = ts_text.parse().map_err(|_| "a bad timestamp")?;
    if now.saturating_sub(ts) > WEBHOOK_REPLAY_TOLERANCE.as_secs() {
        return Err(format!("timestamp {ts} too old"));
    }
    let sig = r
        .header("x-fapilog-signature-256")
        .and_then(|s| s.strip_prefix("sha256="))
        .ok_or("no sha256= signature")?;
    let sig = hex::decode(sig).map_err(|_| "a signature that is not hex")?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(ts_text.as_bytes());
    mac.update(b".");
    mac.update(&r.body);
    mac.verify_slice(&sig).map_err(|_| "signature mismatch")?;
    Ok(ts)
}

/// The events of the requests: a single object each, or arrays.
fn events(requests: &[Recorded]) -> Vec<Value> {
    requests
        .iter()
        .flat_map(
            |r| match serde_json::from_slice::<Value>(&r.body).expect("JSON") {
                Value::Array(a) => a,
                one => vec![one],
            },
        )
        .collect()
}

fn index(e: &Value) -> u64 {
    e["log"]["data"]["i"].as_u64().expect("data.i")
}

fn assert_all_once_in_order(events: &[Value], n: u64) {
    let got: Vec<u64> = events.iter().map(index).collect();
    assert_eq!(got, (0..n).collect::<Vec<_>>(), "count, order, duplicates");
    let ids: HashSet<&str> = events
        .iter()
        .map(|e| e["log"]["context"]["message_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len() as u64, n);
}

#[test]
fn every_event_is_signed_over_its_exact_bytes_even_when_not_ascii() {
    let server = Server::start(Reply::Status(200));
    let sink = WebhookSink::builder(server.url("/hook"))
        .secret(SECRET)
        .build()
        .unwrap();
    let p = Pipeline::builder().sink(sink).build().unwrap();
    let log = p.logger("app");
    for i in 0..500u64 {
        fapilog::info!(log, "café ☃ 日本", i = i, who = "Zoë");
    }
    p.flush(LONG).unwrap();
    let reqs = server.requests();
    assert_eq!(reqs.len(), 500, "batch_size 1: one request per event");
    let now = unix_now();
    for r in &reqs {
        verify(SECRET, r, now).unwrap();
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert!(r.body.starts_with(b"{"), "the single object, not an array");
        // Sent as UTF-8, not \u-escaped (fapilog signs the escaped form).
        assert!(std::str::from_utf8(&r.body)
            .unwrap()
            .contains("café ☃ 日本"));
    }
    let evs = events(&reqs);
    assert_all_once_in_order(&evs, 500);
    assert_eq!(evs[3]["log"]["message"], "café ☃ 日本");
    assert_eq!(evs[3]["log"]["data"]["who"], "Zoë");

    // The check is meaningful: one changed byte, or another secret, fails.
    let mut tampered = reqs[0].clone();
    let last = tampered.body.len() - 2;
    tampered.body[last] ^= 1;
    assert!(verify(SECRET, &tampered, now).is_err());
    assert!(verify("another secret", &reqs[0], now).is_err());
    let mut stale = reqs[0].clone();
    for (n, v) in &mut stale.headers {
        if n == "x-fapilog-timestamp" {
            *v = (now - 301).to_string();
        }
    }
    assert!(
        verify(SECRET, &stale, now).is_err(),
        "older than the tolerance"
    );
}

#[test]
fn a_batch_size_above_one_sends_signed_arrays() {
    let server = Server::start(Reply::Status(204));
    let sink = WebhookSink::builder(server.url("/hook"))
        .secret(SECRET)
        .batch_size(50)
        .header("X-Team", "core")
        .build()
        .unwrap();
    let p = Pipeline::builder().sink(sink).build().unwrap();
    let log = p.logger("app");
    for i in 0..2000u64 {
        fapilog::info!(log, "batched", i = i);
    }
    p.flush(LONG).unwrap();
    let reqs = server.requests();
    let now = unix_now();
    for r in &reqs {
        verify(SECRET, r, now).unwrap();
        assert_eq!(r.header("x-team"), Some("core"));
        let n = serde_json::from_slice::<Vec<Value>>(&r.body)
            .expect("an array")
            .len();
        assert!((1..=50).contains(&n));
    }
    assert_all_once_in_order(&events(&reqs), 2000);
}

#[test]
fn a_retry_is_signed_again_with_a_fresh_timestamp_over_the_same_bytes() {
    let server = Server::start(Reply::Status(204));
    // Real time: the timestamp has whole seconds, the retry waits 2.
    server.script([Reply::retry_after(429, "2")]);
    let sink = WebhookSink::builder(server.url("/hook"))
        .secret(SECRET)
        .build()
        .unwrap();
    let p = Pipeline::builder().sink(sink).build().unwrap();
    fapilog::info!(p.logger("app"), "once", i = 0u64);
    p.flush(LONG).unwrap();
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].body, reqs[1].body, "the same bytes");
    let now = unix_now();
    let first = verify(SECRET, &reqs[0], now).unwrap();
    let second = verify(SECRET, &reqs[1], now).unwrap();
    assert!(second > first, "a fresh timestamp: {first} then {second}");
    assert_ne!(
        reqs[0].header("x-fapilog-signature-256"),
        reqs[1].header("x-fapilog-signature-256")
    );
    assert_eq!(sink_metrics(&p, "webhook").retries, 1);
}

#[test]
fn header_mode_sends_the_secret_in_x_webhook_secret() {
    let server = Server::start(Reply::Status(204));
    let sink = WebhookSink::builder(server.url("/hook"))
        .secret("legacy-secret")
        .signature_mode(SignatureMode::Header)
        .build()
        .unwrap();
    let p = Pipeline::builder().sink(sink).build().unwrap();
    fapilog::info!(p.logger("app"), "legacy", i = 0u64);
    p.flush(LONG).unwrap();
    let r = &server.requests()[0];
    assert_eq!(r.header("x-webhook-secret"), Some("legacy-secret"));
    assert_eq!(r.header("x-fapilog-signature-256"), None);
    assert_all_once_in_order(&events(std::slice::from_ref(r)), 1);
}

#[test]
fn a_5xx_is_retried_and_a_400_diverts_only_its_event() {
    let server = Server::start(Reply::Status(204));
    server.script([Reply::Status(502), Reply::Status(400)]);
    let sink = WebhookSink::builder(server.url("/hook"))
        .secret(SECRET)
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
    for i in 0..20u64 {
        fapilog::info!(log, "hook", i = i);
    }
    p.flush(LONG).unwrap();
    let reqs = server.requests();
    // Event 0: 502, resent, 400: refused and diverted; the rest delivered.
    assert_eq!(reqs[0].body, reqs[1].body);
    assert_eq!(index(&events(&reqs[..1])[0]), 0);
    let delivered: Vec<u64> = events(&reqs[2..]).iter().map(index).collect();
    assert_eq!(delivered, (1..20).collect::<Vec<_>>());
    let m = sink_metrics(&p, "webhook");
    assert_eq!((m.written, m.retries, m.diverted_to_fallback), (19, 1, 1));
    assert_eq!(
        captured.find_all("hook").len(),
        21,
        "its own 20 and the diverted one"
    );
}

#[test]
fn down_at_start_then_down_mid_run_and_back_loses_nothing_with_block() {
    let port = free_port();
    let sink = WebhookSink::builder(format!("http://127.0.0.1:{port}/hook"))
        .secret(SECRET)
        .batch_size(20)
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
            .expect("a receiver that is down does not fail the build"),
    );
    let log_range = |from: u64, to: u64| {
        let p = Arc::clone(&p);
        std::thread::spawn(move || {
            let log = p.logger("app");
            for i in from..to {
                fapilog::info!(log, "event", i = i);
            }
        })
    };
    let logging = log_range(0, 1000);
    assert!(wait_until(LONG, || sink_metrics(&p, "webhook").retries >= 3));
    let server = Server::start_at(port, Reply::Status(204));
    logging.join().unwrap();
    p.flush(LONG).unwrap();
    let mut received = server.requests();
    server.shutdown();

    let before = sink_metrics(&p, "webhook").retries;
    let logging = log_range(1000, 2000);
    assert!(wait_until(LONG, || sink_metrics(&p, "webhook").retries >= before + 3));
    let server = Server::start_at(port, Reply::Status(204));
    logging.join().unwrap();
    p.flush(LONG).unwrap();
    received.extend(server.requests());
    let now = unix_now();
    for r in &received {
        verify(SECRET, r, now).unwrap();
    }
    assert_all_once_in_order(&events(&received), 2000);
    let m = sink_metrics(&p, "webhook");
    assert_eq!(
        (m.written, m.dropped_total(), m.diverted_total()),
        (2000, 0, 0)
    );
}

#[test]
fn drop_newest_counts_every_event_lost_while_the_receiver_is_down() {
    let server = Server::start(Reply::Status(204));
    let port = server.addr.port();
    let sink = WebhookSink::builder(server.url("/hook"))
        .secret(SECRET)
        .batch_size(10)
        .build()
        .unwrap();
    let p = Pipeline::builder()
        .batch_max_events(10)
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
    let n = 2000u64;
    for i in 0..n {
        fapilog::info!(log, "event", i = i);
    }
    // Down until the buffer has overflowed and a send has failed (on a
    // loaded machine the driver may not have tried one yet).
    assert!(wait_until(LONG, || {
        let m = sink_metrics(&p, "webhook");
        m.dropped_total() > 0 && m.retries > 0
    }));
    let server = Server::start_at(port, Reply::Status(204));
    p.flush(LONG).unwrap();
    let now = unix_now();
    let reqs = server.requests();
    for r in &reqs {
        verify(SECRET, r, now).unwrap();
    }
    // The in-band `logs dropped` reports (WARNING) reach the sink too.
    let got: Vec<u64> = events(&reqs)
        .iter()
        .filter(|e| e["log"]["message"] == "event")
        .map(index)
        .collect();
    let unique: HashSet<u64> = got.iter().copied().collect();
    assert_eq!(unique.len(), got.len(), "no duplicates");
    assert!(got.windows(2).all(|w| w[0] < w[1]), "in order");
    let m = sink_metrics(&p, "webhook");
    let info_dropped: u64 = m
        .dropped
        .iter()
        .filter(|(level, _, _)| level.eq_ignore_ascii_case("info"))
        .map(|(_, _, n)| n)
        .sum();
    assert!(info_dropped > 0 && m.retries > 0, "{m:?}");
    assert_eq!(m.diverted_total(), 0);
    assert_eq!(
        got.len() as u64 + info_dropped,
        n,
        "delivered or counted lost"
    );
}

#[test]
fn the_breaker_opens_while_the_receiver_is_down_and_closes_when_it_is_back() {
    let port = free_port();
    let sink = WebhookSink::builder(format!("http://127.0.0.1:{port}/hook"))
        .secret(SECRET)
        .build()
        .unwrap();
    let (capture, captured) = CaptureSink::new();
    let p = Pipeline::builder()
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
            sink_metrics(&p, "webhook").breaker_opened >= 1
        }),
        "the breaker opens"
    );
    let server = Server::start_at(port, Reply::Status(204));
    assert!(
        wait_until(LONG, || {
            fapilog::info!(log, "event", i = i);
            i += 1;
            sink_metrics(&p, "webhook").health == SinkHealth::Healthy && server.count() > 0
        }),
        "a probe succeeds and the breaker closes"
    );
    p.flush(LONG).unwrap();
    let m = sink_metrics(&p, "webhook");
    assert!(m.retries >= 1 && m.breaker_opened >= 1, "{m:?}");
    assert!(m
        .diverted
        .iter()
        .any(|(r, n)| *r == DivertReason::BreakerOpen && *n > 0));
    let delivered = events(&server.requests()).len() as u64;
    let diverted = captured.find_all("event").len() as u64 - i;
    assert_eq!(delivered, m.written);
    assert_eq!(delivered + diverted, i, "delivered or diverted, none lost");
}

#[test]
fn fapilogs_webhook_settings_open_the_sink() {
    let server = Server::start(Reply::Status(204));
    let endpoint = server.url("/from-settings");
    let s = Settings::from_env_vars([
        ("FAPILOG_CORE__SINKS", "webhook"),
        ("FAPILOG_SINK_CONFIG__WEBHOOK__ENDPOINT", endpoint.as_str()),
        ("FAPILOG_SINK_CONFIG__WEBHOOK__SECRET", SECRET),
        (
            "FAPILOG_SINK_CONFIG__WEBHOOK__HEADERS",
            r#"{"X-Team": "core"}"#,
        ),
        ("FAPILOG_SINK_CONFIG__WEBHOOK__BATCH_SIZE", "5"),
        ("FAPILOG_SINK_CONFIG__WEBHOOK__TIMEOUT_SECONDS", "3"),
    ])
    .unwrap();
    let p = Pipeline::builder()
        .settings(s)
        .sink_factory(fapilog_sinks::factory())
        .build()
        .unwrap();
    let log = p.logger("app");
    for i in 0..40u64 {
        fapilog::info!(log, "configured", i = i);
    }
    p.flush(LONG).unwrap();
    let reqs = server.requests();
    let now = unix_now();
    for r in &reqs {
        verify(SECRET, r, now).unwrap();
        assert_eq!(r.header("x-team"), Some("core"));
        assert!(serde_json::from_slice::<Vec<Value>>(&r.body).unwrap().len() <= 5);
    }
    assert_all_once_in_order(&events(&reqs), 40);

    let s = Settings::from_env_vars([
        ("FAPILOG_CORE__SINKS", "webhook"),
        (
            "FAPILOG_SINK_CONFIG__WEBHOOK__ENDPOINT",
            "hooks.example.com",
        ),
        ("FAPILOG_SINK_CONFIG__WEBHOOK__SECRET", "hunter2"),
    ])
    .unwrap();
    let Err(e) = Pipeline::builder()
        .settings(s)
        .sink_factory(fapilog_sinks::factory())
        .build()
    else {
        panic!("a bad endpoint fails the build");
    };
    let mut text = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        text.push_str(&format!(" / {s}"));
        src = s.source();
    }
    assert!(
        text.contains("sink_config.webhook.endpoint") && text.contains("hooks.example.com"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");
}

fn err(b: WebhookSinkBuilder) -> String {
    match b.build() {
        Ok(_) => panic!("the build succeeded"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn secrets_never_appear_in_debug_output_or_errors() {
    let b = WebhookSink::builder("https://user:hunter2@hooks.example.com/x")
        .secret("s3cret-value")
        .header("X-Api-Key", "k3y");
    let shown = format!("{b:?}");
    for secret in ["hunter2", "s3cret-value", "k3y"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    let sink = b.clone().build().unwrap();
    let shown = format!("{:?}", sink.get_ref());
    for secret in ["hunter2", "s3cret-value", "k3y"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    let e = err(b.clone().header("X-Signature-Key", "k\n3y"));
    assert!(e.contains("X-Signature-Key") && !e.contains("k\n3y"), "{e}");
    let e = err(WebhookSink::builder("http://h/")
        .secret("line\nbreak")
        .signature_mode(SignatureMode::Header));
    assert!(e.contains("secret") && !e.contains("line"), "{e}");
    let e = err(WebhookSink::builder("http://h/").signature_mode(SignatureMode::Header));
    assert!(e.contains("secret"), "{e}");
    let e = err(WebhookSink::builder("http://h/").batch_size(0));
    assert!(e.contains("batch_size"), "{e}");
}
