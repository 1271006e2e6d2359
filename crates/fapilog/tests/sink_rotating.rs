//! The rotating file sink: fapilog's names, rotation by size and time,
//! retention at start-up and at rotation, gzip, and a file system that
//! changes under it. A manual clock drives time; nothing sleeps.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fapilog::sinks::{FsyncPolicy, RotatingFileBuilder, RotatingFileSink};
use fapilog::{Backpressure, Batch, Event, Format, Level, Pipeline, Sink};

/// 2030-01-01 00:00:00 UTC.
const T0: u64 = 1_893_456_000;
const WAIT: Duration = Duration::from_secs(20);

#[derive(Clone)]
struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    fn at(secs: u64) -> ManualClock {
        ManualClock(Arc::new(AtomicU64::new(secs)))
    }
    fn set(&self, secs: u64) {
        self.0.store(secs, Ordering::SeqCst);
    }
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.0.load(Ordering::SeqCst))
    }
}

fn builder(dir: &Path, clock: &ManualClock) -> RotatingFileBuilder {
    let c = clock.clone();
    RotatingFileSink::builder(dir)
        .filename_prefix("app")
        .clock(move || c.now())
}

fn message(i: u32) -> String {
    format!("line {i:06}")
}

/// A JSON batch of the lines `range`.
fn batch(range: std::ops::Range<u32>) -> Batch {
    let mut b = Batch::new(Format::Json);
    for i in range {
        b.push(&Event::new(Level::INFO, message(i)));
    }
    b
}

/// Bytes of one line (all lines have the same length).
fn line_len() -> u64 {
    batch(0..1).byte_len() as u64
}

/// The sink's files, oldest first: by the name's time, then its `-N`.
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    names.sort_by_key(|n| {
        let stem = n.split('.').next().unwrap_or_default().to_owned();
        let parts: Vec<&str> = stem.split('-').collect();
        let index: u32 = parts.get(3).and_then(|s| s.parse().ok()).unwrap_or(0);
        (
            parts.get(1).copied().unwrap_or_default().to_owned(),
            parts.get(2).copied().unwrap_or_default().to_owned(),
            index,
        )
    });
    names
}

/// The messages of one file, gzip or not.
fn messages(path: &Path) -> Vec<String> {
    let raw = std::fs::read(path).expect("read");
    let text = if path.extension().is_some_and(|e| e == "gz") {
        let mut s = String::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_string(&mut s)
            .expect("gunzip");
        s
    } else {
        String::from_utf8(raw).expect("utf-8")
    };
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("whole JSON line");
            v["log"]["message"].as_str().expect("message").to_owned()
        })
        .collect()
}

fn all_messages(dir: &Path) -> Vec<String> {
    files(dir)
        .iter()
        .flat_map(|n| messages(&dir.join(n)))
        .collect()
}

fn expected(range: std::ops::Range<u32>) -> Vec<String> {
    range.map(message).collect()
}

#[test]
fn files_are_named_as_fapilog_names_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::at(T0 + 3600 + 62); // 01:01:02
    let sink = builder(dir.path(), &clock).build().expect("build");
    assert_eq!(
        sink.current_path(),
        dir.path().join("app-20300101-010102.jsonl")
    );
    let text = builder(dir.path(), &clock)
        .format(Format::Pretty { color: false })
        .build()
        .expect("build");
    assert_eq!(
        text.current_path(),
        dir.path().join("app-20300101-010102.log")
    );
    // The same second again: `-1`, `-2`, also past a compressed name.
    std::fs::write(dir.path().join("app-20300101-010102-2.jsonl.gz"), b"").expect("write");
    let second = builder(dir.path(), &clock).build().expect("build");
    assert_eq!(
        second.current_path(),
        dir.path().join("app-20300101-010102-1.jsonl")
    );
    let third = builder(dir.path(), &clock).build().expect("build");
    assert_eq!(
        third.current_path(),
        dir.path().join("app-20300101-010102-3.jsonl")
    );
    let default = RotatingFileSink::builder(dir.path())
        .build()
        .expect("build");
    let name = default
        .current_path()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        name.starts_with("fapilog-") && name.ends_with(".jsonl"),
        "{name}"
    );
    assert_eq!(name.len(), "fapilog-20300101-010102.jsonl".len(), "{name}");
}

