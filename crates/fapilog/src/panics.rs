//! Panics: plugin code (stages, sinks) called under a guard that catches a
//! panic without the standard panic report, and the opt-in hook that logs
//! the application's own panics as CRITICAL events.
//!
//! The standard panic hook prints a full report (with a backtrace under
//! `RUST_BACKTRACE=1`) for every panic, caught or not: a plugin that panics
//! on every event would flood stderr. The pipeline installs, once, a hook
//! that stays silent while the panicking thread is inside [`catch`] and
//! otherwise hands the panic to the hook that was there before. A caught
//! panic is reported by [`Panicked::report`]: at most one line per plugin
//! per [`REPORT_EVERY`], with the count of the panics since the last line.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe, PanicHookInfo};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::diagnostics;
use crate::level::Level;

/// Shortest interval between two stderr reports about one plugin's panics.
pub(crate) const REPORT_EVERY: Duration = Duration::from_secs(10);

thread_local! {
    /// Set while this thread runs plugin code inside [`catch`].
    static GUARDED: Cell<bool> = const { Cell::new(false) };
    /// Where the last caught panic of this thread happened.
    static LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

static SILENCER: AtomicBool = AtomicBool::new(false);
static CRITICAL_HOOK: AtomicBool = AtomicBool::new(false);

/// A caught panic.
#[derive(Debug)]
pub(crate) struct Panicked {
    /// The panic's message (`"Box<dyn Any>"` when it was not a string).
    pub(crate) message: String,
    /// `file:line:column`, when the silent hook saw it.
    pub(crate) location: Option<String>,
}

fn in_guarded() -> bool {
    GUARDED.try_with(Cell::get).unwrap_or(false)
}

/// Installs, once per process, the hook that keeps caught plugin panics off
/// stderr. Called when a pipeline is built.
pub(crate) fn install_silencer() {
    // `take_hook` panics on a panicking thread: try again at the next build.
    if std::thread::panicking() || SILENCER.swap(true, Ordering::SeqCst) {
        return;
    }
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if in_guarded() {
            if let Some(l) = info.location() {
                let _ = LOCATION.try_with(|s| *s.borrow_mut() = Some(l.to_string()));
            }
            return;
        }
        previous(info);
    }));
}

/// Runs plugin code; a panic is caught without the standard panic report
/// (once [`install_silencer`] ran) and comes back as [`Panicked`]. Nothing
/// is counted or reported here: see [`Panicked::report`] and [`guarded`].
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, Panicked> {
    let outer = GUARDED.with(|g| g.replace(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(outer));
    result.map_err(|payload| {
        let message = payload_message(payload.as_ref());
        // Dropping a payload runs user code that may itself panic.
        let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(payload)));
        Panicked {
            message,
            location: LOCATION.with(|l| l.borrow_mut().take()),
        }
    })
}

/// [`catch`], and on a panic [`Panicked::report`] as `kind` `name`.
#[allow(dead_code)] // for the sink driver
pub(crate) fn guarded<R>(kind: &'static str, name: &str, f: impl FnOnce() -> R) -> Option<R> {
    match catch(f) {
        Ok(r) => Some(r),
        Err(p) => {
            p.report(kind, name);
            None
        }
    }
}

/// Whether plugin `name` gets a report at `now`: `Some(panics since the last
/// report)`, or `None` (counted for the next one) within [`REPORT_EVERY`].
fn due(map: &mut Reports, kind: &'static str, name: &str, now: Instant) -> Option<u64> {
    match map.get_mut(&(kind, name.to_owned())) {
        Some((last, since)) if now.duration_since(*last) < REPORT_EVERY => {
            *since += 1;
            None
        }
        Some((last, since)) => {
            *last = now;
            Some(std::mem::take(since))
        }
        None => {
            map.insert((kind, name.to_owned()), (now, 0));
            Some(0)
        }
    }
}

fn payload_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_owned()
    }
}

