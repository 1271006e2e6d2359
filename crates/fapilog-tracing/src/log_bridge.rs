//! The `log::Log` bridge.

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::Mutex;

use fapilog::{FieldValue, Level, Location, Logger};
use log::kv::{self, VisitSource};

use crate::location::Locations;
use crate::{InstallError, TraceLevel};

/// A `log::Log` that sends `log` records (with their key-values) into a
/// fapilog pipeline, named after the record's target.
///
/// ```
/// use std::time::Duration;
/// use fapilog::testing::CaptureSink;
/// use fapilog_tracing::LogBridge;
/// use log::Log as _;
///
/// let (sink, captured) = CaptureSink::new();
/// let pipeline = fapilog::Pipeline::builder().sink(sink).build()?;
/// let bridge = LogBridge::new(pipeline.logger("app"));
/// // `bridge.install()?` makes it the process's `log` logger; here we call it directly.
/// bridge.log(
///     &log::Record::builder()
///         .level(log::Level::Warn)
///         .target("billing")
///         .args(format_args!("card declined"))
///         .key_values(&[("user_id", 7)])
///         .build(),
/// );
///
/// pipeline.flush(Duration::from_secs(5))?;
/// let line = &captured.envelopes()[0]["log"];
/// assert_eq!(line["level"], "WARNING");
/// assert_eq!(line["logger"], "billing");
/// assert_eq!(line["context"]["user_id"], "7");
/// # Ok::<(), fapilog::Error>(())
/// ```
pub struct LogBridge {
    logger: Logger,
    trace_level: Level,
    max_level: log::LevelFilter,
    file_and_line: bool,
    locations: Locations<(usize, u32)>,
}

impl std::fmt::Debug for LogBridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogBridge")
            .field("logger", &self.logger)
            .field("max_level", &self.max_level)
            .finish_non_exhaustive()
    }
}

impl LogBridge {
    /// A bridge into `logger`: every level passes `log`'s own gate (the
    /// pipeline's level still applies), TRACE written as DEBUG.
    #[must_use]
    pub fn new(logger: Logger) -> LogBridge {
        LogBridge {
            logger,
            trace_level: Level::DEBUG,
            max_level: log::LevelFilter::Trace,
            file_and_line: false,
            locations: Locations::default(),
        }
    }

    /// The most verbose `log` level passed on (also set as `log`'s global
    /// maximum by [`install`](Self::install), so disabled calls cost one compare).
    #[must_use]
    pub fn max_level(mut self, level: log::LevelFilter) -> Self {
        self.max_level = level;
        self
    }

    /// How `TRACE` records are written (DEBUG by default).
    #[must_use]
    pub fn trace_level(mut self, mapping: TraceLevel) -> Self {
        self.trace_level = mapping.level();
        self
    }

    /// Adds the source file, line and module of each record when `log`
    /// knows them statically.
    #[must_use]
    pub fn with_file_and_line(mut self) -> Self {
        self.file_and_line = true;
        self
    }

    /// Makes this bridge the process's `log` logger.
    ///
    /// # Errors
    /// [`InstallError::AlreadySet`] when another `log` logger is installed.
    pub fn install(self) -> Result<(), InstallError> {
        let max = self.max_level;
        log::set_boxed_logger(Box::new(self)).map_err(|_| InstallError::AlreadySet)?;
        log::set_max_level(max);
        Ok(())
    }

    fn level(&self, level: log::Level) -> Level {
        match level {
            log::Level::Error => Level::ERROR,
            log::Level::Warn => Level::WARNING,
            log::Level::Info => Level::INFO,
            log::Level::Debug => Level::DEBUG,
            log::Level::Trace => self.trace_level,
        }
    }

    fn location(&self, record: &log::Record<'_>) -> Option<&'static Location> {
        let file = record.file_static()?;
        let line = record.line().unwrap_or(0);
        let module = record.module_path_static().unwrap_or("");
        Some(
            self.locations
                .get((file.as_ptr() as usize, line), || Location {
                    file,
                    line,
                    module,
                }),
        )
    }
}

/// `log` records that `tracing` itself emits for span lifecycles when its
/// `log` feature is on; the layer already covers spans.
fn is_tracing_span_record(target: &str) -> bool {
    target == "tracing::span" || target == "tracing::span::active"
}

impl log::Log for LogBridge {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= self.max_level && self.logger.enabled(self.level(metadata.level()))
    }

    fn log(&self, record: &log::Record<'_>) {
        if record.level() > self.max_level || is_tracing_span_record(record.target()) {
            return;
        }
        let Some(mut call) = self.logger.capture(self.level(record.level())) else {
            return;
        };
        call.logger_name_static(static_target(record.target()));
        call.message_args(*record.args());
        if self.file_and_line {
            if let Some(location) = self.location(record) {
                call.location(location);
            }
        }
        let _ = record
            .key_values()
            .visit(&mut KeyValues { call: &mut call });
        call.submit();
    }

    fn flush(&self) {}
}

struct KeyValues<'c, 'l> {
    call: &'c mut fapilog::Capture<'l>,
}

impl<'kvs> VisitSource<'kvs> for KeyValues<'_, '_> {
    fn visit_pair(&mut self, key: kv::Key<'kvs>, value: kv::Value<'kvs>) -> Result<(), kv::Error> {
        let key = key.as_str();
        if let Some(s) = value.to_borrowed_str() {
            self.call.field_dyn(key, FieldValue::Str(s));
        } else if let Some(b) = value.to_bool() {
            self.call.field_dyn(key, FieldValue::Bool(b));
        } else if let Some(i) = value.to_i64() {
            self.call.field_dyn(key, FieldValue::I64(i));
        } else if let Some(u) = value.to_u64() {
            self.call.field_dyn(key, FieldValue::U64(u));
        } else if let Some(f) = value.to_f64() {
            self.call.field_dyn(key, FieldValue::F64(f));
        } else {
            self.call.field_dyn(key, FieldValue::Display(&value));
        }
        Ok(())
    }
}

const TARGET_CACHE: usize = 32;
static TARGETS: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);

thread_local! {
    static RECENT: RefCell<Vec<&'static str>> = const { RefCell::new(Vec::new()) };
}

/// `log` targets are few; keep them as `&'static str` (interned once,
/// then found in a small per-thread list without a lock).
fn static_target(target: &str) -> &'static str {
    let hit = RECENT
        .try_with(|r| r.borrow().iter().copied().find(|t| *t == target))
        .ok()
        .flatten();
    if let Some(t) = hit {
        return t;
    }
    let interned = {
        let mut g = match TARGETS.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let set = g.get_or_insert_with(HashSet::new);
        match set.get(target) {
            Some(t) => *t,
            None => {
                let leaked: &'static str = Box::leak(target.to_owned().into_boxed_str());
                set.insert(leaked);
                leaked
            }
        }
    };
    let _ = RECENT.try_with(|r| {
        let mut r = r.borrow_mut();
        if r.len() >= TARGET_CACHE {
            r.remove(0);
        }
        r.push(interned);
    });
    interned
}
