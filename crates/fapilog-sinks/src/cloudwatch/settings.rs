//! The sink from fapilog's `FAPILOG_CLOUDWATCH__*` settings.

use std::time::Duration;

use fapilog::sinks::{BreakerPolicy, RetryPolicy, SinkOptions};
use fapilog::Settings;

use super::CloudWatchSink;
use crate::config::{ConfigError, SinkSettings};
use crate::factory::Opened;

const PREFIX: &str = "sink_config.cloudwatch";

/// Opens the sink from `sink_config.cloudwatch.*` (`FAPILOG_CLOUDWATCH__*`),
/// with fapilog's defaults: group `/fapilog/default`, stream
/// `{hostname}-{unix seconds}`, 3 attempts from 0.5 s, breaker after 5
/// failures. Credentials and a missing region come from the AWS variables.
pub(crate) fn from_settings(settings: &Settings) -> Opened {
    open(settings).map_err(|e| e.into_core("cloudwatch"))
}

fn open(settings: &Settings) -> Result<(Box<dyn fapilog::Sink>, Option<SinkOptions>), ConfigError> {
    let s = SinkSettings::new(settings, PREFIX);
    let bool_of = |name: &str| s.parse::<bool>(name, "true or false");
    let mut b = CloudWatchSink::builder(s.text("log_group_name").unwrap_or("/fapilog/default"));
    if let Some(v) = s.text("log_stream_name") {
        b = b.log_stream(v);
    }
    if let Some(v) = s.text("region") {
        b = b.region(v);
    }
    if let Some(v) = s.text("endpoint_url") {
        b = b.endpoint_url(v);
    }
    if let Some(v) = bool_of("create_log_group")? {
        b = b.create_log_group(v);
    }
    if let Some(v) = bool_of("create_log_stream")? {
        b = b.create_log_stream(v);
    }
    let sink = b.keys_from(PREFIX).build()?;

    // fapilog's max_retries counts attempts in all (at least one).
    let attempts = s.parse::<i64>("max_retries", "an integer")?.unwrap_or(3);
    let base = s
        .seconds("retry_base_delay")?
        .unwrap_or(Duration::from_millis(500));
    let retry = RetryPolicy::default()
        .max_attempts(u32::try_from(attempts.max(1)).unwrap_or(u32::MAX))
        .initial(base);
    let breaker = if bool_of("circuit_breaker_enabled")? == Some(false) {
        BreakerPolicy::off()
    } else {
        let threshold = s
            .parse::<u32>("circuit_breaker_threshold", "a non-negative integer")?
            .unwrap_or(5);
        BreakerPolicy::default().failure_threshold(threshold)
    };
    let options = SinkOptions::new().retry(retry).breaker(breaker);
    Ok((Box::new(sink), Some(options)))
}
