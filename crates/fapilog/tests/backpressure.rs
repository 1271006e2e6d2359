//! Every backpressure policy under a burst ten times the queue, with exact
//! counts: what was sent equals what arrived plus what was reported dropped.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{reported_drops, user_events, GatedSink};
use fapilog::testing::CaptureSink;
use fapilog::{Backpressure, DropReason, Level, Pipeline, Submitted};

const LONG: Duration = Duration::from_secs(30);

fn gated(capacity: usize, policy: Backpressure) -> (Pipeline, common::GatedHandle) {
    let (sink, stage, handle) = GatedSink::with_stage();
    let p = Pipeline::builder()
        .enricher(stage)
        .queue_capacity(capacity)
        .batch_max_events(8)
        .batch_max_age(Duration::from_millis(1))
        .backpressure(policy)
        .sink(sink)
        .build()
        .unwrap();
    (p, handle)
}

/// Logs one event and waits until the worker is stuck processing it.
fn hold_worker(p: &Pipeline, h: &common::GatedHandle) {
    fapilog::info!(p.logger("hold"), "holder");
    assert!(h.gate.wait_blocked(LONG), "worker never reached the sink");
}

#[test]
fn drop_policy_counts_every_drop_exactly() {
    let cap = 100;
    let (p, h) = gated(cap, Backpressure::Drop);
    hold_worker(&p, &h);
    let log = p.logger("burst");
    for i in 0..cap * 10 {
        fapilog::info!(log, "burst", i = i);
    }
    let m = p.metrics();
    assert_eq!(m.queue_depth, cap);
    assert_eq!(m.dropped_for(DropReason::QueueFull), (cap * 9) as u64);
    h.gate.open();
    let report = p.shutdown(LONG);
    let all = h.envelopes();
    let events = user_events(&all);
    assert_eq!(events.len(), cap + 1);
    assert_eq!(reported_drops(&all), (cap * 9) as u64);
    assert_eq!(report.submitted, (cap * 10 + 1) as u64);
    assert_eq!(report.written, (cap + 1) as u64);
    assert_eq!(
        report.dropped,
        vec![(DropReason::QueueFull, (cap * 9) as u64)]
    );
    // The events that got in are the first ones, in order.
    let kept: Vec<u64> = events[1..]
        .iter()
        .map(|e| e["log"]["data"]["i"].as_u64().unwrap())
        .collect();
    assert_eq!(kept, (0..cap as u64).collect::<Vec<_>>());
    // The drop report is a WARNING with counts by level and reason.
    let rep = all
        .iter()
        .find(|e| e["log"]["message"] == "logs dropped")
        .unwrap();
    assert_eq!(rep["log"]["level"], "WARNING");
    assert_eq!(rep["log"]["data"]["by_level"]["INFO"], (cap * 9) as u64);
    assert_eq!(
        rep["log"]["data"]["by_reason"]["queue_full"],
        (cap * 9) as u64
    );
}

#[test]
fn wait_policy_loses_nothing_in_a_burst_ten_times_the_queue() {
    let cap = 64;
    let (sink, captured) = CaptureSink::new();
    let p = Pipeline::builder()
        .queue_capacity(cap)
        .batch_max_events(16)
        .backpressure(Backpressure::Wait { timeout: LONG })
        .sink(sink)
        .build()
        .unwrap();
    let per_thread = cap * 10;
    std::thread::scope(|s| {
        for t in 0..2 {
            let log = p.logger("burst");
            s.spawn(move || {
                for i in 0..per_thread {
                    fapilog::info!(log, "burst", thread = t, i = i);
                }
            });
        }
    });
    let report = p.shutdown(LONG);
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.written, (2 * per_thread) as u64);
    assert_eq!(captured.len(), 2 * per_thread);
    // Per producer, order is preserved.
    for t in 0..2 {
        let seq: Vec<u64> = captured
            .envelopes()
            .iter()
            .filter(|e| e["log"]["data"]["thread"] == t)
            .map(|e| e["log"]["data"]["i"].as_u64().unwrap())
            .collect();
        assert_eq!(seq, (0..per_thread as u64).collect::<Vec<_>>());
    }
}

