//! Bound context: thread-local guards, task-local scopes that survive
//! `.await` and work-stealing, logger-bound fields, and the correlation rule.

use std::time::Duration;

use fapilog::context::{self, Context, FutureExt};
use fapilog::testing::CaptureSink;
use fapilog::{FieldValue, Pipeline};

const LONG: Duration = Duration::from_secs(30);

fn pipeline() -> (Pipeline, fapilog::testing::Captured) {
    let (sink, captured) = CaptureSink::new();
    (Pipeline::builder().sink(sink).build().unwrap(), captured)
}

#[test]
fn thread_guard_binds_until_dropped_and_stays_on_its_thread() {
    let (p, captured) = pipeline();
    let log = p.logger("t");
    {
        let _g = context::bind(&[
            ("request_id", FieldValue::Str("req-1")),
            ("tenant_id", FieldValue::Str("acme")),
            ("feature", FieldValue::Str("beta")),
        ]);
        fapilog::info!(log, "inside");
        let other = log.clone();
        std::thread::spawn(move || fapilog::info!(other, "other thread"))
            .join()
            .unwrap();
    }
    fapilog::info!(log, "after");
    p.flush(LONG).unwrap();
    let e = captured.envelopes();
    let by_msg = |m: &str| e.iter().find(|x| x["log"]["message"] == m).unwrap()["log"].clone();
    let inside = by_msg("inside");
    assert_eq!(inside["context"]["request_id"], "req-1");
    assert_eq!(inside["context"]["tenant_id"], "acme");
    // fapilog's rule: a bound request id is not the request scope's
    // correlation id (which the axum layer binds as `correlation_id`).
    assert!(inside["context"]["correlation_id"].is_null());
    assert_eq!(inside["data"]["feature"], "beta");
    for m in ["other thread", "after"] {
        let l = by_msg(m);
        assert!(l["context"].get("request_id").is_none(), "{m}: {l}");
        assert!(l["context"]["correlation_id"].is_null());
        assert!(l["data"].get("feature").is_none());
    }
}

#[test]
fn nested_bindings_override_and_restore() {
    let (p, captured) = pipeline();
    let log = p.logger("t");
    let _outer = context::bind(&[
        ("request_id", FieldValue::Str("outer")),
        ("user_id", FieldValue::I64(7)),
    ]);
    {
        let _inner = context::bind(&[("request_id", FieldValue::Str("inner"))]);
        fapilog::info!(log, "inner");
    }
    fapilog::info!(log, "outer");
    p.flush(LONG).unwrap();
    let e = captured.envelopes();
    assert_eq!(e[0]["log"]["context"]["request_id"], "inner");
    // Non-string context ids are written as strings, as the schema wants.
    assert_eq!(e[0]["log"]["context"]["user_id"], "7");
    assert_eq!(e[1]["log"]["context"]["request_id"], "outer");
}

#[test]
fn explicit_correlation_id_wins_and_call_fields_win_over_bound_ones() {
    let (p, captured) = pipeline();
    let log = p.logger("t").bind(&[
        ("request_id", FieldValue::Str("bound")),
        ("shard", FieldValue::I64(1)),
    ]);
    let _g = context::bind(&[("correlation_id", FieldValue::Str("corr-9"))]);
    fapilog::info!(log, "m", shard = 2, request_id = "call");
    p.flush(LONG).unwrap();
    let l = &captured.envelopes()[0]["log"];
    assert_eq!(l["context"]["correlation_id"], "corr-9");
    assert_eq!(l["context"]["request_id"], "call");
    assert_eq!(l["data"]["shard"], 2);
}

#[test]
fn task_scope_survives_await_and_work_stealing() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (p, captured) = pipeline();
    let log = p.logger("async");
    let tasks = 200;
    let steps = 5;
    rt.block_on(async {
        let mut handles = Vec::new();
        for task in 0..tasks {
            let log = log.clone();
            let ctx =
                Context::current().with(&[("request_id", FieldValue::Str(&format!("req-{task}")))]);
            handles.push(tokio::spawn(ctx.scope(async move {
                for step in 0..steps {
                    fapilog::info!(log, "step", task = task, step = step);
                    tokio::task::yield_now().await;
                    if step % 2 == 0 {
                        tokio::time::sleep(Duration::from_micros(50)).await;
                    }
                }
                // A task spawned from inside carries the context along.
                let inner = log.clone();
                tokio::spawn(
                    async move {
                        tokio::task::yield_now().await;
                        fapilog::info!(inner, "child", task = task);
                    }
                    .in_current_context(),
                )
                .await
                .unwrap();
            })));
        }
        for h in handles {
            h.await.unwrap();
        }
        // Outside every scope: nothing bound.
        fapilog::info!(log, "outside");
    });
    p.flush(LONG).unwrap();
    let e = captured.envelopes();
    assert_eq!(e.len(), tasks * (steps + 1) + 1);
    let mut threads = std::collections::HashSet::new();
    for line in &e {
        let l = &line["log"];
        if l["message"] == "outside" {
            assert!(l["context"].get("request_id").is_none());
            continue;
        }
        let task = l["data"]["task"].as_u64().unwrap();
        assert_eq!(l["context"]["request_id"], format!("req-{task}"), "{l}");
        threads.insert(l["logger"].to_string());
    }
}

#[test]
fn context_does_not_leak_between_tasks_polled_on_the_same_thread() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (p, captured) = pipeline();
    let log = p.logger("t");
    rt.block_on(async {
        let a = Context::empty()
            .with(&[("request_id", FieldValue::Str("a"))])
            .scope({
                let log = log.clone();
                async move {
                    for _ in 0..3 {
                        fapilog::info!(log, "a");
                        tokio::task::yield_now().await;
                    }
                }
            });
        let b = {
            let log = log.clone();
            async move {
                for _ in 0..3 {
                    fapilog::info!(log, "b");
                    tokio::task::yield_now().await;
                }
            }
        };
        tokio::join!(tokio::spawn(a), tokio::spawn(b)).0.unwrap();
    });
    p.flush(LONG).unwrap();
    for e in captured.envelopes() {
        let l = &e["log"];
        match l["message"].as_str().unwrap() {
            "a" => assert_eq!(l["context"]["request_id"], "a"),
            _ => assert!(l["context"].get("request_id").is_none(), "{l}"),
        }
    }
}