/// Per plugin (kind, name): when its last report was written, and the
/// panics since then.
type Reports = HashMap<(&'static str, String), (Instant, u64)>;
static REPORTS: Mutex<Option<Reports>> = Mutex::new(None);

impl Panicked {
    /// Says on stderr that plugin `name` (a `kind`: "stage", "sink")
    /// panicked: at once the first time, then at most once per
    /// [`REPORT_EVERY`] with the number of panics since the last report.
    pub(crate) fn report(&self, kind: &'static str, name: &str) {
        let suppressed = {
            let mut g = match REPORTS.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            let map = g.get_or_insert_with(HashMap::new);
            match due(map, kind, name, Instant::now()) {
                Some(n) => n,
                None => return,
            }
        };
        let suppressed = suppressed.to_string();
        let location = self.location.as_deref().unwrap_or("unknown");
        diagnostics::warn(
            kind,
            "plugin panicked; its panics are reported at most once every 10 s, all are counted in the metrics",
            &[
                (kind, name),
                ("panic", &self.message),
                ("location", location),
                ("panics_since_last_report", &suppressed),
            ],
        );
    }
}

/// Logs every panic of the application as a CRITICAL event through the
/// global pipeline (see [`crate::init`]) and flushes it before the panic
/// goes on, then hands the panic to the hook that was installed before (by
/// default, the standard report on stderr).
///
/// The event's message is `panic`; its `data` holds `panic` (the panic's
/// message), `location` (`file:line:column`), `thread` and, when backtraces
/// are enabled (`RUST_BACKTRACE=1` or `RUST_LIB_BACKTRACE=1`), `backtrace`.
/// The hook runs before the process dies, so the event is written even when
/// the panic aborts the process (`panic = "abort"`) and when it happens on
/// another thread than `main`. Panics inside the pipeline's own plugin calls
/// are not logged here (they are counted per stage). Without a global
/// pipeline, the hook only hands the panic on.
///
/// Install it once, after [`crate::init`]; later calls do nothing. A hook
/// installed afterwards with [`std::panic::set_hook`] replaces this one
/// unless it calls the one it took with [`std::panic::take_hook`].
///
/// ```no_run
/// let _guard = fapilog::init().expect("valid settings");
/// fapilog::install_panic_hook();
/// let v: Vec<u32> = Vec::new();
/// let _ = v[1]; // logged as CRITICAL, flushed, then the usual report
/// ```
pub fn install_panic_hook() {
    if std::thread::panicking() || CRITICAL_HOOK.swap(true, Ordering::SeqCst) {
        return;
    }
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if !in_guarded() {
            log_panic(info);
        }
        previous(info);
    }));
}

fn log_panic(info: &PanicHookInfo<'_>) {
    let thread = std::thread::current();
    let thread_name = thread.name().unwrap_or("unnamed");
    // A pipeline thread must not wait for itself to flush.
    if thread_name.starts_with("fapilog-") {
        return;
    }
    let Some(logger) = crate::pipeline::global() else {
        return;
    };
    let message = payload_message(info.payload());
    let location = info
        .location()
        .map(|l| l.to_string())
        .unwrap_or_else(|| "unknown".to_owned());
    let backtrace = std::backtrace::Backtrace::capture();
    let backtrace = match backtrace.status() {
        std::backtrace::BacktraceStatus::Captured => Some(backtrace.to_string()),
        _ => None,
    };
    use crate::field::FieldValue;
    let mut fields: Vec<(&'static str, FieldValue<'_>)> = vec![
        ("panic", FieldValue::Str(&message)),
        ("location", FieldValue::Str(&location)),
        ("thread", FieldValue::Str(thread_name)),
    ];
    if let Some(b) = &backtrace {
        fields.push(("backtrace", FieldValue::Str(b)));
    }
    logger.log(Level::CRITICAL, "panic", &fields);
    crate::pipeline::flush_global();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caught_panic_brings_back_its_message_and_location() {
        install_silencer();
        let caught = catch(|| -> u32 { panic!("plugin {} broke", 7) }).unwrap_err();
        assert_eq!(caught.message, "plugin 7 broke");
        assert!(caught.location.unwrap().contains("panics.rs"));
        assert_eq!(catch(|| 5).unwrap(), 5);
        // The flag is reset: a later panic outside a guard is not silenced.
        assert!(!in_guarded());
    }

    #[test]
    fn a_plugin_is_reported_once_per_interval_with_the_count_since_the_last_report() {
        let mut map = Reports::new();
        let t0 = Instant::now();
        assert_eq!(due(&mut map, "stage", "a", t0), Some(0));
        for i in 1..=5 {
            assert_eq!(
                due(&mut map, "stage", "a", t0 + Duration::from_millis(i)),
                None
            );
        }
        // Another plugin has its own interval.
        assert_eq!(due(&mut map, "stage", "b", t0), Some(0));
        assert_eq!(due(&mut map, "sink", "a", t0), Some(0));
        let later = t0 + REPORT_EVERY;
        assert_eq!(due(&mut map, "stage", "a", later), Some(5));
        assert_eq!(due(&mut map, "stage", "a", later), None);
    }
}
