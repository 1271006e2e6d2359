//! `ca_file`: the HTTP-family sinks trust a private CA instead of Mozilla's
//! roots. The receiver is the loopback server of `common/http_server.rs`
//! behind rustls, with a certificate signed by a throw-away CA that the
//! `openssl` CLI makes (`common/certs.rs`); any HTTPS server is the real
//! thing for a generic HTTP receiver.
#![cfg(feature = "http")]

mod common;

use std::time::Duration;

use common::http_server::{events, Reply, Server};
use fapilog::sinks::{BreakerPolicy, RetryPolicy, SinkOptions};
use fapilog::Pipeline;
use fapilog_sinks::HttpSink;

const LONG: Duration = Duration::from_secs(30);

#[test]
fn with_the_private_ca_the_http_sink_delivers_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let certs = common::certs::make(dir.path());
    let server = Server::start_tls(Reply::Status(200), &certs.cert, &certs.key);
    let sink = HttpSink::builder(server.https_url("/logs"))
        .ca_file(&certs.ca)
        .build()
        .unwrap();
    let p = Pipeline::builder().sink(sink).build().unwrap();
    let log = p.logger("app");
    for i in 0..200u64 {
        fapilog::info!(log, "over tls", i = i);
    }
    let report = p.shutdown(LONG);
    assert!(report.is_complete(), "{report:?}");
    let got: Vec<u64> = events(&server.requests())
        .iter()
        .map(|e| e["log"]["data"]["i"].as_u64().unwrap())
        .collect();
    assert_eq!(got, (0..200).collect::<Vec<_>>());
    assert_eq!(server.tls_failures(), 0);
}

#[test]
fn without_it_the_certificate_is_refused_and_the_batch_is_diverted_counted() {
    let dir = tempfile::tempdir().unwrap();
    let certs = common::certs::make(dir.path());
    let server = Server::start_tls(Reply::Status(200), &certs.cert, &certs.key);
    // Mozilla's roots only: the private CA's certificate is unknown.
    let sink = HttpSink::builder(server.https_url("/logs"))
        .build()
        .unwrap();
    let p = Pipeline::builder()
        .sink_with(
            sink,
            SinkOptions::new()
                .retry(RetryPolicy::none())
                .breaker(BreakerPolicy::off()),
        )
        .build()
        .unwrap();
    let log = p.logger("app");
    for i in 0..5u64 {
        fapilog::info!(log, "refused", i = i);
    }
    let report = p.shutdown(LONG);
    assert_eq!(server.count(), 0, "nothing sent to an untrusted server");
    // The server sees the client's alert on its own time.
    assert!(
        common::wait_until(LONG, || server.tls_failures() >= 1),
        "the server saw the handshake fail"
    );
    let s = &report.sinks[0];
    assert_eq!((s.written, s.diverted + s.dropped), (0, 5), "{report:?}");
}

/// `ca_file` is read at `build`: a missing file names the option and path.
#[test]
fn a_missing_ca_file_fails_every_builder_naming_the_option_and_the_path() {
    let missing = "/nonexistent/private-ca.pem";
    let mut errors = Vec::new();
    errors.push(
        HttpSink::builder("https://localhost:9/")
            .ca_file(missing)
            .build()
            .err()
            .unwrap()
            .to_string(),
    );
    #[cfg(feature = "webhook")]
    errors.push(
        fapilog_sinks::WebhookSink::builder("https://localhost:9/")
            .secret("s3cret")
            .ca_file(missing)
            .build()
            .err()
            .unwrap()
            .to_string(),
    );
    #[cfg(feature = "loki")]
    errors.push(
        fapilog_sinks::LokiSink::builder("https://localhost:9")
            .ca_file(missing)
            .build()
            .err()
            .unwrap()
            .to_string(),
    );
    #[cfg(feature = "otlp")]
    errors.push(
        fapilog_sinks::OtlpSink::builder("https://localhost:9")
            .ca_file(missing)
            .build()
            .err()
            .unwrap()
            .to_string(),
    );
    #[cfg(feature = "otlp-grpc")]
    errors.push(
        fapilog_sinks::OtlpSink::builder("https://localhost:9")
            .protocol(fapilog_sinks::OtlpProtocol::Grpc)
            .ca_file(missing)
            .build()
            .err()
            .unwrap()
            .to_string(),
    );
    #[cfg(feature = "cloudwatch")]
    errors.push(
        fapilog_sinks::CloudWatchSink::builder("/group")
            .log_stream("s")
            .region("us-east-1")
            .credentials(fapilog_sinks::AwsCredentials::new("AKID", "secret"))
            .ca_file(missing)
            .build()
            .err()
            .unwrap()
            .to_string(),
    );
    for e in &errors {
        assert!(e.contains("ca_file") && e.contains(missing), "{e}");
    }
}
