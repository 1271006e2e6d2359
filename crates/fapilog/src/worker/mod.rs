//! The background worker: drains the queue, builds events, runs the stages,
//! encodes into per-format batches, decides each line's sinks (routing) and
//! hands full (or old) batches to the sink drivers.
//!
//! It never makes a caller wait for a wake-up: it polls with backoff (spin,
//! yield, then park with a timeout no longer than the batch age limit), and
//! callers only unpark it when it is parked and the queue has passed the
//! wake threshold (see [`crate::queue`]).

pub(crate) mod direct;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::batch::{Batch, BatchLimits};
use crate::clock::Anchor;
use crate::encode::{Format, TraceName};
use crate::envelope::{EventBuilder, Info};
use crate::level::Level;
use crate::metrics::DropReason;
use crate::record::Record;
use crate::shared::Shared;
use crate::sinks::driver::{Channel, Delivery, Job, JobParts, Lines};
use crate::sinks::Router;
use crate::stages::{Outcome, Stages};
use crate::value::{Map, Text, Value};
use direct::DirectPlan;

/// What the workers share and callers never touch.
pub(crate) struct Core {
    pub(crate) info: Info,
    pub(crate) stages: Stages,
    /// The sink drivers' channels, in sink order.
    pub(crate) sinks: Vec<Arc<Channel>>,
    /// Which sinks take which lines; `None`: every sink takes every line.
    pub(crate) router: Option<Router>,
    pub(crate) formats: Vec<Format>,
    pub(crate) limits: BatchLimits,
    pub(crate) trace_name: TraceName,
    pub(crate) drop_summary_interval: Duration,
    /// The direct path, when the stages and formats allow it.
    pub(crate) direct: Option<DirectPlan>,
}

/// How long after the last event the worker keeps polling every [`POLL`].
const RECENT: Duration = Duration::from_millis(100);
/// The worker's polling interval while traffic is recent.
const POLL: Duration = Duration::from_millis(1);

struct Worker {
    id: usize,
    shared: Arc<Shared>,
    core: Arc<Core>,
    builder: EventBuilder,
    anchor: Anchor,
    /// The batches being filled, one per format (and which of their lines
    /// are the pipeline's own reports).
    parts: JobParts,
    /// Per line of the batches, the sinks that take it (with a router).
    masks: Vec<u64>,
    /// Emptied buffers coming back from the drivers, for reuse.
    spare: Receiver<JobParts>,
    recycle: Sender<JobParts>,
    events_in_batch: u64,
    lines_in_batch: usize,
    batch_started: Option<Instant>,
    last_drop_check: Instant,
}

pub(crate) fn spawn(
    id: usize,
    shared: Arc<Shared>,
    core: Arc<Core>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    // The clock measures its rate once (about 2 ms): here, while the
    // pipeline is built, rather than in the first log call.
    let _ = crate::clock::clock();
    std::thread::Builder::new()
        .name(format!("fapilog-worker-{id}"))
        .spawn(move || loop {
            let (recycle, spare) = std::sync::mpsc::channel();
            let mut w = Worker {
                id,
                shared: Arc::clone(&shared),
                core: Arc::clone(&core),
                builder: EventBuilder::new(),
                anchor: Anchor::now(),
                parts: JobParts::new(new_batches(&core)),
                masks: Vec::new(),
                spare,
                recycle,
                events_in_batch: 0,
                lines_in_batch: 0,
                batch_started: None,
                last_drop_check: Instant::now(),
            };
            // A worker that dies anyway (a panic outside the stage and sink
            // guards) starts again; what it held is lost (counted unflushed).
            if catch_unwind(AssertUnwindSafe(|| w.run())).is_ok() {
                return;
            }
            crate::stages::worker_restarted(&shared.metrics);
        })
}

