//! A small axum service logging through fapilog: the request middleware
//! (request ids, W3C trace context, access log), `tracing` events through
//! `FapilogLayer`, `log` records through `LogBridge`, and `/metrics`.
//!
//! Run it and send a request:
//!
//! ```text
//! cargo run -p fapilog-axum --example axum_service
//! curl -i -H 'X-Request-ID: req-1' http://127.0.0.1:3000/users/7
//! ```
//!
//! Set `ADDR` to listen elsewhere; `FAPILOG_*` variables configure the
//! pipeline (JSON to stdout by default), `RUST_LOG` the `tracing` filter.
//! SIGTERM or Ctrl-C shuts it down gracefully without losing a line.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use fapilog::{Logger, Pipeline};
use fapilog_axum::{metrics_route, HandlerError, HeaderLogging, RequestLogLayer, TraceContext};

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    log: Logger,
}

/// The service's routes, wrapped in the request middleware.
pub fn app(pipeline: &Pipeline) -> Router {
    let middleware = RequestLogLayer::new(pipeline.logger("access"))
        .skip_paths(["/health", "/ready", "/metrics"])
        .headers(HeaderLogging::All)
        .slow_request(Duration::from_secs(2))
        .trusted_proxies(["127.0.0.1", "::1"])
        .expect("the proxy list above is valid");
    Router::new()
        .route("/", get(|| async { "fapilog axum example\n" }))
        .route("/users/{id}", get(get_user))
        .route("/login", post(login))
        .route("/trace", get(trace))
        .route("/fail", get(fail))
        .route("/panic", get(panic))
        .route("/health", get(|| async { "ok" }))
        .route(
            "/ready",
            get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "warming up") }),
        )
        .route("/metrics", metrics_route(pipeline.clone()))
        .with_state(AppState {
            log: pipeline.logger("app"),
        })
        .layer(middleware)
}

async fn get_user(State(state): State<AppState>, Path(id): Path<u64>) -> String {
    fapilog::info!(state.log, "loading user", user_id = id);
    tracing::info!(user_id = id, "user loaded (via tracing)");
    log::debug!("cache miss for user {id} (via log)");
    // Work spawned with the helper keeps the request's context.
    let log = state.log.clone();
    let audit = fapilog_axum::spawn(async move {
        fapilog::info!(log, "audit written", user_id = id);
    });
    if let Err(e) = audit.await {
        fapilog::error!(state.log, "audit task failed", error = %e);
    }
    format!("user {id}\n")
}

async fn login(State(state): State<AppState>, body: String) -> StatusCode {
    // Never log credentials: the access log shows the Authorization header as `***`.
    fapilog::info!(state.log, "login attempt", body_bytes = body.len());
    StatusCode::NO_CONTENT
}

/// Shows the trace context to pass on to downstream calls.
async fn trace(Extension(trace): Extension<TraceContext>) -> String {
    format!("{}\n", trace.traceparent())
}

/// An upstream failure, with its cause.
#[derive(Debug, thiserror::Error)]
#[error("inventory service failed")]
pub struct UpstreamError {
    #[source]
    source: std::io::Error,
}

impl IntoResponse for UpstreamError {
    fn into_response(self) -> Response {
        let mut response = (StatusCode::BAD_GATEWAY, "upstream failed\n").into_response();
        // Hand the error (and its chain) to the access log.
        response.extensions_mut().insert(HandlerError::new(self));
        response
    }
}

async fn fail() -> Result<String, UpstreamError> {
    Err(UpstreamError {
        source: std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "connection reset by peer",
        ),
    })
}

async fn panic() -> &'static str {
    panic!("boom: the handler panicked")
}

#[allow(dead_code)] // the tests use `app` alone
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    use tracing_subscriber::layer::SubscriberExt;

    let pipeline = Pipeline::builder()
        .service("axum-example")
        .from_env()?
        .build()?;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let subscriber =
        tracing_subscriber::registry()
            .with(filter)
            .with(fapilog_tracing::FapilogLayer::new(
                pipeline.logger("tracing"),
            ));
    tracing::subscriber::set_global_default(subscriber)?;
    fapilog_tracing::LogBridge::new(pipeline.logger("log")).install()?;

    let addr: SocketAddr = std::env::var("ADDR")
        .unwrap_or_else(|_| "127.0.0.1:3000".to_owned())
        .parse()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    fapilog::info!(pipeline.logger("app"), "listening", addr = %listener.local_addr()?);
    // SIGTERM (Kubernetes, `docker stop`) or Ctrl-C: stop accepting, write
    // out what was logged, let the requests in flight finish...
    let signal = fapilog_axum::ShutdownSignal::new(pipeline.clone())?;
    axum::serve(
        listener,
        app(&pipeline).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(signal.wait())
    .await?;

    // ...then drain the rest and say what happened.
    let report = pipeline.shutdown(pipeline.shutdown_timeout());
    eprintln!("fapilog drained: {report:?}");
    Ok(())
}
