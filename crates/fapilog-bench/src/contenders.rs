//! The loggers under test, each set up the way its documentation suggests
//! for JSON lines to a file, and the code that runs one case against one of
//! them.

use std::fs::OpenOptions;
use std::path::Path;
use std::time::Duration;

use crate::measure::{peak_rss, Latency, Timer};
use crate::workload::{drive, sample_buffers, Event, Pace, Target, Values};
use crate::{CaseResult, CaseSpec, Contender};

/// What a logger said about itself when it was shut down.
#[derive(Default)]
struct Finished {
    /// Events the logger itself counted as dropped, where it counts them.
    self_dropped: Option<u64>,
    /// Anything the logger reported that the table should mention.
    note: Option<String>,
}

/// Runs one case in this process: sets the contender up, drives the
/// producers, shuts the logger down, syncs the file and measures.
pub(crate) fn run_case(spec: &CaseSpec) -> Result<CaseResult, String> {
    let timer = Timer::new();
    let (floor_ns, floor_p99) = timer.floor(200_000);
    let values = Values::new();
    let samples = sample_buffers(spec.events, spec.threads.max(1));
    let rss_before = peak_rss();
    let path = spec.dir.join(&spec.file);
    let ctx = Ctx {
        timer: &timer,
        values: &values,
        samples,
        pace: spec.pace.into(),
        path: &path,
    };
    let (driven, finished) = match spec.contender {
        Contender::FapilogWait => fapilog_case(ctx, fapilog::Backpressure::default())?,
        Contender::FapilogDrop => fapilog_case(ctx, fapilog::Backpressure::Drop)?,
        Contender::FapilogSlowSink => extra_sinks_case(ctx, Extra::Slow)?,
        Contender::FapilogThreeSinks => extra_sinks_case(ctx, Extra::TwoMore)?,
        Contender::FapilogCredentials => redaction_case(ctx, Redaction::Credentials)?,
        Contender::FapilogProduction => redaction_case(ctx, Redaction::Production)?,
        Contender::FapilogHardened => redaction_case(ctx, Redaction::Hardened)?,
        #[cfg(feature = "peers")]
        Contender::TracingLossy => peers::tracing_case(ctx, true)?,
        #[cfg(feature = "peers")]
        Contender::TracingLossless => peers::tracing_case(ctx, false)?,
        #[cfg(feature = "peers")]
        Contender::SlogAsync => peers::slog_case(ctx, false)?,
        #[cfg(feature = "peers")]
        Contender::SlogAsyncBlock => peers::slog_case(ctx, true)?,
        #[cfg(feature = "peers")]
        Contender::TracingFapilog => peers::tracing_fapilog_case(ctx)?,
        #[allow(unreachable_patterns)]
        other => {
            return Err(format!(
                "{} is not built in (feature `peers`)",
                other.name()
            ))
        }
    };
    let (mut driven, finished) = (driven, finished);
    // Durable: whatever the logger does at shutdown, the lines are on disk
    // before the clock stops (a second sync of a synced file costs little).
    let file = OpenOptions::new()
        .append(true)
        .open(&path)
        .map_err(|e| format!("open {}: {e}", path.display()))?;
    file.sync_data()
        .map_err(|e| format!("sync {}: {e}", path.display()))?;
    let elapsed = driven.start.elapsed();
    let rss_peak = peak_rss();
    let mut all: Vec<u32> = Vec::with_capacity(driven.sent as usize);
    for s in driven.samples.drain(..) {
        all.extend_from_slice(&s);
    }
    let latency = Latency::from_samples(&timer, &mut all, floor_ns);
    Ok(CaseResult {
        sent: driven.sent,
        elapsed_secs: elapsed.as_secs_f64(),
        latency,
        floor_p99_ns: floor_p99,
        self_dropped: finished.self_dropped,
        rss_before,
        rss_peak,
        note: finished.note,
    })
}