#[test]
fn size_rotation_happens_before_a_write_that_would_pass_max_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::at(T0);
    let max = 3 * line_len() + 10;
    let mut sink = builder(dir.path(), &clock)
        .max_bytes(max)
        .build()
        .expect("build");
    sink.write_batch(&batch(0..5)).expect("write");
    sink.write_batch(&batch(5..7)).expect("write");
    sink.write_batch(&batch(7..8)).expect("write");
    sink.stop().expect("stop");
    let names = files(dir.path());
    assert_eq!(
        names,
        [
            "app-20300101-000000.jsonl",
            "app-20300101-000000-1.jsonl",
            "app-20300101-000000-2.jsonl"
        ]
    );
    let counts: Vec<usize> = names
        .iter()
        .map(|n| messages(&dir.path().join(n)).len())
        .collect();
    assert_eq!(counts, [3, 3, 2]);
    for n in &names {
        let len = std::fs::metadata(dir.path().join(n)).expect("meta").len();
        assert!(len <= max, "{n}: {len} > {max}");
    }
    assert_eq!(all_messages(dir.path()), expected(0..8));
}

#[test]
fn a_line_longer_than_max_bytes_gets_a_file_of_its_own() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::at(T0);
    let mut sink = builder(dir.path(), &clock)
        .max_bytes(10)
        .build()
        .expect("build");
    sink.write_batch(&batch(0..3)).expect("write");
    let names = files(dir.path());
    assert_eq!(names.len(), 3, "{names:?}");
    for n in &names {
        assert_eq!(messages(&dir.path().join(n)).len(), 1);
    }
    assert_eq!(all_messages(dir.path()), expected(0..3));
}

#[test]
fn time_rotation_follows_epoch_multiples_of_the_interval() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::at(T0 + 59 * 60); // 00:59:00
    let mut sink = builder(dir.path(), &clock)
        .interval(Duration::from_secs(3600))
        .build()
        .expect("build");
    sink.write_batch(&batch(0..1)).expect("write");
    clock.set(T0 + 3599); // 00:59:59: same hour
    sink.write_batch(&batch(1..2)).expect("write");
    clock.set(T0 + 3600); // 01:00:00: the boundary
    sink.write_batch(&batch(2..3)).expect("write");
    clock.set(T0 + 5400); // 01:30:00
    sink.write_batch(&batch(3..4)).expect("write");
    clock.set(T0 + 3 * 3600 + 5); // 03:00:05: one file, not one per missed hour
    sink.write_batch(&batch(4..5)).expect("write");
    let names = files(dir.path());
    assert_eq!(
        names,
        [
            "app-20300101-005900.jsonl",
            "app-20300101-010000.jsonl",
            "app-20300101-030005.jsonl"
        ]
    );
    let per_file: Vec<Vec<String>> = names
        .iter()
        .map(|n| messages(&dir.path().join(n)))
        .collect();
    assert_eq!(per_file, [expected(0..2), expected(2..4), expected(4..5)]);
}

fn old_file(dir: &Path, name: &str) {
    std::fs::write(
        dir.join(name),
        format!(
            "{}\n",
            batch(0..1)
                .lines()
                .next()
                .map(|l| String::from_utf8_lossy(l.bytes).into_owned())
                .unwrap_or_default()
        ),
    )
    .expect("write");
}

#[test]
fn retention_at_start_up_keeps_max_files_rotated_files_plus_the_active_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    for h in 0..6 {
        old_file(dir.path(), &format!("app-20291231-{h:02}0000.jsonl"));
    }
    // Not ours: never touched.
    std::fs::write(dir.path().join("other-20291231-000000.jsonl"), b"x\n").expect("write");
    std::fs::write(dir.path().join("app-notes.txt"), b"x\n").expect("write");
    let clock = ManualClock::at(T0);
    let sink = builder(dir.path(), &clock)
        .max_files(3)
        .build()
        .expect("build");
    assert!(sink.housekeeping().wait_idle(WAIT));
    assert_eq!(sink.housekeeping().deleted(), 3);
    let mut left = files(dir.path());
    left.sort();
    assert_eq!(
        left,
        [
            "app-20291231-030000.jsonl",
            "app-20291231-040000.jsonl",
            "app-20291231-050000.jsonl",
            "app-20300101-000000.jsonl",
            "app-notes.txt",
            "other-20291231-000000.jsonl",
        ]
    );
    drop(sink);

    // A restart: the last active file is now a rotated one; exactly one
    // file goes, not two (tracing#3496).
    clock.set(T0 + 60);
    let sink = builder(dir.path(), &clock)
        .max_files(3)
        .build()
        .expect("build");
    assert!(sink.housekeeping().wait_idle(WAIT));
    let ours: Vec<String> = files(dir.path())
        .into_iter()
        .filter(|n| n.starts_with("app-2"))
        .collect();
    assert_eq!(
        ours,
        [
            "app-20291231-040000.jsonl",
            "app-20291231-050000.jsonl",
            "app-20300101-000000.jsonl",
            "app-20300101-000100.jsonl",
        ]
    );
}

/// Rotates `n` times (one line per file) at one-minute steps.
fn rotate_n(sink: &mut RotatingFileSink, clock: &ManualClock, n: u32) {
    for i in 0..n {
        clock.set(T0 + 60 * u64::from(i));
        sink.write_batch(&batch(i..i + 1)).expect("write");
    }
}

