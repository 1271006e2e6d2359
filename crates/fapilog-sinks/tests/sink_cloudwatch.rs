//! The CloudWatch Logs sink against moto in server mode (one server per
//! test, on its own port) and, for answers moto never gives (throttling,
//! `rejectedLogEventsInfo`), against the loopback test server. The limits
//! moto does not enforce (10,000 events, 1 MiB with 26 bytes per event,
//! 24 h, event age and size) are unit tests in `src/cloudwatch/encode.rs`;
//! the signer is tested against AWS's SigV4 vectors in `sigv4.rs`.
#![cfg(feature = "cloudwatch")]

mod common;
#[path = "common/cloudwatch.rs"]
mod moto;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::http_server::{Reply, Server};
use common::{free_port, patient, wait_until};
use fapilog::sinks::{
    BreakerPolicy, DivertReason, RetryPolicy, SinkDropReason, SinkOptions, WhenFull,
};
use fapilog::{Batch, Event, Format, Level, Pipeline, Sink};
use fapilog_sinks::{Adapter, AwsCredentials, CloudWatchSink};
use moto::Moto;

const LONG: Duration = Duration::from_secs(120);
const KEY_ID: &str = "AKIDTEST";
const SECRET: &str = "wJalrXUtnFEMI-test-secret";

fn sink(url: &str, group: &str) -> Adapter<CloudWatchSink> {
    CloudWatchSink::builder(group)
        .log_stream("stream-1")
        .region("us-east-1")
        .endpoint_url(url)
        .credentials(AwsCredentials::new(KEY_ID, SECRET))
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// The `seq` of each event read back, in order (the pipeline's own
/// `logs dropped` reports have none).
fn seqs(events: &[(i64, String)]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|(_, m)| {
            let v: serde_json::Value = serde_json::from_str(m).expect("a JSON envelope");
            v["log"]["data"]["seq"].as_u64()
        })
        .collect()
}

fn metrics_of(p: &Pipeline) -> fapilog::SinkMetrics {
    p.metrics()
        .sinks
        .into_iter()
        .find(|s| s.name == "cloudwatch")
        .expect("the sink's metrics")
}

#[test]
fn thousands_of_events_are_read_back_once_in_order_and_the_group_is_created() {
    let moto = Moto::start();
    let p = Pipeline::builder()
        .sink_with(sink(&moto.url(), "/test/thousands"), patient())
        .build()
        .unwrap();
    let log = p.logger("app");
    for seq in 0..5_000u64 {
        fapilog::info!(log, "event é \"quoted\"", seq = seq);
    }
    let report = p.shutdown(LONG);
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.written, 5_000);

    let events = moto.events("/test/thousands", "stream-1");
    assert_eq!(seqs(&events), (0..5_000).collect::<Vec<_>>());
    for (t, m) in &events {
        let v: serde_json::Value = serde_json::from_str(m).unwrap();
        assert_eq!(v["log"]["message"], "event é \"quoted\"");
        assert!(*t > 1_600_000_000_000);
    }
    assert!(events.windows(2).all(|w| w[0].0 <= w[1].0));
}

#[test]
fn events_keep_their_own_time_not_the_send_time() {
    let moto = Moto::start();
    let mut s = sink(&moto.url(), "/test/time");
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    let mut batch = Batch::new(Format::Json);
    for n in 0..3u64 {
        let mut e = Event::new(Level::INFO, format!("old {n}"));
        e.timestamp = hour_ago + Duration::from_millis(n);
        batch.push(&e);
    }
    s.write_batch(&batch).unwrap();
    let expected = hour_ago.duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    let times: Vec<i64> = moto
        .events("/test/time", "stream-1")
        .iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(times, [expected, expected + 1, expected + 2]);
}

