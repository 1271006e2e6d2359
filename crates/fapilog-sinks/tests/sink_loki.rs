//! The Loki sink against a fake Loki push endpoint (see `common/loki.rs`:
//! no Loki binary can be installed on this machine, so the fake decodes
//! with Loki's reference formats and enforces its label rules).
#![cfg(feature = "loki")]

mod common;
#[path = "common/loki.rs"]
mod loki;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use common::http_server::Reply;
use common::{free_port, wait_until};
use fapilog::sinks::{
    BreakerPolicy, DivertReason, RetryPolicy, Route, SinkDropReason, SinkErrorKind, SinkHealth,
};
use fapilog::stages::{ManualClock, StageClock};
use fapilog::testing::CaptureSink;
use fapilog::{Backpressure, Format, Level, Pipeline, Settings, SinkOptions, WhenFull};
use fapilog_sinks::{Compression, LokiEncoding, LokiSink};
use loki::{FakeLoki, Store, Stored};

const LONG: Duration = Duration::from_secs(30);

fn sink<'a>(m: &'a fapilog::MetricsSnapshot, name: &str) -> &'a fapilog::SinkMetrics {
    m.sinks
        .iter()
        .find(|s| s.name == name)
        .expect("the sink's metrics")
}

/// Retries that never give up, spaced by at most 50 ms: Loki comes back.
fn patient() -> SinkOptions {
    SinkOptions::new()
        .retry(
            RetryPolicy::default()
                .max_attempts(u32::MAX)
                .initial(Duration::from_millis(5))
                .max_delay(Duration::from_millis(50))
                .max_elapsed(Duration::from_secs(600)),
        )
        .breaker(BreakerPolicy::off())
}

/// `2026-11-25T10:30:00.123Z` (or with micro/nanoseconds) as ns since the epoch.
fn iso_nanos(s: &str) -> i64 {
    let n = |a: usize, b: usize| s[a..b].parse::<i64>().expect("a date digit");
    let (y, m, d) = (n(0, 4), n(5, 7), n(8, 10));
    let (hh, mm, ss) = (n(11, 13), n(14, 16), n(17, 19));
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let frac = s[19..].trim_end_matches('Z').trim_start_matches('.');
    let frac_ns = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}")[..9].parse::<i64>().expect("fraction")
    };
    ((days * 86_400 + hh * 3_600 + mm * 60 + ss) * 1_000_000_000) + frac_ns
}

/// Asserts each line arrived once, and returns them by `data.i`.
fn once_each(lines: &[Stored]) -> BTreeMap<i64, Stored> {
    let mut ids = HashSet::new();
    let mut by_i = BTreeMap::new();
    for l in lines {
        let j = l.json();
        let id = j["context"]["message_id"]
            .as_str()
            .expect("message_id")
            .to_owned();
        assert!(ids.insert(id), "a line arrived twice: {}", l.line);
        match j["data"]["i"].as_i64() {
            Some(i) => drop(by_i.insert(i, l.clone())),
            // The pipeline's own in-band report of dropped events.
            None => assert_eq!(j["level"], "WARNING", "{}", l.line),
        }
    }
    by_i
}

