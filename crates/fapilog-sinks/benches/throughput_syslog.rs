//! Throughput of the syslog sink into a real rsyslogd on loopback.
//!
//! Method: one pipeline with the syslog sink (`WhenFull::Block`, caller
//! backpressure `Block`), N events logged from one thread as fast as
//! possible; the clock stops when `flush` returns (every request written
//! to the socket) and again when rsyslog has written all N messages to its
//! file (delivered end to end). rsyslogd is started here exactly as the
//! tests start it (one private instance, `omfile` writing a parsed-fields
//! file and a raw file), so the end-to-end figure is bound by rsyslog.
//! Needs rsyslogd and openssl (`./scripts/test` installs them).
//!
//! `cargo bench -p fapilog-sinks --features syslog --bench throughput_syslog`

#[path = "../tests/common/mod.rs"]
mod common;
mod support;

#[allow(dead_code)]
#[path = "../tests/common/syslog.rs"]
mod rsyslog;

use std::io::{Read, Seek, SeekFrom};
use std::time::{Duration, Instant};

use fapilog::sinks::{SinkOptions, WhenFull};
use fapilog::{Backpressure, Pipeline};
use fapilog_sinks::{SyslogSink, SyslogTransport};
use rsyslog::{Listen, Rsyslog};

/// Counts lines in a growing file, reading only what is new.
struct LineCounter {
    file: Option<std::fs::File>,
    lines: usize,
    bytes: u64,
}

impl LineCounter {
    fn poll(&mut self, path: &std::path::Path) -> usize {
        if self.file.is_none() {
            self.file = std::fs::File::open(path).ok();
        }
        if let Some(f) = &mut self.file {
            let _ = f.seek(SeekFrom::Start(self.bytes));
            let mut buf = Vec::new();
            if let Ok(n) = f.read_to_end(&mut buf) {
                self.bytes += n as u64;
                self.lines += buf.iter().filter(|&&b| b == b'\n').count();
            }
        }
        self.lines
    }
}

fn run(listen: Listen, transport: SyslogTransport, n: u64) {
    let server = Rsyslog::start(listen);
    let mut builder = SyslogSink::builder(transport, server.address());
    if transport == SyslogTransport::Tls {
        builder = builder.ca_file(server.ca_file());
    }
    let sink = builder.build().expect("a valid sink");
    let pipeline = Pipeline::builder()
        .sink_with(sink, SinkOptions::new().when_full(WhenFull::Block))
        .backpressure(Backpressure::Block)
        .build()
        .expect("a pipeline");
    let log = pipeline.logger("bench");
    let start = Instant::now();
    support::log_requests(&log, n);
    pipeline.flush(Duration::from_secs(600)).expect("flushed");
    let flushed = start.elapsed();
    let mut counter = LineCounter {
        file: None,
        lines: 0,
        bytes: 0,
    };
    let raw = server.dir.join("raw.log");
    let all = common::wait_until(Duration::from_secs(600), || {
        counter.poll(&raw) >= n as usize
    });
    let delivered = start.elapsed();
    assert!(all, "rsyslog wrote {} of {n}", counter.lines);
    let metrics = pipeline.metrics();
    let sink = &metrics.sinks[0];
    assert_eq!(sink.written, n, "every event written once");
    let report = pipeline.shutdown(Duration::from_secs(30));
    assert_eq!(report.dropped_total(), 0);
    // The raw file holds each syslog message plus a newline: the wire
    // bytes less the octet-count prefixes.
    let wire = counter.bytes;
    let secs = |d: Duration| d.as_secs_f64();
    println!(
        "{transport:?}: {n} events, {:.1} MB envelopes, {:.1} MB syslog messages\n  \
         written (flush): {:.2} s, {:.0} events/s, {:.1} MB/s of messages\n  \
         delivered (in rsyslog's file): {:.2} s, {:.0} events/s, {:.1} MB/s of messages",
        sink.bytes as f64 / 1e6,
        wire as f64 / 1e6,
        secs(flushed),
        n as f64 / secs(flushed),
        wire as f64 / 1e6 / secs(flushed),
        secs(delivered),
        n as f64 / secs(delivered),
        wire as f64 / 1e6 / secs(delivered),
    );
}

fn main() {
    let n = support::events(200_000);
    run(Listen::Tcp, SyslogTransport::Tcp, n);
    run(Listen::Tls, SyslogTransport::Tls, n);
}
