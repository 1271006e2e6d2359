//! The syslog sink against a real rsyslogd (Debian's rsyslog, one private
//! instance per test on its own loopback port, installed by
//! `./scripts/test`): what rsyslog parses and writes is what the tests
//! check: counts, order, content, PRI, structured data, truncation,
//! framing, and the receiver down at start, killed and back.
#![cfg(feature = "syslog")]

mod common;
#[path = "common/syslog.rs"]
mod rsyslog;

use std::collections::HashSet;
use std::time::Duration;

use fapilog::sinks::{BreakerPolicy, RetryPolicy, SinkOptions, WhenFull};
use fapilog::{Backpressure, Level, Pipeline, Settings};
use fapilog_sinks::{Adapter, Facility, Framing, MessageBody, SyslogSink, SyslogTransport};
use rsyslog::{Listen, Parsed, Rsyslog};

const LONG: Duration = Duration::from_secs(60);

/// The error of a build that must fail (`Adapter` has no `Debug`, so no
/// `unwrap_err`).
fn build_err(builder: fapilog_sinks::SyslogSinkBuilder) -> fapilog_sinks::ConfigError {
    match builder.build() {
        Ok(_) => panic!("the build should fail"),
        Err(e) => e,
    }
}

/// The envelope in MSG, parsed.
fn envelope(p: &Parsed) -> serde_json::Value {
    serde_json::from_str(&p.msg)
        .unwrap_or_else(|e| panic!("MSG is the JSON envelope ({e}): {}", p.msg))
}

/// `data.i` of each message, in arrival order.
fn indices(parsed: &[Parsed]) -> Vec<u64> {
    parsed
        .iter()
        .map(|p| envelope(p)["log"]["data"]["i"].as_u64().expect("data.i"))
        .collect()
}

/// Events must arrive once each and in order.
fn assert_exactly_in_order(parsed: &[Parsed], n: u64) {
    let got = indices(parsed);
    let unique: HashSet<_> = got.iter().collect();
    assert_eq!(unique.len(), got.len(), "no duplicates");
    assert_eq!(
        got,
        (0..n).collect::<Vec<_>>(),
        "every event once, in order"
    );
}

/// A pipeline with `Block` backpressure into `sink`, with `options` when
/// given.
fn blocking(sink: Adapter<SyslogSink>, options: Option<SinkOptions>) -> Pipeline {
    let builder = Pipeline::builder().backpressure(Backpressure::Block);
    match options {
        Some(options) => builder.sink_with(sink, options),
        None => builder.sink(sink),
    }
    .build()
    .unwrap()
}

fn retries_forever() -> SinkOptions {
    SinkOptions::new()
        .when_full(WhenFull::Block)
        .retry(
            RetryPolicy::default()
                .max_attempts(u32::MAX)
                .initial(Duration::from_millis(10))
                .max_delay(Duration::from_millis(100))
                .max_elapsed(Duration::from_secs(600)),
        )
        .breaker(BreakerPolicy::off())
}

#[test]
fn thousands_of_events_over_tcp_arrive_once_in_order_with_pri_header_and_structured_data() {
    let server = Rsyslog::start(Listen::Tcp);
    let sink = SyslogSink::builder(SyslogTransport::Tcp, server.address())
        .facility(Facility::Local4)
        .hostname("web-1")
        .app_name("billing")
        .msg_id("audit")
        .build()
        .unwrap();
    let p = blocking(sink, None);
    let log = p.logger("app.payments");
    let n = 5000u64;
    for i in 0..n {
        match i % 4 {
            0 => fapilog::info!(log, "paid", i = i),
            1 => fapilog::warning!(log, "slow \"quoted\" ] \\ é", i = i),
            2 => fapilog::error!(log, "failed", i = i),
            _ => fapilog::critical!(log, "down", i = i),
        }
    }
    let report = p.shutdown(LONG);
    assert_eq!(report.written, n);
    let parsed = server.wait_for(n as usize, LONG);
    assert_eq!(parsed.len(), n as usize);
    assert_exactly_in_order(&parsed, n);
    let pid = std::process::id().to_string();
    for (i, m) in parsed.iter().enumerate() {
        let env = envelope(m);
        let log = &env["log"];
        // local4 = 20: PRI = 160 + severity (info 6, warning 4, error 3, critical 2).
        let severity = [6, 4, 3, 2][i % 4];
        assert_eq!(m.pri, 160 + severity, "{m:?}");
        assert_eq!(
            (&*m.hostname, &*m.app_name, &*m.procid, &*m.msgid),
            ("web-1", "billing", &*pid, "audit")
        );
        // The event's own time, microseconds, UTC.
        let ts = log["timestamp"].as_str().unwrap();
        assert!(
            m.timestamp.starts_with(&ts[..23]),
            "{} vs {ts}",
            m.timestamp
        );
        assert!(
            m.timestamp.ends_with('Z') && m.timestamp.len() == 27,
            "{}",
            m.timestamp
        );
        let id = log["context"]["message_id"].as_str().unwrap();
        let level = log["level"].as_str().unwrap();
        assert_eq!(
            m.structured_data,
            format!(
                "[fapilog@32473 message_id=\"{id}\" logger=\"app.payments\" level=\"{level}\"]"
            )
        );
        if i % 4 == 1 {
            assert_eq!(log["message"], "slow \"quoted\" ] \\ é");
        }
    }
}

