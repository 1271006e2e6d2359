//! The example service on a loopback port, driven with real HTTP requests;
//! assertions on the envelopes it logged.

mod common;

use common::{send, Server};

const SECRET_HEADERS: [(&str, &str); 4] = [
    ("Authorization", "Bearer s3cr3t-t0ken"),
    ("Cookie", "session=hunter2-cookie"),
    ("X-API-Key", "key-9f8e7d"),
    ("Proxy-Authorization", "Basic cHJveHk6cGFzcw=="),
];

#[tokio::test]
async fn client_request_id_is_on_every_line_and_echoed() {
    let server = Server::start().await;
    let reply = server
        .get("/users/7", &[("X-Request-ID", "req-abc-1")])
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, "user 7\n");
    assert_eq!(reply.header("x-request-id"), Some("req-abc-1"));
    let capture = server.stop().await;

    let lines = capture.records();
    // handler line, spawned-task line, access log
    assert_eq!(lines.len(), 3, "{lines:#?}");
    for line in &lines {
        line.assert_field("context.request_id", "req-abc-1")
            .assert_field("context.correlation_id", "req-abc-1");
        assert_eq!(line.str("context.trace_id").map(str::len), Some(32));
    }
    capture
        .assert_logged("audit written")
        .assert_field("context.user_id", "7");
    let access = capture.assert_logged("request_completed");
    access
        .assert_field("level", "INFO")
        .assert_field("logger", "access")
        .assert_field("data.method", "GET")
        .assert_field("data.path", "/users/7")
        .assert_field("data.route", "/users/{id}")
        .assert_field("data.status_code", 200)
        .assert_field("data.response_bytes", "user 7\n".len())
        .assert_field("data.client_ip", "127.0.0.1")
        .assert_field("data.request_bytes", serde_json::Value::Null)
        .assert_absent("data.request_id_replaced");
    assert!(access.get("data.latency_ms").is_some_and(|v| v.is_f64()));
}

#[tokio::test]
async fn a_missing_request_id_is_generated_as_uuid_v7() {
    let server = Server::start().await;
    let reply = server.get("/", &[]).await;
    let id = reply.header("x-request-id").expect("echoed id").to_owned();
    let capture = server.stop().await;
    assert_eq!(id.len(), 36);
    assert_eq!(&id[14..15], "7", "UUID version 7: {id}");
    capture
        .assert_logged("request_completed")
        .assert_field("context.request_id", id.as_str());
}

#[tokio::test]
async fn malformed_and_oversized_request_ids_are_replaced_never_logged() {
    let server = Server::start().await;
    let oversized = "x".repeat(300);
    let malformed = "bad id\"<script>";
    let a = server.get("/", &[("X-Request-ID", malformed)]).await;
    let b = server.get("/", &[("X-Request-ID", &oversized)]).await;
    let capture = server.stop().await;

    for (reply, raw) in [(&a, malformed), (&b, oversized.as_str())] {
        let echoed = reply.header("x-request-id").expect("echoed");
        assert_ne!(echoed, raw);
        assert_eq!(echoed.len(), 36);
    }
    let access = capture.find_all("request_completed");
    assert_eq!(access.len(), 2);
    for line in access {
        line.assert_field("data.request_id_replaced", true);
    }
    capture.assert_no_line_contains("<script>");
    capture.assert_no_line_contains(&oversized);
}

#[tokio::test]
async fn traceparent_is_continued_and_propagated() {
    let server = Server::start().await;
    let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let reply = server
        .get(
            "/trace",
            &[("traceparent", parent), ("tracestate", "rojo=1")],
        )
        .await;
    let fresh = server
        .get("/trace", &[("traceparent", "00-zzz-bad-01")])
        .await;
    let capture = server.stop().await;

    // The handler gets the context to pass on: same trace, this server's span.
    let child = reply.body.trim();
    assert!(
        child.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
        "{child}"
    );
    assert!(!child.contains("00f067aa0ba902b7"), "{child}");
    let lines = capture.find_all("request_completed");
    let continued = lines
        .iter()
        .find(|l| l.str("context.trace_id") == Some("4bf92f3577b34da6a3ce929d0e0e4736"))
        .expect("continued trace");
    let span_id = continued.str("context.span_id").expect("span id");
    assert_eq!(
        child,
        format!("00-4bf92f3577b34da6a3ce929d0e0e4736-{span_id}-01")
    );

    // A malformed traceparent starts a new trace.
    let started = fresh.body.trim();
    assert!(!started.contains("4bf92f3577b34da6a3ce929d0e0e4736"));
    assert_eq!(started.len(), 55, "{started}");
}

