//! The disk spool with a real network sink: the HTTP sink against a
//! loopback receiver that answers 503 for a while (an outage), then takes
//! everything. With the spool on, the receiver ends up with every event,
//! none missing, duplicates bounded by one in-flight batch, and the spool
//! replayed in order before anything newer; a shutdown during an outage
//! keeps the spool, and the next start delivers it.
#![cfg(feature = "http")]

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::http_server::{Reply, Server};
use common::wait_until;
use fapilog::sinks::{BreakerPolicy, RetryPolicy, SinkOptions, SpoolFsync, SpoolOptions, WhenFull};
use fapilog::{Backpressure, Pipeline};
use fapilog_sinks::{BatchFormat, HttpSink};

const LONG: Duration = Duration::from_secs(60);

/// A receiver that is down (503) while `up` is false and keeps the NDJSON
/// bodies it accepted.
struct Receiver {
    server: Server,
    up: Arc<AtomicBool>,
    accepted: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Receiver {
    fn start(up: bool) -> Receiver {
        let server = Server::start(Reply::Status(503));
        let flag = Arc::new(AtomicBool::new(up));
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let (f, a) = (Arc::clone(&flag), Arc::clone(&accepted));
        server.respond_with(move |req| {
            if f.load(Ordering::SeqCst) {
                a.lock().unwrap().push(req.body_decoded());
                Reply::Status(204)
            } else {
                Reply::Status(503)
            }
        });
        Receiver {
            server,
            up: flag,
            accepted,
        }
    }

    /// Each accepted event's `seq`, in the order received.
    fn seqs(&self) -> Vec<u64> {
        let bodies = self.accepted.lock().unwrap().clone();
        let mut out = Vec::new();
        for body in bodies {
            for line in body.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                let v: serde_json::Value = serde_json::from_slice(line).expect("an envelope");
                if let Some(seq) = v["log"]["data"]["seq"].as_u64() {
                    out.push(seq);
                }
            }
        }
        out
    }
}

fn options(dir: &std::path::Path) -> SinkOptions {
    SinkOptions::new()
        .when_full(WhenFull::Spill)
        .buffer_batches(2)
        .retry(
            RetryPolicy::default()
                .max_attempts(2)
                .initial(Duration::from_millis(5))
                .max_delay(Duration::from_millis(20)),
        )
        .breaker(
            BreakerPolicy::default()
                .failure_threshold(2)
                .cooldown(Duration::from_millis(50))
                .max_cooldown(Duration::from_millis(100)),
        )
        .spool(SpoolOptions::new(dir).fsync(SpoolFsync::Interval(Duration::from_millis(100))))
}

fn pipeline(url: &str, dir: &std::path::Path) -> Pipeline {
    let sink = HttpSink::builder(url)
        .format(BatchFormat::Ndjson)
        .build()
        .unwrap();
    Pipeline::builder()
        .backpressure(Backpressure::Block)
        .sink_with(sink, options(dir))
        .build()
        .unwrap()
}

/// Every seq of `0..n` is there; returns how many arrived twice or more.
fn assert_complete(seqs: &[u64], n: u64) -> u64 {
    let mut counts: BTreeMap<u64, u64> = BTreeMap::new();
    for s in seqs {
        *counts.entry(*s).or_default() += 1;
    }
    let missing: Vec<u64> = (0..n).filter(|s| !counts.contains_key(s)).collect();
    assert!(
        missing.is_empty(),
        "{} missing, first {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    assert_eq!(counts.len() as u64, n, "no event beyond those logged");
    counts.values().map(|c| c - 1).sum()
}

#[test]
fn an_http_outage_with_the_spool_loses_nothing_and_repeats_at_most_one_batch() {
    let dir = std::env::temp_dir().join(format!("fapilog-spool-http-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let rx = Receiver::start(false);
    let p = pipeline(&rx.server.url("/logs"), &dir);
    let log = p.logger("app");
    for seq in 0..10_000u64 {
        fapilog::info!(log, "during the outage", seq = seq);
    }
    assert!(
        wait_until(LONG, || {
            let m = p.metrics();
            m.sinks[0]
                .spool
                .as_ref()
                .is_some_and(|s| s.spooled >= 9_000)
        }),
        "the outage spills to the spool: {:?}",
        p.metrics().sinks[0].spool
    );
    assert!(
        p.metrics().sinks[0].retries > 0,
        "retries show in the metrics"
    );
    rx.up.store(true, Ordering::SeqCst);
    // Recovery: the breaker's next probe gets through and the replay starts.
    // (A flush or shutdown while the breaker is still open would leave the
    // spool for the next start, as the test below shows.)
    assert!(
        wait_until(LONG, || p.metrics().sinks[0]
            .spool
            .as_ref()
            .is_some_and(|s| s.replayed > 0)),
        "the replay starts once the receiver is back"
    );
    for seq in 10_000..12_000u64 {
        fapilog::info!(log, "after the outage", seq = seq);
    }
    p.flush(LONG).unwrap();
    let report = p.shutdown(LONG);
    let seqs = rx.seqs();
    let dups = assert_complete(&seqs, 12_000);
    assert!(
        dups <= 256,
        "{dups} duplicates: more than one in-flight batch"
    );
    let mut first = seqs.clone();
    first.dedup();
    assert!(
        first.windows(2).all(|w| w[0] < w[1]),
        "the spool replays in order, before anything newer"
    );
    let spool = p.metrics().sinks[0].spool.clone().unwrap();
    eprintln!(
        "{} requests, {} events received, {dups} duplicates; spool: {spool:?}",
        rx.server.count(),
        seqs.len()
    );
    assert!(spool.replayed >= 9_000, "{spool:?}");
    assert_eq!(spool.pending, 0, "{spool:?}");
    assert_eq!(report.written, 12_000, "{report:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_shutdown_during_an_http_outage_keeps_the_spool_and_the_next_start_delivers_it() {
    let dir =
        std::env::temp_dir().join(format!("fapilog-spool-http-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let rx = Receiver::start(false);
    let url = rx.server.url("/logs");
    {
        let p = pipeline(&url, &dir);
        let log = p.logger("app");
        for seq in 0..5_000u64 {
            fapilog::info!(log, "before the restart", seq = seq);
        }
        let report = p.shutdown(Duration::from_secs(2));
        assert!(report.sinks[0].spooled > 0, "{report:?}");
    }
    assert!(rx.seqs().is_empty(), "nothing got through the outage");
    rx.up.store(true, Ordering::SeqCst);
    let p = pipeline(&url, &dir);
    assert!(
        wait_until(LONG, || rx.seqs().len() >= 5_000),
        "the next start replays the spool: {} of 5000",
        rx.seqs().len()
    );
    p.shutdown(LONG);
    let dups = assert_complete(&rx.seqs(), 5_000);
    assert!(dups <= 256, "{dups} duplicates");
    let _ = std::fs::remove_dir_all(&dir);
}
