//! Recovery from damaged spool files on disk: a torn tail, a flipped bit
//! in a sealed segment, an implausible length, a cursor ahead of or behind
//! the data, a missing segment. The spool always starts, never loops,
//! delivers what is whole and counts what it skipped.
#![cfg(feature = "spool")]

mod spool_support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use fapilog::sinks::{SinkOptions, SpoolFsync, SpoolMode, SpoolOptions, WhenFull};
use spool_support::*;

const WAIT: Duration = Duration::from_secs(30);

fn options(root: &Path) -> SinkOptions {
    SinkOptions::new().when_full(WhenFull::Block).spool(
        SpoolOptions::new(root)
            .mode(SpoolMode::Always)
            .fsync(SpoolFsync::EveryBatch)
            .segment_bytes(8 * 1024),
    )
}

/// Spools `n` events with the sink down, then stops: the spool keeps them.
fn fill(root: &Path, n: u64) {
    let p = builder()
        .sink_with(
            OutageSink::new(true),
            quick(SpoolOptions::new(root)).spool(
                SpoolOptions::new(root)
                    .mode(SpoolMode::Always)
                    .fsync(SpoolFsync::EveryBatch)
                    .segment_bytes(8 * 1024),
            ),
        )
        .build()
        .unwrap();
    log(&p, 0..n);
    let report = p.shutdown(Duration::from_millis(300));
    assert_eq!(report.sinks[0].spooled, n);
}

fn segments(root: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(sink_dir(root))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    v.sort();
    v
}

/// Starts a pipeline on the spool and delivers it; the seqs and the
/// corrupt-frame count.
fn recover(root: &Path) -> (Vec<u64>, u64) {
    let sink = OutageSink::new(false);
    let p = builder()
        .sink_with(sink.clone(), options(root))
        .build()
        .unwrap();
    p.flush(WAIT).unwrap();
    let corrupt = p.metrics().sinks[0].spool.as_ref().unwrap().corrupt_skipped;
    assert_eq!(p.shutdown(WAIT).sinks[0].spooled, 0);
    (sink.seqs(), corrupt)
}

fn ordered(seqs: &[u64]) -> bool {
    seqs.windows(2).all(|w| w[0] < w[1])
}

#[test]
fn a_torn_tail_is_cut_at_the_last_whole_frame_and_later_writes_append_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), 300);
    let last = segments(dir.path()).pop().unwrap();
    let len = std::fs::metadata(&last).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&last).unwrap();
    f.set_len(len - 7).unwrap();
    drop(f);
    let (seqs, corrupt) = recover(dir.path());
    assert_eq!(corrupt, 1, "the torn frame is counted once");
    assert!(
        ordered(&seqs) && seqs.len() < 300 && seqs[0] == 0,
        "{}",
        seqs.len()
    );
    // Appends after the cut replay whole.
    let sink = OutageSink::new(true);
    let p = builder()
        .sink_with(sink, options(dir.path()))
        .build()
        .unwrap();
    log(&p, 300..310);
    p.shutdown(Duration::from_millis(300));
    drop(p);
    let (seqs, corrupt) = recover(dir.path());
    assert_eq!((seqs, corrupt), ((300..310).collect(), 0));
}

#[test]
fn a_flipped_bit_and_an_implausible_length_in_sealed_segments_are_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), 600);
    let segs = segments(dir.path());
    assert!(segs.len() >= 4, "{} segments", segs.len());
    let mut b = std::fs::read(&segs[0]).unwrap();
    b[40] ^= 0x08;
    std::fs::write(&segs[0], b).unwrap();
    let mut b = std::fs::read(&segs[1]).unwrap();
    b[..4].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&segs[1], b).unwrap();
    let (seqs, corrupt) = recover(dir.path());
    assert_eq!(corrupt, 2);
    assert!(ordered(&seqs));
    assert!(!seqs.contains(&0), "the flipped frame's lines are gone");
    assert!(seqs.contains(&599), "the frames after them are delivered");
}

#[test]
fn a_cursor_behind_the_data_repeats_a_bounded_gap_and_one_ahead_skips_only_old_frames() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), 200);
    let cursor = sink_dir(dir.path()).join("cursor");
    let old = std::fs::read(&cursor).ok();
    let (seqs, _) = recover(dir.path());
    assert_eq!(assert_complete(&seqs, 200), 0);
    // Behind: the old cursor (or none) replays what is still on disk.
    fill(dir.path(), 0);
    match &old {
        Some(b) => std::fs::write(&cursor, b).unwrap(),
        None => {
            let _ = std::fs::remove_file(&cursor);
        }
    }
    let (again, _) = recover(dir.path());
    assert!(again.len() <= 200 && ordered(&again), "{}", again.len());
    // Ahead: a cursor past every frame; new frames still come out.
    let mut ahead = 1_000_000u64.to_le_bytes().to_vec();
    ahead.extend(crc32c_of(&1_000_000u64.to_le_bytes()).to_le_bytes());
    std::fs::write(&cursor, ahead).unwrap();
    let sink = OutageSink::new(true);
    let p = builder()
        .sink_with(sink, options(dir.path()))
        .build()
        .unwrap();
    log(&p, 0..5);
    p.shutdown(Duration::from_millis(300));
    drop(p);
    let (seqs, _) = recover(dir.path());
    assert_eq!(seqs, (0..5).collect::<Vec<_>>());
}

#[test]
fn a_missing_segment_counts_as_read() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), 600);
    let segs = segments(dir.path());
    std::fs::remove_file(&segs[1]).unwrap();
    let (seqs, _) = recover(dir.path());
    assert!(ordered(&seqs));
    assert!(seqs.contains(&0) && seqs.contains(&599), "{}", seqs.len());
}

/// CRC32C (Castagnoli), bitwise: the cursor's checksum.
fn crc32c_of(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