struct Ctx<'a> {
    timer: &'a Timer,
    values: &'a Values,
    samples: Vec<Vec<u32>>,
    pace: Pace,
    path: &'a Path,
}

impl Ctx<'_> {
    fn drive<T: Target>(self, target: &T) -> crate::workload::Driven {
        drive(target, self.values, self.timer, self.pace, self.samples)
    }
}

struct Fapilog {
    log: fapilog::Logger,
}

impl Target for Fapilog {
    #[inline]
    fn emit(&self, ev: &Event<'_>) {
        fapilog::info!(
            self.log,
            "request handled",
            request_id = ev.request_id,
            user_id = ev.user_id,
            path = ev.path,
            status = ev.status,
            latency_ms = ev.latency_ms
        );
    }
}

/// A fapilog pipeline writing JSON envelopes to the case's file.
fn fapilog_pipeline(
    path: &Path,
    policy: fapilog::Backpressure,
) -> Result<fapilog::Pipeline, String> {
    let sink = fapilog::FileSink::create(path).map_err(|e| e.to_string())?;
    fapilog::Pipeline::builder()
        .service("bench")
        .backpressure(policy)
        .sink(sink)
        .build()
        .map_err(|e| e.to_string())
}

/// Shuts `pipeline` down (draining everything) and says what it counted.
fn fapilog_finish(pipeline: &fapilog::Pipeline) -> Finished {
    let report = pipeline.shutdown(Duration::from_secs(120));
    let note = (!report.is_complete()).then(|| {
        format!(
            "fapilog drain: written {} dropped {:?} unflushed {} timed_out {}",
            report.written, report.dropped, report.unflushed, report.timed_out
        )
    });
    Finished {
        self_dropped: Some(report.dropped_total() + report.unflushed),
        note,
    }
}

fn fapilog_case(
    ctx: Ctx<'_>,
    policy: fapilog::Backpressure,
) -> Result<(crate::workload::Driven, Finished), String> {
    let pipeline = fapilog_pipeline(ctx.path, policy)?;
    let target = Fapilog {
        log: pipeline.logger("bench"),
    };
    let driven = ctx.drive(&target);
    drop(target);
    Ok((driven, fapilog_finish(&pipeline)))
}

/// The sinks beside the file in the fan-out rows.
enum Extra {
    /// One sink taking 1 s per batch (until the producers are done).
    Slow,
    /// Two JSON sinks that copy every batch into memory.
    TwoMore,
}

