//! The OTLP sink from the standard `OTEL_EXPORTER_OTLP_*` variables:
//! fapilog has no OTLP sink, so `FAPILOG_CORE__SINKS=otlp` reads the
//! variables every OpenTelemetry exporter reads. A bad value fails naming
//! the variable.

use std::time::Duration;

use super::builder::{OtlpProtocol, OtlpSinkBuilder};
use super::OTLP_DEFAULT_ENDPOINT;
use crate::config::ConfigError;
use crate::http_client::{parse_url, Compression};

/// A variable, the logs-specific one first.
fn pick<'a>(vars: &'a [(String, String)], logs: &str, generic: &str) -> Option<(&'a str, &'a str)> {
    let get = |name: &str| {
        vars.iter()
            .rev()
            .find(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(k, v)| (k.as_str(), v.trim()))
    };
    get(logs).or_else(|| get(generic))
}

/// `k=v,k2=v2` with percent-encoded values (the W3C Baggage format the
/// OpenTelemetry specification uses). Errors never show the values.
fn parse_headers(var: &str, text: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let mut out = Vec::new();
    for pair in text.split(',').filter(|p| !p.trim().is_empty()) {
        let bad = || ConfigError::Invalid {
            key: var.to_owned(),
            value: "***".to_owned(),
            expected: "comma-separated key=value pairs (values percent-encoded)".to_owned(),
        };
        let (k, v) = pair.split_once('=').ok_or_else(bad)?;
        let k = k.trim();
        if k.is_empty() {
            return Err(bad());
        }
        out.push((k.to_owned(), percent_decode(v.trim()).ok_or_else(bad)?));
    }
    Ok(out)
}

