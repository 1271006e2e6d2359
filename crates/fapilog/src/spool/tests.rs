//! The spool against the filesystem model: power cuts, full disks, failing
//! fsyncs, crashes at each step of a segment's deletion, and a model-based
//! property test (after Vector's `model_check`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::SystemTime;

use proptest::prelude::*;

use super::fs::{Fault, MemFs};
use super::*;
use crate::batch::Batch;
use crate::encode::Format;
use crate::envelope::MessageId;
use crate::level::Level;
use crate::metrics::spool::SpoolCounters;

fn dir() -> PathBuf {
    PathBuf::from("/spool/sink")
}

fn opts(fsync: SpoolFsync) -> SpoolOptions {
    SpoolOptions::new("/spool")
        .segment_bytes(300)
        .max_bytes(1 << 30)
        .fsync(fsync)
}

fn open(fs: &Arc<MemFs>, o: &SpoolOptions) -> Spool {
    Spool::open(fs.clone(), &dir(), o, Arc::new(SpoolCounters::default())).unwrap()
}

/// A one-line batch whose line is `tag`.
fn batch(tag: u64) -> Batch {
    let mut b = Batch::new(Format::Json);
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&tag.to_le_bytes());
    b.push_line(
        Level::INFO,
        SystemTime::now(),
        MessageId::from_bytes(id),
        tag.to_string().as_bytes(),
    );
    b
}

fn tag(b: &Batch) -> u64 {
    let line = b.lines().next().unwrap();
    let t: u64 = std::str::from_utf8(line.bytes).unwrap().parse().unwrap();
    assert_eq!(
        line.message_id.as_bytes()[..8],
        t.to_le_bytes(),
        "metadata kept"
    );
    t
}

/// Reads and acknowledges everything; the tags in order.
fn drain(s: &mut Spool) -> Vec<u64> {
    let mut out = Vec::new();
    while let Some((seq, b)) = s.peek() {
        out.push(tag(&b));
        s.ack(seq);
        assert!(out.len() < 100_000, "the reader loops");
    }
    out
}

/// A crash: the spool goes away without closing.
fn crash(s: Spool) {
    std::mem::forget(s);
}

fn seg_bytes(fs: &MemFs) -> u64 {
    fs.paths()
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .map(|p| fs.bytes(p).map_or(0, |b| b.len() as u64))
        .sum()
}

#[test]
fn written_batches_come_back_in_order_across_a_crash() {
    let fs = Arc::new(MemFs::default());
    let o = opts(SpoolFsync::Never);
    let mut s = open(&fs, &o);
    for t in 0..20 {
        assert_eq!(s.append(&batch(t)), Appended::Spooled);
    }
    assert!(s.stats.segments.load(Relaxed) > 1);
    let (seq, b) = s.peek().unwrap();
    assert_eq!(tag(&b), 0);
    s.ack(seq);
    crash(s);
    // kill -9 keeps what write() returned for: only the unsynced cursor
    // may be behind, so at most the acknowledged frames come again.
    let mut s = open(&fs, &o);
    let got = drain(&mut s);
    assert!(
        got == (0..20).collect::<Vec<_>>() || got == (1..20).collect::<Vec<_>>(),
        "{got:?}"
    );
    assert_eq!(s.stats.bytes.load(Relaxed), seg_bytes(&fs));
}

#[test]
fn a_power_cut_keeps_what_every_batch_synced_and_nothing_more_is_promised_by_never() {
    for (policy, must_keep) in [(SpoolFsync::EveryBatch, true), (SpoolFsync::Never, false)] {
        let fs = Arc::new(MemFs::default());
        let o = opts(policy);
        let mut s = open(&fs, &o);
        for t in 0..30 {
            s.append(&batch(t));
        }
        crash(s);
        fs.power_cut();
        let mut s = open(&fs, &o);
        let got = drain(&mut s);
        if must_keep {
            assert_eq!(got, (0..30).collect::<Vec<_>>(), "{policy:?}");
        } else {
            // Whatever survives is a prefix-free, ordered subset: no garbage.
            assert!(got.windows(2).all(|w| w[0] < w[1]), "{got:?}");
        }
    }
}

#[test]
fn a_power_cut_with_interval_loses_only_what_came_after_the_last_sync() {
    let fs = Arc::new(MemFs::default());
    let o = opts(SpoolFsync::Interval(std::time::Duration::from_secs(3600)));
    let mut s = open(&fs, &o);
    for t in 0..10 {
        s.append(&batch(t));
    }
    s.close(); // a sync point
    for t in 10..13 {
        s.append(&batch(t));
    }
    crash(s);
    fs.power_cut();
    let mut s = open(&fs, &o);
    let got = drain(&mut s);
    assert!(
        got.len() >= 10 && got[..10] == (0..10).collect::<Vec<_>>()[..],
        "{got:?}"
    );
}

