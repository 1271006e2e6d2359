//! The logging macros.
//!
//! Two orders, both with a logger first or without one (the global logger
//! of [`crate::init`]):
//!
//! - `tracing`'s: fields, then the message and its format arguments:
//!   `info!(log, user_id = 1, http.status = 200, "paid {} for {item}", amount)`;
//! - message first, then fields: `info!(log, "user {user} logged in", user_id = 42)`;
//!   positional format arguments go before a `;`:
//!   `info!(log, "paid {}", amount; user_id = 1)` (without the `;`, a bare
//!   name after the message is a field, as it always was).
//!
//! ```
//! use fapilog::testing::CaptureSink;
//! let (sink, captured) = CaptureSink::new();
//! let pipeline = fapilog::Pipeline::builder().sink(sink).build().unwrap();
//! let log = pipeline.logger("app");
//!
//! let user = "ann";
//! let amount = 12.5;
//! let err = std::io::Error::other("disk full");
//! fapilog::info!(log, "user {user} logged in", user_id = 42, path = "/login");
//! fapilog::warning!(log, "slow", latency = ?std::time::Duration::from_millis(912));
//! fapilog::error!(log, "save failed", error = fapilog::err(&err), "http.status" = 500);
//! fapilog::info!(log, user_id = 1, http.status = 200, "paid {} by {user}", amount);
//! fapilog::info!(log, "paid {}", amount; order = "o-1");
//!
//! pipeline.flush(std::time::Duration::from_secs(5)).unwrap();
//! let lines = captured.envelopes();
//! assert_eq!(lines[0]["log"]["message"], "user ann logged in");
//! assert_eq!(lines[0]["log"]["context"]["user_id"], "42");
//! assert_eq!(lines[2]["log"]["diagnostics"]["exception"]["error.message"], "disk full");
//! assert_eq!(lines[2]["log"]["data"]["http.status"], 500);
//! assert_eq!(lines[3]["log"]["message"], "paid 12.5 by ann");
//! assert_eq!(lines[3]["log"]["data"]["http.status"], 200);
//! assert_eq!(lines[4]["log"]["message"], "paid 12.5");
//! assert_eq!(lines[4]["log"]["data"]["order"], "o-1");
//! ```
//!
//! Fields: `key = value` (anything with [`crate::ToFieldValue`]), `key = %value`
//! (`Display`), `key = ?value` (`Debug`), a bare `key` (the variable of that
//! name), `%key`, `?key`, and dotted keys written plainly (`http.status = 200`)
//! or quoted (`"http.status" = 200`). The message is a string literal and
//! may name variables in braces (`"user {user}"`); a literal without braces
//! or arguments is not copied at all. The order is sorted out at compile
//! time: the call compiles to the same code in either order.
//!
//! A call without a message does not compile, and says so:
//!
//! ```compile_fail
//! # let log = fapilog::testing::LogCapture::new().logger("app");
//! fapilog::info!(log, user_id = 1); // "the message (a string literal) is missing"
//! ```
//!
//! ```compile_fail
//! fapilog::info!(); // "the message (a string literal) is missing"
//! ```
//!
//! A field after a `tracing`-order message is a format argument, so a key
//! there does not compile:
//!
//! ```compile_fail
//! # let log = fapilog::testing::LogCapture::new().logger("app");
//! fapilog::info!(log, a = 1, "msg", b = 2);
//! ```

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
    (@acc [$($out:tt)*] $k:ident $(. $kn:ident)+ = %$v:expr $(, $($rest:tt)*)?) => {
        $crate::__fapilog_fields!(@acc [$($out)* (concat!(stringify!($k) $(, ".", stringify!($kn))+), $crate::FieldValue::Display(&$v)),] $($($rest)*)?)
    };
    (@acc [$($out:tt)*] $k:ident $(. $kn:ident)+ = ?$v:expr $(, $($rest:tt)*)?) => {
        $crate::__fapilog_fields!(@acc [$($out)* (concat!(stringify!($k) $(, ".", stringify!($kn))+), $crate::FieldValue::Debug(&$v)),] $($($rest)*)?)
    };
    (@acc [$($out:tt)*] $k:ident $(. $kn:ident)+ = $v:expr $(, $($rest:tt)*)?) => {
        $crate::__fapilog_fields!(@acc [$($out)* (concat!(stringify!($k) $(, ".", stringify!($kn))+), $crate::ToFieldValue::to_field_value(&$v)),] $($($rest)*)?)
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
    (@acc [$($out:tt)*] $($bad:tt)+) => {
        compile_error!(concat!(
            "fapilog: not a field: `", stringify!($($bad)+),
            "`; fields are `key = value`, `key = %value`, `key = ?value`, `key`, `%key`, `?key`, ",
            "`dotted.key = value` or `\"any key\" = value`, separated by commas; ",
            "positional format arguments after a leading message go before a `;`: ",
            "info!(\"paid {}\", amount; key = value)"
        ))
    };
}

