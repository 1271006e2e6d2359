//! Draining the global pipeline when the process exits.
//!
//! Rust runs no destructor for a `static`, and the global pipeline is one:
//! without help, the events still queued when `main` returns or
//! [`std::process::exit`] is called would be lost. [`crate::init`] registers
//! a C `atexit` handler that shuts the global pipeline down (bounded by its
//! shutdown timeout). The C runtime calls it on every normal exit: after
//! `main` returns and from `std::process::exit`, on any thread. It is not
//! called on `kill -9`, on an abort (a panic under `panic = "abort"`), or
//! when a signal's default action ends the process.
//!
//! The trade-off: the exit waits for the drain, up to the shutdown timeout
//! (3 s by default), after the other threads' work is done; those threads
//! keep running meanwhile (the C runtime does not stop them), so their
//! late log calls are dropped and reported once on stderr.
#![allow(unsafe_code)]

use std::sync::Once;

/// Shuts the global pipeline down (draining its queue within the shutdown
/// timeout, reporting on stderr whatever could not be written), then ends
/// the process with `code` like [`std::process::exit`].
///
/// `std::process::exit` and returning from `main` drain the global
/// pipeline too (see [`crate::init`]); this function does it before the C
/// runtime's exit handlers run, and on a platform without them.
///
/// ```no_run
/// let _guard = fapilog::init().expect("valid settings");
/// fapilog::error!("cannot read the configuration");
/// fapilog::exit(2);
/// ```
pub fn exit(code: i32) -> ! {
    crate::pipeline::shutdown_global();
    std::process::exit(code)
}

/// Registers, once, the handler that drains the global pipeline at exit.
pub(crate) fn drain_at_exit() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(register);
}

/// Runs from the C runtime's `exit`: it must not unwind into C.
extern "C" fn at_exit() {
    let _ = std::panic::catch_unwind(|| {
        crate::pipeline::shutdown_global();
    });
}

#[cfg(any(unix, windows))]
fn register() {
    extern "C" {
        fn atexit(cb: extern "C" fn()) -> std::ffi::c_int;
    }
    // SAFETY: `atexit` is the C standard library's, with this signature on
    // every Unix and Windows C runtime. It only stores the function pointer;
    // `at_exit` is a plain `extern "C" fn()` that lives for the whole
    // program and never unwinds (it catches every panic).
    let rc = unsafe { atexit(at_exit) };
    if rc != 0 {
        crate::diagnostics::warn(
            "exit",
            "cannot register the exit handler: call fapilog::exit or shut the pipeline down before the process exits",
            &[],
        );
    }
}

#[cfg(not(any(unix, windows)))]
fn register() {}