#[test]
fn a_full_disk_applies_the_policy_leaves_no_partial_frame_and_recovers() {
    for fault in [Fault::Full, Fault::ShortWrite] {
        let fs = Arc::new(MemFs::default());
        let o = opts(SpoolFsync::Never).when_full(SpoolWhenFull::DropNewest);
        let mut s = open(&fs, &o);
        s.append(&batch(0));
        let before = seg_bytes(&fs);
        fs.set_fault(Some(fault));
        for t in 1..5 {
            assert_eq!(s.append(&batch(t)), Appended::Dropped);
        }
        assert_eq!(seg_bytes(&fs), before, "no partial frame after {fault:?}");
        assert_eq!(s.stats.dropped_newest.load(Relaxed), 4);
        assert_eq!(s.stats.write_errors.load(Relaxed), 4);
        assert!(s.failing, "one episode, reported once");
        fs.set_fault(None);
        assert_eq!(s.append(&batch(5)), Appended::Spooled);
        assert!(!s.failing);
        assert_eq!(drain(&mut s), [0, 5]);
        crash(s);
        // The cursor was not persisted (policy Never): a crash replays the
        // delivered frames again, never the dropped ones.
        assert_eq!(drain(&mut open(&fs, &o)), [0, 5]);
    }
    let fs = Arc::new(MemFs::default());
    let mut s = open(&fs, &opts(SpoolFsync::Never));
    fs.set_fault(Some(Fault::Full));
    assert_eq!(
        s.append(&batch(0)),
        Appended::Blocked,
        "Block waits for room"
    );
}

#[test]
fn a_failing_fsync_marks_the_spool_degraded_until_one_succeeds() {
    let fs = Arc::new(MemFs::default());
    let mut s = open(&fs, &opts(SpoolFsync::EveryBatch));
    fs.set_fault(Some(Fault::SyncEio));
    s.append(&batch(0));
    assert!(s.stats.degraded.load(Relaxed));
    assert!(s.stats.sync_errors.load(Relaxed) >= 1);
    fs.set_fault(None);
    s.append(&batch(1));
    assert!(!s.stats.degraded.load(Relaxed));
}

#[test]
fn the_cap_is_kept_by_each_policy_and_counted() {
    let cap = 1200;
    for policy in [
        SpoolWhenFull::DropOldest,
        SpoolWhenFull::DropNewest,
        SpoolWhenFull::Block,
    ] {
        let fs = Arc::new(MemFs::default());
        let o = opts(SpoolFsync::Never).max_bytes(cap).when_full(policy);
        let mut s = open(&fs, &o);
        let mut outcomes = Vec::new();
        for t in 0..100 {
            outcomes.push(s.append(&batch(t)));
            assert!(
                seg_bytes(&fs) <= cap + 300,
                "usage {} over cap + one segment",
                seg_bytes(&fs)
            );
        }
        let got = drain(&mut s);
        let st = s.stats.snapshot();
        let spooled = outcomes.iter().filter(|o| **o == Appended::Spooled).count() as u64;
        match policy {
            SpoolWhenFull::DropOldest => {
                assert_eq!(spooled, 100);
                assert_eq!(st.dropped_oldest + got.len() as u64, 100, "{st:?}");
                assert_eq!(*got.last().unwrap(), 99, "the newest are kept");
                assert!(got.windows(2).all(|w| w[0] < w[1]));
            }
            SpoolWhenFull::DropNewest => {
                assert_eq!(st.dropped_newest, 100 - spooled);
                assert_eq!(got, (0..spooled).collect::<Vec<_>>(), "the oldest are kept");
            }
            _ => {
                assert_eq!(
                    outcomes.iter().filter(|o| **o == Appended::Blocked).count() as u64,
                    100 - spooled
                );
                assert_eq!(st.dropped_total(), 0);
                assert_eq!(got, (0..spooled).collect::<Vec<_>>());
            }
        }
    }
}

/// Runs `f`, which "crashes" at the MemFs crash point `step`.
fn crash_at(fs: &Arc<MemFs>, step: &'static str, f: impl FnOnce()) {
    *fs.crash_on.lock().unwrap() = Some(step);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    assert!(r.is_err(), "the crash point {step} was reached");
    *fs.crash_on.lock().unwrap() = None;
}

