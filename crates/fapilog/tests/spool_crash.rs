//! The disk spool across process deaths: `kill -9` mid-stream under each
//! fsync policy, a crash at each step of a segment's deletion, a full disk
//! (`RLIMIT_FSIZE`), two processes on one directory, and secrets planted
//! before a `kill -9`. Each child is this test binary run again with a role.
#![cfg(all(feature = "spool", target_os = "linux"))]

mod child;
mod spool_support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fapilog::settings::Preset;
use fapilog::sinks::{SinkOptions, SpoolFsync, SpoolMode, SpoolOptions, SpoolWhenFull, WhenFull};
use fapilog::{Error, FileSink};
use spool_support::*;

const WAIT: Duration = Duration::from_secs(60);
/// Events a writer child logs at most before it waits to be killed.
const MOST: u64 = 40_000;

fn fsync(name: &str) -> SpoolFsync {
    match name {
        "never" => SpoolFsync::Never,
        "every_batch" => SpoolFsync::EveryBatch,
        _ => SpoolFsync::Interval(Duration::from_millis(50)),
    }
}

fn always(root: &Path, policy: SpoolFsync) -> SinkOptions {
    SinkOptions::new().when_full(WhenFull::Block).spool(
        SpoolOptions::new(root)
            .mode(SpoolMode::Always)
            .fsync(policy)
            .segment_bytes(256 * 1024),
    )
}

fn spooled(p: &fapilog::Pipeline) -> u64 {
    p.metrics().sinks[0].spool.as_ref().map_or(0, |s| s.spooled)
}