#[test]
fn lf_framing_and_message_only_bodies_keep_one_message_per_line() {
    let server = Rsyslog::start(Listen::Tcp);
    let sink = SyslogSink::builder(SyslogTransport::Tcp, server.address())
        .framing(Framing::NonTransparent)
        .message_body(MessageBody::Message)
        .without_structured_data()
        .build()
        .unwrap();
    let p = blocking(sink, None);
    let log = p.logger("app");
    for i in 0..1000u32 {
        fapilog::info!(log, "line {i}\nsecond part");
    }
    p.shutdown(LONG);
    let parsed = server.wait_for(1000, LONG);
    assert_eq!(parsed.len(), 1000, "an embedded LF never splits a message");
    for (i, m) in parsed.iter().enumerate() {
        assert_eq!(m.msg, format!("line {i}\\nsecond part"));
        assert_eq!(m.structured_data, "-");
        assert_eq!(m.pri, 8 + 6, "user.info");
    }
}

#[test]
fn udp_sends_one_message_per_datagram() {
    let server = Rsyslog::start(Listen::Udp);
    let sink = SyslogSink::builder(SyslogTransport::Udp, server.address())
        .facility(Facility::Daemon)
        .build()
        .unwrap();
    let p = blocking(sink, None);
    let log = p.logger("app");
    // Few enough that loopback UDP does not overflow rsyslog's buffer:
    // UDP has no acknowledgement, so a flood could lose datagrams.
    let n = 300u64;
    for i in 0..n {
        fapilog::info!(log, "datagram", i = i);
    }
    p.shutdown(LONG);
    let parsed = server.wait_for(n as usize, LONG);
    let mut got = indices(&parsed);
    got.sort_unstable();
    assert_eq!(got, (0..n).collect::<Vec<_>>());
    assert!(parsed.iter().all(|m| m.pri == 3 * 8 + 6));
}

#[test]
fn long_messages_are_cut_at_a_character_and_the_octet_framing_stays_in_sync() {
    let server = Rsyslog::start(Listen::Tcp);
    let sink = SyslogSink::builder(SyslogTransport::Tcp, server.address())
        .max_message_bytes(600)
        .build()
        .unwrap();
    let p = blocking(sink, None);
    let log = p.logger("app");
    let long = "€".repeat(1000); // 3 bytes each: a cut lands mid-character
    for i in 0..500u32 {
        if i % 2 == 0 {
            fapilog::info!(log, "{long}", i = i);
        } else {
            fapilog::info!(log, "short", i = i);
        }
    }
    p.shutdown(LONG);
    server.wait_for(500, LONG);
    let raw = server.raw();
    assert_eq!(raw.len(), 500, "no merged or split frames");
    for (i, m) in raw.iter().enumerate() {
        assert!(m.len() <= 600, "{} bytes", m.len());
        if i % 2 == 0 {
            assert!(m.len() >= 598, "cut close to the maximum: {}", m.len());
            assert!(
                m.ends_with('€'),
                "cut at a character boundary: …{}",
                &m[m.len() - 10..]
            );
        } else {
            let json = &m[m.find("] {").unwrap() + 2..];
            let v: serde_json::Value = serde_json::from_str(json).unwrap();
            assert_eq!(
                v["log"]["data"]["i"], i as u64,
                "short messages intact, in order"
            );
        }
    }
}