#[test]
fn a_crash_at_each_step_of_a_segment_deletion_restarts_cleanly() {
    // "rename": the new cursor was written and synced but not renamed;
    // "remove": the cursor is renamed, the segment not yet unlinked.
    for step in ["rename", "remove"] {
        let fs = Arc::new(MemFs::default());
        let o = opts(SpoolFsync::EveryBatch);
        let mut s = open(&fs, &o);
        for t in 0..12 {
            s.append(&batch(t));
        }
        let mut delivered = Vec::new();
        crash_at(&fs, step, || loop {
            let (seq, b) = s.peek().unwrap();
            delivered.push(tag(&b));
            s.ack(seq);
        });
        crash(s);
        let mut s = open(&fs, &o);
        let again = drain(&mut s);
        let last = *delivered.last().unwrap();
        // Nothing lost, nothing garbled, duplicates only within the
        // deleted segment.
        let all: BTreeSet<u64> = delivered.iter().chain(&again).copied().collect();
        assert_eq!(
            all,
            (0..12).collect(),
            "{step}: {delivered:?} then {again:?}"
        );
        assert!(
            again.iter().all(|t| *t > last || *t + 5 > last),
            "{step}: {again:?}"
        );
        assert!(again.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(s.stats.bytes.load(Relaxed), seg_bytes(&fs));
    }
}

#[test]
fn a_cursor_ahead_of_or_behind_the_data_starts_and_resumes() {
    let fs = Arc::new(MemFs::default());
    let o = opts(SpoolFsync::EveryBatch);
    let mut s = open(&fs, &o);
    for t in 0..10 {
        s.append(&batch(t));
    }
    let old_cursor = fs.bytes(&dir().join("cursor"));
    let got = drain(&mut s);
    assert_eq!(got.len(), 10);
    s.append(&batch(10));
    drop(s);
    // Behind: an old cursor (or none) replays what is still on disk.
    match old_cursor {
        Some(c) => fs.put(&dir().join("cursor"), c),
        None => {
            let _ = fs.remove(&dir().join("cursor"));
        }
    }
    let mut s = open(&fs, &o);
    let again = drain(&mut s);
    assert_eq!(*again.last().unwrap(), 10, "{again:?}");
    drop(s);
    // Ahead: a cursor past every frame; new frames still come out after it.
    cursor::store(&*fs, &dir(), 1_000_000, true).unwrap();
    let mut s = open(&fs, &o);
    assert!(drain(&mut s).is_empty());
    s.append(&batch(11));
    crash(s);
    assert_eq!(drain(&mut open(&fs, &o)), [11]);
}

#[test]
fn corrupt_frames_torn_tails_and_implausible_lengths_are_skipped_and_counted() {
    let fs = Arc::new(MemFs::default());
    let o = opts(SpoolFsync::Never);
    let mut s = open(&fs, &o);
    for t in 0..12 {
        s.append(&batch(t));
    }
    crash(s);
    let segs: Vec<PathBuf> = fs
        .paths()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    assert!(segs.len() >= 3);
    // A bit flip in the first sealed segment's first payload.
    let mut b = fs.bytes(&segs[0]).unwrap();
    b[frame::HEADER + 3] ^= 0x40;
    fs.put(&segs[0], b);
    // An implausible length in the second.
    let mut b = fs.bytes(&segs[1]).unwrap();
    b[..4].copy_from_slice(&u32::MAX.to_le_bytes());
    fs.put(&segs[1], b);
    // A torn tail in the newest.
    let last = segs.last().unwrap();
    let b = fs.bytes(last).unwrap();
    fs.put(last, b[..b.len() - 3].to_vec());
    let mut s = open(&fs, &o);
    let got = drain(&mut s);
    assert!(got.windows(2).all(|w| w[0] < w[1]), "{got:?}");
    assert!(!got.contains(&0), "the flipped frame is skipped");
    assert_eq!(s.stats.corrupt.load(Relaxed), 3, "one each");
    // Later writes append cleanly after the cut tail.
    s.append(&batch(99));
    assert_eq!(drain(&mut s), [99]);
}

// ------------------------------------------------------------ the model

#[derive(Clone, Debug)]
enum Op {
    Write,
    Read,
    Ack,
    Maintain,
    Crash,
    PowerCut,
    Corrupt(usize, usize),
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => Just(Op::Write),
        3 => Just(Op::Read),
        3 => Just(Op::Ack),
        1 => Just(Op::Maintain),
        1 => Just(Op::Crash),
        1 => Just(Op::PowerCut),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Op::Corrupt(a, b)),
        1 => Just(Op::Restart),
    ]
}

