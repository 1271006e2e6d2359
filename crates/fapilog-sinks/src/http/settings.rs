//! The HTTP sink from fapilog's `FAPILOG_HTTP__*` settings (kept as
//! `http.*`), and the delivery options those settings imply.

use fapilog::sinks::SinkOptions;
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
    Ok((Box::new(sink), Some(s.http_delivery_options("http")?)))
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
