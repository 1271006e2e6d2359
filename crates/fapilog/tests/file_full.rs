//! The file sink on a full disk: a failed or short write leaves no torn
//! line, and each event ends up in exactly one place (the file or the
//! stderr fallback). The "disk" is a file size limit (`RLIMIT_FSIZE`) set in
//! a child process, which ignores SIGXFSZ so that `write` fails with EFBIG.
#![cfg(target_os = "linux")]

mod child;

use std::collections::BTreeSet;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use fapilog::sinks::{BreakerPolicy, RetryPolicy, SinkOptions};
use fapilog::{Backpressure, FileSink, Pipeline};
use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

const BEFORE: u64 = 3000;
const AFTER: u64 = 1000;
const LIMIT: u64 = 64 * 1024;

#[test]
fn child_entry() {
    if child::role().as_deref() != Some("full_disk") {
        return;
    }
    let out = std::env::var(child::OUT).unwrap();
    signal_hook::flag::register(
        signal_hook::consts::SIGXFSZ,
        Arc::new(AtomicBool::new(false)),
    )
    .unwrap();
    let pipeline = Pipeline::builder()
        .backpressure(Backpressure::Block)
        .batch_max_events(64)
        // Each failed batch goes to the fallback at once, and the first
        // write after the recovery goes to the file.
        .sink_with(
            FileSink::create(&out).unwrap(),
            SinkOptions::new()
                .retry(RetryPolicy::none())
                .breaker(BreakerPolicy::off()),
        )
        .build()
        .unwrap();
    let log = pipeline.logger("app");
    let normal = getrlimit(Resource::Fsize);
    setrlimit(
        Resource::Fsize,
        Rlimit {
            current: Some(LIMIT),
            maximum: normal.maximum,
        },
    )
    .unwrap();
    for seq in 0..BEFORE {
        fapilog::info!(log, "event", seq = seq, pad = "x".repeat(seq as usize % 97));
    }
    pipeline.flush(Duration::from_secs(60)).unwrap();
    // The disk has room again.
    setrlimit(Resource::Fsize, normal).unwrap();
    for seq in BEFORE..BEFORE + AFTER {
        fapilog::info!(log, "event", seq = seq);
    }
    let report = pipeline.shutdown(Duration::from_secs(60));
    assert_eq!(report.submitted, BEFORE + AFTER, "{report:?}");
    assert!(report.failed > 0, "{report:?}");
    let sink = &report.sinks[0];
    println!(
        "report written={} diverted={} dropped={} failed={} reports={}",
        sink.written,
        sink.diverted,
        sink.dropped,
        report.failed,
        pipeline.metrics().drop_reports
    );
}

/// `name=<u64>` in the child's report line.
fn field(report: &str, name: &str) -> u64 {
    let p = format!(" {name}=");
    report
        .split(&p)
        .nth(1)
        .unwrap()
        .split([' ', '\n'])
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn a_full_disk_leaves_whole_lines_and_each_event_in_one_place() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("log.jsonl");
    let output = child::run("child_entry", "full_disk", &out);
    let stderr = child::text(&output.stderr);
    assert!(
        output.status.success(),
        "{}",
        &stderr[..stderr.len().min(4000)]
    );
    // Every line of the file is whole JSON (checked by `envelopes`).
    let envelopes = child::envelopes(&out);
    let in_file = child::seqs(&envelopes, "event");
    let in_stderr: BTreeSet<u64> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["log"]["message"] == "event")
        .map(|e| e["log"]["data"]["seq"].as_u64().unwrap())
        .collect();
    assert!(!in_stderr.is_empty(), "nothing failed: {stderr}");
    let file_set: BTreeSet<u64> = in_file.iter().copied().collect();
    assert_eq!(file_set.len(), in_file.len(), "duplicated in the file");
    let twice: Vec<&u64> = file_set.intersection(&in_stderr).take(10).collect();
    assert!(twice.is_empty(), "in the file and on stderr: {twice:?}");
    // After the recovery the file took everything, on lines of their own.
    let missing: Vec<u64> = (BEFORE..BEFORE + AFTER)
        .filter(|s| !file_set.contains(s))
        .take(10)
        .collect();
    assert!(missing.is_empty(), "missing after recovery: {missing:?}");
    // The sink's counts say the same as the file: each line (the events
    // and the `logs dropped` reports) was written, or given up and then
    // taken by stderr (diverted) or refused by its budget (dropped), once.
    let report = child::text(&output.stdout);
    assert_eq!(
        field(&report, "written"),
        envelopes.len() as u64,
        "{report}"
    );
    assert_eq!(
        envelopes.len() as u64 + field(&report, "diverted") + field(&report, "dropped"),
        BEFORE + AFTER + field(&report, "reports"),
        "{report}"
    );
}