#[tokio::test]
async fn failing_route_logs_its_error_chain() {
    let server = Server::start().await;
    let reply = server.get("/fail", &[("X-Request-ID", "req-fail")]).await;
    let capture = server.stop().await;
    assert_eq!(reply.status, 502);
    let line = capture.assert_logged("request_failed");
    line.assert_field("level", "ERROR")
        .assert_field("context.request_id", "req-fail")
        .assert_field("data.status_code", 502)
        .assert_field("data.route", "/fail")
        .assert_field(
            "diagnostics.exception.error.message",
            "inventory service failed",
        );
    let ty = line.str("diagnostics.exception.error.type").expect("type");
    assert!(ty.ends_with("UpstreamError"), "{ty}");
    // fapilog's exception keys: the first cause, and the chain in the stack.
    line.assert_field(
        "diagnostics.exception.error.cause",
        "connection reset by peer",
    );
    let stack = line
        .str("diagnostics.exception.error.stack")
        .expect("stack");
    assert!(
        stack.contains("Caused by: connection reset by peer"),
        "{stack}"
    );
}

#[tokio::test]
async fn panicking_route_becomes_a_500_and_is_logged() {
    let server = Server::start().await;
    let reply = server.get("/panic", &[("X-Request-ID", "req-panic")]).await;
    assert_eq!(reply.status, 500);
    assert_eq!(reply.header("x-request-id"), Some("req-panic"));
    // The server keeps serving.
    assert_eq!(server.get("/", &[]).await.status, 200);
    let capture = server.stop().await;
    capture
        .assert_logged("request_failed")
        .assert_field("level", "ERROR")
        .assert_field("context.request_id", "req-panic")
        .assert_field("data.status_code", 500)
        .assert_field("diagnostics.exception.error.type", "panic")
        .assert_field(
            "diagnostics.exception.error.message",
            "boom: the handler panicked",
        );
}

#[tokio::test]
async fn skipped_paths_are_silent_unless_they_fail() {
    let server = Server::start().await;
    assert_eq!(server.get("/health", &[]).await.status, 200);
    let metrics = server.get("/metrics", &[]).await;
    assert_eq!(
        server
            .get("/ready", &[("X-Request-ID", "req-ready")])
            .await
            .status,
        503
    );
    let capture = server.stop().await;

    assert_eq!(metrics.status, 200);
    assert!(metrics
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/plain")));
    assert!(metrics
        .body
        .contains("# TYPE fapilog_events_submitted_total counter"));
    // Only the failing readiness probe was logged.
    let lines = capture.records();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    lines[0]
        .assert_field("message", "request_completed")
        .assert_field("level", "ERROR")
        .assert_field("data.path", "/ready")
        .assert_field("data.status_code", 503);
}

#[tokio::test]
async fn client_errors_are_warnings() {
    let server = Server::start().await;
    assert_eq!(server.get("/nope", &[]).await.status, 404);
    let capture = server.stop().await;
    capture
        .assert_logged("request_completed")
        .assert_field("level", "WARNING")
        .assert_field("data.status_code", 404)
        .assert_field("data.route", serde_json::Value::Null);
}

#[tokio::test]
async fn sensitive_headers_never_appear() {
    let server = Server::start().await;
    let mut headers = SECRET_HEADERS.to_vec();
    headers.push(("X-Request-ID", "req-login"));
    headers.push(("User-Agent", "probe/1.0"));
    headers.push(("X-Forwarded-For", "203.0.113.9"));
    let reply = send(
        server.addr,
        "POST",
        "/login",
        &headers,
        "user=a&password=pw",
    )
    .await;
    assert_eq!(reply.status, 204);
    let capture = server.stop().await;

    let line = capture.assert_logged("request_completed");
    line.assert_field("data.headers.authorization", "***")
        .assert_field("data.headers.cookie", "***")
        .assert_field("data.headers.x-api-key", "***")
        .assert_field("data.headers.proxy-authorization", "***")
        .assert_field("data.headers.user-agent", "probe/1.0")
        .assert_field("data.user_agent", "probe/1.0")
        .assert_field("data.request_bytes", 18)
        .assert_field("data.method", "POST")
        // The peer (loopback) is a trusted proxy in the example.
        .assert_field("data.client_ip", "203.0.113.9");
    for (_, value) in SECRET_HEADERS {
        capture.assert_no_line_contains(value);
    }
    capture.assert_no_line_contains("hunter2");
    capture.assert_no_line_contains("s3cr3t");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_never_mix_contexts() {
    let server = Server::start().await;
    let addr = server.addr;
    for (id, reply) in common::concurrent_user_requests(addr, 24, "req").await {
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("x-request-id"), Some(id.as_str()));
    }
    let capture = server.stop().await;
    let lines = capture.records();
    assert_eq!(lines.len(), 24 * 3);
    for line in &lines {
        let id = line.str("context.request_id").expect("request id");
        let n: u64 = id.trim_start_matches("req-").parse().expect("our id");
        match line.message() {
            Some("loading user") | Some("audit written") => {
                line.assert_field("context.user_id", n.to_string());
            }
            Some("request_completed") => {
                line.assert_field("data.path", format!("/users/{n}"));
            }
            other => panic!("unexpected line {other:?}"),
        }
    }
    // Every request has its own trace.
    let mut traces: Vec<&str> = lines
        .iter()
        .filter(|l| l.message() == Some("request_completed"))
        .filter_map(|l| l.str("context.trace_id"))
        .collect();
    traces.sort_unstable();
    traces.dedup();
    assert_eq!(traces.len(), 24);
}