#[test]
fn thousands_of_events_arrive_once_in_time_order_with_their_labels_and_tenant() {
    let fake = FakeLoki::start();
    *fake.store.authorization.lock().unwrap() = Some("Bearer s3cret-token".into());
    let cap = 32 * 1024;
    let loki = LokiSink::builder(fake.url())
        .label("service", "checkout")
        .label("env", "prod eu")
        .label_keys(["level", "logger"])
        .tenant_id("team-a")
        .bearer_token("s3cret-token")
        .max_request_bytes(cap)
        .message_id_metadata(true)
        .build()
        .unwrap();
    let (copy, copied) = CaptureSink::named("copy", Format::Flat);
    let p = Pipeline::builder()
        .backpressure(Backpressure::Block)
        .sink_with(loki, SinkOptions::new().when_full(WhenFull::Block))
        .sink(copy)
        .build()
        .unwrap();
    let n = 5_000;
    let (api, db) = (p.logger("api.http"), p.logger("db"));
    for i in 0..n {
        match i % 3 {
            0 => fapilog::info!(api, "request", i = i),
            1 => fapilog::warning!(db, "slow query", i = i),
            _ => fapilog::error!(api, "failed", i = i),
        }
    }
    let report = p.shutdown(LONG);
    assert!(report.is_complete(), "{report:?}");

    let lines = fake.lines();
    assert_eq!(lines.len(), n as usize);
    let by_i = once_each(&lines);
    assert_eq!(by_i.len(), n as usize);
    // The content is the logged entry, byte for byte (fapilog's line: the
    // entry without the schema wrapper).
    let logged: HashSet<String> = copied
        .lines()
        .into_iter()
        .map(|l| l.trim_end().to_owned())
        .collect();
    for l in &lines {
        assert!(logged.contains(&l.line), "not a logged line: {}", l.line);
        let j = l.json();
        // Labels: static ones, the line's level and sanitized logger.
        assert_eq!(l.labels["service"], "checkout");
        assert_eq!(l.labels["env"], "prod eu");
        assert_eq!(l.labels["level"], j["level"].as_str().unwrap());
        assert_eq!(
            l.labels["logger"],
            j["logger"].as_str().unwrap().replace('.', "_")
        );
        assert_eq!(l.labels.len(), 4);
        assert_eq!(l.tenant.as_deref(), Some("team-a"));
        // The event's own time, not the send time.
        assert_eq!(
            l.ts / 1_000_000,
            iso_nanos(j["timestamp"].as_str().unwrap()) / 1_000_000
        );
        assert_eq!(
            l.metadata["message_id"],
            j["context"]["message_id"].as_str().unwrap()
        );
    }
    // Each stream is in time order, across pushes.
    let mut last: BTreeMap<Vec<(String, String)>, i64> = BTreeMap::new();
    for l in &lines {
        let key: Vec<_> = l.labels.clone().into_iter().collect();
        let prev = last.insert(key, l.ts).unwrap_or(i64::MIN);
        assert!(prev <= l.ts, "a stream went back in time");
    }
    // Split at the byte cap: many pushes, none above it before compression.
    let reqs = fake.server.requests();
    assert!(reqs.len() > 10, "{} pushes", reqs.len());
    for r in &reqs {
        let raw = snap::raw::Decoder::new().decompress_vec(&r.body).unwrap();
        assert!(raw.len() <= cap, "a push of {} bytes", raw.len());
        assert_eq!(r.header("content-type"), Some("application/x-protobuf"));
    }
    let m = p.metrics();
    assert_eq!(sink(&m, "loki").written, n as u64);
}

#[test]
fn json_encoding_with_gzip_and_basic_auth_delivers_the_same_events() {
    let fake = FakeLoki::start();
    // "Basic base64(u-1:pa ss)"
    *fake.store.authorization.lock().unwrap() = Some("Basic dS0xOnBhIHNz".into());
    let loki = LokiSink::builder(format!("{}/loki/api/v1/push", fake.url()))
        .encoding(LokiEncoding::Json)
        .compression(Compression::Gzip)
        .basic_auth("u-1", "pa ss")
        .label("service", "json")
        .message_id_metadata(true)
        .build()
        .unwrap();
    let p = Pipeline::builder().sink(loki).build().unwrap();
    let log = p.logger("app");
    for i in 0..2_000 {
        fapilog::info!(log, "é \"quoted\" \n line", i = i);
    }
    assert!(p.shutdown(LONG).is_complete());
    let lines = fake.lines();
    let by_i = once_each(&lines);
    assert_eq!(by_i.len(), 2_000);
    assert_eq!(by_i[&7].json()["message"], "é \"quoted\" \n line");
    assert_eq!(by_i[&7].labels["level"], "INFO");
    assert_eq!(
        by_i[&7].metadata["message_id"],
        by_i[&7].json()["context"]["message_id"].as_str().unwrap()
    );
    for r in fake.server.requests() {
        assert_eq!(r.header("content-encoding"), Some("gzip"));
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert!(r.header("x-scope-orgid").is_none());
    }
}