#[test]
fn retention_at_rotation_by_count() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::at(T0);
    let mut sink = builder(dir.path(), &clock)
        .interval(Duration::from_secs(60))
        .max_files(2)
        .build()
        .expect("build");
    rotate_n(&mut sink, &clock, 6);
    assert!(sink.housekeeping().wait_idle(WAIT));
    assert_eq!(
        files(dir.path()),
        [
            "app-20300101-000300.jsonl",
            "app-20300101-000400.jsonl",
            "app-20300101-000500.jsonl"
        ]
    );
    assert_eq!(all_messages(dir.path()), expected(3..6));
}

#[test]
fn retention_at_rotation_by_total_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::at(T0);
    let mut sink = builder(dir.path(), &clock)
        .interval(Duration::from_secs(60))
        .max_total_bytes(2 * line_len() + line_len() / 2)
        .build()
        .expect("build");
    rotate_n(&mut sink, &clock, 5);
    assert!(sink.housekeeping().wait_idle(WAIT));
    // Two rotated files fit the budget; the active one is not counted.
    assert_eq!(all_messages(dir.path()), expected(2..5));
}

#[test]
fn retention_at_rotation_by_age_counts_from_when_a_file_was_closed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::at(T0);
    let mut sink = builder(dir.path(), &clock)
        .interval(Duration::from_secs(60))
        .max_age(Duration::from_secs(150))
        .build()
        .expect("build");
    // Files opened at 0, 60, 120, 180, 240; the one of 0 closed at 60.
    rotate_n(&mut sink, &clock, 5);
    assert!(sink.housekeeping().wait_idle(WAIT));
    // At 240 s: closed at 60 (180 s ago) goes; closed at 120 (120 s ago) stays.
    assert_eq!(all_messages(dir.path()), expected(1..5));
}

#[test]
fn rotated_files_are_gzipped_off_the_writing_thread_and_read_back_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::at(T0);
    let mut sink = builder(dir.path(), &clock)
        .max_bytes(20 * line_len())
        .compress(true)
        .fsync(FsyncPolicy::EveryBatch)
        .build()
        .expect("build");
    for i in 0..10 {
        sink.write_batch(&batch(i * 7..i * 7 + 7)).expect("write");
    }
    assert!(sink.housekeeping().wait_idle(WAIT));
    let names = files(dir.path());
    assert_eq!(names.len(), 4, "{names:?}");
    let (active, rotated) = names.split_last().expect("files");
    assert!(active.ends_with(".jsonl"), "{active}");
    for n in rotated {
        assert!(n.ends_with(".jsonl.gz"), "{n}");
    }
    assert_eq!(sink.housekeeping().compressed(), 3);
    assert_eq!(all_messages(dir.path()), expected(0..70));
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip")
}

#[test]
fn a_compression_cut_short_by_a_crash_is_finished_at_start_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // Crashed while compressing: the original and a partial temporary.
    std::fs::write(d.join("app-20291231-100000.jsonl"), batch(0..3).as_bytes()).expect("write");
    std::fs::write(
        d.join("app-20291231-100000.jsonl.gz.tmp"),
        b"\x1f\x8b partial",
    )
    .expect("write");
    // Crashed after the rename: the original beside its whole `.gz`.
    std::fs::write(d.join("app-20291231-110000.jsonl"), batch(3..5).as_bytes()).expect("write");
    std::fs::write(
        d.join("app-20291231-110000.jsonl.gz"),
        gzip(batch(3..5).as_bytes()),
    )
    .expect("write");
    let clock = ManualClock::at(T0);
    let mut sink = builder(d, &clock).compress(true).build().expect("build");
    assert!(sink.housekeeping().wait_idle(WAIT));
    sink.write_batch(&batch(5..6)).expect("write");
    assert_eq!(
        files(d),
        [
            "app-20291231-100000.jsonl.gz",
            "app-20291231-110000.jsonl.gz",
            "app-20300101-000000.jsonl"
        ]
    );
    assert_eq!(all_messages(d), expected(0..6));
    assert_eq!(sink.housekeeping().errors(), 0);
}

#[test]
fn a_deleted_directory_is_recreated_and_no_line_is_lost() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    let clock = ManualClock::at(T0);
    let mut sink = builder(&logs, &clock).build().expect("build");
    sink.write_batch(&batch(0..3)).expect("write");
    std::fs::remove_dir_all(&logs).expect("rm -r");
    sink.write_batch(&batch(3..6)).expect("write");
    sink.write_batch(&batch(6..7)).expect("write");
    assert_eq!(all_messages(&logs), expected(3..7));
}

