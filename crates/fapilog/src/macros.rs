//! The logging macros.
//!
//! ```
//! use fapilog::testing::CaptureSink;
//! let (sink, captured) = CaptureSink::new();
//! let pipeline = fapilog::Pipeline::builder().sink(sink).build().unwrap();
//! let log = pipeline.logger("app");
//!
//! let user = "ann";
//! let err = std::io::Error::other("disk full");
//! fapilog::info!(log, "user {user} logged in", user_id = 42, path = "/login");
//! fapilog::warning!(log, "slow", latency = ?std::time::Duration::from_millis(912));
//! fapilog::error!(log, "save failed", error = fapilog::err(&err), "http.status" = 500);
//!
//! pipeline.flush(std::time::Duration::from_secs(5)).unwrap();
//! let lines = captured.envelopes();
//! assert_eq!(lines[0]["log"]["message"], "user ann logged in");
//! assert_eq!(lines[0]["log"]["context"]["user_id"], "42");
//! assert_eq!(lines[2]["log"]["diagnostics"]["exception"]["error.message"], "disk full");
//! assert_eq!(lines[2]["log"]["data"]["http.status"], 500);
//! ```
//!
//! Fields: `key = value` (anything with [`crate::ToFieldValue`]), `key = %value`
//! (`Display`), `key = ?value` (`Debug`), a bare `key` (the variable of that
//! name), `"dotted.key" = value`. The message is a string literal and may
//! name variables in braces (`"user {user}"`); a literal without braces is
//! not copied at all.

/// Builds the field array of a macro call.
#[doc(hidden)]
#[macro_export]
macro_rules! __fapilog_fields {
    (@acc [$($out:tt)*]) => { [$($out)*] };
    (@acc [$($out:tt)*] $k:ident = %$v:expr $(, $($rest:tt)*)?) => {
        $crate::__fapilog_fields!(@acc [$($out)* (stringify!($k), $crate::FieldValue::Display(&$v)),] $($($rest)*)?)
    };
    (@acc [$($out:tt)*] $k:ident = ?$v:expr $(, $($rest:tt)*)?) => {
        $crate::__fapilog_fields!(@acc [$($out)* (stringify!($k), $crate::FieldValue::Debug(&$v)),] $($($rest)*)?)
    };
    (@acc [$($out:tt)*] $k:ident = $v:expr $(, $($rest:tt)*)?) => {
        $crate::__fapilog_fields!(@acc [$($out)* (stringify!($k), $crate::ToFieldValue::to_field_value(&$v)),] $($($rest)*)?)
    };
    (@acc [$($out:tt)*] $k:literal = %$v:expr $(, $($rest:tt)*)?) => {
        $crate::__fapilog_fields!(@acc [$($out)* ($k, $crate::FieldValue::Display(&$v)),] $($($rest)*)?)
    };
    (@acc [$($out:tt)*] $k:literal = ?$v:expr $(, $($rest:tt)*)?) => {
        $crate::__fapilog_fields!(@acc [$($out)* ($k, $crate::FieldValue::Debug(&$v)),] $($($rest)*)?)
    };
    (@acc [$($out:tt)*] $k:literal = $v:expr $(, $($rest:tt)*)?) => {
        $crate::__fapilog_fields!(@acc [$($out)* ($k, $crate::ToFieldValue::to_field_value(&$v)),] $($($rest)*)?)
    };
    (@acc [$($out:tt)*] %$k:ident $(, $($rest:tt)*)?) => {
        $crate::__fapilog_fields!(@acc [$($out)* (stringify!($k), $crate::FieldValue::Display(&$k)),] $($($rest)*)?)
    };
    (@acc [$($out:tt)*] ?$k:ident $(, $($rest:tt)*)?) => {
        $crate::__fapilog_fields!(@acc [$($out)* (stringify!($k), $crate::FieldValue::Debug(&$k)),] $($($rest)*)?)
    };
    (@acc [$($out:tt)*] $k:ident $(, $($rest:tt)*)?) => {
        $crate::__fapilog_fields!(@acc [$($out)* (stringify!($k), $crate::ToFieldValue::to_field_value(&$k)),] $($($rest)*)?)
    };
}

/// Logs at a level given as a value: `log!(logger, Level::INFO, "msg", k = v)`,
/// or through the global logger: `log!(Level::INFO, "msg", k = v)`.
#[macro_export]
macro_rules! log {
    ($lvl:expr, $msg:literal $(, $($f:tt)*)?) => {
        if let Some(__fapilog_logger) = $crate::global() {
            $crate::log!(__fapilog_logger, $lvl, $msg $(, $($f)*)?);
        }
    };
    ($logger:expr, $lvl:expr, $msg:literal $(, $($f:tt)*)?) => {{
        let __fapilog_logger: &$crate::Logger = &$logger;
        let __fapilog_level: $crate::Level = $lvl;
        if __fapilog_logger.enabled(__fapilog_level) {
            static __FAPILOG_LOCATION: $crate::Location = $crate::Location {
                file: file!(),
                line: line!(),
                module: module_path!(),
            };
            __fapilog_logger.log_args(
                __fapilog_level,
                format_args!($msg),
                &$crate::__fapilog_fields!(@acc [] $($($f)*)?),
                Some(&__FAPILOG_LOCATION),
            );
        }
    }};
}

/// The async log call: evaluates to a future that awaits room in the queue
/// (under `Wait`/`Block`) instead of parking the executor's thread.
///
/// ```
/// # async fn demo(log: fapilog::Logger) {
/// fapilog::log_async!(log, fapilog::Level::INFO, "job done", jobs = 3).await;
/// # }
/// ```
#[macro_export]
macro_rules! log_async {
    ($logger:expr, $lvl:expr, $msg:literal $(, $($f:tt)*)?) => {{
        static __FAPILOG_LOCATION: $crate::Location = $crate::Location {
            file: file!(),
            line: line!(),
            module: module_path!(),
        };
        // A `let`, so the borrowed fields are dropped before the future is
        // awaited (keeping the future `Send`).
        let __fapilog_submit = $crate::Logger::log_async(
            &$logger,
            $lvl,
            format_args!($msg),
            &$crate::__fapilog_fields!(@acc [] $($($f)*)?),
            Some(&__FAPILOG_LOCATION),
        );
        __fapilog_submit
    }};
}

macro_rules! level_macro {
    ($d:tt $name:ident, $level:ident, $doc:literal) => {
        #[doc = $doc]
        ///
        /// `(logger, "message", fields…)`, or `("message", fields…)` for the global logger.
        #[macro_export]
        macro_rules! $name {
                    ($d msg:literal $d(, $d($d f:tt)*)?) => {
                        $crate::log!($crate::Level::$level, $d msg $d(, $d($d f)*)?)
                    };
                    ($d logger:expr, $d msg:literal $d(, $d($d f:tt)*)?) => {
                        $crate::log!($d logger, $crate::Level::$level, $d msg $d(, $d($d f)*)?)
                    };
                }
    };
}

level_macro!($ trace, TRACE, "Logs at TRACE (written as DEBUG in the envelope unless configured).");
level_macro!($ debug, DEBUG, "Logs at DEBUG.");
level_macro!($ info, INFO, "Logs at INFO.");
level_macro!($ warning, WARNING, "Logs at WARNING.");
level_macro!($ warn, WARNING, "Logs at WARNING (alias of `warning!`).");
level_macro!($ error, ERROR, "Logs at ERROR.");
level_macro!($ critical, CRITICAL, "Logs at CRITICAL.");