impl Worker {
    fn run(&mut self) {
        let shared = Arc::clone(&self.shared);
        let max = self.core.limits.max_events.max(1);
        let mut idle: u32 = 0;
        let shard = shared.queue.shard_of_worker(self.id);
        let mut last_work = Instant::now();
        loop {
            self.anchor.refresh();
            let room = max.saturating_sub(self.lines_in_batch).max(1);
            let n = shard.drain(room, |r| self.process(r));
            if n > 0 {
                last_work = Instant::now();
                shared
                    .metrics
                    .dequeued
                    .fetch_add(n as u64, Ordering::Relaxed);
                shared.metrics.observe_depth(n + shared.queue.len());
                if self.lines_in_batch >= max || self.batch_bytes() >= self.core.limits.max_bytes {
                    self.flush_batch();
                }
                idle = 0;
                continue;
            }

            // The queue is empty.
            let shutting_down = shared.control.shutdown.load(Ordering::SeqCst);
            let flush_target = shared.control.flush_requested.load(Ordering::SeqCst);
            let flush_pending = flush_target > shared.control.acks[self.id].load(Ordering::SeqCst);
            // Events logged before the flush request are visible now (the
            // request was read after them): drain them before acknowledging.
            if flush_pending && !shard.is_empty() {
                continue;
            }
            let aged = self
                .batch_started
                .is_some_and(|t| t.elapsed() >= self.core.limits.max_age);
            if self.lines_in_batch > 0 && (aged || flush_pending || shutting_down) {
                self.flush_batch();
            }
            self.maybe_report_drops(false);
            if flush_pending {
                self.report_drops_now();
                self.flush_batch();
                shared.control.acks[self.id].store(flush_target, Ordering::SeqCst);
                shared.control.notify();
            }
            if shutting_down {
                let past_deadline = shared
                    .control
                    .deadline
                    .lock()
                    .ok()
                    .and_then(|d| *d)
                    .is_some_and(|d| Instant::now() >= d);
                if past_deadline {
                    shared.queue.discard_all(&shared.metrics);
                }
                if shard.is_empty() {
                    self.finish();
                    return;
                }
                continue;
            }

            idle = idle.saturating_add(1);
            if idle < 64 {
                std::hint::spin_loop();
            } else if idle < 80 {
                std::thread::yield_now();
            } else {
                let mut timeout = match self.batch_started {
                    Some(t) => self.core.limits.max_age.saturating_sub(t.elapsed()),
                    None => self.core.limits.max_age,
                };
                timeout = timeout.min(self.core.drop_summary_interval);
                // While traffic is recent, come back every millisecond on our
                // own, so producers almost never pay for a wake-up; once it has
                // been quiet for a while, sleep up to the batch age.
                if last_work.elapsed() < RECENT {
                    timeout = timeout.min(POLL);
                }
                if shard.prepare_park() {
                    std::thread::park_timeout(timeout.max(Duration::from_micros(50)));
                    shard.unpark_done();
                }
            }
        }
    }

    fn batch_bytes(&self) -> usize {
        self.parts
            .batches
            .iter()
            .map(Batch::byte_len)
            .max()
            .unwrap_or(0)
    }

    fn process(&mut self, r: &Record) {
        let shared = &self.shared;
        let core = &self.core;
        if let Some(plan) = &core.direct {
            if let Some(items) = plan.items(r, &core.stages) {
                let id = self.builder.next_id();
                let timestamp = self.anchor.wall(r.time);
                if self.lines_in_batch == 0 {
                    self.batch_started = Some(Instant::now());
                }
                for b in &mut self.parts.batches {
                    b.push_with(r.level, timestamp, id, |out, flat| {
                        plan.write(out, r, &items, timestamp, id, flat, core.trace_name);
                    });
                }
                if let Some(router) = &core.router {
                    // The direct path is only taken when no rule reads fields.
                    self.masks.push(router.mask(r.level, r.logger, &|_| None));
                }
                self.events_in_batch += 1;
                self.lines_in_batch += 1;
                return;
            }
        }
        let mut ev = self.builder.build(r, &self.anchor, &core.info);
        match core.stages.run(&mut ev, &shared.metrics) {
            Outcome::Keep => {
                if self.lines_in_batch == 0 {
                    self.batch_started = Some(Instant::now());
                }
                for b in &mut self.parts.batches {
                    b.push(&ev);
                }
                if let Some(router) = &core.router {
                    let field = |k: &str| {
                        let v = ev.data.get(k).or_else(|| ev.context.get(k))?;
                        match v {
                            Value::Str(t) => Some(t.as_str().to_owned()),
                            Value::I64(n) => Some(n.to_string()),
                            Value::U64(n) => Some(n.to_string()),
                            Value::Bool(b) => Some(b.to_string()),
                            _ => None,
                        }
                    };
                    self.masks.push(router.mask(ev.level, r.logger, &field));
                }
                self.events_in_batch += 1;
                self.lines_in_batch += 1;
            }
            Outcome::Filtered => {
                shared.metrics.filtered.fetch_add(1, Ordering::Relaxed);
            }
            Outcome::Withheld(reason) => {
                shared.metrics.count_drop(r.level, reason, 1);
            }
        }
        self.builder.recycle(ev);
    }