#[test]
fn one_line_loki_refuses_costs_only_that_line() {
    let fake = FakeLoki::start();
    fake.store
        .poison
        .lock()
        .unwrap()
        .extend(["poison-a".to_owned(), "poison-b".to_owned()]);
    let loki = LokiSink::builder(fake.url()).build().unwrap();
    let (backup, backup_lines) = CaptureSink::named("backup", Format::Json);
    let p = Pipeline::builder()
        .batch_max_events(500)
        // One batch of exactly that many: no flush by age.
        .batch_max_age(LONG)
        .backpressure(Backpressure::Block)
        .sink_with(loki, SinkOptions::new().fallback("backup"))
        .sink(backup)
        .route(Route::to(&["backup"]).logger_prefix("no-such-logger"))
        .route(Route::to(&["loki"]).min_level(Level::DEBUG))
        .build()
        .unwrap();
    let log = p.logger("app");
    for i in 0..1_000 {
        match i {
            123 => fapilog::info!(log, "poison-a", i = i),
            777 => fapilog::info!(log, "poison-b", i = i),
            _ => fapilog::info!(log, "fine", i = i),
        }
    }
    p.flush(LONG).unwrap();
    let by_i = once_each(&fake.lines());
    assert_eq!(by_i.len(), 998, "every other line delivered");
    assert!(!by_i.contains_key(&123) && !by_i.contains_key(&777));
    assert_eq!(backup_lines.messages(), ["poison-a", "poison-b"]);
    let m = p.metrics();
    let l = sink(&m, "loki");
    assert_eq!(l.written, 998);
    assert_eq!(l.diverted_for(DivertReason::Rejected), 2);
    assert_eq!(l.retries, 0, "a refused push is bisected, not retried");
    assert!(
        fake.server.requests().iter().any(|r| r.body.len() < 400),
        "bisected down to single lines"
    );
}

#[test]
fn a_bisect_interrupted_by_a_503_resumes_without_duplicates() {
    let fake = FakeLoki::start();
    fake.store.poison.lock().unwrap().push("poison".to_owned());
    // Push 1 (the whole batch) gets 400; pushes 2 and 3 are halves; the
    // 4th, half-way through the bisect, gets 503.
    fake.store.unavailable_at.lock().unwrap().push(4);
    let loki = LokiSink::builder(fake.url()).build().unwrap();
    let (backup, backup_lines) = CaptureSink::named("backup", Format::Json);
    let p = Pipeline::builder()
        .batch_max_events(64)
        // One batch of exactly that many: no flush by age.
        .batch_max_age(LONG)
        .sink_clock(ManualClock::new())
        .sink_with(loki, SinkOptions::new().fallback("backup"))
        .sink(backup)
        .route(Route::to(&["backup"]).logger_prefix("no-such-logger"))
        .route(Route::to(&["loki"]).min_level(Level::DEBUG))
        .build()
        .unwrap();
    let log = p.logger("app");
    for i in 0..64 {
        if i == 50 {
            fapilog::info!(log, "poison", i = i);
        } else {
            fapilog::info!(log, "fine", i = i);
        }
    }
    p.flush(LONG).unwrap();
    let by_i = once_each(&fake.lines());
    assert_eq!(by_i.len(), 63);
    assert!(!by_i.contains_key(&50));
    assert_eq!(backup_lines.messages(), ["poison"]);
    let m = p.metrics();
    let l = sink(&m, "loki");
    assert_eq!(l.retries, 1, "the 503 was retried once");
    assert_eq!(l.written, 63);
    let reqs = fake.server.requests();
    assert!(
        reqs[3].body.len() < reqs[0].body.len(),
        "the 503 came mid-bisect"
    );
}

#[test]
fn a_push_loki_refuses_line_by_line_is_given_up_within_a_bounded_number_of_requests() {
    let fake = FakeLoki::start();
    // Every line is refused (as for a label or metadata Loki rejects).
    fake.store
        .poison
        .lock()
        .unwrap()
        .push("\"message\"".to_owned());
    let loki = LokiSink::builder(fake.url()).build().unwrap();
    let (backup, backup_lines) = CaptureSink::named("backup", Format::Json);
    let p = Pipeline::builder()
        .batch_max_events(1_000)
        // One batch of exactly that many: no flush by age.
        .batch_max_age(LONG)
        .backpressure(Backpressure::Block)
        .sink_with(loki, SinkOptions::new().fallback("backup"))
        .sink(backup)
        .route(Route::to(&["backup"]).logger_prefix("no-such-logger"))
        .route(Route::to(&["loki"]).min_level(Level::DEBUG))
        .build()
        .unwrap();
    let log = p.logger("app");
    for i in 0..1_000 {
        fapilog::info!(log, "refused", i = i);
    }
    p.flush(LONG).unwrap();
    assert_eq!(fake.count(), 0);
    assert_eq!(backup_lines.len(), 1_000, "every line diverted, counted");
    let m = p.metrics();
    assert_eq!(sink(&m, "loki").diverted_for(DivertReason::Rejected), 1_000);
    // Bisecting to every line would take ~2,000 pushes.
    assert!(
        fake.server.count() < 1_000,
        "{} pushes",
        fake.server.count()
    );
}

