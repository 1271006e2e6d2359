//! The sink from fapilog's `FAPILOG_CLOUDWATCH__*` settings.

use std::time::Duration;

use fapilog::sinks::{RetryPolicy, SinkOptions};
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
    Ok((Box::new(sink), Some(options(&s)?)))
}

/// fapilog's retry and breaker settings as the driver's options, with
/// fapilog's defaults (3 attempts from 0.5 s).
fn options(s: &SinkSettings<'_>) -> Result<SinkOptions, ConfigError> {
    let fapilog = RetryPolicy::default()
        .max_attempts(3)
        .initial(Duration::from_millis(500));
    Ok(s.delivery_options("cloudwatch", Some(fapilog))?
        .unwrap_or_else(|| SinkOptions::new().retry(fapilog)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fapilog::sinks::BreakerPolicy;

    fn options_of(vars: &[(&str, &str)]) -> Result<SinkOptions, ConfigError> {
        let settings = Settings::from_env_vars(vars.iter().copied()).unwrap();
        options(&SinkSettings::new(&settings, PREFIX))
    }

    #[test]
    fn fapilogs_retry_and_breaker_settings_map_onto_the_drivers_options() {
        // fapilog's defaults: 3 attempts from 0.5 s, breaker after 5.
        assert_eq!(
            options_of(&[]).unwrap(),
            SinkOptions::new()
                .retry(
                    RetryPolicy::default()
                        .max_attempts(3)
                        .initial(Duration::from_millis(500))
                )
                .breaker(BreakerPolicy::default().failure_threshold(5))
        );
        assert_eq!(
            options_of(&[
                ("FAPILOG_CLOUDWATCH__MAX_RETRIES", "0"),
                ("FAPILOG_CLOUDWATCH__RETRY_BASE_DELAY", "2"),
                ("FAPILOG_CLOUDWATCH__CIRCUIT_BREAKER_ENABLED", "false"),
            ])
            .unwrap(),
            SinkOptions::new()
                .retry(
                    RetryPolicy::default()
                        .max_attempts(1)
                        .initial(Duration::from_secs(2))
                )
                .breaker(BreakerPolicy::off())
        );
        assert_eq!(
            options_of(&[("FAPILOG_CLOUDWATCH__CIRCUIT_BREAKER_THRESHOLD", "9")]).unwrap(),
            SinkOptions::new()
                .retry(
                    RetryPolicy::default()
                        .max_attempts(3)
                        .initial(Duration::from_millis(500))
                )
                .breaker(BreakerPolicy::default().failure_threshold(9))
        );
    }
}