#[test]
fn tls_delivers_to_rsyslog_with_a_private_ca() {
    let server = Rsyslog::start(Listen::Tls);
    let sink = SyslogSink::builder(SyslogTransport::Tls, server.address())
        .ca_file(server.ca_file())
        .build()
        .unwrap();
    let p = blocking(sink, None);
    let log = p.logger("app");
    let n = 2000u64;
    for i in 0..n {
        fapilog::info!(log, "over tls", i = i);
    }
    let report = p.shutdown(LONG);
    assert_eq!(report.written, n);
    let parsed = server.wait_for(n as usize, LONG);
    assert_exactly_in_order(&parsed, n);
}

#[test]
fn tls_refuses_a_receiver_whose_certificate_it_cannot_verify() {
    let server = Rsyslog::start(Listen::Tls);
    // The Mozilla roots do not know the test CA: every attempt fails.
    let sink = SyslogSink::builder(SyslogTransport::Tls, server.address())
        .build()
        .unwrap();
    let p = Pipeline::builder()
        .sink_with(sink, SinkOptions::new().retry(RetryPolicy::none()))
        .build()
        .unwrap();
    fapilog::info!(p.logger("app"), "never delivered");
    let report = p.shutdown(LONG);
    assert_eq!(report.written, 0);
    let s = &report.sinks[0];
    assert_eq!((s.written, s.diverted), (0, 1), "{s:?}");
    assert!(server.parsed().is_empty());
}

/// A hand-written receiver, on purpose: once everything is written, it
/// sends bytes to the sender (as a TLS receiver sends its session tickets
/// when it gets to it) and reads nothing until the sender's shutdown has
/// returned, which rsyslog cannot be made to do. A sender that closed its
/// socket with those bytes unread would reset the connection, and what was
/// still queued for the receiver (more than its receive window holds)
/// would be lost although counted as written.
#[test]
fn shutdown_closes_cleanly_so_a_receiver_that_reads_late_gets_the_tail() {
    use std::io::{Read, Write};
    use std::sync::mpsc::channel;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let (flushed_tx, flushed_rx) = channel::<()>();
    let (sent_tx, sent_rx) = channel::<()>();
    let (shut_tx, shut_rx) = channel::<()>();
    let receiver = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        flushed_rx.recv().unwrap();
        s.write_all(b"bytes the sender never asked for").unwrap();
        sent_tx.send(()).unwrap();
        shut_rx.recv().unwrap();
        let mut all = Vec::new();
        s.read_to_end(&mut all).map(|_| all)
    });
    let sink = SyslogSink::builder(SyslogTransport::Tcp, address)
        // Shutdown waits this long for a close the receiver makes only
        // after: long enough that no write times out on a loaded machine
        // (a resent request would duplicate lines), short for the test.
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let p = blocking(sink, None);
    let log = p.logger("app");
    // About 300 KB: more than a loopback receive window.
    let n = 800u64;
    for i in 0..n {
        fapilog::info!(log, "the tail", i = i);
    }
    p.flush(LONG).unwrap();
    flushed_tx.send(()).unwrap();
    sent_rx.recv().unwrap();
    let report = p.shutdown(LONG);
    assert_eq!(report.written, n);
    shut_tx.send(()).unwrap();
    let bytes = receiver
        .join()
        .unwrap()
        .expect("the receiver reads to a clean end, not a reset");
    assert!(bytes.len() > 200_000, "{} bytes", bytes.len());
    let text = String::from_utf8(bytes).unwrap();
    let got = rsyslog::event_indices(&text);
    assert_eq!(got, (0..n).collect::<Vec<_>>(), "every event, in order");
}

#[test]
fn down_at_start_killed_mid_run_and_back_loses_nothing_with_block() {
    outage_loses_nothing(Listen::Tcp, SyslogTransport::Tcp);
}

#[test]
fn over_tls_too_an_outage_loses_nothing_with_block() {
    outage_loses_nothing(Listen::Tls, SyslogTransport::Tls);
}

