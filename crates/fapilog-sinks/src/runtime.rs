//! The one small tokio runtime every network sink of the process shares.
//!
//! The core crate stays tokio-free: each sink's driver thread blocks on its
//! sink's future here, while the runtime's single worker thread drives the
//! sockets and timers.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

/// The shared runtime, built on first use.
pub(crate) fn runtime() -> Result<&'static Runtime, std::io::Error> {
    RUNTIME
        .get_or_init(|| {
            Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("fapilog-sinks")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| std::io::Error::other(format!("cannot start the sinks' runtime: {e}")))
}

/// Runs `fut` to completion on the shared runtime from a blocking thread.
///
/// A sink's driver thread is a plain thread; a pipeline may also be built
/// (which starts its sinks) from inside an application's own runtime, where
/// blocking in place would panic: then the future runs on a scoped thread.
pub(crate) fn block_on<F>(fut: F) -> Result<F::Output, std::io::Error>
where
    F: Future + Send,
    F::Output: Send,
{
    let rt = runtime()?;
    if tokio::runtime::Handle::try_current().is_err() {
        return Ok(rt.block_on(fut));
    }
    std::thread::scope(|s| {
        s.spawn(|| rt.block_on(fut))
            .join()
            .map_err(|_| std::io::Error::other("a sink's task panicked"))
    })
}
