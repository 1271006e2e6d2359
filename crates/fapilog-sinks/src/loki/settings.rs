//! fapilog's `FAPILOG_LOKI__*` settings (kept as `sink_config.loki.*`).

use std::collections::BTreeMap;

use fapilog::{Settings, SinkOptions};

use super::sink::LokiSink;
use crate::config::{ConfigError, SinkSettings};
use crate::factory::Opened;

/// fapilog's default push URL.
const DEFAULT_URL: &str = "http://localhost:3100";

/// Opens the sink from fapilog's settings.
pub(crate) fn from_settings(settings: &Settings) -> Opened {
    open(settings).map_err(|e| e.into_core("loki"))
}

fn open(settings: &Settings) -> Result<(Box<dyn fapilog::Sink>, Option<SinkOptions>), ConfigError> {
    let s = SinkSettings::new(settings, "sink_config.loki");
    let url = s.text("url").unwrap_or(DEFAULT_URL);
    let mut b = LokiSink::builder(url);
    // The builder names its options; errors name fapilog's keys.
    if let Some(t) = s.text("tenant_id") {
        b = b.tenant_id(t);
    }
    let labels = match s.json("labels")? {
        None => BTreeMap::from([("service".to_owned(), "fapilog".to_owned())]),
        Some(serde_json::Value::Object(m)) => {
            let mut out = BTreeMap::new();
            for (k, v) in m {
                let v = match v {
                    serde_json::Value::String(s) => s,
                    serde_json::Value::Number(n) => n.to_string(),
                    serde_json::Value::Bool(b) => b.to_string(),
                    other => {
                        return Err(ConfigError::invalid(
                            &s.key("labels"),
                            &other.to_string(),
                            &format!("label {k:?}: a string, number or boolean"),
                        ))
                    }
                };
                out.insert(k, v);
            }
            out
        }
        Some(other) => {
            return Err(ConfigError::invalid(
                &s.key("labels"),
                &other.to_string(),
                "a JSON object of label names to values",
            ))
        }
    };
    b = b.labels(labels);
    if let Some(v) = s.json("label_keys")? {
        let keys: Vec<String> = serde_json::from_value(v.clone()).map_err(|_| {
            ConfigError::invalid(
                &s.key("label_keys"),
                &v.to_string(),
                "a list of field names",
            )
        })?;
        b = b.label_keys(keys);
    }
    match (
        s.text("auth_token"),
        s.text("auth_username"),
        s.text("auth_password"),
    ) {
        // fapilog: a token wins over basic auth.
        (Some(token), _, _) => b = b.bearer_token(token),
        (None, Some(user), Some(password)) => b = b.basic_auth(user, password),
        (None, Some(_), None) => {
            return Err(ConfigError::missing(
                &s.key("auth_password"),
                "basic auth needs a password with auth_username",
            ))
        }
        (None, None, Some(_)) => {
            return Err(ConfigError::missing(
                &s.key("auth_username"),
                "basic auth needs a user name with auth_password",
            ))
        }
        (None, None, None) => {}
    }
    if let Some(t) = s.seconds("timeout_seconds")? {
        if t.is_zero() {
            return Err(ConfigError::invalid(
                &s.key("timeout_seconds"),
                "0",
                "a positive number of seconds",
            ));
        }
        b = b.timeout(t);
    }
    if let Some(n) = s.positive("batch_size")? {
        // fapilog pushes batch_size entries at a time: the entry cap here.
        b = b.max_entries_per_request(n);
    }
    let sink = b.build().map_err(|e| prefix(e, &s))?;
    Ok((Box::new(sink), options(settings, &s)?))
}

/// The builder's key (`url`) as fapilog's (`sink_config.loki.url`).
fn prefix(e: ConfigError, s: &SinkSettings<'_>) -> ConfigError {
    match e {
        ConfigError::Invalid {
            key,
            value,
            expected,
        } => {
            let name = key.split('.').next().unwrap_or(&key);
            let key = match name {
                "url" | "tenant_id" | "labels" | "label_keys" => s.key(&key),
                "auth" => s.key("auth_token"),
                "max_entries_per_request" => s.key("batch_size"),
                "timeout" => s.key("timeout_seconds"),
                _ => key,
            };
            ConfigError::Invalid {
                key,
                value,
                expected,
            }
        }
        other => other,
    }
}

/// The delivery options fapilog's loki settings give the sink, over the
/// core's `core.sink_circuit_breaker_*`; `None` when none is set.
fn options(_settings: &Settings, s: &SinkSettings<'_>) -> Result<Option<SinkOptions>, ConfigError> {
    s.delivery_options("loki", None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fapilog::sinks::{BreakerPolicy, RetryPolicy};
    use std::time::Duration;

    fn opts(vars: &[(&str, &str)]) -> Option<SinkOptions> {
        let s = Settings::from_env_vars(vars.iter().copied()).unwrap();
        options(&s, &SinkSettings::new(&s, "sink_config.loki")).unwrap()
    }

    #[test]
    fn fapilog_s_retry_and_breaker_settings_map_onto_sink_options() {
        assert_eq!(opts(&[]), None, "the pipeline's defaults");
        assert_eq!(
            opts(&[
                ("FAPILOG_LOKI__MAX_RETRIES", "0"),
                ("FAPILOG_LOKI__RETRY_BASE_DELAY", "0.25"),
                ("FAPILOG_LOKI__CIRCUIT_BREAKER_THRESHOLD", "7"),
                (
                    "FAPILOG_CORE__SINK_CIRCUIT_BREAKER_RECOVERY_TIMEOUT_SECONDS",
                    "10"
                ),
                (
                    "FAPILOG_CORE__SINK_CIRCUIT_BREAKER_FALLBACK_SINK",
                    "stderr_json"
                ),
            ]),
            Some(
                SinkOptions::new()
                    .retry(
                        RetryPolicy::default()
                            .max_attempts(1)
                            .initial(Duration::from_millis(250))
                    )
                    .breaker(
                        BreakerPolicy::default()
                            .failure_threshold(7)
                            .cooldown(Duration::from_secs(10))
                    )
                    .fallback("stderr_json")
            )
        );
        assert_eq!(
            opts(&[("FAPILOG_LOKI__CIRCUIT_BREAKER_ENABLED", "false")])
                .map(|o| o == SinkOptions::new().breaker(BreakerPolicy::off())),
            Some(true)
        );
    }
}