#[test]
fn a_line_above_max_line_size_is_refused_before_sending_and_counted() {
    let fake = FakeLoki::start();
    let loki = LokiSink::builder(fake.url())
        .max_line_bytes(2_000)
        .build()
        .unwrap();
    let (backup, backup_lines) = CaptureSink::named("backup", Format::Json);
    let p = Pipeline::builder()
        .sink_with(loki, SinkOptions::new().fallback("backup"))
        .sink(backup)
        .route(Route::to(&["backup"]).logger_prefix("no-such-logger"))
        .route(Route::to(&["loki"]).min_level(Level::DEBUG))
        .build()
        .unwrap();
    let log = p.logger("app");
    fapilog::info!(log, "small", i = 0);
    let big = "z".repeat(5_000);
    fapilog::info!(log, "big", i = 1, blob = big.as_str());
    fapilog::info!(log, "small", i = 2);
    p.flush(LONG).unwrap();
    let by_i = once_each(&fake.lines());
    assert_eq!(by_i.keys().copied().collect::<Vec<_>>(), [0, 2]);
    assert_eq!(backup_lines.messages(), ["big"]);
    assert_eq!(
        sink(&p.metrics(), "loki").diverted_for(DivertReason::Rejected),
        1
    );
}

#[test]
fn throttling_and_server_errors_are_retried_honouring_retry_after() {
    let fake = FakeLoki::start();
    let date = httpdate_in(Duration::from_secs(5));
    fake.server.script([
        Reply::retry_after(429, "3"),
        Reply::Status(503),
        Reply::retry_after(503, &date),
        Reply::Status(500),
    ]);
    let clock = ManualClock::new();
    let loki = LokiSink::builder(fake.url()).build().unwrap();
    let p = Pipeline::builder()
        .batch_max_events(100)
        .batch_max_age(LONG)
        .sink_clock(clock.clone())
        .sink_with(
            loki,
            SinkOptions::new().retry(RetryPolicy::default().max_attempts(10)),
        )
        .build()
        .unwrap();
    let log = p.logger("app");
    for i in 0..100 {
        fapilog::info!(log, "e", i = i);
    }
    p.flush(LONG).unwrap();
    assert_eq!(once_each(&fake.lines()).len(), 100);
    let m = p.metrics();
    let l = sink(&m, "loki");
    assert_eq!(l.retries, 4);
    assert_eq!(l.errors_of(SinkErrorKind::Transient), 4);
    assert_eq!(l.written, 100);
    // The driver waited at least what Loki asked: 3 s, then about 5 s.
    assert!(clock.now() >= Duration::from_secs(7), "{:?}", clock.now());
    // 5 pushes in all: 4 refused, the retry of the same bytes accepted.
    let reqs = fake.server.requests();
    assert_eq!(reqs.len(), 5);
    assert!(
        reqs.windows(2).all(|w| w[0].body == w[1].body),
        "retries resend the same bytes"
    );
}

