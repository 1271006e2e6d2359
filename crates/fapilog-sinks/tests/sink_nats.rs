//! The NATS JetStream sink against the machine's real NATS server
//! (127.0.0.1:4222, `FAPILOG_TEST_NATS`; `./scripts/test` starts it when
//! it is down). Each test makes its own stream and deletes it; outages
//! go through a TCP forwarder the test cuts, never the shared server.
#![cfg(feature = "nats")]

mod common;
#[path = "common/nats.rs"]
mod nats;

use std::collections::HashSet;
use std::time::Duration;

use common::{free_port, patient, wait_until};
use fapilog::sinks::{BreakerPolicy, RetryPolicy, SinkOptions, WhenFull};
use fapilog::testing::CaptureSink;
use fapilog::{Batch, Event, Format, Level, Pipeline, Settings, Sink, SinkError};
use fapilog_sinks::NatsSink;
use nats::{nats_addr, nats_url, Admin, Forwarder, Stored, TlsServer};

const LONG: Duration = Duration::from_secs(60);

/// The `i` field of each stored line, checking each carries its id.
fn indices(stored: &[Stored]) -> Vec<u64> {
    stored
        .iter()
        .map(|m| {
            let v = m.json();
            assert_eq!(
                m.msg_id.as_deref(),
                v["log"]["context"]["message_id"].as_str(),
                "Nats-Msg-Id is the envelope's message_id"
            );
            v["log"]["data"]["i"]
                .as_u64()
                .unwrap_or_else(|| panic!("no log.data.i in {}", m.payload))
        })
        .collect()
}

fn batch_of(n: usize, message: &str) -> Batch {
    let mut batch = Batch::new(Format::Json);
    for _ in 0..n {
        batch.push(&Event::new(Level::INFO, message));
    }
    batch
}