/// Down at start, up, killed between batches, back: with `Block` and
/// unbounded retries every event arrives once, in order.
fn outage_loses_nothing(listen: Listen, transport: SyslogTransport) {
    let mut server = Rsyslog::prepare(listen);
    let mut builder = SyslogSink::builder(transport, server.address());
    if transport == SyslogTransport::Tls {
        builder = builder.ca_file(server.ca_file());
    }
    let sink = builder
        .build()
        .expect("a receiver that is down does not fail the build");
    // A receiver that is down does not fail the start either.
    let p = blocking(sink, Some(retries_forever()));
    let log = p.logger("app");
    let sink_metrics = || {
        p.metrics()
            .sinks
            .into_iter()
            .find(|s| s.name == "syslog")
            .unwrap()
    };

    // Down at start: the sink backs off and retries.
    for i in 0..1000u64 {
        fapilog::info!(log, "while down", i = i);
    }
    assert!(
        common::wait_until(LONG, || sink_metrics().retries >= 3),
        "retries while down"
    );
    server.restart();
    server.wait_for(1000, LONG);
    p.flush(LONG).unwrap();

    // Killed mid-run: the next write finds the connection closed,
    // reconnects, is refused, backs off.
    server.kill();
    let before = sink_metrics().retries;
    for i in 1000..2000u64 {
        fapilog::info!(log, "after the kill", i = i);
    }
    assert!(
        common::wait_until(LONG, || sink_metrics().retries >= before + 3),
        "retries after the kill"
    );
    server.restart();
    p.flush(LONG).unwrap();
    let report = p.shutdown(LONG);
    let parsed = server.wait_for(2000, LONG);
    assert_exactly_in_order(&parsed, 2000);
    assert_eq!(report.written, 2000);
    assert_eq!(report.dropped_total(), 0);
    let s = &report.sinks[0];
    assert_eq!((s.written, s.dropped, s.diverted), (2000, 0, 0), "{s:?}");
}

#[test]
fn killed_while_sending_the_stream_stays_framed_and_delivery_resumes_in_order() {
    let mut server = Rsyslog::start(Listen::Tcp);
    let sink = SyslogSink::builder(SyslogTransport::Tcp, server.address())
        .build()
        .unwrap();
    let p = blocking(sink, Some(retries_forever()));
    let n = 20_000u64;
    std::thread::scope(|scope| {
        let log = p.logger("app");
        scope.spawn(move || {
            for i in 0..n {
                fapilog::info!(log, "streaming", i = i);
            }
        });
        // Kill it while the stream is busy, then bring it back.
        server.wait_for(2000, LONG);
        server.kill();
        server.restart();
    });
    p.flush(LONG).unwrap();
    let report = p.shutdown(LONG);
    assert_eq!(report.dropped_total(), 0);
    assert_eq!(report.sinks[0].diverted, 0);
    let ok = common::wait_until(LONG, || {
        server
            .raw()
            .last()
            .is_some_and(|l| l.contains(&format!("\"i\":{}", n - 1)))
    });
    assert!(ok, "the last event arrives");
    // Every message rsyslog wrote is whole: it parses, no merged or split
    // frames across the reconnect.
    let got = indices(&server.parsed());
    // At-least-once: a request cut by the kill is written again whole on
    // the new connection (duplicates), and what the killed rsyslog had
    // read but not written is its loss: one contiguous gap at most.
    let mut seen = HashSet::new();
    let firsts: Vec<u64> = got.iter().copied().filter(|i| seen.insert(*i)).collect();
    assert!(firsts.windows(2).all(|w| w[0] < w[1]), "in order");
    let missing: Vec<u64> = (0..n).filter(|i| !seen.contains(i)).collect();
    if let (Some(first), Some(last)) = (missing.first(), missing.last()) {
        assert_eq!(
            (last - first + 1) as usize,
            missing.len(),
            "what is missing is the one window rsyslog lost when killed: {missing:?}"
        );
    }
    eprintln!(
        "killed mid-stream: {} messages, {} duplicates, {} lost in rsyslog's buffers",
        got.len(),
        got.len() - firsts.len(),
        missing.len()
    );
}

