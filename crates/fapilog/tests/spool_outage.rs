//! The disk spool in one process: an outage loses nothing, a shutdown
//! while the sink is down keeps everything for the next start, the size
//! cap applies exactly its policy, and a second pipeline on the same
//! directory fails fast.
#![cfg(feature = "spool")]

mod spool_support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use fapilog::sinks::{
    SinkDropReason, SinkOptions, SpoolFsync, SpoolMode, SpoolOptions, SpoolWhenFull, WhenFull,
};
use fapilog::Error;
use spool_support::*;

const WAIT: Duration = Duration::from_secs(30);

#[test]
fn an_outage_loses_nothing_and_repeats_at_most_one_batch() {
    let dir = tempfile::tempdir().unwrap();
    let sink = OutageSink::new(true);
    let pipeline = builder()
        .sink_with(sink.clone(), quick(SpoolOptions::new(dir.path())))
        .build()
        .unwrap();
    log(&pipeline, 0..2_000);
    // The outage: everything lands in the spool.
    // Up to two batches stay in memory (one in flight, one buffered).
    assert!(wait_until(WAIT, || {
        pipeline.metrics().sinks[0].spool.as_ref().unwrap().spooled >= 2_000 - 2 * 64
    }));
    assert!(
        pipeline.health().spooled[0].1 > 0,
        "{:?}",
        pipeline.health()
    );
    log(&pipeline, 2_000..3_000);
    sink.down.store(false, Ordering::SeqCst);
    pipeline.flush(WAIT).unwrap();
    let seqs = sink.seqs();
    let dups = assert_complete(&seqs, 3_000);
    assert!(dups <= 64, "{dups} duplicates: more than one batch");
    // In order: the spool replays before anything newer is delivered.
    let mut sorted = seqs.clone();
    sorted.dedup();
    assert!(sorted.windows(2).all(|w| w[0] < w[1]), "out of order");
    let report = pipeline.shutdown(WAIT);
    let spool = pipeline.metrics().sinks[0].spool.clone().unwrap();
    assert!(spool.replayed >= 2_000 - 2 * 64, "{spool:?}");
    assert_eq!(spool.pending, 0);
    assert_eq!(report.sinks[0].spooled, 0);
    assert_eq!(report.failed, 0);
    assert_eq!(report.written, 3_000);
}

#[test]
fn shutdown_while_the_sink_is_down_keeps_the_spool_and_the_next_start_delivers_it() {
    for mode in [SpoolMode::Overflow, SpoolMode::Always] {
        let dir = tempfile::tempdir().unwrap();
        let spool = || SpoolOptions::new(dir.path()).mode(mode);
        let down = OutageSink::new(true);
        let pipeline = builder()
            .sink_with(down.clone(), quick(spool()))
            .build()
            .unwrap();
        log(&pipeline, 0..500);
        let report = pipeline.shutdown(Duration::from_millis(500));
        assert_eq!(report.sinks[0].spooled, 500, "{mode:?}: {report:?}");
        assert_eq!(report.sinks[0].dropped, 0, "{report:?}");
        assert!(
            !report.is_complete(),
            "lines left in a spool are not a complete drain"
        );
        assert!(down.seqs().is_empty());
        drop(pipeline);
        assert!(segment_bytes(dir.path()) > 0, "nothing spooled was deleted");

        let up = OutageSink::new(false);
        let pipeline = builder()
            .sink_with(up.clone(), quick(spool()))
            .build()
            .unwrap();
        log(&pipeline, 500..600);
        pipeline.flush(WAIT).unwrap();
        let seqs = up.seqs();
        assert_eq!(assert_complete(&seqs, 600), 0);
        // The spool replays before any new batch.
        let mut first: Vec<u64> = seqs[..500].to_vec();
        if mode == SpoolMode::Always {
            assert_eq!(first, (0..500).collect::<Vec<_>>(), "in order");
        } else {
            // Batches still in memory at the shutdown were appended after
            // the newer spooled ones (see docs/spool.md).
            first.sort_unstable();
            assert_eq!(first, (0..500).collect::<Vec<_>>());
        }
        let report = pipeline.shutdown(WAIT);
        assert!(report.is_complete(), "{report:?}");
    }
}

#[test]
fn always_mode_passes_every_batch_through_the_spool() {
    let dir = tempfile::tempdir().unwrap();
    let sink = OutageSink::new(false);
    let spool = SpoolOptions::new(dir.path())
        .mode(SpoolMode::Always)
        .fsync(SpoolFsync::EveryBatch);
    let pipeline = builder()
        .sink_with(sink.clone(), quick(spool).when_full(WhenFull::Block))
        .build()
        .unwrap();
    log(&pipeline, 0..1_000);
    pipeline.flush(WAIT).unwrap();
    assert_eq!(assert_complete(&sink.seqs(), 1_000), 0);
    let m = pipeline.metrics().sinks[0].spool.clone().unwrap();
    assert_eq!((m.spooled, m.replayed, m.pending), (1_000, 1_000, 0));
    assert_eq!(pipeline.metrics().written, 1_000);
}