/// A sink that takes `delay` per batch, until `done` is set (so the drain
/// at shutdown does not wait out its backlog: the row measures the others).
struct SlowSink {
    delay: Duration,
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl fapilog::Sink for SlowSink {
    fn name(&self) -> &str {
        "slow"
    }
    fn write_batch(&mut self, _batch: &fapilog::Batch) -> Result<(), fapilog::SinkError> {
        let until = std::time::Instant::now() + self.delay;
        while std::time::Instant::now() < until
            && !self.done.load(std::sync::atomic::Ordering::Relaxed)
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
    }
}

/// A JSON sink that copies each batch into a buffer it keeps (a stand-in
/// for a network sink's request body).
struct MemorySink {
    name: &'static str,
    body: Vec<u8>,
    lines: u64,
}

impl fapilog::Sink for MemorySink {
    fn name(&self) -> &str {
        self.name
    }
    fn write_batch(&mut self, batch: &fapilog::Batch) -> Result<(), fapilog::SinkError> {
        self.body.clear();
        self.body.extend_from_slice(batch.as_bytes());
        self.lines += batch.len() as u64;
        Ok(())
    }
}

fn extra_sinks_case(
    ctx: Ctx<'_>,
    extra: Extra,
) -> Result<(crate::workload::Driven, Finished), String> {
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let file = fapilog::FileSink::create(ctx.path).map_err(|e| e.to_string())?;
    let mut builder = fapilog::Pipeline::builder().service("bench").sink(file);
    builder = match extra {
        Extra::Slow => builder.sink(SlowSink {
            delay: Duration::from_secs(1),
            done: std::sync::Arc::clone(&done),
        }),
        Extra::TwoMore => builder
            .sink(MemorySink {
                name: "memory-1",
                body: Vec::new(),
                lines: 0,
            })
            .sink(MemorySink {
                name: "memory-2",
                body: Vec::new(),
                lines: 0,
            }),
    };
    let pipeline = builder.build().map_err(|e| e.to_string())?;
    let target = Fapilog {
        log: pipeline.logger("bench"),
    };
    let driven = ctx.drive(&target);
    drop(target);
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut finished = fapilog_finish(&pipeline);
    if let Extra::Slow = extra {
        // The slow sink's losses are its own (counted per sink); the row
        // counts what reached the file.
        let slow = pipeline
            .metrics()
            .sinks
            .iter()
            .find(|s| s.name == "slow")
            .map_or(0, |s| s.dropped_total());
        finished.note = Some(format!(
            "slow sink dropped {slow} lines (counted, reported in band)"
        ));
        finished.self_dropped = Some(pipeline.metrics().dropped_total);
    }
    Ok((driven, finished))
}

/// The redaction a redaction row adds to the default pipeline.
#[derive(Clone, Copy)]
enum Redaction {
    Credentials,
    Production,
    Hardened,
}

/// The default pipeline (`Wait`) with one preset's redaction: the only
/// difference from the `fapilog (Wait)` row.
fn redaction_case(
    ctx: Ctx<'_>,
    redaction: Redaction,
) -> Result<(crate::workload::Driven, Finished), String> {
    use fapilog::settings::Preset;
    let sink = fapilog::FileSink::create(ctx.path).map_err(|e| e.to_string())?;
    let builder = fapilog::Pipeline::builder()
        .service("bench")
        .backpressure(fapilog::Backpressure::default())
        .sink(sink);
    let builder = match redaction {
        Redaction::Credentials => {
            builder.redaction_preset(&fapilog::stages::redactors::presets::CREDENTIALS)
        }
        Redaction::Production => builder
            .stage_settings(&Preset::Production.settings().stages)
            .map_err(|e| e.to_string())?,
        Redaction::Hardened => builder
            .stage_settings(&Preset::Hardened.settings().stages)
            .map_err(|e| e.to_string())?,
    };
    let pipeline = builder.build().map_err(|e| e.to_string())?;
    let target = Fapilog {
        log: pipeline.logger("bench"),
    };
    let driven = ctx.drive(&target);
    drop(target);
    Ok((driven, fapilog_finish(&pipeline)))
}

#[cfg(feature = "peers")]
mod peers {
    use std::io::BufWriter;

    use super::*;

    /// `tracing` through a dispatcher: the global default when this process
    /// has none yet (the child-process case, and tracing's fast path), else
    /// scoped to each producer thread.
    struct Tracing {
        dispatch: tracing::Dispatch,
        scoped: bool,
    }

    impl Tracing {
        fn new(dispatch: tracing::Dispatch) -> Tracing {
            let scoped = tracing::dispatcher::set_global_default(dispatch.clone()).is_err();
            Tracing { dispatch, scoped }
        }
    }

    impl Target for Tracing {
        fn on_thread<R>(&self, f: impl FnOnce() -> R) -> R {
            if self.scoped {
                tracing::dispatcher::with_default(&self.dispatch, f)
            } else {
                f()
            }
        }

        #[inline]
        fn emit(&self, ev: &Event<'_>) {
            tracing::info!(
                request_id = ev.request_id,
                user_id = ev.user_id,
                path = ev.path,
                status = ev.status,
                latency_ms = ev.latency_ms,
                "request handled"
            );
        }
    }