fn httpdate_in(d: Duration) -> String {
    // RFC 7231 IMF-fixdate, computed without a date crate.
    let t = std::time::SystemTime::now() + d;
    let secs = t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let wd = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days.rem_euclid(7) as usize];
    let mon = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(m - 1) as usize];
    format!(
        "{wd}, {d:02} {mon} {y} {:02}:{:02}:{:02} GMT",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[test]
fn refusals_other_than_400_are_not_retried() {
    for status in [401, 403, 404, 501] {
        let fake = FakeLoki::start();
        fake.server.script([Reply::Status(status)]);
        let loki = LokiSink::builder(fake.url()).build().unwrap();
        let (backup, backup_lines) = CaptureSink::named("backup", Format::Json);
        let p = Pipeline::builder()
            .sink_with(loki, SinkOptions::new().fallback("backup"))
            .sink(backup)
            .route(Route::to(&["backup"]).logger_prefix("no-such-logger"))
            .route(Route::to(&["loki"]).min_level(Level::DEBUG))
            .build()
            .unwrap();
        fapilog::info!(p.logger("app"), "refused", i = 0);
        p.flush(LONG).unwrap();
        let m = p.metrics();
        assert_eq!(sink(&m, "loki").retries, 0, "{status}");
        assert_eq!(
            sink(&m, "loki").diverted_for(DivertReason::Rejected),
            1,
            "{status}"
        );
        assert_eq!(backup_lines.messages(), ["refused"], "{status}");
        assert_eq!(fake.server.count(), 1, "{status}");
    }
}

/// Logs `range` on a thread (it may block while Loki is down).
fn log_on_thread(log: fapilog::Logger, range: std::ops::Range<i64>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for i in range {
            fapilog::info!(log, "event", i = i);
        }
    })
}

#[test]
fn down_at_start_then_down_mid_run_and_back_loses_nothing_with_block() {
    let port = free_port();
    let loki = LokiSink::builder(format!("http://127.0.0.1:{port}"))
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let (other, _) = CaptureSink::named("other", Format::Json);
    // Building and starting with Loki down succeeds.
    let p = Pipeline::builder()
        .batch_max_events(50)
        .backpressure(Backpressure::Block)
        .queue_capacity(1_000)
        .sink_with(loki, patient().when_full(WhenFull::Block).buffer_batches(2))
        .sink(other)
        .build()
        .expect("a Loki that is down does not fail the build");
    let retries = |p: &Pipeline| sink(&p.metrics(), "loki").retries;
    let writer = log_on_thread(p.logger("app"), 0..2_000);
    assert!(
        wait_until(LONG, || retries(&p) >= 3),
        "the sink retries while Loki is down"
    );
    assert_eq!(sink(&p.metrics(), "loki").health, SinkHealth::Retrying);
    let fake = FakeLoki::start_at(port, Arc::new(Store::default()));
    writer.join().unwrap();
    p.flush(LONG).unwrap();
    assert_eq!(fake.count(), 2_000);

    // Down mid-run, then back on the same port.
    let store = fake.shutdown();
    let before = retries(&p);
    let writer = log_on_thread(p.logger("app"), 2_000..4_000);
    assert!(wait_until(LONG, || retries(&p) >= before + 3));
    let fake = FakeLoki::start_at(port, store);
    writer.join().unwrap();
    let report = p.shutdown(LONG);
    assert!(report.is_complete(), "{report:?}");
    let by_i = once_each(&fake.lines());
    assert_eq!(
        by_i.keys().copied().collect::<Vec<_>>(),
        (0..4_000).collect::<Vec<_>>()
    );
    let m = p.metrics();
    assert_eq!(sink(&m, "loki").written, 4_000);
    assert_eq!(sink(&m, "loki").dropped_total(), 0);
}