#[test]
fn a_batch_beyond_one_call_is_split_and_read_back_whole_in_order() {
    let moto = Moto::start();
    let mut s = sink(&moto.url(), "/test/split");
    let mut batch = Batch::new(Format::Json);
    for n in 0..12_000u64 {
        batch.push(&Event::new(Level::INFO, format!("split {n}")));
    }
    assert!(batch.byte_len() > 1_048_576);
    s.write_batch(&batch).unwrap();
    let messages: Vec<String> = moto
        .events("/test/split", "stream-1")
        .into_iter()
        .map(|(_, m)| {
            let v: serde_json::Value = serde_json::from_str(&m).unwrap();
            v["log"]["message"].as_str().unwrap().to_owned()
        })
        .collect();
    let expected: Vec<String> = (0..12_000).map(|n| format!("split {n}")).collect();
    assert_eq!(messages, expected);
}

#[test]
fn an_event_older_than_14_days_is_refused_before_sending_and_the_rest_stored() {
    let moto = Moto::start();
    let mut s = sink(&moto.url(), "/test/too-old");
    let mut batch = Batch::new(Format::Json);
    for n in 0..5 {
        let mut e = Event::new(Level::INFO, format!("e{n}"));
        if n == 2 {
            e.timestamp = SystemTime::now() - Duration::from_secs(15 * 86_400);
        }
        batch.push(&e);
    }
    match s.write_batch(&batch) {
        Err(fapilog::SinkError::Partial { rejected, message }) => {
            assert_eq!(rejected, [2]);
            assert!(message.contains("14 days"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(moto.events("/test/too-old", "stream-1").len(), 4);
}

#[test]
fn down_at_start_then_up_loses_nothing_with_block() {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    // Nothing listens yet: the build still succeeds.
    let p = Pipeline::builder()
        .sink_with(sink(&url, "/test/down-at-start"), patient())
        .build()
        .unwrap();
    let log = p.logger("app");
    for seq in 0..1_000u64 {
        fapilog::info!(log, "while down", seq = seq);
    }
    assert!(
        wait_until(LONG, || metrics_of(&p).retries >= 3),
        "the sink retries while the service is down"
    );
    let moto = Moto::start_at(port);
    let report = p.shutdown(LONG);
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.written, 1_000);
    let events = moto.events("/test/down-at-start", "stream-1");
    assert_eq!(seqs(&events), (0..1_000).collect::<Vec<_>>());
}

#[test]
fn killed_mid_run_and_restarted_loses_nothing_with_block() {
    let moto = Moto::start();
    let port = moto.port;
    let p = Pipeline::builder()
        .sink_with(sink(&moto.url(), "/test/restart"), patient())
        .build()
        .unwrap();
    let log = p.logger("app");
    for seq in 0..1_000u64 {
        fapilog::info!(log, "before", seq = seq);
    }
    p.flush(LONG).unwrap();
    assert_eq!(seqs(&moto.events("/test/restart", "stream-1")).len(), 1_000);
    // moto keeps its state in memory: the restarted one has no group, so
    // the sink meets ResourceNotFound and creates the group again.
    moto.kill();
    let retries_before = metrics_of(&p).retries;
    for seq in 1_000..3_000u64 {
        fapilog::info!(log, "during and after", seq = seq);
    }
    assert!(wait_until(LONG, || metrics_of(&p).retries > retries_before));
    let moto = Moto::start_at(port);
    let report = p.shutdown(LONG);
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.written, 3_000);
    let events = moto.events("/test/restart", "stream-1");
    assert_eq!(seqs(&events), (1_000..3_000).collect::<Vec<_>>());
}

#[test]
fn with_drop_newest_every_loss_is_counted_and_the_breaker_shows() {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let p = Pipeline::builder()
        .sink_with(
            sink(&url, "/test/drop-newest"),
            SinkOptions::new()
                .when_full(WhenFull::DropNewest)
                .buffer_batches(1)
                .retry(
                    RetryPolicy::default()
                        .max_attempts(3)
                        .initial(Duration::from_millis(10))
                        .max_delay(Duration::from_millis(50)),
                )
                .breaker(
                    BreakerPolicy::default()
                        .failure_threshold(2)
                        .cooldown(Duration::from_millis(200))
                        .max_cooldown(Duration::from_millis(400)),
                ),
        )
        .build()
        .unwrap();
    let log = p.logger("app");
    let total = 3_000u64;
    for seq in 0..total / 2 {
        fapilog::info!(log, "lossy", seq = seq);
    }
    assert!(wait_until(LONG, || {
        let m = metrics_of(&p);
        m.breaker_opened >= 1 && m.retries >= 1
    }));
    let moto = Moto::start_at(port);
    // The breaker lets a probe through only with a batch after its
    // cooldown: log one event at a time until one is delivered, then the rest.
    let mut seq = total / 2;
    while seq < total && metrics_of(&p).written == 0 {
        fapilog::info!(log, "lossy", seq = seq);
        seq += 1;
        wait_until(Duration::from_millis(300), || metrics_of(&p).written > 0);
    }
    for seq in seq..total {
        fapilog::info!(log, "lossy", seq = seq);
    }
    let report = p.shutdown(LONG);
    let m = metrics_of(&p);
    assert!(m.breaker_opened >= 1, "{m:?}");
    assert!(m.retries >= 1, "{m:?}");
    let events = moto.events("/test/drop-newest", "stream-1");
    let delivered = seqs(&events);
    let mut unique = delivered.clone();
    unique.dedup();
    assert_eq!(unique.len(), delivered.len(), "no duplicates");
    assert!(!delivered.is_empty());
    assert_eq!(m.written, events.len() as u64);
    // Every event (ours, and the pipeline's in-band `logs dropped` reports)
    // is delivered, dropped for a full buffer, or diverted, and counted
    // once. (Lines diverted to stderr past its budget are diverted lines
    // that are also counted as dropped: `StderrLimit`.)
    let reports = p.metrics().drop_reports;
    assert!(reports >= 1);
    assert_eq!(
        events.len() as u64 + m.dropped_for(SinkDropReason::BufferFull) + m.diverted_total(),
        total + reports,
        "{m:?} {report:?}"
    );
    assert!(m.dropped_for(SinkDropReason::BufferFull) > 0);
    assert!(m.diverted_for(DivertReason::BreakerOpen) > 0);
    assert_eq!(report.submitted, total);
}

fn put_count(server: &Server) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.header("x-amz-target") == Some("Logs_20140328.PutLogEvents"))
        .count()
}