/// Checks the spool's size metrics and policy counters once every line
/// has been appended (spooled or refused): 3,000 events and the in-band
/// `logs dropped` reports.
fn check_cap(pipeline: &fapilog::Pipeline, dir: &std::path::Path, policy: SpoolWhenFull) {
    let (cap, segment) = (CAP, SEGMENT);
    let total = 3_000 + pipeline.metrics().drop_reports;
    let m = pipeline.metrics().sinks[0].spool.clone().unwrap();
    assert!(
        m.bytes <= cap + segment,
        "{} over the cap + one segment",
        m.bytes
    );
    assert_eq!(m.bytes, segment_bytes(dir));
    match policy {
        SpoolWhenFull::DropOldest => {
            assert!(m.dropped_oldest > 0 && m.dropped_newest == 0, "{m:?}");
            assert_eq!(m.spooled, total, "{m:?}");
            assert_eq!(m.pending + m.dropped_oldest, m.spooled, "{m:?}");
        }
        _ => {
            assert!(m.dropped_newest > 0 && m.dropped_oldest == 0, "{m:?}");
            assert_eq!(m.spooled + m.dropped_newest, total, "{m:?}");
            assert_eq!(m.pending, m.spooled, "{m:?}");
            let sink_drops = pipeline.metrics().sinks[0].dropped_for(SinkDropReason::SpoolFull);
            assert_eq!(sink_drops, m.dropped_newest);
        }
    }
}

const CAP: u64 = 64 * 1024;
const SEGMENT: u64 = 16 * 1024;

fn capped(dir: &std::path::Path, policy: SpoolWhenFull, mode: SpoolMode) -> SinkOptions {
    quick(
        SpoolOptions::new(dir)
            .max_bytes(CAP)
            .segment_bytes(SEGMENT)
            .when_full(policy)
            .mode(mode),
    )
}

/// Every line the spool kept arrives, each event once.
fn assert_all_once(sink: &OutageSink, kept: u64) -> Vec<u64> {
    let delivered = sink.lines.lock().unwrap().len() as u64;
    assert_eq!(delivered, kept, "{delivered} delivered, {kept} kept");
    let seqs = sink.seqs();
    let mut sorted = seqs.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), seqs.len(), "duplicates");
    seqs
}

#[test]
fn the_cap_with_the_sink_down_applies_exactly_its_policy() {
    // `Always`: every batch goes through the spool, none waits in memory,
    // so once all 3,000 lines are appended or refused the state is final.
    for policy in [SpoolWhenFull::DropOldest, SpoolWhenFull::DropNewest] {
        let dir = tempfile::tempdir().unwrap();
        let sink = OutageSink::new(true);
        // No in-band `logs dropped` report before the shutdown: the spool
        // holds the 3,000 events only.
        let pipeline = builder()
            .drop_summary_interval(Duration::from_secs(3_600))
            .sink_with(sink.clone(), capped(dir.path(), policy, SpoolMode::Always))
            .build()
            .unwrap();
        log(&pipeline, 0..3_000);
        assert!(
            wait_until(WAIT, || {
                let m = pipeline.metrics().sinks[0].spool.clone().unwrap();
                m.spooled + m.dropped_newest == 3_000
            }),
            "{policy:?}: {:?}",
            pipeline.metrics().sinks[0]
        );
        check_cap(&pipeline, dir.path(), policy);
        // The sink comes back: what the spool kept arrives, in order, and
        // each line is counted once: replayed or dropped.
        sink.down.store(false, Ordering::SeqCst);
        assert!(wait_until(WAIT, || {
            pipeline.metrics().sinks[0].spool.as_ref().unwrap().pending == 0
        }));
        let m = pipeline.metrics().sinks[0].spool.clone().unwrap();
        assert_eq!(m.replayed + m.dropped_oldest, m.spooled, "{m:?}");
        let seqs = assert_all_once(&sink, m.replayed);
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "out of order");
        match policy {
            SpoolWhenFull::DropNewest => assert_eq!(seqs[0], 0, "the oldest are kept"),
            _ => assert_eq!(*seqs.last().unwrap(), 2_999, "the newest are kept"),
        }
    }
}