#[test]
fn wait_policy_drops_and_counts_after_its_timeout() {
    let cap = 20;
    let (p, h) = gated(
        cap,
        Backpressure::Wait {
            timeout: Duration::from_millis(5),
        },
    );
    hold_worker(&p, &h);
    let log = p.logger("t");
    for i in 0..cap + 7 {
        fapilog::info!(log, "e", i = i);
    }
    let m = p.metrics();
    assert_eq!(m.dropped_for(DropReason::WaitTimeout), 7);
    assert_eq!(m.dropped_total, 7);
    h.gate.open();
    let report = p.shutdown(LONG);
    let all = h.envelopes();
    assert_eq!(user_events(&all).len(), cap + 1);
    assert_eq!(reported_drops(&all), 7);
    assert_eq!(report.dropped, vec![(DropReason::WaitTimeout, 7)]);
}

#[test]
fn block_policy_waits_for_room_however_long_it_takes() {
    let cap = 10;
    let (p, h) = gated(cap, Backpressure::Block);
    hold_worker(&p, &h);
    let done = Arc::new(AtomicBool::new(false));
    let producer = {
        let log = p.logger("t");
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            for i in 0..cap * 10 {
                fapilog::info!(log, "e", i = i);
            }
            done.store(true, Ordering::SeqCst);
        })
    };
    // The producer fills the queue and then blocks.
    let deadline = Instant::now() + LONG;
    while p.metrics().queue_depth < cap {
        assert!(Instant::now() < deadline);
        std::thread::yield_now();
    }
    assert!(
        !done.load(Ordering::SeqCst),
        "a full queue must block the producer"
    );
    h.gate.open();
    producer.join().unwrap();
    let report = p.shutdown(LONG);
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(user_events(&h.envelopes()).len(), cap * 10 + 1);
}

#[test]
fn async_wait_awaits_room_then_times_out_exactly() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Room appears: nothing lost.
    let cap = 10;
    let (p, h) = gated(cap, Backpressure::Wait { timeout: LONG });
    hold_worker(&p, &h);
    let log = p.logger("async");
    let task = rt.spawn({
        let log = log.clone();
        async move {
            let mut queued = 0;
            for i in 0..cap * 5 {
                if fapilog::log_async!(log, Level::INFO, "a", i = i).await == Submitted::Queued {
                    queued += 1;
                }
            }
            queued
        }
    });
    let deadline = Instant::now() + LONG;
    while p.metrics().queue_depth < cap {
        assert!(Instant::now() < deadline);
        std::thread::yield_now();
    }
    h.gate.open();
    assert_eq!(rt.block_on(task).unwrap(), cap * 5);
    let report = p.shutdown(LONG);
    assert!(report.is_complete(), "{report:?}");

    // No room ever: each waiting call gives up after the timeout, counted.
    let (p, h) = gated(
        cap,
        Backpressure::Wait {
            timeout: Duration::from_millis(5),
        },
    );
    hold_worker(&p, &h);
    let log = p.logger("async");
    let outcomes = rt.block_on(async move {
        let mut out = Vec::new();
        for i in 0..cap + 4 {
            out.push(fapilog::log_async!(log, Level::INFO, "a", i = i).await);
        }
        out
    });
    let timed_out = outcomes
        .iter()
        .filter(|o| **o == Submitted::Dropped(DropReason::WaitTimeout))
        .count();
    assert_eq!(timed_out, 4);
    assert_eq!(p.metrics().dropped_for(DropReason::WaitTimeout), 4);
    h.gate.open();
    p.shutdown(LONG);
}