fn json_reply(status: u16, body: &str) -> Reply {
    Reply::With {
        status,
        headers: vec![("content-type".into(), "application/x-amz-json-1.1".into())],
        body: body.as_bytes().to_vec(),
    }
}

#[test]
fn requests_are_signed_put_log_events_calls_without_a_sequence_token() {
    let server = Server::start(json_reply(200, "{}"));
    let s = CloudWatchSink::builder("/test/wire")
        .log_stream("stream-1")
        .region("eu-west-1")
        .endpoint_url(server.url("/"))
        .credentials(AwsCredentials::new(KEY_ID, SECRET).session_token("session-tok-secret"))
        .build()
        .unwrap();
    let p = Pipeline::builder().sink(s).build().unwrap();
    fapilog::info!(p.logger("app"), "hello", seq = 1u64);
    let report = p.shutdown(LONG);
    assert!(report.is_complete(), "{report:?}");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/"));
    assert_eq!(r.header("content-type"), Some("application/x-amz-json-1.1"));
    assert_eq!(r.header("x-amz-target"), Some("Logs_20140328.PutLogEvents"));
    assert_eq!(r.header("x-amz-security-token"), Some("session-tok-secret"));
    let date = r.header("x-amz-date").unwrap();
    assert_eq!(date.len(), 16);
    let auth = r.header("authorization").unwrap();
    let prefix = format!(
        "AWS4-HMAC-SHA256 Credential={KEY_ID}/{}/eu-west-1/logs/aws4_request, \
         SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature=",
        &date[..8]
    );
    assert!(auth.starts_with(&prefix), "{auth}");
    assert_eq!(auth.len(), prefix.len() + 64);
    assert!(!auth.contains(SECRET));
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["logGroupName"], "/test/wire");
    assert_eq!(body["logStreamName"], "stream-1");
    assert!(body.get("sequenceToken").is_none());
    let events = body["logEvents"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    let line: serde_json::Value =
        serde_json::from_str(events[0]["message"].as_str().unwrap()).unwrap();
    assert_eq!(line["log"]["message"], "hello");
}