/// The tags in a segment file's frames.
fn tags_in(fs: &MemFs, p: &Path) -> Vec<u64> {
    let b = fs.bytes(p).unwrap_or_default();
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        match segment::step(&b, at) {
            segment::Step::Frame(h) => {
                if let Some(batch) = frame::decode(&b[at + frame::HEADER..at + h.frame_len()]) {
                    out.push(tag(&batch));
                }
                at += h.frame_len();
            }
            segment::Step::Corrupt(len) => at += len,
            _ => return out,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn the_spool_agrees_with_its_model(ops in proptest::collection::vec(op(), 1..120), every_batch in any::<bool>()) {
        agrees_with_the_model(ops, every_batch)?;
    }
}

#[test]
fn a_segment_corrupted_again_after_a_write_loses_only_its_own_frames() {
    // Found by the model test: three corruptions of one segment around a write.
    let ops = vec![
        Op::Write,
        Op::Write,
        Op::Write,
        Op::Write,
        Op::Corrupt(0, 13_495_236_302_777_201_736),
        Op::Corrupt(715, 7_433_757_098_020_046_185),
        Op::Write,
        Op::Corrupt(2_049_439_495_382_551_134, 1_050_101_268_927_533_169),
    ];
    agrees_with_the_model(ops, false).unwrap();
}

/// Runs `ops` against the spool and checks it against a model of what
/// may be delivered, repeated or lost.
fn agrees_with_the_model(ops: Vec<Op>, every_batch: bool) -> Result<(), TestCaseError> {
    let fs = Arc::new(MemFs::default());
    let policy = if every_batch {
        SpoolFsync::EveryBatch
    } else {
        SpoolFsync::Never
    };
    let o = opts(policy);
    let mut s = open(&fs, &o);
    let mut next_tag = 0u64;
    // Written and not acknowledged, in order.
    let mut pending: Vec<u64> = Vec::new();
    // May be gone: corrupted, or cut by a power loss.
    let mut maybe_lost: BTreeSet<u64> = BTreeSet::new();
    // Acknowledged before the last crash: may come again.
    let mut may_repeat: BTreeSet<u64> = BTreeSet::new();
    let mut acked: BTreeSet<u64> = BTreeSet::new();
    // Acknowledged since the spool was last opened.
    let mut acked_now: BTreeSet<u64> = BTreeSet::new();
    let mut last_read: Option<u64> = None;
    let mut peeked: Option<(u64, u64)> = None;
    // Which segment file each tag was written to: a corruption there
    // may lose every frame after it in that file (a damaged length
    // cannot be resynchronised), which parsing alone cannot tell once
    // an earlier corruption hides the rest of the file.
    let mut placed: std::collections::BTreeMap<PathBuf, Vec<u64>> = Default::default();
    let sizes = |fs: &MemFs| -> Vec<(PathBuf, usize)> {
        fs.paths()
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "seg"))
            .map(|p| {
                let n = fs.bytes(&p).map_or(0, |b| b.len());
                (p, n)
            })
            .collect()
    };
    for op in ops {
        if std::env::var_os("SPOOL_DEBUG").is_some() {
            eprintln!(
                "{op:?} files={:?} next_seq={} cursor={} read_at={} segs={:?}",
                fs.paths()
                    .iter()
                    .map(|p| (
                        p.file_name().unwrap().to_str().unwrap().to_owned(),
                        fs.bytes(p).unwrap().len()
                    ))
                    .collect::<Vec<_>>(),
                s.next_seq,
                s.cursor,
                s.read_at,
                s.segments
                    .iter()
                    .map(|g| (g.first_seq, g.len))
                    .collect::<Vec<_>>()
            );
        }
        match op {
            Op::Write => {
                let before = sizes(&fs);
                prop_assert_eq!(s.append(&batch(next_tag)), Appended::Spooled);
                for (p, n) in sizes(&fs) {
                    if !before.contains(&(p.clone(), n)) {
                        placed.entry(p).or_default().push(next_tag);
                    }
                }
                pending.push(next_tag);
                next_tag += 1;
            }
            Op::Read => {
                peeked = None;
                match s.peek() {
                    Some((seq, b)) => {
                        let t = tag(&b);
                        prop_assert!(t < next_tag, "garbage tag {}", t);
                        if let Some(l) = last_read {
                            // The same frame again while unacknowledged, else forward.
                            prop_assert!(
                                t > l || (t == l && !acked_now.contains(&t)),
                                "out of order: {} after {}",
                                t,
                                l
                            );
                        }
                        if acked.contains(&t) {
                            prop_assert!(
                                may_repeat.contains(&t),
                                "{} delivered again without a crash",
                                t
                            );
                        } else {
                            // Nothing before it may be skipped unless it may be lost.
                            for u in pending.iter().filter(|u| **u < t) {
                                prop_assert!(maybe_lost.contains(u), "{} skipped before {}", u, t);
                            }
                        }
                        last_read = Some(t);
                        peeked = Some((seq, t));
                    }
                    None => {
                        for u in &pending {
                            prop_assert!(maybe_lost.contains(u), "{} never delivered", u);
                        }
                    }
                }
            }
            Op::Ack => {
                if let Some((seq, t)) = peeked.take() {
                    s.ack(seq);
                    acked.insert(t);
                    acked_now.insert(t);
                    pending.retain(|u| *u > t);
                }
            }
            Op::Maintain => s.maintain(),
            Op::Crash | Op::PowerCut | Op::Restart => {
                match op {
                    Op::Restart => drop(s),
                    _ => crash(s),
                }
                if !matches!(op, Op::Restart) {
                    may_repeat.extend(acked.iter().copied());
                }
                if matches!(op, Op::PowerCut) {
                    fs.power_cut();
                    if !every_batch {
                        maybe_lost.extend(pending.iter().copied());
                    }
                }
                s = open(&fs, &o);
                last_read = None;
                acked_now.clear();
                peeked = None;
            }
            Op::Corrupt(which, at) => {
                let segs: Vec<PathBuf> = fs
                    .paths()
                    .into_iter()
                    .filter(|p| p.extension().is_some_and(|e| e == "seg"))
                    .collect();
                if !segs.is_empty() {
                    let p = &segs[which % segs.len()];
                    maybe_lost.extend(tags_in(&fs, p));
                    maybe_lost.extend(placed.get(p).into_iter().flatten().copied());
                    let mut b = fs.bytes(p).unwrap_or_default();
                    if !b.is_empty() {
                        let i = at % b.len();
                        b[i] ^= 0x01;
                        fs.put(p, b);
                    }
                    // A corruption is met on the next open's read.
                    crash(s);
                    may_repeat.extend(acked.iter().copied());
                    s = open(&fs, &o);
                    last_read = None;
                    acked_now.clear();
                    peeked = None;
                }
            }
        }
        prop_assert_eq!(
            s.stats.bytes.load(Relaxed),
            seg_bytes(&fs),
            "byte accounting"
        );
    }
    // In the end everything not possibly lost comes out.
    let rest = drain(&mut s);
    for u in &pending {
        if !maybe_lost.contains(u) && last_read.is_none_or(|l| *u > l) {
            prop_assert!(rest.contains(u), "{} lost: {:?}", u, rest);
        }
    }
    Ok(())
}