#[test]
fn in_band_reports_add_up_with_many_producers_and_a_slow_sink() {
    struct Slow(Arc<std::sync::Mutex<Vec<String>>>);
    impl fapilog::Sink for Slow {
        fn name(&self) -> &str {
            "slow"
        }
        fn write_batch(&mut self, b: &fapilog::Batch) -> Result<(), fapilog::SinkError> {
            // Slowness, not synchronisation: the sink is simply slower than the producers.
            std::thread::sleep(Duration::from_micros(200));
            let mut v = self.0.lock().unwrap();
            v.extend(
                b.lines()
                    .map(|l| String::from_utf8_lossy(l.bytes).into_owned()),
            );
            Ok(())
        }
    }
    let lines = Arc::new(std::sync::Mutex::new(Vec::new()));
    let p = Pipeline::builder()
        .queue_capacity(64)
        .batch_max_events(16)
        .drop_summary_interval(Duration::from_millis(5))
        .backpressure(Backpressure::Drop)
        // The sink's buffer blocks the worker, so the loss happens at the
        // queue, where the callers' policy decides.
        .sink_with(
            Slow(Arc::clone(&lines)),
            fapilog::SinkOptions::new().when_full(fapilog::WhenFull::Block),
        )
        .build()
        .unwrap();
    let per_thread = 5_000;
    std::thread::scope(|s| {
        for t in 0..4 {
            let log = p.logger("many");
            s.spawn(move || {
                for i in 0..per_thread {
                    if i % 3 == 0 {
                        fapilog::debug!(log, "d", t = t, i = i);
                    } else {
                        fapilog::warning!(log, "w", t = t, i = i);
                    }
                }
            });
        }
    });
    let report = p.shutdown(LONG);
    let all: Vec<serde_json::Value> = lines
        .lock()
        .unwrap()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let sent = 4 * per_thread as u64;
    // DEBUG is below the default INFO level: never submitted.
    let debug_sent = 4 * (0..per_thread).filter(|i| i % 3 == 0).count() as u64;
    let arrived = user_events(&all).len() as u64;
    let reported = reported_drops(&all);
    assert!(reported > 0, "the slow sink should have caused drops");
    assert_eq!(arrived + reported, sent - debug_sent);
    assert_eq!(report.dropped_total(), reported);
    assert_eq!(report.submitted, sent - debug_sent);
    assert_eq!(report.written, arrived);
}

/// Logs `n` events from producer `t`: one ERROR in six, the rest WARNING
/// and INFO.
fn mixed_burst(log: &fapilog::Logger, t: usize, n: usize) {
    for i in 0..n {
        match i % 6 {
            0 => fapilog::error!(log, "burst", t = t, i = i),
            1 | 3 => fapilog::warning!(log, "burst", t = t, i = i),
            _ => fapilog::info!(log, "burst", t = t, i = i),
        }
    }
}

/// Runs `total` events split over `producers` threads.
fn burst_from(p: &Pipeline, producers: usize, total: usize) {
    std::thread::scope(|s| {
        for t in 0..producers {
            let log = p.logger("burst");
            s.spawn(move || mixed_burst(&log, t, total / producers));
        }
    });
}

/// Each producer's events arrived complete and in its call order.
fn assert_complete_in_order(envelopes: &[serde_json::Value], producers: usize, total: usize) {
    for t in 0..producers {
        let seq: Vec<u64> = envelopes
            .iter()
            .filter(|e| e["log"]["message"] == "burst" && e["log"]["data"]["t"] == t)
            .map(|e| e["log"]["data"]["i"].as_u64().unwrap())
            .collect();
        assert_eq!(seq, (0..(total / producers) as u64).collect::<Vec<_>>());
    }
}

#[test]
fn block_and_the_hardened_preset_lose_nothing_in_mixed_level_bursts() {
    let cap = 64;
    let total = cap * 10 * 4;
    for producers in [1, 4] {
        for hardened in [false, true] {
            let (sink, captured) = CaptureSink::new();
            let mut b = Pipeline::builder();
            b = if hardened {
                b.preset(fapilog::settings::Preset::Hardened)
            } else {
                b.backpressure(Backpressure::Block)
            };
            let p = b
                .queue_capacity(cap)
                .protected_queue_capacity(8)
                .batch_max_events(16)
                .sink(sink)
                .build()
                .unwrap();
            burst_from(&p, producers, total);
            let report = p.shutdown(LONG);
            let what = format!("hardened={hardened}, {producers} producers: {report:?}");
            assert!(report.is_complete(), "{what}");
            assert_eq!(report.submitted, total as u64, "{what}");
            assert_eq!(report.written, total as u64, "{what}");
            assert_eq!(captured.len(), total, "{what}");
            assert_complete_in_order(&captured.envelopes(), producers, total);
        }
    }
}

#[test]
fn wait_loses_nothing_while_the_worker_keeps_draining() {
    let cap = 64;
    let total = cap * 10 * 4;
    for (producers, workers) in [(1, 1), (4, 1), (4, 2)] {
        let (sink, captured) = CaptureSink::new();
        let p = Pipeline::builder()
            .queue_capacity(cap)
            .protected_queue_capacity(8)
            .batch_max_events(16)
            .workers(workers)
            .backpressure(Backpressure::Wait { timeout: LONG })
            .sink(sink)
            .build()
            .unwrap();
        burst_from(&p, producers, total);
        let report = p.shutdown(LONG);
        assert!(report.is_complete(), "{producers} producers: {report:?}");
        assert_eq!(captured.len(), total);
        assert_complete_in_order(&captured.envelopes(), producers, total);
    }
}