/// Sorts a level macro's arguments out at compile time: the logger (or the
/// global one), the fields and the message with its format arguments, in
/// either order; then expands to the same call as `log!`.
#[doc(hidden)]
#[macro_export]
macro_rules! __fapilog_call {
    // Where the arguments start: a message, a field, or a logger expression.
    (@entry $lvl:tt) => { $crate::__fapilog_call!(@missing) };
    (@entry $lvl:tt $msg:literal $($rest:tt)*) => {
        $crate::__fapilog_call!(@body $lvl (global) [] $msg $($rest)*)
    };
    (@entry $lvl:tt % $($rest:tt)*) => { $crate::__fapilog_call!(@body $lvl (global) [] % $($rest)*) };
    (@entry $lvl:tt ? $($rest:tt)*) => { $crate::__fapilog_call!(@body $lvl (global) [] ? $($rest)*) };
    (@entry $lvl:tt $($rest:tt)+) => { $crate::__fapilog_call!(@first $lvl [] $($rest)+) };

    // The first comma-separated part: a logger, unless it holds `=` (a field).
    (@first $lvl:tt [$($seg:tt)*] = $($rest:tt)*) => {
        $crate::__fapilog_call!(@body $lvl (global) [] $($seg)* = $($rest)*)
    };
    (@first $lvl:tt [$($seg:tt)+] , $($rest:tt)*) => {
        $crate::__fapilog_call!(@body $lvl (logger $($seg)+) [] $($rest)*)
    };
    (@first $lvl:tt [$($seg:tt)*] $t:tt $($rest:tt)*) => {
        $crate::__fapilog_call!(@first $lvl [$($seg)* $t] $($rest)*)
    };
    (@first $lvl:tt [$($seg:tt)*]) => { $crate::__fapilog_call!(@missing) };

    // Fields, then the message: each field is one comma-separated part.
    (@body $lvl:tt $tg:tt [$($f:tt)*] $k:literal = $($rest:tt)*) => {
        $crate::__fapilog_call!(@seg $lvl $tg [$($f)*] [$k =] $($rest)*)
    };
    (@body $lvl:tt $tg:tt [] $msg:literal $(, $($rest:tt)*)?) => {
        $crate::__fapilog_call!(@after $lvl $tg $msg [] $($($rest)*)?)
    };
    (@body $lvl:tt $tg:tt [] $msg:literal ; $($rest:tt)*) => {
        $crate::__fapilog_call!(@emit $lvl $tg ($msg) [$($rest)*])
    };
    (@body $lvl:tt $tg:tt [$($f:tt)+] $msg:literal $(, $($args:tt)*)?) => {
        $crate::__fapilog_call!(@emit $lvl $tg ($msg $(, $($args)*)?) [$($f)*])
    };
    (@body $lvl:tt $tg:tt [$($f:tt)*] $($rest:tt)+) => {
        $crate::__fapilog_call!(@seg $lvl $tg [$($f)*] [] $($rest)+)
    };
    (@body $lvl:tt $tg:tt [$($f:tt)*]) => { $crate::__fapilog_call!(@missing) };

    (@seg $lvl:tt $tg:tt [$($f:tt)*] [$($cur:tt)*] , $($rest:tt)*) => {
        $crate::__fapilog_call!(@body $lvl $tg [$($f)* $($cur)* ,] $($rest)*)
    };
    (@seg $lvl:tt $tg:tt [$($f:tt)*] [$($cur:tt)*] $t:tt $($rest:tt)*) => {
        $crate::__fapilog_call!(@seg $lvl $tg [$($f)*] [$($cur)* $t] $($rest)*)
    };
    (@seg $lvl:tt $tg:tt [$($f:tt)*] [$($cur:tt)*]) => { $crate::__fapilog_call!(@missing) };

    // Message first: format arguments up to a `;`, fields after it; with
    // no `;`, everything after the message is a field.
    (@after $lvl:tt $tg:tt $msg:literal [$($args:tt)*] ; $($f:tt)*) => {
        $crate::__fapilog_call!(@emit $lvl $tg ($msg, $($args)*) [$($f)*])
    };
    (@after $lvl:tt $tg:tt $msg:literal [$($args:tt)*] $t:tt $($rest:tt)*) => {
        $crate::__fapilog_call!(@after $lvl $tg $msg [$($args)* $t] $($rest)*)
    };
    (@after $lvl:tt $tg:tt $msg:literal [$($f:tt)*]) => {
        $crate::__fapilog_call!(@emit $lvl $tg ($msg) [$($f)*])
    };

    (@emit $lvl:tt (global) $fmt:tt [$($f:tt)*]) => {
        if let Some(__fapilog_global) = $crate::global() {
            $crate::__fapilog_call!(@emit $lvl (logger __fapilog_global) $fmt [$($f)*])
        }
    };
    (@emit ($lvl:expr) (logger $logger:expr) ($($fmt:tt)*) [$($f:tt)*]) => {{
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
                format_args!($($fmt)*),
                &$crate::__fapilog_fields!(@acc [] $($f)*),
                Some(&__FAPILOG_LOCATION),
            );
        }
    }};

    (@missing) => {
        compile_error!(
            "fapilog: the message (a string literal) is missing: \
             info!(\"message {x}\", key = value), info!(key = value, \"message {}\", arg), \
             or the same with a logger first: info!(logger, ...)"
        )
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
        /// `(logger, fields…, "message {}", args…)` in `tracing`'s order, or
        /// `(logger, "message", fields…)`; without the logger for the global
        /// one. See [the macros](crate::macros) for every form.
        #[macro_export]
        macro_rules! $name {
                            ($d($d t:tt)*) => {
                                $crate::__fapilog_call!(@entry ($crate::Level::$level) $d($d t)*)
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