#[test]
fn drop_newest_counts_every_loss_while_loki_is_down() {
    let port = free_port();
    let loki = LokiSink::builder(format!("http://127.0.0.1:{port}"))
        .build()
        .unwrap();
    let (other, _) = CaptureSink::named("other", Format::Json);
    let p = Pipeline::builder()
        .batch_max_events(20)
        .backpressure(Backpressure::Block)
        .sink_with(
            loki,
            patient().when_full(WhenFull::DropNewest).buffer_batches(2),
        )
        .sink(other)
        .build()
        .unwrap();
    let n = 3_000;
    let log = p.logger("app");
    for i in 0..n {
        fapilog::info!(log, "event", i = i);
    }
    let dropped = |p: &Pipeline| sink(&p.metrics(), "loki").dropped_for(SinkDropReason::BufferFull);
    let retries = |p: &Pipeline| sink(&p.metrics(), "loki").retries;
    assert!(
        wait_until(LONG, || dropped(&p) > 0 && retries(&p) > 0),
        "a full buffer drops, counted, while the sink retries"
    );
    let fake = FakeLoki::start_at(port, Arc::new(Store::default()));
    let report = p.shutdown(LONG);
    let m = p.metrics();
    let l = sink(&m, "loki");
    let lines = fake.lines();
    let delivered = once_each(&lines).len() as u64;
    assert!(delivered > 0 && l.retries > 0);
    assert_eq!(l.written, lines.len() as u64);
    // The events, and the in-band "dropped" summaries (WARNING) about them.
    let info = |(lvl, _, n): &(&str, SinkDropReason, u64)| if *lvl == "INFO" { *n } else { 0 };
    let dropped_events: u64 = l.dropped.iter().map(info).sum();
    assert_eq!(delivered + dropped_events, n as u64, "every loss counted");
    let drained = report.sinks.iter().find(|s| s.name == "loki").unwrap();
    assert_eq!(drained.dropped, l.dropped_total());
    assert_eq!(drained.written, lines.len() as u64);
}

#[test]
fn the_breaker_opens_while_loki_is_down_and_closes_when_it_is_back() {
    let port = free_port();
    let clock = ManualClock::new();
    let loki = LokiSink::builder(format!("http://127.0.0.1:{port}"))
        .build()
        .unwrap();
    let (backup, backup_lines) = CaptureSink::named("backup", Format::Json);
    let options = SinkOptions::new()
        .retry(RetryPolicy::none())
        .breaker(
            BreakerPolicy::default()
                .failure_threshold(3)
                .cooldown(Duration::from_secs(30)),
        )
        .fallback("backup");
    let p = Pipeline::builder()
        .batch_max_events(1)
        .sink_clock(clock.clone())
        .sink_with(loki, options)
        .sink(backup)
        .route(Route::to(&["backup"]).logger_prefix("no-such-logger"))
        .route(Route::to(&["loki"]).min_level(Level::DEBUG))
        .build()
        .unwrap();
    let log = p.logger("app");
    for i in 0..6 {
        fapilog::info!(log, "down", i = i);
    }
    p.flush(LONG).unwrap();
    let m = p.metrics();
    let l = sink(&m, "loki");
    assert_eq!(l.breaker_opened, 1);
    assert_eq!(l.health, SinkHealth::Open);
    assert_eq!(l.errors_of(SinkErrorKind::Transient), 3);
    // The third failure opens the breaker: its batch and the next three
    // are diverted as BreakerOpen.
    assert_eq!(l.diverted_for(DivertReason::RetriesExhausted), 2);
    assert_eq!(l.diverted_for(DivertReason::BreakerOpen), 4);
    assert_eq!(
        backup_lines.len(),
        6,
        "what Loki did not take went to the fallback"
    );

    let fake = FakeLoki::start_at(port, Arc::new(Store::default()));
    clock.advance(Duration::from_secs(30));
    fapilog::info!(log, "probe", i = 100);
    fapilog::info!(log, "after", i = 101);
    p.flush(LONG).unwrap();
    let by_i = once_each(&fake.lines());
    assert_eq!(by_i.keys().copied().collect::<Vec<_>>(), [100, 101]);
    assert_eq!(sink(&p.metrics(), "loki").health, SinkHealth::Healthy);
}

