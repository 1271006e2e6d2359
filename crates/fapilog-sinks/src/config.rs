//! Errors of a sink's configuration, and reading fapilog's `FAPILOG_*`
//! settings of the network sinks.

use fapilog::Settings;

/// A sink's option or setting is invalid: names the key, the value (masked
/// when it is a secret) and what was expected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A value that does not parse or is out of range.
    #[error("invalid {key} = {value:?}: expected {expected}")]
    Invalid {
        /// The option or setting (`loki.url`, `endpoint`, …).
        key: String,
        /// The value given (secrets masked).
        value: String,
        /// What is allowed.
        expected: String,
    },
    /// A required option is not set.
    #[error("{key} is not set: {expected}")]
    Missing {
        /// The option or setting.
        key: String,
        /// What to set.
        expected: String,
    },
    /// The sink could not be set up (TLS, the runtime).
    #[error("{0}")]
    Setup(String),
}

impl ConfigError {
    /// An invalid value; `value` is masked when `key` names a secret.
    pub(crate) fn invalid(key: &str, value: &str, expected: &str) -> ConfigError {
        ConfigError::Invalid {
            key: key.to_owned(),
            value: mask(key, value),
            expected: expected.to_owned(),
        }
    }

    /// A required option that is missing.
    pub(crate) fn missing(key: &str, expected: &str) -> ConfigError {
        ConfigError::Missing {
            key: key.to_owned(),
            expected: expected.to_owned(),
        }
    }

    /// This error as the core crate's, for `sink`.
    pub(crate) fn into_core(self, sink: &str) -> fapilog::Error {
        fapilog::Error::SinkConfig {
            sink: sink.to_owned(),
            source: Box::new(self),
        }
    }
}

/// `***` for secrets (passwords, tokens, keys), and a URL's password masked.
pub(crate) fn mask(key: &str, value: &str) -> String {
    let k = key.to_ascii_lowercase();
    if ["password", "secret", "token", "key", "authorization", "dsn"]
        .iter()
        .any(|s| k.contains(s))
        && !k.ends_with("_keys")
    {
        return "***".to_owned();
    }
    mask_url_password(value)
}

/// `scheme://user:***@host…` for a URL with a password; other text as is.
pub(crate) fn mask_url_password(value: &str) -> String {
    let Some(scheme_end) = value.find("://") else {
        return value.to_owned();
    };
    let rest = &value[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return value.to_owned();
    };
    let userinfo = &authority[..at];
    match userinfo.find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &value[..scheme_end + 3],
            &userinfo[..colon],
            &rest[at..]
        ),
        None => value.to_owned(),
    }
}

/// fapilog's settings of one network sink: `FAPILOG_LOKI__URL` is kept as
/// `sink_config.loki.url`, `FAPILOG_HTTP__ENDPOINT` as `http.endpoint`.
pub(crate) struct SinkSettings<'a> {
    settings: &'a Settings,
    prefix: &'static str,
}

