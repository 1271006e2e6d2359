//! Graceful shutdown on SIGTERM and SIGINT for tokio servers.

use std::time::Duration;

use fapilog::Pipeline;

/// Waits for SIGTERM or SIGINT (Ctrl-C off Unix), then flushes a pipeline:
/// the future to hand to axum's `with_graceful_shutdown`.
///
/// The signal handlers are installed by [`ShutdownSignal::new`], so no
/// signal is missed between that call and the first poll. When the signal
/// comes, everything logged so far is written out (bounded by the
/// pipeline's shutdown timeout) before the future resolves, so the lines
/// are out even if the orchestrator kills the process during the graceful
/// period. The pipeline keeps running: requests still in flight log as
/// usual; shut it down (or return from `main`, for the global pipeline)
/// once the server has stopped.
///
/// ```no_run
/// # async fn run(app: axum::Router, listener: tokio::net::TcpListener) -> std::io::Result<()> {
/// let guard = fapilog::init().expect("valid settings");
/// let pipeline = guard.pipeline().clone();
/// let signal = fapilog_axum::ShutdownSignal::new(pipeline.clone())?;
/// axum::serve(listener, app)
///     .with_graceful_shutdown(signal.wait())
///     .await?;
/// let report = pipeline.shutdown(pipeline.shutdown_timeout());
/// assert!(report.is_complete());
/// # Ok(())
/// # }
/// ```
#[must_use = "a shutdown signal does nothing until `wait` is awaited"]
pub struct ShutdownSignal {
    pipeline: Pipeline,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl std::fmt::Debug for ShutdownSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShutdownSignal").finish_non_exhaustive()
    }
}

impl ShutdownSignal {
    /// Installs the SIGTERM and SIGINT handlers now. Call it inside a tokio
    /// runtime with its I/O driver enabled (as `#[tokio::main]` makes).
    pub fn new(pipeline: Pipeline) -> std::io::Result<ShutdownSignal> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(ShutdownSignal {
                pipeline,
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(ShutdownSignal { pipeline })
        }
    }

    /// Resolves once the signal came and the pipeline was flushed.
    pub async fn wait(self) {
        #[cfg(unix)]
        let pipeline = {
            let ShutdownSignal {
                pipeline,
                mut term,
                mut int,
            } = self;
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            pipeline
        };
        #[cfg(not(unix))]
        let pipeline = {
            let _ = tokio::signal::ctrl_c().await;
            self.pipeline
        };
        flush(pipeline).await;
    }
}

/// [`ShutdownSignal::new`] and [`ShutdownSignal::wait`] in one future. When
/// the handlers cannot be installed, it says so on stderr and never resolves.
pub async fn shutdown_signal(pipeline: Pipeline) {
    match ShutdownSignal::new(pipeline) {
        Ok(signal) => signal.wait().await,
        Err(e) => {
            eprintln!("fapilog-axum: cannot handle SIGTERM/SIGINT: {e}");
            std::future::pending::<()>().await;
        }
    }
}

async fn flush(pipeline: Pipeline) {
    let timeout: Duration = pipeline.shutdown_timeout();
    // `flush` blocks: keep it off the runtime's worker threads.
    let flushed = tokio::task::spawn_blocking(move || pipeline.flush(timeout)).await;
    if !matches!(flushed, Ok(Ok(()))) {
        eprintln!("fapilog-axum: the flush on the shutdown signal did not finish in time");
    }
}
