//! fapilog's `FAPILOG_POSTGRES__*` settings (kept as
//! `sink_config.postgres.*`) → a [`PostgresSink`] and its driver options.

use fapilog::sinks::{RetryPolicy, SinkOptions};
use fapilog::Settings;

use super::table::check_ident;
use super::{PostgresSink, PostgresSinkBuilder};
use crate::config::{ConfigError, SinkSettings};
use crate::factory::Opened;

/// Opens the sink from fapilog's settings.
pub(crate) fn from_settings(settings: &Settings) -> Opened {
    let s = SinkSettings::new(settings, "sink_config.postgres");
    let (builder, options) = read(&s).map_err(|e| e.into_core("postgres"))?;
    let sink = builder.build().map_err(|e| e.into_core("postgres"))?;
    Ok((Box::new(sink), Some(options)))
}

fn read(s: &SinkSettings<'_>) -> Result<(PostgresSinkBuilder, SinkOptions), ConfigError> {
    let mut b = match s.text("dsn") {
        Some(dsn) => PostgresSink::builder(dsn).dsn_key(s.key("dsn")),
        None => {
            // fapilog's defaults: localhost:5432, database and user `fapilog`.
            let mut c = tokio_postgres::Config::new();
            c.host(s.text("host").unwrap_or("localhost"));
            c.port(
                s.parse::<u16>("port", "a TCP port (1-65535)")?
                    .unwrap_or(5432),
            );
            c.dbname(s.text("database").unwrap_or("fapilog"));
            c.user(s.text("user").unwrap_or("fapilog"));
            PostgresSink::builder_from_config(c)
        }
    };
    if let Some(p) = s.text("password") {
        b = b.password(p);
    }
    if let Some(t) = s.text("table_name") {
        check_ident(&s.key("table_name"), t)?;
        b = b.table(t);
    }
    if let Some(t) = s.text("schema_name") {
        check_ident(&s.key("schema_name"), t)?;
        b = b.schema(t);
    }
    if let Some(v) = s.parse::<bool>("create_table", "true or false")? {
        b = b.create_table(v);
    }
    if let Some(v) = s.parse::<bool>("use_jsonb", "true or false")? {
        b = b.use_jsonb(v);
    }
    if let Some(v) = s.parse::<bool>("include_raw_json", "true or false")? {
        b = b.include_raw_json(v);
    }
    if let Some(v) = s.text("extract_fields") {
        let fields: Vec<String> = serde_json::from_str(v).map_err(|_| {
            ConfigError::invalid(&s.key("extract_fields"), v, "a list of field names")
        })?;
        b = b.extract_fields(fields);
    }
    if let Some(n) = s.positive("batch_size")? {
        b = b.max_rows_per_statement(n);
    }
    if let Some(d) = s.seconds("pool_acquire_timeout")? {
        if !d.is_zero() {
            b = b.connect_timeout(d);
        }
    }
    // fapilog: `max_retries` is the number of attempts in all, 3 by
    // default, `retry_base_delay` 0.5 s doubling; breaker after 5.
    let fapilog = RetryPolicy::default()
        .max_attempts(3)
        .initial(std::time::Duration::from_millis(500));
    let options = s
        .delivery_options("postgres", Some(fapilog))?
        .unwrap_or_else(|| SinkOptions::new().retry(fapilog));
    Ok((b, options))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fapilog::sinks::BreakerPolicy;
    use std::time::Duration;

    fn options(vars: &[(&str, &str)]) -> SinkOptions {
        let settings = Settings::from_env_vars(vars.iter().copied()).unwrap();
        read(&SinkSettings::new(&settings, "sink_config.postgres"))
            .unwrap()
            .1
    }

    #[test]
    fn fapilogs_retry_and_breaker_settings_become_the_drivers_options() {
        assert_eq!(
            options(&[]),
            SinkOptions::new()
                .retry(
                    RetryPolicy::default()
                        .max_attempts(3)
                        .initial(Duration::from_millis(500))
                )
                .breaker(BreakerPolicy::default().failure_threshold(5))
        );
        assert_eq!(
            options(&[
                ("FAPILOG_POSTGRES__MAX_RETRIES", "0"),
                ("FAPILOG_POSTGRES__RETRY_BASE_DELAY", "0.25"),
                ("FAPILOG_POSTGRES__CIRCUIT_BREAKER_ENABLED", "false"),
            ]),
            SinkOptions::new()
                .retry(
                    RetryPolicy::default()
                        .max_attempts(1)
                        .initial(Duration::from_millis(250))
                )
                .breaker(BreakerPolicy::off())
        );
        assert_eq!(
            options(&[("FAPILOG_POSTGRES__CIRCUIT_BREAKER_THRESHOLD", "2")]),
            options(&[]).breaker(BreakerPolicy::default().failure_threshold(2))
        );
    }

    #[test]
    fn a_bad_table_name_names_fapilogs_key() {
        let settings =
            Settings::from_env_vars([("FAPILOG_POSTGRES__TABLE_NAME", "x".repeat(64).as_str())])
                .unwrap();
        let e = read(&SinkSettings::new(&settings, "sink_config.postgres"))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("sink_config.postgres.table_name"), "{e}");
    }
}