    /// `tracing-subscriber`'s JSON formatter writing through
    /// `tracing-appender`'s non-blocking writer to a never-rolling file
    /// appender (the documented set-up); `lossy` is the appender's default.
    pub(super) fn tracing_case(
        ctx: Ctx<'_>,
        lossy: bool,
    ) -> Result<(crate::workload::Driven, Finished), String> {
        let dir = ctx.path.parent().ok_or("no directory")?;
        let name = ctx.path.file_name().ok_or("no file name")?;
        let appender = tracing_appender::rolling::never(dir, name);
        let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
            .lossy(lossy)
            .finish(appender);
        let counter = writer.error_counter();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(writer)
            .finish();
        let target = Tracing::new(tracing::Dispatch::new(subscriber));
        let driven = ctx.drive(&target);
        // The guard's drop flushes: it waits up to 1 s for the worker.
        drop(guard);
        let dropped = counter.dropped_lines() as u64;
        Ok((
            driven,
            Finished {
                self_dropped: Some(dropped),
                note: target
                    .scoped
                    .then(|| "scoped dispatcher (in-process run)".to_owned()),
            },
        ))
    }

    struct Slog {
        log: slog::Logger,
    }

    impl Target for Slog {
        #[inline]
        fn emit(&self, ev: &Event<'_>) {
            slog::info!(self.log, "request handled";
                "request_id" => ev.request_id,
                "user_id" => ev.user_id,
                "path" => ev.path,
                "status" => ev.status,
                "latency_ms" => ev.latency_ms);
        }
    }

    /// `tracing::info!` through fapilog's `tracing` layer on a registry,
    /// into a fapilog pipeline with the default `Wait` policy.
    pub(super) fn tracing_fapilog_case(
        ctx: Ctx<'_>,
    ) -> Result<(crate::workload::Driven, Finished), String> {
        use tracing_subscriber::layer::SubscriberExt as _;

        let pipeline = fapilog_pipeline(ctx.path, fapilog::Backpressure::default())?;
        let layer = fapilog_tracing::FapilogLayer::new(pipeline.logger("bench"));
        let subscriber = tracing_subscriber::registry().with(layer);
        let target = Tracing::new(tracing::Dispatch::new(subscriber));
        let driven = ctx.drive(&target);
        let mut finished = fapilog_finish(&pipeline);
        if target.scoped {
            let scoped = "scoped dispatcher (in-process run)".to_owned();
            finished.note = Some(match finished.note {
                Some(n) => format!("{n}; {scoped}"),
                None => scoped,
            });
        }
        Ok((driven, finished))
    }

    /// `slog-json` (default keys: ts, level, msg) into a buffered file,
    /// behind `slog-async` (default channel of 128; overflow: drop and
    /// report, or block).
    pub(super) fn slog_case(
        ctx: Ctx<'_>,
        block: bool,
    ) -> Result<(crate::workload::Driven, Finished), String> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(ctx.path)
            .map_err(|e| format!("open {}: {e}", ctx.path.display()))?;
        let json = slog_json::Json::new(BufWriter::new(file))
            .add_default_keys()
            .build();
        let strategy = if block {
            slog_async::OverflowStrategy::Block
        } else {
            slog_async::OverflowStrategy::DropAndReport
        };
        let (drain, guard) = slog_async::Async::new(slog::Drain::fuse(json))
            .overflow_strategy(strategy)
            .build_with_guard();
        let target = Slog {
            log: slog::Logger::root(slog::Drain::fuse(drain), slog::o!()),
        };
        let driven = ctx.drive(&target);
        drop(target);
        // Joins the worker, which drops (and so flushes) the buffered file.
        drop(guard);
        Ok((driven, Finished::default()))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_literal_messages_match_the_constant() {
        assert_eq!(crate::workload::MESSAGE, "request handled");
        let src = include_str!("contenders.rs");
        assert!(src.matches("\"request handled\"").count() >= 3);
    }
}
