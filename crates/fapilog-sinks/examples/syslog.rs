//! Send a pipeline's events to a syslog receiver as RFC 5424 messages.
//!
//! ```sh
//! # a receiver: rsyslog with `module(load="imtcp") input(type="imtcp" port="5514")`
//! FAPILOG_SYSLOG_ADDRESS=127.0.0.1:5514 cargo run -p fapilog-sinks --features syslog --example syslog
//! # over TLS with a private CA:
//! FAPILOG_SYSLOG_TRANSPORT=tls FAPILOG_SYSLOG_ADDRESS=logs.example.com:6514 \
//!   FAPILOG_SYSLOG_CA_FILE=/etc/ssl/private-ca.pem cargo run -p fapilog-sinks --features syslog --example syslog
//! ```
//!
//! The receiver may be down: the sink connects on its first send and
//! retries; the drain report at the end says what was delivered.

use std::time::Duration;

use fapilog::sinks::{RetryPolicy, SinkOptions, WhenFull};
use fapilog::Pipeline;
use fapilog_sinks::{Facility, SyslogSink, SyslogTransport};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let address =
        std::env::var("FAPILOG_SYSLOG_ADDRESS").unwrap_or_else(|_| "127.0.0.1:514".to_owned());
    let transport = match std::env::var("FAPILOG_SYSLOG_TRANSPORT").as_deref() {
        Ok("udp") => SyslogTransport::Udp,
        Ok("tls") => SyslogTransport::Tls,
        _ => SyslogTransport::Tcp,
    };
    let mut builder = SyslogSink::builder(transport, address.as_str())
        .facility(Facility::Local0)
        .app_name("fapilog-example");
    if let Ok(ca) = std::env::var("FAPILOG_SYSLOG_CA_FILE") {
        builder = builder.ca_file(ca);
    }
    let sink = builder.build()?;

    let pipeline = Pipeline::builder()
        .sink_with(
            sink,
            // Wait for the receiver rather than drop (a few seconds at most
            // here, so the example ends when nothing listens).
            SinkOptions::new()
                .when_full(WhenFull::Block)
                .retry(RetryPolicy::default().max_elapsed(Duration::from_secs(5))),
        )
        .build()?;
    let log = pipeline.logger("example");
    fapilog::info!(log, "user logged in", user_id = 42);
    fapilog::warning!(log, "slow request", latency_ms = 912);
    fapilog::error!(log, "payment failed", order = "o-17");

    let report = pipeline.shutdown(Duration::from_secs(10));
    for sink in &report.sinks {
        println!(
            "{}: {} written, {} diverted, {} dropped ({address}, {transport:?})",
            sink.name, sink.written, sink.diverted, sink.dropped
        );
    }
    Ok(())
}
