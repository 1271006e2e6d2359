//! The OTLP sink over gRPC (`OtlpProtocol::Grpc`, feature `otlp-grpc`)
//! against a grpcio server implementing the official generated
//! `LogsServiceServicer`: the records as the collector decodes them,
//! thousands of events once and in order, a collector down at start, and
//! the OTLP specification's gRPC retry rules (UNAVAILABLE and the other
//! transient codes retried, RESOURCE_EXHAUSTED only with `RetryInfo` and
//! after its delay, INVALID_ARGUMENT refused, partial success counted).
//!
//! Each test starts `tests/otlp_grpc_receiver.py` (PyPI `grpcio`,
//! `opentelemetry-proto`, `googleapis-common-protos`, installed by
//! `./scripts/test`) on a port of its own. Without that Python the tests
//! fail, saying to run `./scripts/test`.
#![cfg(feature = "otlp-grpc")]

mod common;
#[path = "common/otlp.rs"]
mod otlp;

use std::collections::HashSet;
use std::time::Duration;

use common::{patient, sink_metrics};
use fapilog::sinks::{DivertReason, RetryPolicy, SinkOptions};
use fapilog::stages::{ManualClock, StageClock};
use fapilog::{FieldValue, Pipeline};
use fapilog_sinks::{Compression, OtlpProtocol, OtlpSink, OtlpSinkBuilder};
use otlp::{attr, build, grpc_retry_info, grpc_status, log_seq, partial, seqs, Receiver};
use serde_json::{json, Value};

const LONG: Duration = Duration::from_secs(60);

fn grpc(rx: &Receiver) -> OtlpSinkBuilder {
    OtlpSink::builder(rx.endpoint()).protocol(OtlpProtocol::Grpc)
}

fn statuses(rx: &Receiver) -> Vec<Value> {
    rx.requests().iter().map(|r| r["status"].clone()).collect()
}

#[test]
fn records_arrive_through_logs_service_export_with_severity_body_and_attributes() {
    let rx = Receiver::start_grpc(&[]);
    let sink = grpc(&rx)
        .bearer("tok-123")
        .header("x-tenant", "acme")
        .resource_attribute("service.namespace", "shop");
    let p = Pipeline::builder().sink(build(sink)).build().unwrap();
    let log = p.logger("shop.cart");
    let traced = log.bind(&[
        ("trace_id", "0af7651916cd43dd8448eb211c80319c".into()),
        ("span_id", "b7ad6b7169203331".into()),
    ]);
    traced.info(
        "order placed",
        &[
            ("order_id", FieldValue::I64(7)),
            ("paid", FieldValue::Bool(true)),
        ],
    );
    log.warning("slow", &[("ratio", FieldValue::F64(0.5))]);
    log.error("failed", &[]);
    p.flush(LONG).unwrap();
    assert!(rx.wait_records(3, LONG));
    let records = rx.records();
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
            (9, "INFO", "order placed"),
            (13, "WARNING", "slow"),
            (17, "ERROR", "failed"),
        ]
    );
    let order = &records[0];
    assert_eq!(order["trace_id"], "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(order["span_id"], "b7ad6b7169203331");
    assert_eq!(attr(order, "order_id"), 7);
    assert_eq!(attr(order, "paid"), true);
    assert_eq!(attr(order, "logger.name"), "shop.cart");
    assert!(attr(order, "message_id").is_string());
    assert_eq!(attr(&records[1], "ratio"), &json!({"double": 0.5}));
    assert_eq!(order["scope"], "fapilog");
    assert_eq!(order["resource"]["service.namespace"], "shop");

    let req = &rx.requests()[0];
    assert_eq!(
        req["path"],
        "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
    );
    // grpcio keeps the reserved headers (`content-type`, `grpc-encoding`)
    // out of the metadata it shows: that the gzip-flagged message (the
    // default) decoded is the evidence.
    assert_eq!(req["headers"]["authorization"], "Bearer tok-123");
    assert_eq!(req["headers"]["x-tenant"], "acme");
    assert!(p.shutdown(LONG).is_complete());
}

