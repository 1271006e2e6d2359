//! Readiness from the pipeline's point of view: a probe answer built from
//! [`fapilog::Pipeline::health`].

use fapilog::Pipeline;
use http::{header, HeaderValue, Response, StatusCode};

/// `200` with each sink's state as JSON while the pipeline is ready
/// ([`fapilog::Health::is_ready`]: running, no sink's circuit breaker
/// open), else `503` with the same body, so a readiness probe takes the
/// instance out of rotation while its logs cannot be delivered.
///
/// ```
/// # let pipeline = fapilog::Pipeline::builder().sink(fapilog::testing::CaptureSink::new().0).build()?;
/// let response = fapilog_axum::health_response(&pipeline);
/// assert_eq!(response.status(), 200);
/// assert_eq!(
///     response.body(),
///     r#"{"queue_depth":0,"ready":true,"sinks":{"capture":"healthy"}}"#
/// );
/// # Ok::<(), fapilog::Error>(())
/// ```
pub fn health_response(pipeline: &Pipeline) -> Response<String> {
    let health = pipeline.health();
    let sinks: serde_json::Map<String, serde_json::Value> = health
        .sinks
        .iter()
        .map(|(name, state)| (name.clone(), state.as_str().into()))
        .collect();
    let body = serde_json::json!({
        "ready": health.is_ready(),
        "queue_depth": health.queue_depth,
        "sinks": sinks,
    });
    let mut response = Response::new(body.to_string());
    if !health.is_ready() {
        *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    }
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// An axum `GET` route serving [`health_response`]:
/// `Router::new().route("/ready", health_route(pipeline))`.
#[cfg(feature = "axum")]
pub fn health_route<S>(pipeline: Pipeline) -> axum::routing::MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    axum::routing::get(move || {
        let pipeline = pipeline.clone();
        async move { health_response(&pipeline) }
    })
}