/// The build error of `builder` (the sink has no `Debug` for `unwrap_err`).
fn build_err(builder: fapilog_sinks::NatsSinkBuilder) -> String {
    match builder.build() {
        Ok(sink) => panic!("built {:?}", sink.get_ref()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn thousands_of_events_arrive_once_in_order_carrying_their_message_id() {
    let admin = Admin::connect();
    let stream = admin.stream("order");
    let sink = NatsSink::builder(nats_url())
        .subject(stream.subject("{level}"))
        .build()
        .unwrap();
    let counters = sink.get_ref().counters();
    let p = Pipeline::builder()
        .sink_with(sink, patient())
        .build()
        .unwrap();
    let log = p.logger("app");
    let n = 5000u64;
    for i in 0..n {
        if i % 100 == 0 {
            fapilog::warning!(log, "event", i = i);
        } else {
            fapilog::info!(log, "event", i = i);
        }
    }
    let report = p.shutdown(LONG);
    assert_eq!((report.written, report.failed), (n, 0));

    let stored = stream.read_all();
    assert_eq!(stored.len() as u64, n, "one message per event");
    assert_eq!(indices(&stored), (0..n).collect::<Vec<_>>(), "in order");
    let ids: HashSet<_> = stored.iter().map(|m| m.msg_id.clone()).collect();
    assert_eq!(ids.len() as u64, n, "no duplicate");
    for m in &stored {
        let v = m.json();
        assert_eq!(v["schema_version"], "1.1");
        assert_eq!(v["log"]["message"], "event");
        let level = v["log"]["level"].as_str().unwrap().to_ascii_lowercase();
        assert_eq!(
            m.subject,
            stream.subject(&level),
            "{{level}} in the subject"
        );
    }
    assert_eq!(
        stored
            .iter()
            .filter(|m| m.subject.ends_with(".warning"))
            .count(),
        50
    );
    assert_eq!((counters.stored(), counters.duplicates()), (n, 0));
}

#[test]
fn a_resent_batch_is_acknowledged_as_duplicate_and_stored_once() {
    let admin = Admin::connect();
    let stream = admin.stream("dup");
    let mut sink = NatsSink::builder(nats_url())
        .subject(stream.subject("logs"))
        .max_in_flight(64)
        .build()
        .unwrap();
    let counters = sink.get_ref().counters();
    let batch = batch_of(300, "once");
    sink.write_batch(&batch).unwrap();
    // The same lines again, as after an ack lost to a timeout.
    sink.write_batch(&batch).unwrap();
    assert_eq!(counters.stored(), 300);
    assert_eq!(counters.duplicates(), 300, "the resend is acked duplicate");
    assert_eq!(stream.count(), 300, "no extra message");
    let ids: Vec<_> = stream.read_all().into_iter().map(|m| m.msg_id).collect();
    let want: Vec<_> = batch
        .lines()
        .map(|l| Some(l.message_id.to_string()))
        .collect();
    assert_eq!(ids, want);
}

#[test]
fn acks_lost_to_a_timeout_are_resent_with_the_same_id_and_stored_once() {
    let admin = Admin::connect();
    let stream = admin.stream("acklost");
    let forwarder = Forwarder::start(nats_addr());
    let sink = NatsSink::builder(forwarder.url())
        .subject(stream.subject("logs"))
        .ack_timeout(Duration::from_millis(300))
        .max_reconnect_delay(Duration::from_millis(100))
        .build()
        .unwrap();
    let counters = sink.get_ref().counters();
    let p = Pipeline::builder()
        .sink_with(sink, patient())
        .build()
        .unwrap();
    let log = p.logger("app");
    for i in 0..10u64 {
        fapilog::info!(log, "acks", i = i);
    }
    p.flush(LONG).unwrap();

    // The server stores what is published, but its acks are lost.
    forwarder.swallow_replies(true);
    for i in 10..510u64 {
        fapilog::info!(log, "acks", i = i);
    }
    assert!(stream.wait_for(11, LONG), "the server stores the lines");
    assert!(
        wait_until(LONG, || p.metrics().sinks[0].retries >= 1),
        "the ack timeout is retried"
    );
    forwarder.swallow_replies(false);
    p.flush(LONG).unwrap();
    let report = p.shutdown(LONG);
    assert_eq!((report.written, report.failed), (510, 0));

    let stored = stream.read_all();
    assert_eq!(
        indices(&stored),
        (0..510).collect::<Vec<_>>(),
        "each line once"
    );
    assert!(
        counters.duplicates() >= 1,
        "the resends were acked duplicate"
    );
    assert_eq!(counters.stored() + counters.duplicates(), 510);
}

#[test]
fn a_missing_stream_is_refused_naming_the_subject_without_a_retry_loop() {
    let admin = Admin::connect();
    let subject = admin.unbound("missing");
    // Directly: the error says what to fix.
    let mut direct = NatsSink::builder(nats_url())
        .subject(&subject)
        .build()
        .unwrap();
    let err = direct.write_batch(&batch_of(3, "x")).unwrap_err();
    assert!(matches!(err, SinkError::Rejected(_)), "{err:?}");
    assert!(err.to_string().contains(&subject), "{err}");
    assert!(err.to_string().contains("stream"), "{err}");

    // In a pipeline: each batch is tried once and diverted, counted.
    let sink = NatsSink::builder(nats_url())
        .name("nats-missing")
        .subject(&subject)
        .build()
        .unwrap();
    let counters = sink.get_ref().counters();
    let (spill, _) = CaptureSink::named("spill", Format::Json);
    let p = Pipeline::builder()
        .sink_with(
            sink,
            SinkOptions::new()
                .when_full(WhenFull::Block)
                .fallback("spill"),
        )
        .sink(spill)
        .build()
        .unwrap();
    let log = p.logger("app");
    let n = 2000u64;
    for i in 0..n {
        fapilog::info!(log, "nowhere", i = i);
    }
    p.flush(LONG).unwrap();
    let m = p.metrics();
    let s = m.sinks.iter().find(|s| s.name == "nats-missing").unwrap();
    assert_eq!(s.written, 0);
    assert_eq!(s.retries, 0, "a missing stream is not retried");
    assert_eq!(s.diverted_total(), n, "every line diverted, counted");
    assert_eq!(s.diverted_to_fallback, n);
    assert!(s.writes <= n, "one attempt per batch: {}", s.writes);
    // Each line was published at most once: nothing spins.
    assert!(counters.publishes() <= n, "{}", counters.publishes());
    assert!(counters.no_stream() >= 1);
    p.shutdown(LONG);
}

#[test]
fn a_line_above_max_payload_is_refused_locally_and_the_rest_delivered() {
    let admin = Admin::connect();
    let stream = admin.stream("big");
    let mut sink = NatsSink::builder(nats_url())
        .subject(stream.subject("logs"))
        .build()
        .unwrap();
    let counters = sink.get_ref().counters();
    let mut batch = Batch::new(Format::Json);
    batch.push(&Event::new(Level::INFO, "small before"));
    let huge = "x".repeat(1_100_000);
    batch.push(&Event::new(Level::INFO, huge.as_str()));
    batch.push(&Event::new(Level::INFO, "small after"));
    let err = sink.write_batch(&batch).unwrap_err();
    match &err {
        SinkError::Partial { rejected, message } => {
            assert_eq!(rejected, &[1]);
            assert!(message.contains("max_payload"), "{message}");
        }
        other => panic!("expected Partial, got {other:?}"),
    }
    assert_eq!(counters.oversized(), 1);
    assert_eq!(counters.publishes(), 2, "the big line never left");
    let messages: Vec<_> = stream
        .read_all()
        .iter()
        .map(|m| m.json()["log"]["message"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(messages, ["small before", "small after"]);
}

#[test]
fn a_server_down_at_start_fails_nothing_and_loses_nothing_with_block() {
    let admin = Admin::connect();
    let stream = admin.stream("late");
    let port = free_port();
    let sink = NatsSink::builder(format!("nats://127.0.0.1:{port}"))
        .subject(stream.subject("logs"))
        .connect_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let counters = sink.get_ref().counters();
    // Nothing listens: building and starting the pipeline still succeed.
    let p = Pipeline::builder()
        .sink_with(sink, patient())
        .build()
        .unwrap();
    let log = p.logger("app");
    let n = 2000u64;
    for i in 0..n {
        fapilog::info!(log, "late", i = i);
    }
    assert!(
        wait_until(LONG, || p.metrics().sinks[0].retries >= 3),
        "the driver retries while the server is down"
    );
    assert_eq!(counters.connects(), 0);
    let forwarder = Forwarder::start_at(port, nats_addr());
    p.flush(LONG).unwrap();
    let report = p.shutdown(LONG);
    assert_eq!((report.written, report.failed), (n, 0));
    assert_eq!(report.dropped_total(), 0);
    let stored = stream.read_all();
    assert_eq!(indices(&stored), (0..n).collect::<Vec<_>>());
    drop(forwarder);
}

#[test]
fn a_connection_cut_and_restored_mid_run_loses_nothing_with_block() {
    let admin = Admin::connect();
    let stream = admin.stream("cut");
    let forwarder = Forwarder::start(nats_addr());
    let sink = NatsSink::builder(forwarder.url())
        .subject(stream.subject("logs"))
        .ack_timeout(Duration::from_millis(500))
        .max_reconnect_delay(Duration::from_millis(100))
        .build()
        .unwrap();
    let counters = sink.get_ref().counters();
    let p = Pipeline::builder()
        .sink_with(sink, patient())
        .build()
        .unwrap();
    let log = p.logger("app");
    for i in 0..1000u64 {
        fapilog::info!(log, "cut", i = i);
    }
    p.flush(LONG).unwrap();
    assert_eq!(stream.count(), 1000);

    forwarder.cut();
    for i in 1000..3000u64 {
        fapilog::info!(log, "cut", i = i);
    }
    assert!(
        wait_until(LONG, || p.metrics().sinks[0].retries >= 3),
        "backoff visible in the metrics while cut"
    );
    forwarder.restore();
    p.flush(LONG).unwrap();
    let report = p.shutdown(LONG);
    assert_eq!((report.written, report.failed), (3000, 0));
    let sink = &report.sinks[0];
    assert_eq!((sink.written, sink.diverted, sink.dropped), (3000, 0, 0));

    let mut seen = indices(&stream.read_all());
    assert_eq!(seen.len(), 3000, "no event twice");
    seen.sort_unstable();
    assert_eq!(seen, (0..3000).collect::<Vec<_>>(), "no event lost");
    // A line stored whose ack was lost is acked `duplicate` on its resend.
    assert!(counters.stored() <= 3000);
    assert!(counters.stored() + counters.duplicates() >= 3000);
}

#[test]
fn a_cut_with_drop_newest_counts_every_loss_and_opens_the_breaker() {
    let admin = Admin::connect();
    let stream = admin.stream("lossy");
    let forwarder = Forwarder::start(nats_addr());
    let sink = NatsSink::builder(forwarder.url())
        .subject(stream.subject("logs"))
        .ack_timeout(Duration::from_millis(300))
        .max_reconnect_delay(Duration::from_millis(100))
        .build()
        .unwrap();
    let options = SinkOptions::new()
        .when_full(WhenFull::DropNewest)
        .buffer_batches(1)
        .retry(
            RetryPolicy::default()
                .max_attempts(2)
                .initial(Duration::from_millis(10))
                .max_delay(Duration::from_millis(50)),
        )
        .breaker(
            BreakerPolicy::default()
                .failure_threshold(2)
                .cooldown(Duration::from_millis(200)),
        );
    // Given-up lines go to a fallback (quietly, instead of stderr).
    let (spill, _) = CaptureSink::named("spill", Format::Json);
    let p = Pipeline::builder()
        .sink_with(sink, options.fallback("spill"))
        .sink(spill)
        .build()
        .unwrap();
    let log = p.logger("app");
    let mut i = 0u64;
    // Logs `count` more lines; returns how many were logged in all.
    let mut log_some = |count: u64| {
        for _ in 0..count {
            fapilog::info!(log, "lossy", i = i);
            i += 1;
        }
        i
    };
    log_some(500);
    p.flush(LONG).unwrap();
    forwarder.cut();
    // Keep logging until the breaker has opened and lines were given up.
    let nats = |p: &Pipeline| {
        let m = p.metrics();
        m.sinks.into_iter().find(|s| s.name == "nats").unwrap()
    };
    assert!(
        wait_until(LONG, || {
            log_some(100);
            let s = nats(&p);
            s.breaker_opened >= 1 && s.retries >= 1 && s.diverted_total() + s.dropped_total() > 0
        }),
        "breaker and losses visible in the metrics"
    );
    forwarder.restore();
    // The breaker lets a probe through after its cooldown: wait until one
    // succeeds, then the sink writes again.
    let before = nats(&p).written;
    assert!(
        wait_until(LONG, || {
            log_some(10);
            p.flush(LONG).unwrap();
            nats(&p).written > before
        }),
        "the sink recovers once the server is back"
    );
    let recovered = log_some(0);
    let total = log_some(500);
    p.flush(LONG).unwrap();
    let report = p.shutdown(LONG);
    let s = report.sinks.iter().find(|s| s.name == "nats").unwrap();
    assert!(s.diverted + s.dropped > 0, "{s:?}");

    let stored: Vec<u64> = stream
        .read_all()
        .iter()
        .filter(|m| m.json()["log"]["message"] == "lossy")
        .map(|m| m.json()["log"]["data"]["i"].as_u64().unwrap())
        .collect();
    let unique: HashSet<u64> = stored.iter().copied().collect();
    assert_eq!(unique.len(), stored.len(), "no duplicate in the stream");
    // What was counted written is there; a line given up on may still
    // have arrived (at least once).
    assert!(
        stored.len() as u64 >= s.written.min(total),
        "{} < {s:?}",
        stored.len()
    );
    // Every line missing from the stream is counted as diverted or dropped.
    let missing = (0..total).filter(|i| !unique.contains(i)).count() as u64;
    assert!(missing > 0);
    assert!(
        missing <= s.diverted + s.dropped,
        "{missing} lines lost but only {} counted: {s:?}",
        s.diverted + s.dropped
    );
    // The lines logged after the restore all arrived.
    // Lines logged after the recovery arrive again (a one-batch buffer
    // may still drop some of a burst: counted above).
    assert!((recovered..total).any(|i| unique.contains(&i)));
}

#[test]
fn create_stream_makes_the_stream_on_first_connect() {
    let admin = Admin::connect();
    let name = format!("FAPILOG_T_create_{}", std::process::id());
    let subject = format!("fapilog_t.create.{}.{{level}}", std::process::id());
    let mut sink = NatsSink::builder(nats_url())
        .subject(&subject)
        .create_stream(&name)
        .build()
        .unwrap();
    let result = sink.write_batch(&batch_of(10, "made"));
    let count = admin.rt.block_on(async {
        let mut s = admin.js.get_stream(&name).await.expect("the stream exists");
        let n = s.info().await.expect("info").state.messages;
        let _ = admin.js.delete_stream(&name).await;
        n
    });
    result.unwrap();
    assert_eq!(count, 10);
}

#[test]
fn tls_and_a_password_work_against_a_server_that_requires_them() {
    let server = TlsServer::start();
    let admin = server.admin();
    let stream = admin.stream("tls");
    let sink = NatsSink::builder(server.url())
        .user_password(TlsServer::USER, TlsServer::PASSWORD)
        .root_certificates(server.ca())
        .require_tls()
        .subject(stream.subject("logs"))
        .build()
        .unwrap();
    let p = Pipeline::builder()
        .sink_with(sink, patient())
        .build()
        .unwrap();
    let log = p.logger("app");
    for i in 0..1000u64 {
        fapilog::info!(log, "over tls", i = i);
    }
    let report = p.shutdown(LONG);
    assert_eq!((report.written, report.failed), (1000, 0));
    assert_eq!(indices(&stream.read_all()), (0..1000).collect::<Vec<_>>());

    // A wrong password is a transient error that names the server, not
    // the password.
    let mut wrong = NatsSink::builder(server.url())
        .user_password(TlsServer::USER, "wrong-s3cret")
        .root_certificates(server.ca())
        .subject(stream.subject("logs"))
        .connect_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let err = wrong
        .write_batch(&batch_of(1, "x"))
        .unwrap_err()
        .to_string();
    assert!(err.contains(&server.url()), "{err}");
    assert!(!err.contains("wrong-s3cret"), "{err}");
    // Without the CA the server's certificate is not trusted.
    let mut untrusted = NatsSink::builder(server.url())
        .user_password(TlsServer::USER, TlsServer::PASSWORD)
        .subject(stream.subject("logs"))
        .connect_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    assert!(untrusted.write_batch(&batch_of(1, "x")).is_err());
    assert_eq!(stream.count(), 1000);
    drop(stream);
    drop(admin);
}

#[test]
fn a_token_authenticates_from_the_builder_or_the_url() {
    let server = TlsServer::start_with_token();
    let admin = server.admin();
    let stream = admin.stream("token");
    let by_builder = NatsSink::builder(server.url())
        .token(TlsServer::TOKEN)
        .root_certificates(server.ca())
        .subject(stream.subject("logs"))
        .build()
        .unwrap();
    let in_url = format!("tls://{}@127.0.0.1:{}", TlsServer::TOKEN, server.port);
    let by_url = NatsSink::builder(&in_url)
        .name("nats-url")
        .root_certificates(server.ca())
        .subject(stream.subject("logs"))
        .build()
        .unwrap();
    assert!(!format!("{:?}", by_url.get_ref()).contains(TlsServer::TOKEN));
    let p = Pipeline::builder()
        .sink_with(by_builder, patient())
        .sink_with(by_url, patient())
        .build()
        .unwrap();
    let log = p.logger("app");
    for i in 0..100u64 {
        fapilog::info!(log, "token", i = i);
    }
    let report = p.shutdown(LONG);
    assert_eq!((report.written, report.failed), (100, 0));
    let sinks: Vec<_> = report
        .sinks
        .iter()
        .map(|s| (s.name.as_str(), s.written))
        .collect();
    assert_eq!(sinks, [("nats", 100), ("nats-url", 100)]);
    // Both sinks sent the same events with the same Nats-Msg-Id: the
    // stream kept one copy of each.
    assert_eq!(indices(&stream.read_all()), (0..100).collect::<Vec<_>>());
    drop(stream);
    drop(admin);
}

#[test]
fn core_sinks_nats_fails_with_a_message_saying_to_build_it_in_code() {
    let settings = Settings::from_env_vars([("FAPILOG_CORE__SINKS", "nats")]).unwrap();
    let err = Pipeline::builder()
        .settings(settings)
        .sink_factory(fapilog_sinks::factory())
        .build()
        .unwrap_err()
        .to_string();
    assert!(err.contains("nats"), "{err}");
    assert!(err.contains("NatsSink::builder"), "{err}");
}

#[test]
fn bad_options_fail_the_build_naming_the_key_and_the_value() {
    let cases: Vec<(fapilog_sinks::NatsSinkBuilder, &str, &str)> = vec![
        (NatsSink::builder("http://h:4222"), "url", "http://h:4222"),
        (NatsSink::builder("nats://h:99999"), "url", "nats://h:99999"),
        (
            NatsSink::builder(nats_url()).subject("a.*"),
            "subject",
            "a.*",
        ),
        (
            NatsSink::builder(nats_url()).subject("a..b"),
            "subject",
            "a..b",
        ),
        (
            NatsSink::builder(nats_url()).max_in_flight(0),
            "max_in_flight",
            "0",
        ),
        (
            NatsSink::builder(nats_url()).ack_timeout(Duration::ZERO),
            "ack_timeout",
            "0s",
        ),
        (
            NatsSink::builder(nats_url()).credentials_file("/nonexistent/app.creds"),
            "credentials_file",
            "/nonexistent/app.creds",
        ),
        (
            NatsSink::builder(nats_url()).root_certificates("/nonexistent/ca.pem"),
            "root_certificates",
            "/nonexistent/ca.pem",
        ),
        (
            NatsSink::builder(nats_url()).create_stream("has.dot"),
            "create_stream",
            "has.dot",
        ),
    ];
    for (builder, key, value) in cases {
        let err = build_err(builder);
        assert!(err.contains(key), "{key}: {err}");
        assert!(err.contains(value), "{key}: {err}");
    }
}

#[test]
fn secrets_never_appear_in_errors_or_debug_output() {
    let port = free_port(); // nothing listens: the send fails
    let secrets = ["hunter2", "tok-s3cret", "SUAM"];
    let shown = |text: &str| {
        for s in secrets {
            assert!(!text.contains(s), "secret {s:?} shown in: {text}");
        }
    };
    let url = format!("nats://alice:hunter2@127.0.0.1:{port}");
    let builder = NatsSink::builder(&url).token("tok-s3cret");
    shown(&format!("{builder:?}"));
    let mut sink = builder.build().unwrap();
    shown(&format!("{:?}", sink.get_ref()));
    let err = sink.write_batch(&batch_of(1, "x")).unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains("alice:***@127.0.0.1"), "{err}");
    shown(&err.to_string());

    let token_url = format!("nats://tok-s3cret@127.0.0.1:{port}");
    let mut sink = NatsSink::builder(&token_url).build().unwrap();
    shown(&format!("{:?}", sink.get_ref()));
    shown(&sink.write_batch(&batch_of(1, "x")).unwrap_err().to_string());

    // A bad URL or seed is named, masked.
    let err = build_err(NatsSink::builder(format!("http://alice:hunter2@h:{port}")));
    assert!(err.contains("url"), "{err}");
    shown(&err);
    let err = build_err(NatsSink::builder(nats_url()).nkey_seed("SUAMnot-a-seed"));
    assert!(err.contains("nkey_seed"), "{err}");
    shown(&err);
    let builder = NatsSink::builder(nats_url()).user_password("alice", "hunter2");
    shown(&format!("{builder:?}"));
}