    /// Hands the batches to the sink drivers, each the lines it takes, and
    /// goes on with empty ones.
    fn flush_batch(&mut self) {
        if self.lines_in_batch == 0 {
            return;
        }
        let next = match self.spare.try_recv() {
            Ok(parts) => parts,
            Err(_) => JobParts::new(new_batches(&self.core)),
        };
        let full = std::mem::replace(&mut self.parts, next);
        let metrics = &self.shared.metrics;
        metrics.batches.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let job = Job::new(full, Arc::clone(metrics), Some(self.recycle.clone()));
        let all = Lines::All;
        for (i, sink) in self.core.sinks.iter().enumerate() {
            let lines = if self.core.router.is_none() {
                all.clone()
            } else {
                let bit = 1u64 << i;
                let picked: Vec<u32> = (0..job.lines() as u32)
                    .filter(|&l| self.masks[l as usize] & bit != 0)
                    .collect();
                if picked.is_empty() {
                    continue;
                }
                if picked.len() == job.lines() {
                    all.clone()
                } else {
                    Lines::Some(picked.into())
                }
            };
            sink.send(Delivery::new(&job, sink.format, lines));
        }
        job.release();
        metrics.observe_flush(started.elapsed());
        self.masks.clear();
        self.events_in_batch = 0;
        self.lines_in_batch = 0;
        self.batch_started = None;
    }

    fn maybe_report_drops(&mut self, force: bool) {
        if !force && self.last_drop_check.elapsed() < self.core.drop_summary_interval {
            return;
        }
        self.last_drop_check = Instant::now();
        self.report_drops_now();
    }

    /// Writes a `logs dropped` WARNING with the drops since the last report,
    /// if there were any. The counts are exact: each drop is reported once.
    fn report_drops_now(&mut self) {
        let metrics = &self.shared.metrics;
        let Ok(mut reported) = self.shared.control.reported.try_lock() else {
            return;
        };
        let now = metrics.dropped_matrix();
        // Lines single sinks lost (their buffer was full, …), since the last report.
        let mut by_sink: Vec<(&str, u64)> = Vec::new();
        for s in &metrics.sinks {
            let total = s.dropped_total();
            let new = total - s.dropped_reported.load(Ordering::Relaxed);
            if new > 0 {
                by_sink.push((s.name.as_str(), new));
            }
        }
        let mut by_level = [0u64; 7];
        let mut by_reason = [0u64; DropReason::ALL.len()];
        let mut total = 0;
        let mut cumulative = 0;
        for l in 0..7 {
            for r in 0..DropReason::ALL.len() {
                let d = now[l][r] - reported[l][r];
                by_level[l] += d;
                by_reason[r] += d;
                total += d;
                cumulative += now[l][r];
            }
        }
        if total == 0 && by_sink.is_empty() {
            return;
        }
        *reported = now;
        for s in &metrics.sinks {
            s.dropped_reported
                .store(s.dropped_total(), Ordering::Relaxed);
        }

        let core = Arc::clone(&self.core);
        let id = self.builder.next_id();
        let mut ev = self.builder.blank(
            std::time::SystemTime::now(),
            Level::WARNING,
            "fapilog",
            Text::Borrowed("logs dropped"),
            &core.info,
            id,
        );
        ev.data.insert("dropped", Value::U64(total));
        ev.data.insert("dropped_total", Value::U64(cumulative));
        let levels: Map<'_> = by_level
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, n)| (Level::BUCKET_NAMES[i], Value::U64(*n)))
            .collect();
        ev.data.insert("by_level", Value::Map(levels));
        let reasons: Map<'_> = by_reason
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, n)| (DropReason::ALL[i].as_str(), Value::U64(*n)))
            .collect();
        ev.data.insert("by_reason", Value::Map(reasons));
        if !by_sink.is_empty() {
            let sinks: Map<'_> = by_sink
                .iter()
                .map(|(name, n)| (*name, Value::U64(*n)))
                .collect();
            ev.data.insert("sink_dropped", Value::Map(sinks));
        }
        for b in &mut self.parts.batches {
            b.push(&ev);
        }
        drop(reported);
        self.builder.recycle(ev);
        self.parts.internal.push(self.lines_in_batch as u32);
        if self.core.router.is_some() {
            self.masks.push(u64::MAX);
        }
        self.lines_in_batch += 1;
        if self.batch_started.is_none() {
            self.batch_started = Some(Instant::now());
        }
        metrics.drop_reports.fetch_add(1, Ordering::Relaxed);
    }

    fn finish(&mut self) {
        self.flush_batch();
        self.maybe_report_drops(true);
        self.flush_batch();
        // The drivers drain what they were handed; the pipeline closes them
        // once every worker has stopped (fallbacks last).
        let control = &self.shared.control;
        control.exited.fetch_add(1, Ordering::SeqCst);
        control.notify();
    }
}

fn new_batches(core: &Core) -> Vec<Batch> {
    core.formats
        .iter()
        .map(|f| Batch::with_trace_name(*f, core.trace_name))
        .collect()
}