/// `%XX` escapes decoded; `None` for a broken escape or non-UTF-8 result.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The builder the variables describe (`vars` as `(name, value)`).
pub(crate) fn builder_from_vars(vars: &[(String, String)]) -> Result<OtlpSinkBuilder, ConfigError> {
    let mut b = OtlpSinkBuilder::new(OTLP_DEFAULT_ENDPOINT);
    if let Some((var, url)) = pick(
        vars,
        "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ) {
        parse_url(var, url)?;
        b = if var.contains("_LOGS_") {
            b.logs_endpoint(url)
        } else {
            b.endpoint(url)
        };
    }
    if let Some((var, p)) = pick(
        vars,
        "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
    ) {
        let protocol = match p {
            "http/protobuf" => OtlpProtocol::HttpProtobuf,
            "http/json" => OtlpProtocol::HttpJson,
            #[cfg(feature = "otlp-grpc")]
            "grpc" => OtlpProtocol::Grpc,
            _ => {
                return Err(ConfigError::invalid(
                    var,
                    p,
                    if cfg!(feature = "otlp-grpc") {
                        "http/protobuf, http/json or grpc"
                    } else {
                        "http/protobuf or http/json (grpc needs the otlp-grpc feature)"
                    },
                ))
            }
        };
        b = b.protocol(protocol);
        #[cfg(feature = "otlp-grpc")]
        if protocol == OtlpProtocol::Grpc
            && pick(
                vars,
                "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
                "OTEL_EXPORTER_OTLP_ENDPOINT",
            )
            .is_none()
        {
            // OTLP/gRPC's own default port when no endpoint is set.
            b = b.endpoint(super::OTLP_DEFAULT_GRPC_ENDPOINT);
        }
    }
    // Generic headers first; a logs-specific header of the same name wins.
    let mut headers: Vec<(String, String)> = Vec::new();
    for var in [
        "OTEL_EXPORTER_OTLP_HEADERS",
        "OTEL_EXPORTER_OTLP_LOGS_HEADERS",
    ] {
        if let Some((var, text)) = pick(vars, var, var) {
            for (k, v) in parse_headers(var, text)? {
                headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&k));
                headers.push((k, v));
            }
        }
    }
    for (k, v) in headers {
        b = b.header(k, v);
    }
    if let Some((var, c)) = pick(
        vars,
        "OTEL_EXPORTER_OTLP_LOGS_COMPRESSION",
        "OTEL_EXPORTER_OTLP_COMPRESSION",
    ) {
        b = b.compression(match c.to_ascii_lowercase().as_str() {
            "gzip" => Compression::Gzip,
            "none" => Compression::None,
            _ => return Err(ConfigError::invalid(var, c, "gzip or none")),
        });
    }
    if let Some((var, path)) = pick(
        vars,
        "OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE",
        "OTEL_EXPORTER_OTLP_CERTIFICATE",
    ) {
        if let Err(e) = std::fs::metadata(path) {
            return Err(ConfigError::invalid(
                var,
                path,
                &format!("a readable PEM file of CA certificates ({e})"),
            ));
        }
        b = b.ca_file(path);
    }
    if let Some((var, t)) = pick(
        vars,
        "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT",
        "OTEL_EXPORTER_OTLP_TIMEOUT",
    ) {
        match t.parse::<u64>() {
            Ok(ms) if ms > 0 => b = b.timeout(Duration::from_millis(ms)),
            _ => {
                return Err(ConfigError::invalid(
                    var,
                    t,
                    "a positive number of milliseconds",
                ))
            }
        }
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn the_standard_variables_configure_the_sink() {
        let s = builder_from_vars(&vars(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=s%3Dcret, x-tenant=a"),
            ("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "X-Tenant=b"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "none"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
        ]))
        .unwrap()
        .build_sink()
        .unwrap();
        assert_eq!(s.url.as_str(), "http://collector:4318/v1/logs");
        assert_eq!(s.headers.get("api-key").unwrap(), "s=cret");
        assert_eq!(s.headers.get("x-tenant").unwrap(), "b");
        assert!(s.headers.get("content-encoding").is_none());
        assert_eq!(s.timeout, Duration::from_millis(2500));
        let s = builder_from_vars(&vars(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            (
                "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
                "http://logs:9999/custom",
            ),
        ]))
        .unwrap()
        .build_sink()
        .unwrap();
        assert_eq!(s.url.as_str(), "http://logs:9999/custom");
        assert_eq!(s.headers.get("content-encoding").unwrap(), "gzip");
        let s = builder_from_vars(&[]).unwrap().build_sink().unwrap();
        assert_eq!(s.url.as_str(), "http://localhost:4318/v1/logs");
    }

    #[cfg(feature = "otlp-grpc")]
    #[test]
    fn grpc_selects_the_grpc_client_and_its_default_port() {
        let s = builder_from_vars(&vars(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]))
            .unwrap()
            .build_sink()
            .unwrap();
        assert!(s.grpc.is_some());
        assert_eq!(
            s.url.as_str(),
            "http://localhost:4317/opentelemetry.proto.collector.logs.v1.LogsService/Export"
        );
        let s = builder_from_vars(&vars(&[
            ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "grpc"),
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "https://collector:9000/ignored",
            ),
        ]))
        .unwrap()
        .build_sink()
        .unwrap();
        assert_eq!(
            s.url.as_str(),
            "https://collector:9000/opentelemetry.proto.collector.logs.v1.LogsService/Export"
        );
    }

    #[test]
    fn bad_variables_fail_naming_the_variable_and_hiding_header_values() {
        let cases = [
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "collector:4318",
                "collector:4318",
            ),
            ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "nope", "nope"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd", "zstd"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "10s", "10s"),
            (
                "OTEL_EXPORTER_OTLP_CERTIFICATE",
                "/nonexistent/ca.pem",
                "/nonexistent/ca.pem",
            ),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc/json", "grpc/json"),
            #[cfg(not(feature = "otlp-grpc"))]
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", "grpc"),
        ];
        for (var, value, shown) in cases {
            let e = builder_from_vars(&vars(&[(var, value)]))
                .unwrap_err()
                .to_string();
            assert!(e.contains(var) && e.contains(shown), "{e}");
        }
        let e = builder_from_vars(&vars(&[("OTEL_EXPORTER_OTLP_HEADERS", "topsecret")]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("OTEL_EXPORTER_OTLP_HEADERS") && !e.contains("topsecret"),
            "{e}"
        );
        let e = builder_from_vars(&vars(&[("OTEL_EXPORTER_OTLP_HEADERS", "k=%zzsecret")]))
            .unwrap_err()
            .to_string();
        assert!(!e.contains("secret"), "{e}");
    }
}