#[test]
fn the_cap_in_overflow_mode_applies_its_policy_to_what_a_shutdown_leaves() {
    // `Overflow`: the batches the driver holds in memory reach the spool
    // at the shutdown, so the count is exact once it returns.
    for policy in [SpoolWhenFull::DropOldest, SpoolWhenFull::DropNewest] {
        let dir = tempfile::tempdir().unwrap();
        let pipeline = builder()
            .sink_with(
                OutageSink::new(true),
                capped(dir.path(), policy, SpoolMode::Overflow),
            )
            .build()
            .unwrap();
        log(&pipeline, 0..3_000);
        let report = pipeline.shutdown(Duration::from_millis(300));
        check_cap(&pipeline, dir.path(), policy);
        let kept = pipeline.metrics().sinks[0].spool.clone().unwrap().pending;
        assert_eq!(report.sinks[0].spooled, kept, "{report:?}");
        drop(pipeline);

        let up = OutageSink::new(false);
        let pipeline = builder()
            .sink_with(up.clone(), capped(dir.path(), policy, SpoolMode::Overflow))
            .build()
            .unwrap();
        pipeline.flush(WAIT).unwrap();
        assert_all_once(&up, kept);
        assert!(pipeline.shutdown(WAIT).is_complete());
    }
}

#[test]
fn a_second_pipeline_on_the_same_spool_directory_fails_fast_with_a_lock_error() {
    let dir = tempfile::tempdir().unwrap();
    let first = builder()
        .sink_with(OutageSink::new(false), quick(SpoolOptions::new(dir.path())))
        .build()
        .unwrap();
    let err = builder()
        .sink_with(OutageSink::new(false), quick(SpoolOptions::new(dir.path())))
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::SpoolLocked { .. }), "{err}");
    assert!(
        err.to_string()
            .contains(&sink_dir(dir.path()).display().to_string()),
        "{err}"
    );
    drop(first);
    // Released with the first pipeline.
    builder()
        .sink_with(OutageSink::new(false), quick(SpoolOptions::new(dir.path())))
        .build()
        .unwrap();
}

#[test]
fn spill_without_a_spool_and_bad_spool_sizes_are_refused_naming_the_option() {
    let err = builder()
        .sink_with(
            OutageSink::new(false),
            SinkOptions::new().when_full(WhenFull::Spill),
        )
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("when_full") && err.contains("spill") && err.contains("spool"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let err = builder()
        .sink_with(
            OutageSink::new(false),
            quick(
                SpoolOptions::new(dir.path())
                    .segment_bytes(1 << 20)
                    .max_bytes(1000),
            ),
        )
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("spool.max_bytes") && err.contains("1000"),
        "{err}"
    );
}

#[test]
fn the_spool_is_in_the_prometheus_output() {
    let dir = tempfile::tempdir().unwrap();
    let sink = OutageSink::new(true);
    let pipeline = builder()
        .sink_with(sink.clone(), quick(SpoolOptions::new(dir.path())))
        .build()
        .unwrap();
    log(&pipeline, 0..200);
    assert!(wait_until(WAIT, || {
        pipeline.metrics().sinks[0].spool.as_ref().unwrap().pending > 0
    }));
    let text = pipeline.metrics().to_prometheus();
    for family in [
        "fapilog_sink_spool_bytes{sink=\"spooled\"}",
        "fapilog_sink_spool_pending_lines{sink=\"spooled\"}",
        "fapilog_sink_spool_oldest_age_seconds{sink=\"spooled\"}",
        "fapilog_sink_spool_dropped_lines_total{sink=\"spooled\",policy=\"drop_oldest\"} 0",
    ] {
        assert!(text.contains(family), "{family} missing");
    }
    sink.down.store(false, Ordering::SeqCst);
    pipeline.flush(WAIT).unwrap();
}

#[test]
fn fapilog_spool_variables_give_the_sinks_a_spool_and_bad_values_name_key_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().display().to_string();
    let settings = fapilog::Settings::from_env_vars([
        ("FAPILOG_SPOOL__DIRECTORY", root.as_str()),
        ("FAPILOG_SPOOL__MODE", "always"),
        ("FAPILOG_SPOOL__FSYNC", "every_batch"),
        ("FAPILOG_SPOOL__SEGMENT_BYTES", "64 KiB"),
    ])
    .unwrap();
    let sink = OutageSink::new(false);
    let pipeline = builder()
        .settings(settings)
        .sink(sink.clone())
        .build()
        .unwrap();
    log(&pipeline, 0..100);
    pipeline.flush(WAIT).unwrap();
    assert_eq!(assert_complete(&sink.seqs(), 100), 0);
    let m = pipeline.metrics().sinks[0].spool.clone().expect("a spool");
    assert_eq!(m.spooled, 100);
    pipeline.shutdown(WAIT);
    assert!(sink_dir(dir.path()).join("cursor").exists());
    for (key, value) in [
        ("FAPILOG_SPOOL__FSYNC", "sometimes"),
        ("FAPILOG_SPOOL__WHEN_FULL", "explode"),
        ("FAPILOG_SPOOL__MODE", "never"),
        ("FAPILOG_SPOOL__MAX_BYTES", "12 parsecs"),
    ] {
        let e = fapilog::Settings::from_env_vars([(key, value)])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(key) && e.contains(value) && e.contains("expected"),
            "{e}"
        );
    }
}

