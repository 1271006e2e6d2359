//! The pipeline's metrics for Prometheus to scrape.

use fapilog::Pipeline;
use http::{header, HeaderValue, Response};

/// A response with the pipeline's metrics in the Prometheus text format
/// (rendered by [`fapilog::MetricsSnapshot::to_prometheus`]).
///
/// ```
/// # let pipeline = fapilog::Pipeline::builder().sink(fapilog::testing::CaptureSink::new().0).build()?;
/// let response = fapilog_axum::prometheus_response(&pipeline);
/// assert!(response.body().contains("fapilog_events_submitted_total"));
/// # Ok::<(), fapilog::Error>(())
/// ```
pub fn prometheus_response(pipeline: &Pipeline) -> Response<String> {
    let mut response = Response::new(pipeline.metrics().to_prometheus());
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(fapilog::PROMETHEUS_CONTENT_TYPE),
    );
    response
}

/// An axum `GET` route serving [`prometheus_response`]:
/// `Router::new().route("/metrics", metrics_route(pipeline))`.
#[cfg(feature = "axum")]
pub fn metrics_route<S>(pipeline: Pipeline) -> axum::routing::MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    axum::routing::get(move || {
        let pipeline = pipeline.clone();
        async move { prometheus_response(&pipeline) }
    })
}