/// Prints a line the parent reads, at once.
fn tell(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Waits to be killed.
fn wait_forever() -> ! {
    loop {
        std::thread::park();
    }
}

/// The child's side: does nothing unless this process is a child.
#[test]
fn child_entry() {
    let Some(role) = child::role() else { return };
    let root = PathBuf::from(std::env::var(child::OUT).unwrap());
    let policy = fsync(&std::env::var("SPOOL_FSYNC").unwrap_or_default());
    match role.as_str() {
        // Logs into a stuck sink: every batch stays in the spool. Tells how
        // many lines the spool took (their writes returned).
        "writer" => {
            let p = builder()
                .sink_with(StuckSink, always(&root, policy))
                .build()
                .unwrap();
            let logger = p.logger("app");
            for seq in 0..MOST {
                fapilog::info!(logger, "event", seq = seq);
                if seq % 500 == 0 {
                    tell(&format!("spooled {}", spooled(&p)));
                }
            }
            loop {
                tell(&format!("spooled {}", spooled(&p)));
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        // Logs into a working file sink through the spool (Always): a kill
        // lands while batches are delivered and acknowledged.
        "delivering" => {
            let sink = NamedFile(FileSink::create(root.join("delivered.jsonl")).unwrap());
            let p = builder()
                .sink_with(sink, always(&root, policy))
                .build()
                .unwrap();
            let logger = p.logger("app");
            for seq in 0..MOST {
                fapilog::info!(logger, "event", seq = seq);
                if seq % 500 == 0 {
                    tell(&format!("spooled {}", spooled(&p)));
                }
            }
            loop {
                tell(&format!("spooled {}", spooled(&p)));
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        // Holds the spool directory.
        "holder" => {
            let _p = builder()
                .sink_with(StuckSink, always(&root, policy))
                .build()
                .unwrap();
            tell("ready");
            wait_forever();
        }
        // Logs planted secrets under the production preset, then waits.
        "secrets" => {
            let p = builder()
                .stage_settings(&Preset::Production.settings().stages)
                .unwrap()
                .sink_with(StuckSink, always(&root, SpoolFsync::EveryBatch))
                .build()
                .unwrap();
            let logger = p.logger("app");
            for seq in 0..100u64 {
                fapilog::info!(
                    logger,
                    "event key AKIAIOSFODNN7ZPLANTD password=Zspool1secret",
                    seq = seq,
                    password = "Zspool2secret",
                    api_key = "Zspool3secret"
                );
            }
            while spooled(&p) < 100 {
                std::thread::sleep(Duration::from_millis(2));
            }
            tell("spooled 100");
            wait_forever();
        }
        // Replays the spool into a file, crashing at the step named by
        // FAPILOG_SPOOL_CRASH_AT of the first segment deletion.
        "replayer" => {
            let out = root.join("delivered.jsonl");
            let sink = NamedFile(FileSink::create(&out).unwrap());
            let p = builder()
                .sink_with(sink, always(&root, SpoolFsync::EveryBatch))
                .build()
                .unwrap();
            p.flush(WAIT).unwrap();
            tell("done");
        }
        // Logs under RLIMIT_FSIZE: the spool's writes fail with EFBIG, then
        // the limit is lifted.
        "disk_full" => {
            use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
            // A handler (not the default action) for SIGXFSZ: writes past
            // the limit fail with EFBIG instead of killing the process.
            signal_hook::flag::register(
                signal_hook::consts::SIGXFSZ,
                Arc::new(AtomicBool::new(false)),
            )
            .unwrap();
            let opts = SinkOptions::new().when_full(WhenFull::Block).spool(
                SpoolOptions::new(&root)
                    .mode(SpoolMode::Always)
                    .fsync(SpoolFsync::Never)
                    .segment_bytes(1 << 20)
                    .when_full(SpoolWhenFull::DropNewest),
            );
            let p = builder().sink_with(StuckSink, opts).build().unwrap();
            let hard = getrlimit(Resource::Fsize);
            setrlimit(
                Resource::Fsize,
                Rlimit {
                    current: Some(64 * 1024),
                    maximum: hard.maximum,
                },
            )
            .unwrap();
            log(&p, 0..2_000);
            let full = |p: &fapilog::Pipeline| p.metrics().sinks[0].spool.clone().unwrap();
            while full(&p).spooled + full(&p).dropped_newest < 2_000 {
                std::thread::sleep(Duration::from_millis(2));
            }
            setrlimit(Resource::Fsize, hard).unwrap();
            log(&p, 2_000..2_100);
            while full(&p).spooled + full(&p).dropped_newest < 2_100 {
                std::thread::sleep(Duration::from_millis(2));
            }
            let m = full(&p);
            tell(&format!(
                "result {} {} {}",
                m.spooled, m.dropped_newest, m.write_errors
            ));
            wait_forever();
        }
        other => panic!("unknown role {other}"),
    }
}

/// A file sink under the shared sink name, so it finds the spool.
struct NamedFile(FileSink);

impl fapilog::Sink for NamedFile {
    fn name(&self) -> &str {
        SINK
    }
    fn write_batch(&mut self, b: &fapilog::Batch) -> Result<(), fapilog::SinkError> {
        self.0.write_batch(b)
    }
    fn flush(&mut self) -> Result<(), fapilog::SinkError> {
        self.0.flush()
    }
}

/// How long a child may live: past it, its watchdog kills it, so a hung
/// child fails its test instead of hanging it.
const CHILD_LIMIT: Duration = Duration::from_secs(120);

/// Kills the child at `CHILD_LIMIT` unless dropped first.
struct Watchdog(#[allow(dead_code)] std::sync::mpsc::Sender<()>);

fn spawn(
    role: &str,
    root: &Path,
    envs: &[(&str, &str)],
) -> (Child, BufReader<std::process::ChildStdout>, Watchdog) {
    let mut cmd = child::command("child_entry", role, root);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut c = cmd.spawn().unwrap();
    let out = BufReader::new(c.stdout.take().unwrap());
    let pid = rustix::process::Pid::from_child(&c);
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        if rx.recv_timeout(CHILD_LIMIT) == Err(std::sync::mpsc::RecvTimeoutError::Timeout) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
    });
    (c, out, Watchdog(tx))
}

/// Reads the child's lines until `want` says stop; the last line read.
/// (The first may follow the harness's `test child_entry ... `.)
fn read_until(
    out: &mut BufReader<std::process::ChildStdout>,
    mut want: impl FnMut(&str) -> bool,
) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        let n = out.read_line(&mut line).unwrap();
        assert!(n > 0, "the child ended early");
        if want(line.trim()) {
            return line.trim().to_owned();
        }
    }
}

fn count(line: &str) -> u64 {
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

/// Replays the spool under `root` into a sink that works; the delivered seqs.
fn replay(root: &Path) -> (Vec<u64>, Duration) {
    let sink = OutageSink::new(false);
    let started = Instant::now();
    let p = builder()
        .sink_with(sink.clone(), always(root, SpoolFsync::EveryBatch))
        .build()
        .unwrap();
    p.flush(WAIT).unwrap();
    let took = started.elapsed();
    let report = p.shutdown(WAIT);
    assert_eq!(report.sinks[0].spooled, 0, "{report:?}");
    (sink.seqs(), took)
}

#[test]
fn kill_9_mid_stream_loses_nothing_whose_write_returned_under_each_fsync_policy() {
    for policy in ["never", "interval", "every_batch"] {
        let dir = tempfile::tempdir().unwrap();
        let (mut c, mut out, _watchdog) = spawn("writer", dir.path(), &[("SPOOL_FSYNC", policy)]);
        let target = 5_000 + fastrand::u64(0..10_000);
        let last = read_until(&mut out, |l| l.contains("spooled ") && count(l) >= target);
        c.kill().unwrap();
        c.wait().unwrap();
        let acked = count(&last);
        let (seqs, took) = replay(dir.path());
        assert!(
            seqs.len() as u64 >= acked,
            "{policy}: {} of {acked}",
            seqs.len()
        );
        assert_eq!(
            assert_complete(&seqs[..acked as usize], acked),
            0,
            "{policy}"
        );
        assert!(
            seqs.windows(2).all(|w| w[0] + 1 == w[1]),
            "{policy}: in order, no gap, no duplicate"
        );
        println!(
            "{policy}: {acked} acknowledged, {} recovered in {:.1} ms",
            seqs.len(),
            took.as_secs_f64() * 1e3
        );
    }
}

#[test]
fn a_second_process_on_the_same_spool_directory_fails_fast() {
    let dir = tempfile::tempdir().unwrap();
    let (mut c, mut out, _watchdog) = spawn("holder", dir.path(), &[]);
    read_until(&mut out, |l| l.ends_with("ready"));
    let started = Instant::now();
    let err = builder()
        .sink_with(StuckSink, always(dir.path(), SpoolFsync::Never))
        .build()
        .unwrap_err();
    assert!(started.elapsed() < WAIT);
    assert!(matches!(err, Error::SpoolLocked { .. }), "{err}");
    c.kill().unwrap();
    c.wait().unwrap();
    // The kernel released the dead holder's lock: no stale lock.
    builder()
        .sink_with(StuckSink, always(dir.path(), SpoolFsync::Never))
        .build()
        .unwrap();
}

#[test]
fn secrets_planted_before_a_kill_9_never_reach_the_spool_files() {
    let dir = tempfile::tempdir().unwrap();
    let (mut c, mut out, _watchdog) = spawn("secrets", dir.path(), &[]);
    read_until(&mut out, |l| l.ends_with("spooled 100"));
    c.kill().unwrap();
    c.wait().unwrap();
    let raw = raw_bytes(dir.path());
    assert!(raw.len() > 10_000, "the spool holds the events");
    let text = String::from_utf8_lossy(&raw);
    for secret in [
        "AKIAIOSFODNN7ZPLANTD",
        "Zspool1secret",
        "Zspool2secret",
        "Zspool3secret",
    ] {
        assert!(!text.contains(secret), "{secret} is on disk");
    }
    assert!(
        text.contains("\"password\":\"***\""),
        "the masked field is there"
    );
    let (seqs, _) = replay(dir.path());
    assert_eq!(assert_complete(&seqs, 100), 0);
}

#[test]
fn a_crash_at_each_step_of_a_segment_deletion_restarts_and_never_loops() {
    for step in ["after_cursor", "after_unlink"] {
        let dir = tempfile::tempdir().unwrap();
        // Fill several segments while the sink is down.
        let down = OutageSink::new(true);
        let p = builder()
            .sink_with(down, always(dir.path(), SpoolFsync::EveryBatch))
            .build()
            .unwrap();
        log(&p, 0..3_000);
        p.shutdown(Duration::from_millis(200));
        drop(p);
        let (mut c, mut out, _watchdog) =
            spawn("replayer", dir.path(), &[("FAPILOG_SPOOL_CRASH_AT", step)]);
        let mut line = String::new();
        while out.read_line(&mut line).unwrap_or(0) > 0 {}
        let status = c.wait().unwrap();
        assert!(!status.success(), "{step}: the child crashed at the step");
        let first: Vec<String> = std::fs::read_to_string(dir.path().join("delivered.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect();
        let first = seqs(&first);
        assert!(!first.is_empty(), "{step}: the first segment was delivered");
        let (rest, _) = replay(dir.path());
        let mut all = first.clone();
        all.extend(&rest);
        let dups = assert_complete(&all, 3_000);
        // Delivered again: at most what the crashed process delivered past
        // the persisted cursor (none: the cursor moved before the unlink).
        assert!(dups <= first.len(), "{step}: {dups} duplicates");
        assert!(rest.windows(2).all(|w| w[0] < w[1]), "{step}: in order");
    }
}

#[test]
fn a_full_disk_applies_the_policy_reports_once_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let (mut c, mut out, _watchdog) = spawn("disk_full", dir.path(), &[]);
    let result = read_until(&mut out, |l| l.contains("result "));
    c.kill().unwrap();
    let output = c.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let f: Vec<u64> = result
        .split("result ")
        .nth(1)
        .unwrap()
        .split(' ')
        .map(|n| n.parse().unwrap())
        .collect();
    let (spooled, dropped, errors) = (f[0], f[1], f[2]);
    assert_eq!(spooled + dropped, 2_100);
    assert!(dropped > 0 && errors > 0, "{result}");
    assert_eq!(
        stderr.matches("spool write failed").count(),
        1,
        "one diagnostic per episode: {stderr}"
    );
    assert_eq!(
        stderr.matches("spool writes succeed again").count(),
        1,
        "{stderr}"
    );
    // No partial frame stayed behind: everything spooled replays whole.
    let (seqs, _) = replay(dir.path());
    assert_eq!(seqs.len() as u64, spooled);
    assert!(seqs.contains(&2_099), "recovered once the limit was lifted");
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn kill_9_while_batches_are_delivered_repeats_a_bounded_few_and_loses_none() {
    for policy in ["interval", "every_batch"] {
        let dir = tempfile::tempdir().unwrap();
        let (mut c, mut out, _watchdog) =
            spawn("delivering", dir.path(), &[("SPOOL_FSYNC", policy)]);
        let target = 5_000 + fastrand::u64(0..10_000);
        let last = read_until(&mut out, |l| l.contains("spooled ") && count(l) >= target);
        c.kill().unwrap();
        c.wait().unwrap();
        let acked = count(&last);
        let text = std::fs::read_to_string(dir.path().join("delivered.jsonl")).unwrap_or_default();
        // The file sink writes whole lines; a kill may still cut the last one.
        let whole: Vec<String> = text
            .lines()
            .filter(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
            .map(str::to_owned)
            .collect();
        let before = seqs(&whole);
        let (after, _) = replay(dir.path());
        let mut all = before.clone();
        all.extend(&after);
        let n = all.iter().copied().max().map_or(0, |m| m + 1).max(acked);
        let dups = assert_complete(&all, n);
        // Repeated: only what was delivered after the cursor was last written.
        assert!(dups <= before.len(), "{policy}: {dups} duplicates");
        assert!(
            after.windows(2).all(|w| w[0] < w[1]),
            "{policy}: replay in order"
        );
        println!(
            "{policy}: {acked} acknowledged, {} delivered before the kill, {} after, {dups} repeated",
            before.len(),
            after.len()
        );
    }
}
