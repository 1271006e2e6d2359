//! The delivery options fapilog's settings give the HTTP and webhook
//! sinks. Shared by both (the webhook sink includes this file).

use std::time::Duration;

use fapilog::sinks::{BreakerPolicy, RetryPolicy, SinkOptions};
use fapilog::Settings;

use crate::config::{ConfigError, SinkSettings};

/// The driver's options: fapilog's `core.sink_circuit_breaker_*` (as for
/// every sink) plus this sink's `retry_max_attempts` and
/// `retry_backoff_seconds`.
pub(crate) fn options(s: &SinkSettings<'_>, sink: &str) -> Result<SinkOptions, ConfigError> {
    let mut retry = RetryPolicy::default();
    if let Some(n) = s.parse::<u32>("retry_max_attempts", "a number of attempts")? {
        retry = retry.max_attempts(n.max(1));
    }
    if let Some(base) = s.seconds("retry_backoff_seconds")? {
        retry = retry.initial(base);
    }
    Ok(core_options(s.all(), sink).retry(retry))
}

/// What `core.sink_circuit_breaker_*` gives every sink opened from the
/// settings (the core applies it only to sinks without options).
pub(crate) fn core_options(settings: &Settings, sink: &str) -> SinkOptions {
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
        Some(name) if !name.is_empty() && name != sink => options.fallback(name),
        _ => options,
    }
}