#[test]
fn fapilog_s_settings_open_the_sink() {
    let fake = FakeLoki::start();
    *fake.store.authorization.lock().unwrap() = Some("Bearer tok-123".into());
    let url = fake.url();
    let s = Settings::from_env_vars([
        ("FAPILOG_CORE__SINKS", "loki"),
        ("FAPILOG_LOKI__URL", url.as_str()),
        ("FAPILOG_LOKI__TENANT_ID", "tenant-9"),
        (
            "FAPILOG_LOKI__LABELS",
            r#"{"service":"billing","region":"eu-1"}"#,
        ),
        ("FAPILOG_LOKI__LABEL_KEYS", "level,logger"),
        ("FAPILOG_LOKI__AUTH_TOKEN", "tok-123"),
        ("FAPILOG_LOKI__TIMEOUT_SECONDS", "5"),
        ("FAPILOG_LOKI__BATCH_SIZE", "100"),
        ("FAPILOG_LOKI__MAX_RETRIES", "3"),
        ("FAPILOG_LOKI__RETRY_BASE_DELAY", "0.01"),
        ("FAPILOG_LOKI__CIRCUIT_BREAKER_THRESHOLD", "5"),
    ])
    .unwrap();
    let p = Pipeline::builder()
        .settings(s)
        .sink_factory(fapilog_sinks::factory())
        .build()
        .unwrap();
    let log = p.logger("orders");
    for i in 0..1_000 {
        fapilog::warning!(log, "late", i = i);
    }
    assert!(p.shutdown(LONG).is_complete());
    let lines = fake.lines();
    assert_eq!(once_each(&lines).len(), 1_000);
    let l = &lines[0];
    assert_eq!(l.tenant.as_deref(), Some("tenant-9"));
    let labels: Vec<_> = l.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    assert_eq!(
        labels,
        [
            "level=WARNING",
            "logger=orders",
            "region=eu-1",
            "service=billing"
        ]
    );
    // batch_size is fapilog's lines per push.
    assert!(fake.server.requests().len() >= 10);
}

#[test]
fn fapilog_s_retry_and_breaker_settings_drive_the_driver() {
    for breaker in ["true", "false"] {
        let fake = FakeLoki::start();
        fake.server.respond_with(|_| Reply::Status(503));
        let url = fake.url();
        let s = Settings::from_env_vars([
            ("FAPILOG_CORE__SINKS", "loki"),
            ("FAPILOG_LOKI__URL", url.as_str()),
            // fapilog: the total number of attempts.
            ("FAPILOG_LOKI__MAX_RETRIES", "2"),
            ("FAPILOG_LOKI__RETRY_BASE_DELAY", "0.01"),
            ("FAPILOG_LOKI__CIRCUIT_BREAKER_ENABLED", breaker),
            ("FAPILOG_LOKI__CIRCUIT_BREAKER_THRESHOLD", "2"),
        ])
        .unwrap();
        let p = Pipeline::builder()
            .settings(s)
            .sink_factory(fapilog_sinks::factory())
            .sink_clock(ManualClock::new())
            .batch_max_events(1)
            .build()
            .unwrap();
        let log = p.logger("app");
        for i in 0..4 {
            fapilog::info!(log, "e", i = i);
        }
        p.flush(LONG).unwrap();
        let m = p.metrics();
        let l = sink(&m, "loki");
        if breaker == "false" {
            assert_eq!(fake.server.count(), 8, "two attempts per batch");
            assert_eq!(l.retries, 4);
            assert_eq!(l.breaker_opened, 0);
            assert_eq!(l.diverted_for(DivertReason::RetriesExhausted), 4);
        } else {
            assert!(fake.server.count() < 8, "{}", fake.server.count());
            assert!(l.retries >= 1);
            assert_eq!(l.breaker_opened, 1);
            assert_eq!(l.health, SinkHealth::Open);
        }
    }
}

#[test]
fn defaults_match_fapilog_s_loki_sink() {
    // FAPILOG_CORE__SINKS=loki alone: http://localhost:3100, service=fapilog, level.
    let s = Settings::from_env_vars([("FAPILOG_CORE__SINKS", "loki")]).unwrap();
    let p = Pipeline::builder()
        .settings(s)
        .sink_factory(fapilog_sinks::factory())
        .build()
        .expect("opens without contacting Loki");
    assert_eq!(p.health().sinks[0].0, "loki");
    drop(p.shutdown(Duration::from_millis(10)));
}

fn build_err(vars: &[(&str, &str)]) -> String {
    let mut all = vec![("FAPILOG_CORE__SINKS", "loki")];
    all.extend_from_slice(vars);
    let s = Settings::from_env_vars(all).unwrap();
    Pipeline::builder()
        .settings(s)
        .sink_factory(fapilog_sinks::factory())
        .build()
        .map(|_| ())
        .unwrap_err()
        .to_string()
}

