//! Call order per thread: with any number of workers, the lines of one
//! producer thread reach the sink in the order the thread logged them,
//! whatever their levels.

use std::time::Duration;

use fapilog::testing::CaptureSink;
use fapilog::{Backpressure, Pipeline};

const LONG: Duration = Duration::from_secs(30);

/// `producers` threads each log `per_thread` events carrying `(t, seq)`,
/// one ERROR in five, into a small queue drained by `workers` workers;
/// returns each thread's sequence numbers in the order the sink saw them.
fn run(workers: usize, producers: usize, per_thread: usize) -> Vec<Vec<u64>> {
    let (sink, captured) = CaptureSink::new();
    let p = Pipeline::builder()
        .workers(workers)
        .queue_capacity(256)
        .protected_queue_capacity(16)
        .batch_max_events(32)
        .backpressure(Backpressure::Block)
        .sink(sink)
        .build()
        .unwrap();
    std::thread::scope(|s| {
        for t in 0..producers {
            let log = p.logger("order");
            s.spawn(move || {
                for seq in 0..per_thread {
                    match seq % 5 {
                        0 => fapilog::error!(log, "o", t = t, seq = seq),
                        1 => fapilog::warning!(log, "o", t = t, seq = seq),
                        _ => fapilog::info!(log, "o", t = t, seq = seq),
                    }
                }
            });
        }
    });
    let report = p.shutdown(LONG);
    assert!(report.is_complete(), "{report:?}");
    let mut seen = vec![Vec::new(); producers];
    for e in captured.envelopes() {
        let data = &e["log"]["data"];
        let t = data["t"].as_u64().unwrap() as usize;
        seen[t].push(data["seq"].as_u64().unwrap());
    }
    seen
}

#[test]
fn each_threads_lines_keep_call_order_with_two_and_four_workers() {
    let per_thread = 5_000;
    for (workers, producers) in [(2, 3), (2, 4), (4, 6)] {
        let seen = run(workers, producers, per_thread);
        for (t, seqs) in seen.iter().enumerate() {
            assert_eq!(
                seqs.len(),
                per_thread,
                "{workers} workers: thread {t} lost events"
            );
            let out_of_order = seqs.windows(2).filter(|w| w[0] >= w[1]).count();
            assert_eq!(
                out_of_order, 0,
                "{workers} workers, {producers} producers: thread {t} has {out_of_order} out-of-order pairs"
            );
        }
    }
}