#[test]
fn a_file_moved_away_is_reopened_at_its_path_and_nothing_is_lost() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    let clock = ManualClock::at(T0);
    let mut sink = builder(&logs, &clock).build().expect("build");
    let path = sink.current_path().to_path_buf();
    sink.write_batch(&batch(0..3)).expect("write");
    let moved = dir.path().join("moved.jsonl");
    std::fs::rename(&path, &moved).expect("mv");
    sink.write_batch(&batch(3..5)).expect("write");
    let mut got = messages(&moved);
    got.extend(messages(&path));
    assert_eq!(got, expected(0..5));
}

#[test]
fn a_file_replaced_at_its_path_is_followed_without_a_signal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::at(T0);
    let mut sink = builder(dir.path(), &clock).build().expect("build");
    let path = sink.current_path().to_path_buf();
    sink.write_batch(&batch(0..2)).expect("write");
    // logrotate `create` without a postrotate signal: a new file, another inode.
    let rotated = dir.path().join("app.1");
    std::fs::rename(&path, &rotated).expect("mv");
    std::fs::write(&path, b"").expect("create");
    sink.write_batch(&batch(2..4)).expect("write");
    assert_eq!(messages(&rotated), expected(0..2));
    assert_eq!(messages(&path), expected(2..4));
}

#[test]
fn the_reopen_handle_follows_create_style_logrotate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::at(T0);
    let mut sink = builder(dir.path(), &clock)
        // The path is not checked on its own: only the handle reopens.
        .check_path_every(Duration::from_secs(1 << 30))
        .build()
        .expect("build");
    let reopen = sink.reopen_handle();
    let path = sink.current_path().to_path_buf();
    sink.write_batch(&batch(0..2)).expect("write");
    // logrotate: rename, create an empty file at the path, signal.
    let rotated = dir.path().join("app.1");
    std::fs::rename(&path, &rotated).expect("mv");
    std::fs::write(&path, b"").expect("create");
    reopen.reopen();
    sink.write_batch(&batch(2..4)).expect("write");
    assert_eq!(messages(&rotated), expected(0..2));
    assert_eq!(messages(&path), expected(2..4));
}

#[test]
fn bad_options_are_refused_naming_the_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = RotatingFileSink::builder(dir.path())
        .max_bytes(0)
        .build()
        .expect_err("max_bytes 0");
    let msg = e.to_string();
    assert!(
        msg.contains("rotating_file.max_bytes") && msg.contains("\"0\""),
        "{msg}"
    );
    let e = RotatingFileSink::builder(dir.path())
        .interval(Duration::ZERO)
        .build()
        .expect_err("interval 0");
    assert!(e.to_string().contains("interval_seconds"), "{e}");
    let e = RotatingFileSink::builder(dir.path())
        .filename_prefix("a/b")
        .build()
        .expect_err("prefix");
    assert!(e.to_string().contains("\"a/b\""), "{e}");
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"x").expect("write");
    let e = RotatingFileSink::builder(&blocker)
        .build()
        .expect_err("not a dir");
    assert!(matches!(e, fapilog::Error::Open { .. }), "{e:?}");
}

fn seq_of(line: &serde_json::Value) -> (u64, u64) {
    let d = &line["log"]["data"];
    (
        d["producer"].as_u64().expect("producer"),
        d["seq"].as_u64().expect("seq"),
    )
}

#[test]
fn no_line_is_lost_or_duplicated_across_rotations_under_two_producers() {
    const PER: u64 = 3_000;
    let dir = tempfile::tempdir().expect("tempdir");
    let max = 16 << 10;
    let sink = RotatingFileSink::builder(dir.path())
        .filename_prefix("app")
        .max_bytes(max)
        .build()
        .expect("build");
    let pipeline = Pipeline::builder()
        .backpressure(Backpressure::Block)
        .batch_max_events(64)
        .sink(sink)
        .build()
        .expect("pipeline");
    std::thread::scope(|s| {
        for producer in 0..2u64 {
            let log = pipeline.logger("load");
            s.spawn(move || {
                for seq in 0..PER {
                    fapilog::info!(log, "event", producer = producer, seq = seq);
                }
            });
        }
    });
    let report = pipeline.shutdown(Duration::from_secs(30));
    assert!(report.is_complete(), "{report:?}");

    let names = files(dir.path());
    assert!(names.len() > 5, "rotated: {names:?}");
    let mut next = [0u64; 2];
    for n in &names {
        let path: PathBuf = dir.path().join(n);
        assert!(std::fs::metadata(&path).expect("meta").len() <= max, "{n}");
        let text = std::fs::read_to_string(&path).expect("read");
        for l in text.lines() {
            let v: serde_json::Value = serde_json::from_str(l).expect("whole line");
            let (p, seq) = seq_of(&v);
            assert_eq!(seq, next[p as usize], "producer {p} in {n}");
            next[p as usize] += 1;
        }
    }
    assert_eq!(next, [PER, PER]);
}