#[test]
fn wait_drops_exactly_the_events_whose_timeout_passed_while_the_worker_was_held() {
    let (cap, reserve) = (20, 4);
    let total = cap * 10;
    for producers in [1, 4] {
        let (p, h) = gated_with_reserve(
            cap,
            reserve,
            Backpressure::Wait {
                timeout: Duration::from_millis(1),
            },
        );
        hold_worker(&p, &h);
        burst_from(&p, producers, total);
        // The main queue and the reserve filled up; every other call waited
        // for its whole timeout while the worker was held.
        let accepted = cap + reserve;
        let timed_out = (total - accepted) as u64;
        let m = p.metrics();
        assert_eq!(m.dropped_for(DropReason::WaitTimeout), timed_out);
        assert_eq!(m.dropped_total, timed_out);
        h.gate.open();
        let report = p.shutdown(LONG);
        let all = h.envelopes();
        assert_eq!(user_events(&all).len(), accepted + 1);
        assert_eq!(reported_drops(&all), timed_out);
        assert_eq!(report.submitted, total as u64 + 1);
        assert_eq!(report.written, accepted as u64 + 1);
        assert_eq!(report.dropped, vec![(DropReason::WaitTimeout, timed_out)]);
    }
}

#[test]
fn drop_counts_every_loss_by_reason_with_mixed_levels() {
    // One producer against a held worker: the counts follow from the rules.
    let (cap, reserve) = (20, 4);
    let total = cap * 10;
    let (p, h) = gated_with_reserve(cap, reserve, Backpressure::Drop);
    hold_worker(&p, &h);
    burst_from(&p, 1, total);
    let (mut main, mut protected, mut evicted, mut full) = (0, 0, 0u64, 0u64);
    for i in 0..total {
        if i % 6 == 0 {
            if protected < reserve {
                protected += 1;
            } else if main > 0 && protected < reserve + cap {
                // Evicts the oldest lower-level event (the protected queue
                // has the main queue's size again in extra slots for this).
                main -= 1;
                protected += 1;
                evicted += 1;
            } else {
                full += 1;
            }
        } else if main < cap {
            main += 1;
        } else {
            full += 1;
        }
    }
    h.gate.open();
    let report = p.shutdown(LONG);
    assert_eq!(report.submitted, total as u64 + 1);
    assert_eq!(report.written, (main + protected + 1) as u64);
    assert_eq!(
        report.dropped,
        vec![
            (DropReason::QueueFull, full),
            (DropReason::Evicted, evicted)
        ]
    );
    assert_eq!(reported_drops(&h.envelopes()), full + evicted);

    // Several producers and workers against a live worker: every event is
    // written or counted, and the in-band reports say the same.
    for (producers, workers) in [(1, 1), (4, 1), (4, 2)] {
        let (sink, captured) = CaptureSink::new();
        let p = Pipeline::builder()
            .queue_capacity(16)
            .protected_queue_capacity(2)
            .batch_max_events(16)
            .workers(workers)
            .drop_summary_interval(Duration::from_millis(5))
            .backpressure(Backpressure::Drop)
            .sink(sink)
            .build()
            .unwrap();
        burst_from(&p, producers, 16 * 10 * 4);
        let report = p.shutdown(LONG);
        let all = captured.envelopes();
        assert_eq!(report.submitted, 16 * 10 * 4);
        assert_eq!(report.submitted, report.written + report.dropped_total());
        assert_eq!(user_events(&all).len() as u64, report.written);
        assert_eq!(reported_drops(&all), report.dropped_total());
    }
}

fn gated_with_reserve(
    capacity: usize,
    reserve: usize,
    policy: Backpressure,
) -> (Pipeline, common::GatedHandle) {
    let (sink, stage, handle) = GatedSink::with_stage();
    let p = Pipeline::builder()
        .enricher(stage)
        .queue_capacity(capacity)
        .protected_queue_capacity(reserve)
        .batch_max_events(8)
        .batch_max_age(Duration::from_millis(1))
        .backpressure(policy)
        .sink(sink)
        .build()
        .unwrap();
    (p, handle)
}
