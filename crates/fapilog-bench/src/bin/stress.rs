//! `stress`: bursts events into a pipeline with a discarding sink, again and
//! again, and reports what each run lost. Not a timed test: a check that
//! the default `Wait { 50ms }` policy loses nothing while the worker drains.
//!
//! ```text
//! cargo run --release -p fapilog-bench --bin stress -- \
//!     [--producers 2,4] [--runs 20] [--events 1000000] [--workers 1] [--mixed]
//! ```
//!
//! Each run starts a fresh pipeline (default settings: a 10,000-event queue
//! and `Wait { 50ms }`), has `p` threads log `events / p` events each
//! ("message + 5 fields"; with `--mixed`, one ERROR in six), shuts down,
//! and prints the drops by reason. The exit code is 1 when anything was
//! lost.
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fapilog::{Backpressure, Batch, Level, Pipeline, Sink, SinkError};

const USAGE: &str = "usage: stress [--producers 2,4] [--runs 20] [--events 1000000] \
[--workers 1] [--mixed]";

struct Options {
    producers: Vec<usize>,
    runs: usize,
    events: usize,
    workers: usize,
    mixed: bool,
}

/// Counts the lines it is given and throws them away.
struct Discard(Arc<AtomicU64>);

impl Sink for Discard {
    fn name(&self) -> &str {
        "discard"
    }

    fn write_batch(&mut self, batch: &Batch) -> Result<(), SinkError> {
        self.0.fetch_add(batch.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

fn main() -> ExitCode {
    let opts = match parse(std::env::args().skip(1).collect()) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("stress: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    println!(
        "stress: {} events per run, {} runs per producer count, {} worker(s), policy {:?}{}",
        opts.events,
        opts.runs,
        opts.workers,
        Backpressure::default(),
        if opts.mixed { ", one ERROR in six" } else { "" }
    );
    let mut lost_total = 0u64;
    let mut events_total = 0u64;
    for &producers in &opts.producers {
        let mut lost_here = 0u64;
        for run in 1..=opts.runs {
            let r = match one_run(&opts, producers) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("stress: {e}");
                    return ExitCode::from(2);
                }
            };
            lost_here += r.lost;
            events_total += r.submitted;
            println!(
                "producers={producers} run={run:>2} submitted={} written={} lost={}{} \
                 elapsed_ms={} events_per_s={:.0} slowest_call={:.1?}",
                r.submitted,
                r.written,
                r.lost,
                if r.by_reason.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", r.by_reason)
                },
                r.elapsed.as_millis(),
                r.submitted as f64 / r.elapsed.as_secs_f64().max(1e-9),
                r.slowest_call,
            );
        }
        println!(
            "producers={producers}: lost {lost_here} in {} runs",
            opts.runs
        );
        lost_total += lost_here;
    }
    println!("total: lost {lost_total} of {events_total} events");
    if lost_total == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

struct RunResult {
    submitted: u64,
    written: u64,
    lost: u64,
    by_reason: String,
    elapsed: Duration,
    slowest_call: Duration,
}

fn one_run(opts: &Options, producers: usize) -> Result<RunResult, String> {
    let lines = Arc::new(AtomicU64::new(0));
    let pipeline = Pipeline::builder()
        .workers(opts.workers)
        .sink(Discard(Arc::clone(&lines)))
        .build()
        .map_err(|e| format!("build: {e}"))?;
    let per_thread = opts.events / producers;
    let started = Instant::now();
    let slowest = std::thread::scope(|s| {
        let handles: Vec<_> = (0..producers)
            .map(|t| {
                let log = pipeline.logger("stress");
                let mixed = opts.mixed;
                s.spawn(move || {
                    let mut slowest = Duration::ZERO;
                    for i in 0..per_thread {
                        let level = if mixed && i % 6 == 0 {
                            Level::ERROR
                        } else {
                            Level::INFO
                        };
                        let call = Instant::now();
                        fapilog::log!(
                            log,
                            level,
                            "request handled",
                            request_id = "req-7f3a",
                            user_id = i as u64,
                            path = "/api/v1/items",
                            status = 200u64,
                            latency_ms = 12.5,
                            thread = t as u64
                        );
                        slowest = slowest.max(call.elapsed());
                    }
                    slowest
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Duration::MAX))
            .max()
            .unwrap_or_default()
    });
    let report = pipeline.shutdown(Duration::from_secs(60));
    // Lines a sink's driver dropped count too (none with a sole sink: it blocks).
    let sink_dropped: u64 = report.sinks.iter().map(|s| s.dropped).sum();
    let lost = report.dropped_total() + report.unflushed + sink_dropped;
    let mut by_reason: Vec<String> = report
        .dropped
        .iter()
        .map(|(r, n)| format!("{}={n}", r.as_str()))
        .collect();
    if report.unflushed > 0 {
        by_reason.push(format!("unflushed={}", report.unflushed));
    }
    if sink_dropped > 0 {
        by_reason.push(format!("sink_dropped={sink_dropped}"));
    }
    Ok(RunResult {
        submitted: report.submitted,
        written: lines.load(Ordering::Relaxed),
        lost,
        by_reason: by_reason.join(", "),
        elapsed: started.elapsed(),
        slowest_call: slowest,
    })
}

fn parse(args: Vec<String>) -> Result<Options, String> {
    let mut o = Options {
        producers: vec![2, 4],
        runs: 20,
        events: 1_000_000,
        workers: 1,
        mixed: false,
    };
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        let number = |name: &str, v: String| {
            v.parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or(format!("{name}: expected a positive number, got {v:?}"))
        };
        match a.as_str() {
            "--producers" => {
                o.producers = value("--producers")?
                    .split(',')
                    .map(|p| number("--producers", p.to_owned()))
                    .collect::<Result<_, _>>()?;
            }
            "--runs" => o.runs = number("--runs", value("--runs")?)?,
            "--events" => o.events = number("--events", value("--events")?)?,
            "--workers" => o.workers = number("--workers", value("--workers")?)?,
            "--mixed" => o.mixed = true,
            "-h" | "--help" => return Err("help".to_owned()),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    Ok(o)
}
