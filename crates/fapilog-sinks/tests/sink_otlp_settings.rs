//! `FAPILOG_CORE__SINKS=otlp` opens the OTLP sink from the standard
//! `OTEL_EXPORTER_OTLP_*` variables (fapilog has no OTLP sink, so no
//! `FAPILOG_*` names for it). One test in its own binary: it sets the
//! process environment, which a parallel test would race on.
#![cfg(feature = "otlp")]

mod common;
#[path = "common/otlp.rs"]
mod otlp;

use std::time::Duration;

use fapilog::{FieldValue, Pipeline, Settings};
use otlp::{attr, Receiver};

const VARS: [&str; 4] = [
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_COMPRESSION",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
];

fn open() -> Result<Pipeline, fapilog::Error> {
    let settings = Settings::from_env_vars([("FAPILOG_CORE__SINKS", "otlp")]).unwrap();
    Pipeline::builder()
        .settings(settings)
        .sink_factory(fapilog_sinks::factory())
        .build()
}

#[test]
fn core_sinks_otlp_reads_the_otel_exporter_variables() {
    for v in VARS {
        std::env::remove_var(v);
    }
    // A bad value fails the build, naming the variable and the value.
    for (var, value) in [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "brotli"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "ten"),
    ] {
        std::env::set_var(var, value);
        let e = open().unwrap_err().to_string();
        assert!(
            e.contains("otlp") && e.contains(var) && e.contains(value),
            "{e}"
        );
        std::env::remove_var(var);
    }
    // A header's value is a secret: never in the error.
    std::env::set_var("OTEL_EXPORTER_OTLP_HEADERS", "api-key");
    let e = open().unwrap_err().to_string();
    assert!(e.contains("OTEL_EXPORTER_OTLP_HEADERS"), "{e}");

    let rx = Receiver::start(&[]);
    std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", rx.endpoint());
    std::env::set_var(
        "OTEL_EXPORTER_OTLP_HEADERS",
        "api-key=s3cr%3Dt,x-tenant=acme",
    );
    std::env::set_var("OTEL_EXPORTER_OTLP_COMPRESSION", "none");
    std::env::set_var("OTEL_EXPORTER_OTLP_TIMEOUT", "5000");
    let p = open().unwrap_or_else(|e| panic!("{e}"));
    p.logger("app")
        .info("from the settings", &[("n", FieldValue::I64(1))]);
    p.flush(Duration::from_secs(30)).unwrap();
    assert!(rx.wait_records(1, Duration::from_secs(30)));
    let req = &rx.requests()[0];
    assert_eq!(req["path"], "/v1/logs");
    assert_eq!(req["headers"]["api-key"], "s3cr=t");
    assert_eq!(req["headers"]["x-tenant"], "acme");
    assert!(
        req["headers"]["content-encoding"].is_null(),
        "compression none"
    );
    let r = &rx.records()[0];
    assert_eq!(r["body"], "from the settings");
    assert_eq!(attr(r, "n"), 1);
    assert!(p.shutdown(Duration::from_secs(30)).is_complete());
    for v in VARS {
        std::env::remove_var(v);
    }
}
