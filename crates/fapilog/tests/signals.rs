//! SIGTERM drains the global pipeline when the application opted in: a
//! child logging at about 100 k and 1 k events/s gets SIGTERM and loses
//! nothing it had accepted, then dies of SIGTERM (or hands over).
#![cfg(all(target_os = "linux", feature = "signals"))]

mod child;

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use fapilog::{Backpressure, DropReason, FileSink, Pipeline};

static RETURNED: AtomicU64 = AtomicU64::new(0);

/// The child: logs `seq = 0, 1, …` at `per_ms` events per millisecond
/// until a signal ends it, saying `ready` once `ready_after` calls returned.
#[test]
fn child_entry() {
    let Some(role) = child::role() else { return };
    let out = std::env::var(child::OUT).unwrap();
    let (per_ms, ready_after) = match role.split(':').next() {
        Some("fast") => (100u64, 20_000u64),
        Some("slow") => (1, 200),
        other => panic!("unknown rate {other:?}"),
    };
    let _guard = fapilog::init_with(
        Pipeline::builder()
            .backpressure(Backpressure::Block)
            .shutdown_timeout(Duration::from_secs(60))
            .sink(FileSink::create(out).unwrap()),
    )
    .unwrap();
    if role.ends_with(":terminate") {
        fapilog::signals::drain_on_signals().unwrap();
    } else {
        fapilog::signals::drain_on_signals_then(|signal, report| {
            let r = report.unwrap();
            println!(
                "drained signal={signal} written={} submitted={} late={} failed={} unflushed={} returned={}",
                r.written,
                r.submitted,
                r.dropped.iter().find(|(w, _)| *w == DropReason::Shutdown).map_or(0, |d| d.1),
                r.failed,
                r.unflushed,
                RETURNED.load(Ordering::SeqCst),
            );
            std::process::exit(0);
        })
        .unwrap();
    }
    let mut seq = 0u64;
    loop {
        for _ in 0..per_ms {
            fapilog::info!("event", seq = seq);
            seq += 1;
            RETURNED.store(seq, Ordering::SeqCst);
            if seq == ready_after {
                println!("ready");
            }
        }
        // Pacing, not synchronisation.
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Runs the child until it is ready, sends SIGTERM, and returns its
/// output (stdout lines after `ready`) and the seqs it wrote.
fn terminate(role: &str) -> (std::process::ExitStatus, Vec<String>, String, Vec<u64>) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("log.jsonl");
    let mut c = child::command("child_entry", role, &out).spawn().unwrap();
    let mut stdout = BufReader::new(c.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "child ended early"
        );
        if line.trim_end().ends_with("ready") {
            break;
        }
    }
    let pid = rustix::process::Pid::from_raw(c.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let rest: Vec<String> = stdout.lines().map(Result::unwrap).collect();
    let output = c.wait_with_output().unwrap();
    let seqs = child::seqs(&child::envelopes(&out), "event");
    (output.status, rest, child::text(&output.stderr), seqs)
}

/// `seqs` is a prefix `0..n` of what was logged, each once.
fn assert_prefix(seqs: &[u64]) -> u64 {
    let n = seqs.len() as u64;
    child::assert_all(seqs, n);
    n
}

fn check_terminated(role: &str, ready_after: u64) {
    let (status, _, stderr, seqs) = terminate(role);
    assert_eq!(status.signal(), Some(15), "{status:?} {stderr}");
    let n = assert_prefix(&seqs);
    assert!(n >= ready_after, "{n} written");
    // Anything the drain could not write would be reported here; calls
    // made after the drain began are dropped as `shutdown`, nothing else.
    for l in stderr.lines().filter(|l| l.contains("shutdown left")) {
        assert!(l.contains("failed=0") && l.contains("unflushed=0"), "{l}");
        assert!(l.contains("timed_out=false"), "{l}");
        let dropped = l.split(" [").nth(1).unwrap().split(']').next().unwrap();
        assert!(
            dropped.split(' ').all(|d| d.starts_with("shutdown=")),
            "{l}"
        );
    }
}

fn check_handed_over(role: &str) {
    let (status, rest, stderr, seqs) = terminate(role);
    assert_eq!(status.code(), Some(0), "{status:?} {stderr}");
    let line = rest
        .iter()
        .find(|l| l.starts_with("drained"))
        .unwrap_or_else(|| panic!("no report: {rest:?} {stderr}"));
    let field = |k: &str| -> u64 {
        let p = format!(" {k}=");
        line.split(&p)
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(field("signal"), 15);
    let n = assert_prefix(&seqs);
    assert_eq!(n, field("written"), "{line}");
    assert_eq!(field("failed"), 0, "{line}");
    assert_eq!(field("unflushed"), 0, "{line}");
    // Every accepted call was written; the rest came after the drain began.
    assert_eq!(field("submitted"), n + field("late"), "{line}");
    assert!(field("returned") >= n, "{line}");
}

#[test]
fn sigterm_during_a_fast_stream_drains_then_dies_of_sigterm() {
    check_terminated("fast:terminate", 20_000);
}

#[test]
fn sigterm_during_a_slow_stream_drains_then_dies_of_sigterm() {
    check_terminated("slow:terminate", 200);
}

#[test]
fn sigterm_during_a_fast_stream_drains_then_hands_over() {
    check_handed_over("fast:then");
}

#[test]
fn sigterm_during_a_slow_stream_drains_then_hands_over() {
    check_handed_over("slow:then");
}