#[test]
fn thousands_of_events_arrive_once_and_in_order() {
    let rx = Receiver::start_grpc(&[]);
    let p = Pipeline::builder().sink(build(grpc(&rx))).build().unwrap();
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
fn uncompressed_messages_carry_the_same_records() {
    let rx = Receiver::start_grpc(&[]);
    let p = Pipeline::builder()
        .sink(build(grpc(&rx).compression(Compression::None)))
        .build()
        .unwrap();
    log_seq(&p, 0..100);
    p.flush(LONG).unwrap();
    assert_eq!(seqs(&rx.records()), (0..100).collect::<Vec<_>>());
}

#[test]
fn unavailable_and_the_other_transient_codes_are_retried() {
    let rx = Receiver::start_grpc(&[
        grpc_status("UNAVAILABLE"),
        grpc_status("ABORTED"),
        grpc_status("DEADLINE_EXCEEDED"),
    ]);
    let p = Pipeline::builder()
        .sink_clock(ManualClock::new())
        .sink_with(build(grpc(&rx)), SinkOptions::new())
        .build()
        .unwrap();
    log_seq(&p, 0..10);
    p.flush(LONG).unwrap();
    assert_eq!(
        statuses(&rx),
        [
            json!("UNAVAILABLE"),
            json!("ABORTED"),
            json!("DEADLINE_EXCEEDED"),
            json!(200)
        ]
    );
    assert_eq!(seqs(&rx.records()), (0..10).collect::<Vec<_>>());
    let m = sink_metrics(&p, "otlp");
    assert_eq!(m.retries, 3);
    assert_eq!(m.written, 10);
}

#[test]
fn resource_exhausted_with_retry_info_is_waited_out() {
    let rx = Receiver::start_grpc(&[grpc_retry_info(3)]);
    let clock = ManualClock::new();
    let p = Pipeline::builder()
        .sink_clock(clock.clone())
        .sink_with(
            build(grpc(&rx)),
            SinkOptions::new().retry(RetryPolicy::default().initial(Duration::from_millis(1))),
        )
        .build()
        .unwrap();
    log_seq(&p, 0..10);
    p.flush(LONG).unwrap();
    assert_eq!(statuses(&rx), [json!("RESOURCE_EXHAUSTED"), json!(200)]);
    assert!(
        clock.now() >= Duration::from_secs(3),
        "RetryInfo's delay honoured"
    );
    assert_eq!(seqs(&rx.records()), (0..10).collect::<Vec<_>>());
    assert_eq!(sink_metrics(&p, "otlp").retries, 1);
}

#[test]
fn resource_exhausted_without_retry_info_and_invalid_argument_are_refused_at_once() {
    let rx = Receiver::start_grpc(&[
        grpc_status("RESOURCE_EXHAUSTED"),
        json!({"code": "INVALID_ARGUMENT", "message": "bad request"}),
    ]);
    let p = Pipeline::builder()
        .batch_max_events(5)
        .sink_with(build(grpc(&rx)), SinkOptions::new())
        .build()
        .unwrap();
    for k in 0..3 {
        log_seq(&p, k * 5..k * 5 + 5);
        p.flush(LONG).unwrap();
    }
    assert_eq!(
        statuses(&rx),
        [
            json!("RESOURCE_EXHAUSTED"),
            json!("INVALID_ARGUMENT"),
            json!(200)
        ],
        "never retried"
    );
    assert_eq!(seqs(&rx.records()), [10, 11, 12, 13, 14]);
    let m = sink_metrics(&p, "otlp");
    assert_eq!(m.retries, 0);
    assert_eq!(m.diverted_for(DivertReason::Rejected), 10);
    assert_eq!(m.written, 5);
}

#[test]
fn a_partial_success_is_counted_and_not_retried() {
    let rx = Receiver::start_grpc(&[partial(2, "2 records had invalid attributes")]);
    let p = Pipeline::builder()
        .batch_max_events(5)
        .sink_with(build(grpc(&rx)), SinkOptions::new())
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
fn a_collector_that_restarts_mid_run_loses_nothing_over_a_new_connection() {
    let mut rx = Receiver::start_grpc(&[]);
    let p = Pipeline::builder()
        .sink_with(build(grpc(&rx)), patient())
        .build()
        .unwrap();
    otlp::down_mid_run_loses_nothing(&mut rx, &p);
}

#[test]
fn a_collector_down_at_start_loses_nothing_with_block() {
    let mut rx = Receiver::reserve_grpc();
    let p = Pipeline::builder()
        .sink_with(build(grpc(&rx)), patient())
        .build()
        .expect("a collector that is down does not fail the build");
    otlp::down_at_start_loses_nothing(&mut rx, &p);
}
