//! Spawning tasks that keep the request's logging context.

use std::future::Future;

use fapilog::context::{Context, FutureExt as _};

/// `tokio::spawn`, with the caller's logging context (request id, trace id,
/// bound fields) carried into the task: its log lines belong to the request
/// that spawned it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let handle = fapilog_axum::spawn(async {
///     // fapilog::info!(log, "background work");  // carries request_id
///     7
/// });
/// assert_eq!(handle.await.unwrap(), 7);
/// # }
/// ```
///
/// # Panics
/// Outside a Tokio runtime, as `tokio::spawn` does.
pub fn spawn<F>(future: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(future.in_current_context())
}

/// `tokio::task::spawn_blocking`, with the caller's logging context bound
/// on the blocking thread while `f` runs.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let handle = fapilog_axum::spawn_blocking(|| {
///     // fapilog::info!(log, "blocking work");  // carries request_id
///     7
/// });
/// assert_eq!(handle.await.unwrap(), 7);
/// # }
/// ```
///
/// # Panics
/// Outside a Tokio runtime, as `tokio::task::spawn_blocking` does.
pub fn spawn_blocking<F, R>(f: F) -> tokio::task::JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let context = Context::current();
    tokio::task::spawn_blocking(move || context.in_scope(f))
}
