//! Draining the global pipeline on SIGTERM and SIGINT (Unix, cargo feature
//! `signals`, on by default).
//!
//! Without it, SIGTERM (Kubernetes, `docker stop`, systemd) and SIGINT
//! (Ctrl-C) end the process at once, and whatever is still queued is lost:
//! the exit handlers of [`crate::init`] do not run when a signal's default
//! action ends the process. Opt in with [`drain_on_signals`]: the first
//! SIGTERM or SIGINT drains the global pipeline (within
//! `core.shutdown_timeout_seconds`, reporting on stderr what could not be
//! written), then ends the process as the signal would have: the default
//! disposition is restored and the signal raised again, so the exit status
//! still says "killed by SIGTERM". A second signal during the drain ends the
//! process at once.
//!
//! An application that handles these signals itself (to stop accepting
//! work, finish requests, then return from `main`) needs nothing from this
//! module: returning from `main` drains the global pipeline. With tokio,
//! see `fapilog_axum::shutdown_signal`.
//!
//! ```no_run
//! let _guard = fapilog::init().expect("valid settings");
//! fapilog::signals::drain_on_signals().expect("signal handlers");
//! loop {
//!     fapilog::info!("working");
//!     std::thread::sleep(std::time::Duration::from_millis(10));
//! }
//! ```

use std::sync::atomic::{AtomicBool, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::error::Error;
use crate::pipeline::{shutdown_global, DrainReport};

/// What runs once the pipeline is drained.
type Then = Box<dyn FnOnce(i32, Option<DrainReport>) + Send>;

static INSTALLED: AtomicBool = AtomicBool::new(false);

/// On the first SIGTERM or SIGINT: drain the global pipeline, then end the
/// process as the signal would have. Installs once per process; later
/// calls (of this function or of [`drain_on_signals_then`]) do nothing.
pub fn drain_on_signals() -> Result<(), Error> {
    install(Box::new(|signal, _| terminate(signal)))
}

/// On the first SIGTERM or SIGINT: drain the global pipeline, then call
/// `then` with the signal's number and the drain report (`None` without a
/// global pipeline), on a thread of the pipeline's. The process goes on
/// until `then` ends it (for example with [`std::process::exit`], or by
/// telling the application to stop); a second signal ends it at once.
/// Logging after the drain is dropped and reported once on stderr.
///
/// ```no_run
/// let _guard = fapilog::init().expect("valid settings");
/// fapilog::signals::drain_on_signals_then(|signal, report| {
///     if let Some(r) = report {
///         eprintln!("signal {signal}: {} events written", r.written);
///     }
///     std::process::exit(0);
/// })
/// .expect("signal handlers");
/// ```
pub fn drain_on_signals_then(
    then: impl FnOnce(i32, Option<DrainReport>) + Send + 'static,
) -> Result<(), Error> {
    install(Box::new(then))
}

fn install(then: Then) -> Result<(), Error> {
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return Ok(());
    }
    let mut signals = Signals::new([SIGTERM, SIGINT]).map_err(|e| {
        INSTALLED.store(false, Ordering::SeqCst);
        Error::Signals(e)
    })?;
    // Both threads start now, so nothing needs to be spawned on a signal.
    let (tx, rx) = std::sync::mpsc::sync_channel::<i32>(1);
    std::thread::Builder::new()
        .name("fapilog-drain".into())
        .spawn(move || {
            if let Ok(signal) = rx.recv() {
                then(signal, shutdown_global());
            }
        })
        .map_err(Error::Spawn)?;
    std::thread::Builder::new()
        .name("fapilog-signals".into())
        .spawn(move || {
            let mut first = true;
            for signal in signals.forever() {
                if !first {
                    // A second signal while draining: give up at once.
                    terminate(signal);
                }
                first = false;
                if tx.send(signal).is_err() {
                    terminate(signal);
                }
            }
        })
        .map(drop)
        .map_err(Error::Spawn)
}

/// Ends the process as `signal` would have: default disposition, raised
/// again (falls back to exiting with 128 + signal).
fn terminate(signal: i32) -> ! {
    let _ = signal_hook::low_level::emulate_default_handler(signal);
    std::process::exit(128 + signal)
}