#[test]
fn a_restart_on_a_full_blocking_spool_with_the_sink_down_starts_and_only_backpressures() {
    let dir = tempfile::tempdir().unwrap();
    let (cap, segment) = (64 * 1024, 16 * 1024);
    let spool = || {
        SpoolOptions::new(dir.path())
            .max_bytes(cap)
            .segment_bytes(segment)
    };
    let start = || {
        builder()
            .backpressure(fapilog::Backpressure::Drop)
            .sink_with(OutageSink::new(true), quick(spool()))
            .build()
            .unwrap()
    };
    let p = start();
    log(&p, 0..5_000);
    assert!(wait_until(WAIT, || {
        p.metrics().sinks[0].spool.as_ref().unwrap().bytes + 2 * 64 * 600 > cap
    }));
    p.shutdown(Duration::from_millis(300));
    drop(p);
    // The restart: the spool is full, the sink still down, the policy Block.
    // (The first pipeline's driver lets go of the directory as it stops,
    // just after its shutdown timed out.)
    let mut second = None;
    assert!(wait_until(WAIT, || {
        second = builder()
            .backpressure(fapilog::Backpressure::Drop)
            .sink_with(OutageSink::new(true), quick(spool()))
            .build()
            .ok();
        second.is_some()
    }));
    let p = second.unwrap();
    // More than the queue holds: with the worker waiting on the spool, the
    // queue fills and the callers' policy (Drop here) decides.
    log(&p, 0..40_000);
    let m = p.metrics();
    let spool = m.sinks[0].spool.clone().unwrap();
    assert!(spool.bytes <= cap + segment, "{spool:?}");
    assert_eq!(spool.dropped_total(), 0, "Block never drops in the spool");
    assert!(
        wait_until(WAIT, || p
            .metrics()
            .dropped_for(fapilog::DropReason::QueueFull)
            > 0),
        "the callers see backpressure: {:?}",
        p.metrics().dropped
    );
    let report = p.shutdown(Duration::from_millis(300));
    assert!(report.sinks[0].spooled > 0, "{report:?}");
}

/// A sink that holds its first write until released.
struct HeldSink(std::sync::Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>);

impl fapilog::Sink for HeldSink {
    fn name(&self) -> &str {
        SINK
    }
    fn write_batch(&mut self, _: &fapilog::Batch) -> Result<(), fapilog::SinkError> {
        let (open, cv) = &*self.0;
        let mut open = open.lock().unwrap();
        while !*open {
            open = cv.wait(open).unwrap();
        }
        Err(fapilog::SinkError::transient(
            "released at the end of the test",
        ))
    }
}

#[test]
fn a_shutdown_deadline_with_a_stuck_sink_leaves_every_batch_in_the_spool() {
    let dir = tempfile::tempdir().unwrap();
    let gate = std::sync::Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
    let spool = || {
        SpoolOptions::new(dir.path())
            .mode(SpoolMode::Always)
            .fsync(SpoolFsync::EveryBatch)
    };
    let pipeline = builder()
        .sink_with(
            HeldSink(gate.clone()),
            quick(spool()).when_full(WhenFull::Block),
        )
        .build()
        .unwrap();
    log(&pipeline, 0..1_000);
    assert!(wait_until(WAIT, || {
        pipeline.metrics().sinks[0].spool.as_ref().unwrap().spooled == 1_000
    }));
    let report = pipeline.shutdown(Duration::from_millis(200));
    assert_eq!(report.sinks[0].spooled, 1_000, "{report:?}");
    assert_eq!(report.sinks[0].dropped, 0);
    // Let the stuck write return so its driver can stop and let go of the directory.
    *gate.0.lock().unwrap() = true;
    gate.1.notify_all();
    drop(pipeline);
    let up = OutageSink::new(false);
    let mut next = None;
    assert!(wait_until(WAIT, || {
        next = builder().sink_with(up.clone(), quick(spool())).build().ok();
        next.is_some()
    }));
    let pipeline = next.unwrap();
    pipeline.flush(WAIT).unwrap();
    assert_eq!(assert_complete(&up.seqs(), 1_000), 0);
}
