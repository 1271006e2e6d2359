//! The request's context in spawned tasks: every documented way to carry
//! it, each proven, and the plain `tokio::spawn` that does not.
//!
//! With the `fapilog-tracing` layer installed, the middleware serves the
//! request inside a `tracing` span, so `tracing`'s own idioms
//! (`.instrument(Span::current())`, `.in_current_span()`,
//! `span.in_scope` on a blocking thread) carry the request id to native
//! `fapilog` calls and `tracing` events alike. Without `tracing`,
//! `in_current_context()`, `with_context(Context::current())`,
//! `fapilog_axum::spawn` and `fapilog_axum::spawn_blocking` do.

use axum::{routing::get, Router};
use fapilog::context::{Context, FutureExt as _};
use fapilog::testing::LogCapture;
use fapilog::Logger;
use fapilog_axum::RequestLogLayer;
use fapilog_tracing::FapilogLayer;
use tower::ServiceExt;
use tracing::{Instrument, Span};
use tracing_subscriber::layer::SubscriberExt;

async fn handler(log: Logger) -> &'static str {
    let l = log.clone();
    tokio::spawn(
        async move {
            fapilog::info!(l, "native: instrument(Span::current())");
            tracing::info!("tracing: instrument(Span::current())");
        }
        .instrument(Span::current()),
    )
    .await
    .unwrap();
    let l = log.clone();
    tokio::spawn(
        async move {
            fapilog::info!(l, "native: in_current_span()");
            tracing::info!("tracing: in_current_span()");
        }
        .in_current_span(),
    )
    .await
    .unwrap();
    let l = log.clone();
    tokio::spawn(
        async move { fapilog::info!(l, "native: in_current_context()") }.in_current_context(),
    )
    .await
    .unwrap();
    let l = log.clone();
    let snapshot = Context::current();
    tokio::spawn(
        async move { fapilog::info!(l, "native: with_context(snapshot)") }.with_context(snapshot),
    )
    .await
    .unwrap();
    let l = log.clone();
    fapilog_axum::spawn(async move { fapilog::info!(l, "native: fapilog_axum::spawn") })
        .await
        .unwrap();
    let l = log.clone();
    let span = Span::current();
    tokio::task::spawn_blocking(move || {
        span.in_scope(|| {
            fapilog::info!(l, "native: spawn_blocking + span.in_scope");
            tracing::info!("tracing: spawn_blocking + span.in_scope");
        })
    })
    .await
    .unwrap();
    let l = log.clone();
    let snapshot = Context::current();
    tokio::task::spawn_blocking(move || {
        snapshot.in_scope(|| fapilog::info!(l, "native: spawn_blocking + Context::in_scope"))
    })
    .await
    .unwrap();
    let l = log.clone();
    fapilog_axum::spawn_blocking(move || fapilog::info!(l, "native: fapilog_axum::spawn_blocking"))
        .await
        .unwrap();
    let l = log;
    tokio::spawn(async move { fapilog::info!(l, "plain tokio::spawn") })
        .await
        .unwrap();
    "ok"
}

#[tokio::test]
async fn every_documented_way_carries_the_request_id() {
    let capture = LogCapture::new();
    let subscriber =
        tracing_subscriber::registry().with(FapilogLayer::new(capture.logger("tracing")));
    // Global, as in a service: the blocking pool's threads see it too (this
    // file is its own process, with this one test).
    tracing::subscriber::set_global_default(subscriber).expect("global subscriber");

    let log = capture.logger("app");
    let app = Router::new()
        .route("/", get(move || handler(log.clone())))
        .layer(RequestLogLayer::new(capture.logger("access")));
    let request = http::Request::get("/")
        .header("x-request-id", "req-7")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
    drop(response);

    let carried = [
        "native: instrument(Span::current())",
        "tracing: instrument(Span::current())",
        "native: in_current_span()",
        "tracing: in_current_span()",
        "native: in_current_context()",
        "native: with_context(snapshot)",
        "native: fapilog_axum::spawn",
        "native: spawn_blocking + span.in_scope",
        "tracing: spawn_blocking + span.in_scope",
        "native: spawn_blocking + Context::in_scope",
        "native: fapilog_axum::spawn_blocking",
    ];
    for message in carried {
        capture
            .assert_logged(message)
            .assert_field("context.request_id", "req-7")
            .assert_field("context.correlation_id", "req-7");
    }
    let lost = capture.assert_logged("plain tokio::spawn");
    assert_eq!(
        lost.str("context.request_id"),
        None,
        "a plain spawn has no context"
    );
}