#[test]
fn with_drop_newest_every_loss_while_down_is_counted_and_the_breaker_opens() {
    let mut server = Rsyslog::prepare(Listen::Tcp);
    let sink = SyslogSink::builder(SyslogTransport::Tcp, server.address())
        .build()
        .unwrap();
    let options = common::failing_fast(Duration::from_millis(50))
        .when_full(WhenFull::DropNewest)
        .buffer_batches(1);
    let p = Pipeline::builder()
        .sink_with(sink, options)
        .batch_max_events(50)
        .backpressure(Backpressure::Block)
        .build()
        .unwrap();
    let log = p.logger("app");
    let n = 3000u64;
    for i in 0..n {
        fapilog::info!(log, "while down", i = i);
    }
    p.flush(LONG).unwrap();
    let m = p
        .metrics()
        .sinks
        .into_iter()
        .find(|s| s.name == "syslog")
        .unwrap();
    assert!(m.retries > 0, "backoff visible: {m:?}");
    assert!(m.breaker_opened > 0, "breaker visible: {m:?}");
    assert_eq!(m.written, 0);

    // Back: the breaker's probe succeeds and delivery resumes.
    server.restart();
    let mut k = n;
    assert!(
        common::wait_until(LONG, || {
            fapilog::info!(log, "after", i = k);
            k += 1;
            let _ = p.flush(LONG);
            !server.parsed().is_empty()
        }),
        "delivery resumes once rsyslog is back"
    );
    let report = p.shutdown(LONG);
    let s = &report.sinks[0];
    let delivered = server.wait_for(s.written as usize, LONG).len() as u64;
    assert_eq!(delivered, s.written);
    // The pipeline's own `logs dropped` reports travel to the sink too.
    let reports = p.metrics().drop_reports;
    assert_eq!(
        s.written + s.dropped + s.diverted,
        k + reports,
        "every event delivered, dropped or diverted, and counted: {s:?}, {reports} reports"
    );
    assert!(s.dropped + s.diverted > 0);
}

#[test]
fn the_settings_say_syslog_is_configured_in_code() {
    let settings = Settings::from_env_vars([("FAPILOG_CORE__SINKS", "syslog")]).unwrap();
    let err = Pipeline::builder()
        .settings(settings)
        .sink_factory(fapilog_sinks::factory())
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("syslog") && err.contains("SyslogSink"),
        "{err}"
    );
}

#[test]
fn invalid_options_fail_the_build_naming_the_key_and_the_value() {
    let cases: Vec<(fapilog_sinks::SyslogSinkBuilder, &str, &str)> = vec![
        (
            SyslogSink::builder(SyslogTransport::Tcp, "localhost"),
            "address",
            "localhost",
        ),
        (
            SyslogSink::builder(SyslogTransport::Udp, "127.0.0.1:0"),
            "address",
            "127.0.0.1:0",
        ),
        (
            SyslogSink::builder(SyslogTransport::Tcp, "127.0.0.1:514").app_name("my app"),
            "app_name",
            "my app",
        ),
        (
            SyslogSink::builder(SyslogTransport::Tcp, "127.0.0.1:514").app_name("a".repeat(49)),
            "app_name",
            "aaaa",
        ),
        (
            SyslogSink::builder(SyslogTransport::Tcp, "127.0.0.1:514").msg_id("x".repeat(33)),
            "msg_id",
            "xxxx",
        ),
        (
            SyslogSink::builder(SyslogTransport::Tcp, "127.0.0.1:514").sd_id("a=b"),
            "sd_id",
            "a=b",
        ),
        (
            SyslogSink::builder(SyslogTransport::Udp, "127.0.0.1:514").max_message_bytes(70_000),
            "max_message_bytes",
            "70000",
        ),
        (
            SyslogSink::builder(SyslogTransport::Tcp, "127.0.0.1:514").max_message_bytes(100),
            "max_message_bytes",
            "100",
        ),
        (
            SyslogSink::builder(SyslogTransport::Tls, "127.0.0.1:6514")
                .ca_file("/nonexistent/ca.pem"),
            "ca_file",
            "/nonexistent/ca.pem",
        ),
        (
            SyslogSink::builder(SyslogTransport::Tls, "127.0.0.1:6514")
                .tls_server_name("not a name"),
            "tls_server_name",
            "not a name",
        ),
    ];
    for (builder, key, value) in cases {
        let err = build_err(builder).to_string();
        assert!(err.contains(key) && err.contains(value), "{key}: {err}");
    }
}

#[test]
fn credentials_in_an_address_never_appear_in_errors_or_debug_output() {
    let builder = SyslogSink::builder(SyslogTransport::Tcp, "user:hunter2@logs.example.com:514");
    assert!(!format!("{builder:?}").contains("hunter2"), "{builder:?}");
    let err = build_err(builder);
    let text = format!("{err} {err:?}");
    assert!(
        text.contains("address") && text.contains("logs.example.com"),
        "{text}"
    );
    assert!(!text.contains("hunter2"), "{text}");
}

#[test]
fn levels_map_to_documented_severities() {
    use fapilog_sinks::severity;
    assert_eq!(severity(Level::DEBUG), 7);
    assert_eq!(severity(Level::custom(60, "AUDIT")), 5);
    assert_eq!(severity(Level::custom(70, "SECURITY")), 4);
}