#[test]
fn bad_settings_fail_the_build_naming_key_and_value() {
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);
    let cases: &[Case<'_>] = &[
        (
            &[("FAPILOG_LOKI__URL", "ftp://loki:3100")],
            &["sink_config.loki.url", "ftp://loki:3100"],
        ),
        (
            &[("FAPILOG_LOKI__URL", "not a url")],
            &["sink_config.loki.url", "not a url"],
        ),
        (
            &[("FAPILOG_LOKI__LABEL_KEYS", "level,http.status")],
            &["sink_config.loki.label_keys", "http.status"],
        ),
        (
            &[("FAPILOG_LOKI__LABEL_KEYS", "level,trace_id")],
            &["sink_config.loki.label_keys", "trace_id", "cardinality"],
        ),
        (
            &[("FAPILOG_LOKI__LABELS", r#"{"__name__":"x"}"#)],
            &["sink_config.loki.labels", "__name__"],
        ),
        (
            &[("FAPILOG_LOKI__TENANT_ID", "a b")],
            &["sink_config.loki.tenant_id", "a b"],
        ),
        (
            &[("FAPILOG_LOKI__AUTH_USERNAME", "u")],
            &["sink_config.loki.auth_password"],
        ),
    ];
    for (vars, wanted) in cases {
        let e = build_err(vars);
        for w in *wanted {
            assert!(e.contains(w), "{vars:?}: {e:?} lacks {w:?}");
        }
    }
    let too_many: Vec<String> = (0..15).map(|i| format!("k{i}")).collect();
    let e = build_err(&[("FAPILOG_LOKI__LABEL_KEYS", &too_many.join(","))]);
    assert!(e.contains("at most 15"), "{e}");
}

#[test]
fn secrets_never_appear_in_errors_or_debug_output() {
    let e = build_err(&[
        ("FAPILOG_LOKI__URL", "htp://user:hunter2@loki"),
        ("FAPILOG_LOKI__AUTH_USERNAME", "user"),
        ("FAPILOG_LOKI__AUTH_PASSWORD", "hunter2"),
    ]);
    assert!(
        e.contains("sink_config.loki.url") && !e.contains("hunter2"),
        "{e}"
    );
    let e = build_err(&[
        ("FAPILOG_LOKI__TENANT_ID", "bad tenant"),
        ("FAPILOG_LOKI__AUTH_TOKEN", "tok-hunter2"),
    ]);
    assert!(!e.contains("hunter2"), "{e}");
    let e = LokiSink::builder("http://loki:3100")
        .bearer_token("bad token with spaces hunter2")
        .build()
        .expect_err("refused")
        .to_string();
    assert!(e.contains("auth") && !e.contains("hunter2"), "{e}");

    let b = LokiSink::builder("https://user:hunter2@loki:3100")
        .basic_auth("user", "hunter2")
        .tenant_id("t");
    assert!(!format!("{b:?}").contains("hunter2"), "{b:?}");
    let sink = b.build().unwrap();
    assert!(!format!("{:?}", sink.get_ref()).contains("hunter2"));
    let b = LokiSink::builder("http://loki:3100").bearer_token("tok-hunter2");
    assert!(!format!("{b:?}").contains("hunter2"));
    assert!(!format!("{:?}", b.build().unwrap().get_ref()).contains("hunter2"));
}

#[test]
fn builder_options_are_validated() {
    let e = LokiSink::builder("http://loki:3100")
        .compression(Compression::Gzip)
        .build()
        .expect_err("refused")
        .to_string();
    assert!(e.contains("compression"), "{e}");
    let e = LokiSink::builder("http://loki:3100")
        .max_request_bytes(10)
        .build()
        .expect_err("refused")
        .to_string();
    assert!(e.contains("max_request_bytes") && e.contains("10"), "{e}");
    let e = LokiSink::builder("http://loki:3100")
        .labels([("a-b", "x")])
        .build()
        .expect_err("refused")
        .to_string();
    assert!(e.contains("a-b"), "{e}");
    let sink = LokiSink::builder("http://loki:3100/").build().unwrap();
    assert_eq!(
        sink.get_ref().push_url(),
        "http://loki:3100/loki/api/v1/push"
    );
    let sink = LokiSink::builder("https://gw.example/tenant/loki/api/v1/push")
        .name("gw")
        .build()
        .unwrap();
    assert_eq!(
        sink.get_ref().push_url(),
        "https://gw.example/tenant/loki/api/v1/push"
    );
    assert_eq!(fapilog::Sink::name(&sink), "gw");
}