impl<'a> SinkSettings<'a> {
    /// The settings under `prefix` (`"sink_config.loki"`, `"http"`).
    pub(crate) fn new(settings: &'a Settings, prefix: &'static str) -> SinkSettings<'a> {
        SinkSettings { settings, prefix }
    }

    /// The full key of `name`.
    pub(crate) fn key(&self, name: &str) -> String {
        format!("{}.{name}", self.prefix)
    }

    /// The text set for `name`, `None` when unset or empty.
    pub(crate) fn text(&self, name: &str) -> Option<&'a str> {
        self.settings
            .accepted
            .get(&self.key(name))
            .filter(|v| !v.is_empty())
    }

    /// `name` parsed as `T`, `None` when unset.
    pub(crate) fn parse<T: std::str::FromStr>(
        &self,
        name: &str,
        expected: &str,
    ) -> Result<Option<T>, ConfigError> {
        match self.text(name) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| ConfigError::invalid(&self.key(name), v, expected)),
        }
    }

    /// `name` as a count of at least one (`batch_size`…), `None` when unset.
    pub(crate) fn positive(&self, name: &str) -> Result<Option<usize>, ConfigError> {
        match self.parse::<usize>(name, "a positive integer")? {
            Some(0) => Err(ConfigError::invalid(
                &self.key(name),
                "0",
                "a positive integer",
            )),
            n => Ok(n),
        }
    }

    /// `name` as a JSON value, `None` when unset.
    pub(crate) fn json(&self, name: &str) -> Result<Option<serde_json::Value>, ConfigError> {
        match self.text(name) {
            None => Ok(None),
            Some(v) => serde_json::from_str(v)
                .map(Some)
                .map_err(|_| ConfigError::invalid(&self.key(name), v, "JSON")),
        }
    }

    /// `name` as a number of seconds.
    pub(crate) fn seconds(&self, name: &str) -> Result<Option<std::time::Duration>, ConfigError> {
        match self.parse::<f64>(name, "a number of seconds")? {
            None => Ok(None),
            Some(s) if s.is_finite() && s >= 0.0 => Ok(Some(std::time::Duration::from_secs_f64(s))),
            Some(_) => Err(ConfigError::invalid(
                &self.key(name),
                self.text(name).unwrap_or_default(),
                "a non-negative number of seconds",
            )),
        }
    }

    /// The core settings.
    pub(crate) fn all(&self) -> &'a Settings {
        self.settings
    }

    /// What `core.sink_circuit_breaker_*` gives every sink opened from the
    /// settings ([`Settings::sink_options`]), without a fallback that is
    /// `sink` itself.
    pub(crate) fn core_options(&self, sink: &str) -> fapilog::SinkOptions {
        let options = self.settings.sink_options();
        if options.fallback_sink() == Some(sink) {
            options.no_fallback()
        } else {
            options
        }
    }

    /// The HTTP and webhook sinks' driver options: the core's, plus
    /// fapilog's `retry_max_attempts` and `retry_backoff_seconds`.
    pub(crate) fn http_delivery_options(
        &self,
        sink: &str,
    ) -> Result<fapilog::SinkOptions, ConfigError> {
        let options = self.core_options(sink);
        let mut retry = options.retry_policy();
        if let Some(n) = self.parse::<u32>("retry_max_attempts", "a number of attempts")? {
            retry = retry.max_attempts(n.max(1));
        }
        if let Some(base) = self.seconds("retry_backoff_seconds")? {
            retry = retry.initial(base);
        }
        Ok(options.retry(retry))
    }

    /// The driver's options from fapilog's per-sink delivery settings, over
    /// the core's `core.sink_circuit_breaker_*` ([`Settings::sink_options`],
    /// without a fallback that is `sink` itself): `max_retries` counts the
    /// attempts in all, as in fapilog (at least one), `retry_base_delay` is
    /// the first delay, `circuit_breaker_enabled` and
    /// `circuit_breaker_threshold` steer the breaker. With none of them set
    /// and no `default_retry`, `None`: the pipeline's defaults.
    pub(crate) fn delivery_options(
        &self,
        sink: &str,
        default_retry: Option<fapilog::sinks::RetryPolicy>,
    ) -> Result<Option<fapilog::SinkOptions>, ConfigError> {
        let attempts = self.parse::<i64>("max_retries", "an integer")?;
        let base = self.seconds("retry_base_delay")?;
        let enabled = self.parse::<bool>("circuit_breaker_enabled", "true or false")?;
        let threshold = self.parse::<u32>("circuit_breaker_threshold", "a non-negative integer")?;
        if default_retry.is_none()
            && attempts.is_none()
            && base.is_none()
            && enabled.is_none()
            && threshold.is_none()
        {
            return Ok(None);
        }
        let options = self.core_options(sink);
        let mut retry = default_retry.unwrap_or_else(|| options.retry_policy());
        if let Some(n) = attempts {
            retry = retry.max_attempts(u32::try_from(n.max(1)).unwrap_or(u32::MAX));
        }
        if let Some(d) = base {
            retry = retry.initial(d);
        }
        let mut breaker = options.breaker_policy();
        if let Some(n) = threshold {
            breaker = breaker.failure_threshold(n);
        }
        if enabled == Some(false) {
            breaker = fapilog::sinks::BreakerPolicy::off();
        }
        Ok(Some(options.retry(retry).breaker(breaker)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_url_passwords_are_masked() {
        assert_eq!(mask("sink_config.loki.auth_password", "hunter2"), "***");
        assert_eq!(mask("postgres.dsn", "postgres://a:b@h/db"), "***");
        assert_eq!(
            mask("loki.url", "https://u:hunter2@loki:3100/x"),
            "https://u:***@loki:3100/x"
        );
        assert_eq!(mask("loki.url", "http://loki:3100"), "http://loki:3100");
        assert_eq!(mask("loki.label_keys", "level"), "level");
    }
}
