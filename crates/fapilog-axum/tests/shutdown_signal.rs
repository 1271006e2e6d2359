//! The graceful-shutdown future: SIGTERM resolves it once everything logged
//! so far is written, and the pipeline keeps running for the requests in
//! flight. (This binary sends SIGTERM to itself: one test per file.)
#![cfg(unix)]

use std::time::Duration;

use fapilog::testing::CaptureSink;
use fapilog::Pipeline;
use fapilog_axum::ShutdownSignal;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_resolves_the_future_after_the_logs_are_written() {
    let (sink, captured) = CaptureSink::new();
    let pipeline = Pipeline::builder()
        // Nothing would be written before a minute without the flush.
        .batch_max_age(Duration::from_secs(60))
        .batch_max_events(100_000)
        .shutdown_timeout(Duration::from_secs(30))
        .sink(sink)
        .build()
        .unwrap();
    let log = pipeline.logger("app");
    let signal = ShutdownSignal::new(pipeline.clone()).unwrap();
    for seq in 0..1000u64 {
        fapilog::info!(log, "event", seq = seq);
    }
    let waiting = tokio::spawn(signal.wait());
    let me = rustix::process::getpid();
    rustix::process::kill_process(me, rustix::process::Signal::TERM).unwrap();
    tokio::time::timeout(Duration::from_secs(30), waiting)
        .await
        .expect("the signal resolves the future")
        .unwrap();
    assert_eq!(captured.len(), 1000);
    // Still running: a request in flight can log.
    fapilog::info!(log, "after the signal");
    let report = pipeline.shutdown(pipeline.shutdown_timeout());
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(captured.len(), 1001);
}