#[test]
fn throttling_is_retried_with_the_same_bytes() {
    let server = Server::start(json_reply(200, "{}"));
    server.script([
        json_reply(
            400,
            r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
        ),
        json_reply(
            503,
            r#"{"__type":"ServiceUnavailableException","message":"try later"}"#,
        ),
    ]);
    let p = Pipeline::builder()
        .sink_with(sink(&server.url("/"), "/test/throttle"), patient())
        .build()
        .unwrap();
    let log = p.logger("app");
    for seq in 0..100u64 {
        fapilog::info!(log, "throttled", seq = seq);
    }
    let report = p.shutdown(LONG);
    assert!(report.is_complete(), "{report:?}");
    let m = metrics_of(&p);
    assert!(m.retries >= 2, "{m:?}");
    let reqs = server.requests();
    // The first batch was sent three times, byte for byte.
    assert_eq!(reqs[0].body, reqs[1].body);
    assert_eq!(reqs[1].body, reqs[2].body);
    let delivered: usize = reqs[2..]
        .iter()
        .map(|r| {
            let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            v["logEvents"].as_array().unwrap().len()
        })
        .sum();
    assert_eq!(delivered, 100);
}

#[test]
fn rejected_log_events_are_counted_and_not_retried() {
    let server = Server::start(json_reply(
        200,
        r#"{"nextSequenceToken":"1","rejectedLogEventsInfo":{"tooOldLogEventEndIndex":2,"tooNewLogEventStartIndex":9}}"#,
    ));
    let mut s = sink(&server.url("/"), "/test/rejected");
    let mut batch = Batch::new(Format::Json);
    for n in 0..10 {
        batch.push(&Event::new(Level::INFO, format!("e{n}")));
    }
    match s.write_batch(&batch) {
        Err(fapilog::SinkError::Partial { rejected, message }) => {
            assert_eq!(rejected, [0, 1, 9]);
            assert!(message.contains("3 of 10"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(put_count(&server), 1);

    // Through a pipeline: counted as diverted (rejected), the rest written.
    let p = Pipeline::builder()
        .sink_with(sink(&server.url("/"), "/test/rejected"), patient())
        .build()
        .unwrap();
    let log = p.logger("app");
    for seq in 0..10u64 {
        fapilog::info!(log, "e", seq = seq);
    }
    p.flush(LONG).unwrap();
    let m = metrics_of(&p);
    let puts = put_count(&server) - 1;
    assert_eq!(m.retries, 0);
    assert_eq!(m.diverted_for(DivertReason::Rejected) + m.written, 10);
    assert_eq!(m.diverted_for(DivertReason::Rejected), 3 * puts as u64);
    p.shutdown(LONG);
}

#[test]
fn an_invalid_parameter_is_refused_and_counted_without_retry() {
    let server = Server::start(json_reply(
        400,
        r#"{"__type":"InvalidParameterException","message":"bad"}"#,
    ));
    let p = Pipeline::builder()
        .sink_with(sink(&server.url("/"), "/test/invalid"), patient())
        .build()
        .unwrap();
    let log = p.logger("app");
    for seq in 0..10u64 {
        fapilog::info!(log, "refused", seq = seq);
    }
    p.flush(LONG).unwrap();
    let m = metrics_of(&p);
    assert_eq!(m.retries, 0);
    assert_eq!(m.written, 0);
    assert_eq!(m.diverted_for(DivertReason::Rejected), 10);
    p.shutdown(LONG);
}

#[test]
fn a_missing_group_is_created_once_then_the_events_are_put_again() {
    let server = Server::start(json_reply(200, "{}"));
    let puts = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&puts);
    server.respond_with(move |r| match r.header("x-amz-target") {
        Some("Logs_20140328.PutLogEvents") if seen.fetch_add(1, Ordering::SeqCst) == 0 => {
            json_reply(
                400,
                r#"{"__type":"ResourceNotFoundException","message":"The specified log group does not exist."}"#,
            )
        }
        Some("Logs_20140328.CreateLogGroup") => json_reply(200, ""),
        Some("Logs_20140328.CreateLogStream") => json_reply(
            400,
            r#"{"__type":"ResourceAlreadyExistsException","message":"exists"}"#,
        ),
        _ => json_reply(200, "{}"),
    });
    let mut s = sink(&server.url("/"), "/test/create");
    let mut batch = Batch::new(Format::Json);
    batch.push(&Event::new(Level::INFO, "first"));
    s.write_batch(&batch).unwrap();
    let targets: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.header("x-amz-target").unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        targets,
        [
            "Logs_20140328.PutLogEvents",
            "Logs_20140328.CreateLogGroup",
            "Logs_20140328.CreateLogStream",
            "Logs_20140328.PutLogEvents"
        ]
    );
    let reqs = server.requests();
    let group: serde_json::Value = serde_json::from_slice(&reqs[1].body).unwrap();
    assert_eq!(group, serde_json::json!({"logGroupName": "/test/create"}));
    let stream: serde_json::Value = serde_json::from_slice(&reqs[2].body).unwrap();
    assert_eq!(
        stream,
        serde_json::json!({"logGroupName": "/test/create", "logStreamName": "stream-1"})
    );
    assert_eq!(reqs[0].body, reqs[3].body);
}

#[test]
fn with_creating_off_a_missing_group_is_refused() {
    let server = Server::start(json_reply(
        400,
        r#"{"__type":"ResourceNotFoundException","message":"The specified log group does not exist."}"#,
    ));
    let mut s = CloudWatchSink::builder("/test/no-create")
        .log_stream("s")
        .region("us-east-1")
        .endpoint_url(server.url("/"))
        .credentials(AwsCredentials::new(KEY_ID, SECRET))
        .create_log_group(false)
        .create_log_stream(false)
        .build()
        .unwrap();
    let mut batch = Batch::new(Format::Json);
    batch.push(&Event::new(Level::INFO, "x"));
    match s.write_batch(&batch) {
        Err(fapilog::SinkError::Rejected(m)) => assert!(m.contains("does not exist"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(server.count(), 1);
}

#[test]
fn secrets_never_appear_in_debug_output_or_errors() {
    let creds = AwsCredentials::new(KEY_ID, SECRET).session_token("session-tok-secret");
    let builder = CloudWatchSink::builder("/g")
        .region("us-east-1")
        .credentials(creds.clone());
    let shown = format!("{creds:?} {builder:?}");
    assert!(shown.contains(KEY_ID));
    assert!(
        !shown.contains(SECRET) && !shown.contains("session-tok-secret"),
        "{shown}"
    );
    let s = builder.build().unwrap();
    let shown = format!("{:?}", s.get_ref());
    assert!(shown.contains("/g") && shown.contains(KEY_ID), "{shown}");
    assert!(
        !shown.contains(SECRET) && !shown.contains("session-tok-secret"),
        "{shown}"
    );

    let err = match CloudWatchSink::builder("/g")
        .region("nowhere")
        .credentials(creds)
        .build()
    {
        Ok(_) => panic!("a bad region must fail"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("region") && err.contains("nowhere"), "{err}");
    assert!(!err.contains(SECRET) && !err.contains("session-tok-secret"));

    // A failed send's error (nothing listens) names no secret either.
    let mut s = sink(&format!("http://127.0.0.1:{}", free_port()), "/g");
    let mut batch = Batch::new(Format::Json);
    batch.push(&Event::new(Level::INFO, "x"));
    let err = s.write_batch(&batch).unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    assert!(!format!("{err:?} {err}").contains(SECRET));
}