#[test]
fn a_frame_evicted_while_it_is_delivered_counts_once_as_replayed_or_dropped() {
    let probe = Arc::new(MemFs::default());
    open(&probe, &opts(SpoolFsync::Never)).append(&batch(0));
    let frame = seg_bytes(&probe);
    for delivered in [true, false] {
        let fs = Arc::new(MemFs::default());
        // One frame a segment, room for three.
        let o = opts(SpoolFsync::Never)
            .segment_bytes(frame)
            .max_bytes(3 * frame)
            .when_full(SpoolWhenFull::DropOldest);
        let mut s = open(&fs, &o);
        for t in 0..3 {
            assert_eq!(s.append(&batch(t)), Appended::Spooled);
        }
        let (seq, head) = s.peek().unwrap();
        assert_eq!(tag(&head), 0);
        // Full: the segment of the frame being delivered goes.
        assert_eq!(s.append(&batch(3)), Appended::Spooled);
        assert_eq!(s.stats.dropped_oldest.load(Relaxed), 0, "not yet lost");
        assert_eq!(s.stats.pending_lines.load(Relaxed), 4);
        if delivered {
            s.ack(seq);
        }
        assert_eq!(drain(&mut s), [1, 2, 3]);
        let (replayed, dropped) = (
            s.stats.replayed.load(Relaxed),
            s.stats.dropped_oldest.load(Relaxed),
        );
        assert_eq!(replayed + dropped, 4);
        assert_eq!(dropped, u64::from(!delivered), "delivered: {delivered}");
        assert_eq!(s.stats.pending_lines.load(Relaxed), 0);
    }
}
