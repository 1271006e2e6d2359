//! Middleware options and failure paths, driven in-process with `oneshot`
//! (axum routers and plain tower services).

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use fapilog::testing::LogCapture;
use fapilog_axum::{HeaderLogging, RequestLogLayer};
use http::{HeaderName, Request, Response, StatusCode};
use tower::{Service, ServiceExt};

fn router(layer: RequestLogLayer) -> Router {
    Router::new()
        .route("/", get(|| async { "hello" }))
        .route("/teapot", get(|| async { StatusCode::IM_A_TEAPOT }))
        .layer(layer)
}

async fn call(app: &Router, req: Request<Body>) -> (StatusCode, http::HeaderMap, Vec<u8>) {
    let response = app.clone().oneshot(req).await.expect("infallible");
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(Body::new(body), 1 << 20)
        .await
        .expect("body");
    (parts.status, parts.headers, bytes.to_vec())
}

fn get_req(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).expect("request")
}

#[tokio::test]
async fn sampling_keeps_a_share_of_successes_and_every_failure() {
    let capture = LogCapture::new();
    let app = router(
        RequestLogLayer::new(capture.logger("access"))
            .sample_successes(0.5)
            .expect("rate"),
    );
    for _ in 0..10 {
        call(&app, get_req("/")).await;
    }
    for _ in 0..3 {
        call(&app, get_req("/teapot")).await;
    }
    let lines = capture.find_all("request_completed");
    let ok = lines
        .iter()
        .filter(|l| l.get("data.status_code") == Some(&200.into()));
    assert_eq!(ok.count(), 5);
    let teapots = lines
        .iter()
        .filter(|l| l.get("data.status_code") == Some(&418.into()));
    assert_eq!(teapots.count(), 3);

    let none = LogCapture::new();
    let app = router(
        RequestLogLayer::new(none.logger("access"))
            .sample_successes(0.0)
            .expect("rate"),
    );
    call(&app, get_req("/")).await;
    none.assert_count(0);
    assert!(RequestLogLayer::new(none.logger("a"))
        .sample_successes(1.5)
        .is_err());
}

#[tokio::test]
async fn slow_requests_are_raised_to_warning() {
    let capture = LogCapture::new();
    let app = router(RequestLogLayer::new(capture.logger("access")).slow_request(Duration::ZERO));
    call(&app, get_req("/")).await;
    capture
        .assert_logged("request_completed")
        .assert_field("level", "WARNING")
        .assert_field("data.slow", true);
}

#[tokio::test]
async fn allowlist_mode_and_extra_redactions() {
    let capture = LogCapture::new();
    let app = router(
        RequestLogLayer::new(capture.logger("access"))
            .headers(HeaderLogging::Allowlist(vec![
                HeaderName::from_static("accept"),
                HeaderName::from_static("authorization"),
                HeaderName::from_static("x-tenant-secret"),
            ]))
            .redact_header(HeaderName::from_static("x-tenant-secret")),
    );
    let req = Request::get("/")
        .header("accept", "text/plain")
        .header("authorization", "Bearer top-secret")
        .header("x-tenant-secret", "tenant-pass")
        .header("x-other", "not listed")
        .body(Body::empty())
        .expect("request");
    call(&app, req).await;
    let line = capture.assert_logged("request_completed");
    line.assert_field("data.headers.accept", "text/plain")
        .assert_field("data.headers.authorization", "***")
        .assert_field("data.headers.x-tenant-secret", "***")
        .assert_absent("data.headers.x-other");
    capture.assert_no_line_contains("top-secret");
    capture.assert_no_line_contains("tenant-pass");
}

#[tokio::test]
async fn headers_are_off_by_default_and_the_request_id_header_is_configurable() {
    let capture = LogCapture::new();
    let app = router(
        RequestLogLayer::new(capture.logger("access"))
            .request_id_header(HeaderName::from_static("x-correlation-id")),
    );
    let req = Request::get("/")
        .header("x-correlation-id", "corr-1")
        .header("x-request-id", "ignored")
        .header("authorization", "Bearer nope")
        .body(Body::empty())
        .expect("request");
    let (_, headers, body) = call(&app, req).await;
    assert_eq!(headers["x-correlation-id"], "corr-1");
    assert_eq!(body, b"hello");
    capture
        .assert_logged("request_completed")
        .assert_field("context.request_id", "corr-1")
        .assert_field("data.response_bytes", 5)
        .assert_absent("data.headers");
    capture.assert_no_line_contains("nope");
}

#[tokio::test]
async fn plain_tower_service_errors_and_panics_become_500() {
    let capture = LogCapture::new();
    let layer = RequestLogLayer::new(capture.logger("access"));

    let failing = tower::service_fn(|_req: Request<String>| async {
        Err::<Response<String>, _>(std::io::Error::other("database unreachable"))
    });
    let response = tower::Layer::layer(&layer, failing)
        .oneshot(Request::new(String::new()))
        .await
        .expect("errors become responses");
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    drop(response);

    let mut panicking = tower::Layer::layer(
        &layer,
        tower::service_fn(|req: Request<String>| {
            if req.uri().path() == "/sync" {
                panic!("panicked before returning a future");
            }
            async { Ok::<_, Infallible>(Response::new(String::from("fine"))) }
        }),
    );
    let req = Request::get("/sync").body(String::new()).expect("request");
    let response = panicking.call(req).await.expect("response");
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    drop(response);

    let failed = capture.find_all("request_failed");
    assert_eq!(failed.len(), 2, "{:?}", capture.messages());
    failed[0]
        .assert_field(
            "diagnostics.exception.error.message",
            "database unreachable",
        )
        .assert_field("data.status_code", 500);
    failed[1]
        .assert_field("diagnostics.exception.error.type", "panic")
        .assert_field("data.path", "/sync");
}

#[tokio::test]
async fn abandoned_requests_are_logged_as_cancelled() {
    let capture = LogCapture::new();
    let layer = RequestLogLayer::new(capture.logger("access"));
    let mut svc = tower::Layer::layer(
        &layer,
        tower::service_fn(|_req: Request<String>| {
            std::future::pending::<Result<Response<String>, Infallible>>()
        }),
    );
    let fut = svc.call(Request::new(String::new()));
    drop(fut);
    capture
        .assert_logged("request_cancelled")
        .assert_field("level", "WARNING")
        .assert_field("data.status_code", serde_json::Value::Null);
}

#[test]
fn invalid_proxies_are_rejected_with_the_value() {
    let capture = LogCapture::new();
    let err = RequestLogLayer::new(capture.logger("a"))
        .trusted_proxies(["10.0.0.0/8", "not-an-ip"])
        .expect_err("invalid");
    assert!(err.to_string().contains("not-an-ip"), "{err}");
}
