//! The HTTP sink from fapilog's `FAPILOG_HTTP__*` settings (kept as
//! `http.*`), and the delivery options those settings imply.

use std::time::Duration;

use fapilog::sinks::{BreakerPolicy, RetryPolicy, SinkOptions};
use fapilog::Settings;

use super::{headers, BatchFormat, HttpSink, Keys};
use crate::config::{ConfigError, SinkSettings};
use crate::factory::Opened;

/// Opens the sink from `http.endpoint`, `http.headers`,
/// `http.headers_json`, `http.timeout_seconds`, `http.batch_size`,
/// `http.batch_format`, `http.batch_wrapper_key` and the retry settings.
pub(crate) fn from_settings(settings: &Settings) -> Opened {
    open(settings).map_err(|e| e.into_core("http"))
}

fn open(settings: &Settings) -> Result<(Box<dyn fapilog::Sink>, Option<SinkOptions>), ConfigError> {
    let s = SinkSettings::new(settings, "http");
    let endpoint = s.text("endpoint").ok_or_else(|| {
        ConfigError::missing(
            "http.endpoint",
            "set FAPILOG_HTTP__ENDPOINT to the receiver's URL",
        )
    })?;
    let mut b = HttpSink::builder(endpoint).keys(Keys::SETTINGS);
    for name in ["headers", "headers_json"] {
        let value = match s.text(name) {
            None => continue,
            // `headers_json` is a JSON object in a string.
            Some(text) => serde_json::from_str::<serde_json::Value>(text).map_err(|_| {
                ConfigError::invalid(&s.key(name), "***", "a JSON object of headers")
            })?,
        };
        for (n, v) in headers::from_json(&s.key(name), &value)? {
            b = b.header(n, v);
        }
    }
    if let Some(t) = s.seconds("timeout_seconds")? {
        b = b.timeout(t);
    }
    if let Some(n) = s.parse::<usize>("batch_size", "a number of events")? {
        b = b.max_events(n.max(1));
    }
    let key = s.text("batch_wrapper_key").unwrap_or("logs");
    b = b.format(match s.text("batch_format").unwrap_or("array") {
        "array" => BatchFormat::Array,
        "ndjson" => BatchFormat::Ndjson,
        "wrapped" => BatchFormat::wrapped(key),
        other => {
            return Err(ConfigError::invalid(
                &s.key("batch_format"),
                other,
                "array, ndjson or wrapped",
            ))
        }
    });
    let sink = b.build()?;
    Ok((Box::new(sink), Some(options(&s)?)))
}

/// The driver's options: fapilog's `core.sink_circuit_breaker_*` (as for
/// every sink) plus this sink's `retry_max_attempts` and
/// `retry_backoff_seconds`.
pub(crate) fn options(s: &SinkSettings<'_>) -> Result<SinkOptions, ConfigError> {
    let mut retry = RetryPolicy::default();
    if let Some(n) = s.parse::<u32>("retry_max_attempts", "a number of attempts")? {
        retry = retry.max_attempts(n.max(1));
    }
    if let Some(base) = s.seconds("retry_backoff_seconds")? {
        retry = retry.initial(base);
    }
    Ok(core_options(s.all()).retry(retry))
}

/// What `core.sink_circuit_breaker_*` gives every sink opened from the
/// settings (the core applies it only to sinks without options).
pub(crate) fn core_options(settings: &Settings) -> SinkOptions {
    let a = &settings.accepted;
    let mut breaker = BreakerPolicy::default();
    if let Some(n) = a
        .get("core.sink_circuit_breaker_failure_threshold")
        .and_then(|t| t.parse::<u32>().ok())
    {
        breaker = breaker.failure_threshold(n);
    }
    if let Some(d) = a
        .get("core.sink_circuit_breaker_recovery_timeout_seconds")
        .and_then(|t| t.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
    {
        breaker = breaker
            .cooldown(d)
            .max_cooldown(d.max(breaker.max_cooldown));
    }
    if a.get("core.sink_circuit_breaker_enabled") == Some("false") {
        breaker = BreakerPolicy::off();
    }
    let options = SinkOptions::new().breaker(breaker);
    match a.get("core.sink_circuit_breaker_fallback_sink") {
        Some(name) if !name.is_empty() && name != "http" => options.fallback(name),
        _ => options,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(vars: &[(&str, &str)]) -> String {
        let s = Settings::from_env_vars(vars.iter().copied()).unwrap();
        match open(&s) {
            Ok(_) => panic!("{vars:?} opened"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn bad_settings_name_the_key_and_value() {
        let e = err(&[("FAPILOG_HTTP__ENDPOINT", "ftp://x")]);
        assert!(e.contains("http.endpoint") && e.contains("ftp://x"), "{e}");
        let e = err(&[]);
        assert!(e.contains("http.endpoint"), "{e}");
        let e = err(&[
            ("FAPILOG_HTTP__ENDPOINT", "http://h"),
            ("FAPILOG_HTTP__BATCH_FORMAT", "xml"),
        ]);
        assert!(e.contains("http.batch_format") && e.contains("xml"), "{e}");
        let e = err(&[
            ("FAPILOG_HTTP__ENDPOINT", "http://h"),
            (
                "FAPILOG_HTTP__HEADERS_JSON",
                r#"{"Authorization": "Bearer hunter2\n"}"#,
            ),
        ]);
        assert!(e.contains("Authorization") && !e.contains("hunter2"), "{e}");
    }

    #[test]
    fn unset_settings_keep_the_defaults() {
        let s = Settings::from_env_vars([("FAPILOG_HTTP__ENDPOINT", "http://h/x")]).unwrap();
        assert!(open(&s).is_ok());
        let ss = SinkSettings::new(&s, "http");
        assert_eq!(ss.text("batch_size"), None);
    }
}
