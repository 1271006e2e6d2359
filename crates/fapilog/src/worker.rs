//! The background worker: drains the queue, builds events, runs the stages,
//! encodes into per-format batches and hands full (or old) batches to the
//! sinks.
//!
//! It never makes a caller wait for a wake-up: it polls with backoff (spin,
//! yield, then park with a timeout no longer than the batch age limit), and
//! callers only unpark it when it is parked and the queue has passed the
//! wake threshold (see [`crate::queue`]).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::batch::{Batch, BatchLimits};
use crate::clock::Anchor;
use crate::diagnostics;
use crate::encode::direct::DirectPlan;
use crate::encode::{Format, TraceName};
use crate::envelope::{EventBuilder, Info};
use crate::level::Level;
use crate::metrics::{DropReason, Metrics};
use crate::queue::Queue;
use crate::record::Record;
use crate::sinks::{self, Sink};
use crate::stages::{Outcome, Stages};
use crate::value::{Map, Text, Value};

/// State shared by callers and workers.
pub(crate) struct Shared {
    pub(crate) queue: Queue,
    pub(crate) metrics: Metrics,
    pub(crate) min_level: AtomicU8,
    pub(crate) control: Control,
}

/// Flush and shutdown hand-shakes between the pipeline handle and the workers.
pub(crate) struct Control {
    flush_requested: AtomicU64,
    acks: Vec<AtomicU64>,
    shutdown: AtomicBool,
    deadline: Mutex<Option<Instant>>,
    finishing: AtomicUsize,
    exited: AtomicUsize,
    lock: Mutex<()>,
    changed: Condvar,
    reported: Mutex<[[u64; DropReason::ALL.len()]; 7]>,
}

impl Control {
    pub(crate) fn new(workers: usize) -> Control {
        Control {
            flush_requested: AtomicU64::new(0),
            acks: (0..workers).map(|_| AtomicU64::new(0)).collect(),
            shutdown: AtomicBool::new(false),
            deadline: Mutex::new(None),
            finishing: AtomicUsize::new(0),
            exited: AtomicUsize::new(0),
            lock: Mutex::new(()),
            changed: Condvar::new(),
            reported: Mutex::new([[0; DropReason::ALL.len()]; 7]),
        }
    }

    fn notify(&self) {
        let _g = self.lock.lock();
        self.changed.notify_all();
    }

    /// Waits until `done()` or the deadline; `true` when done.
    fn wait_until(&self, deadline: Instant, done: impl Fn() -> bool) -> bool {
        let mut g = match self.lock.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        loop {
            if done() {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            let slice = (deadline - now).min(Duration::from_millis(5));
            g = match self.changed.wait_timeout(g, slice) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }
}

impl Shared {
    /// Asks every worker to drain the queue and flush its sinks; waits for it.
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let target = self.control.flush_requested.fetch_add(1, Ordering::SeqCst) + 1;
        self.queue.kick_workers();
        self.control.wait_until(deadline, || {
            self.control.exited.load(Ordering::SeqCst) == self.control.acks.len()
                || self
                    .control
                    .acks
                    .iter()
                    .all(|a| a.load(Ordering::SeqCst) >= target)
        })
    }

    /// Closes the queue, lets the workers drain until `timeout`, and waits
    /// for them to stop; `true` when they all stopped in time.
    pub(crate) fn shutdown(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        if let Ok(mut d) = self.control.deadline.lock() {
            d.get_or_insert(deadline);
        }
        self.control.shutdown.store(true, Ordering::SeqCst);
        self.queue.close();
        self.queue.kick_workers();
        // A little grace past the deadline for the final discard and sink stop.
        let n = self.control.acks.len();
        self.control
            .wait_until(deadline + Duration::from_millis(200), || {
                self.control.exited.load(Ordering::SeqCst) == n
            })
    }
}

/// A sink and the batch format it reads.
pub(crate) struct SinkSlot {
    pub(crate) sink: Mutex<Box<dyn Sink>>,
    pub(crate) format: usize,
}

/// What the workers share and callers never touch.
pub(crate) struct Core {
    pub(crate) info: Info,
    pub(crate) stages: Stages,
    pub(crate) sinks: Vec<SinkSlot>,
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
    /// The batches being filled, one per format.
    batches: Vec<Batch>,
    /// Hands full batches to the sinks on a thread of their own.
    writer: Writer,
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
    std::thread::Builder::new()
        .name(format!("fapilog-worker-{id}"))
        .spawn(move || loop {
            let mut w = Worker {
                id,
                shared: Arc::clone(&shared),
                core: Arc::clone(&core),
                builder: EventBuilder::new(),
                anchor: Anchor::now(),
                batches: new_batches(&core),
                writer: Writer::spawn(id, &shared, &core),
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
                self.flush_sinks();
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
        self.batches.iter().map(Batch::byte_len).max().unwrap_or(0)
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
                for b in &mut self.batches {
                    b.push_with(r.level, |out, flat| {
                        plan.write(out, r, &items, timestamp, id, flat, core.trace_name);
                    });
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
                for b in &mut self.batches {
                    b.push(&ev);
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

    /// Hands the batches to the writer thread (or writes them here when it
    /// is gone) and goes on with empty ones.
    fn flush_batch(&mut self) {
        if self.lines_in_batch == 0 {
            return;
        }
        let next = self.writer.spare(&self.core);
        let full = std::mem::replace(&mut self.batches, next);
        let job = Job {
            batches: full,
            events: self.events_in_batch,
        };
        if let Err(mut job) = self.writer.send(job) {
            write_job(&self.core, &self.shared.metrics, &mut job);
        }
        self.events_in_batch = 0;
        self.lines_in_batch = 0;
        self.batch_started = None;
    }

    fn flush_sinks(&mut self) {
        self.writer.wait_idle();
        for slot in &self.core.sinks {
            let mut sink = match slot.sink.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            let result = catch_unwind(AssertUnwindSafe(|| sink.flush()));
            if !matches!(result, Ok(Ok(()))) {
                diagnostics::warn("sink", "sink flush failed", &[("sink", sink.name())]);
            }
        }
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
        if total == 0 {
            return;
        }
        *reported = now;
        drop(reported);

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
        for b in &mut self.batches {
            b.push(&ev);
        }
        self.builder.recycle(ev);
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
        self.writer.wait_idle();
        let control = &self.shared.control;
        let last = control.finishing.fetch_add(1, Ordering::SeqCst) + 1 == control.acks.len();
        if last {
            for slot in &self.core.sinks {
                let mut sink = match slot.sink.lock() {
                    Ok(g) => g,
                    Err(p) => p.into_inner(),
                };
                let result = catch_unwind(AssertUnwindSafe(|| sink.stop()));
                if !matches!(result, Ok(Ok(()))) {
                    diagnostics::warn("sink", "sink stop failed", &[("sink", sink.name())]);
                }
            }
        }
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

/// Full batches on their way to the sinks.
struct Job {
    batches: Vec<Batch>,
    events: u64,
}

/// Batch sets a worker keeps at most: one filling, two with the writer.
const MAX_SETS: usize = 3;

/// The writer thread of a worker: writes full batches to the sinks while
/// the worker encodes the next ones, so a sink's syscalls and the encoding
/// run side by side. A worker that runs ahead waits for a set of batches to
/// come back: at most [`MAX_SETS`] exist, so memory stays bounded.
struct Writer {
    jobs: Option<std::sync::mpsc::SyncSender<Job>>,
    done: std::sync::mpsc::Receiver<Vec<Batch>>,
    /// Emptied sets ready for reuse.
    stash: Vec<Vec<Batch>>,
    /// Sets sent and not yet back.
    outstanding: usize,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    fn spawn(id: usize, shared: &Arc<Shared>, core: &Arc<Core>) -> Writer {
        let (jobs, inbox) = std::sync::mpsc::sync_channel::<Job>(1);
        let (back, done) = std::sync::mpsc::channel();
        let (shared, core) = (Arc::clone(shared), Arc::clone(core));
        let thread = std::thread::Builder::new()
            .name(format!("fapilog-writer-{id}"))
            .spawn(move || {
                for mut job in inbox {
                    write_job(&core, &shared.metrics, &mut job);
                    if back.send(job.batches).is_err() {
                        return;
                    }
                }
            });
        let mut writer = Writer {
            jobs: None,
            done,
            stash: Vec::new(),
            outstanding: 0,
            thread: None,
        };
        // Without a thread, the worker writes its batches itself.
        if let Ok(t) = thread {
            writer.jobs = Some(jobs);
            writer.thread = Some(t);
        }
        writer
    }

    /// Sends `job` to the writer thread; gives it back when there is none.
    fn send(&mut self, job: Job) -> Result<(), Job> {
        let Some(jobs) = &self.jobs else {
            return Err(job);
        };
        match jobs.send(job) {
            Ok(()) => {
                self.outstanding += 1;
                Ok(())
            }
            Err(e) => {
                // The writer thread died: write here from now on.
                self.jobs = None;
                Err(e.0)
            }
        }
    }

    /// An empty set of batches: a returned one, a new one while fewer than
    /// [`MAX_SETS`] exist, else the next one the writer gives back.
    fn spare(&mut self, core: &Core) -> Vec<Batch> {
        while let Ok(set) = self.done.try_recv() {
            self.outstanding -= 1;
            self.stash.push(set);
        }
        if let Some(set) = self.stash.pop() {
            return set;
        }
        if self.outstanding + 1 < MAX_SETS || self.jobs.is_none() {
            return new_batches(core);
        }
        self.take_back().unwrap_or_else(|| new_batches(core))
    }

    /// Waits until every batch sent has been written.
    fn wait_idle(&mut self) {
        while self.outstanding > 0 {
            if let Some(set) = self.take_back() {
                self.stash.push(set);
            }
        }
    }

    /// Waits for the writer to give a set back; `None` when the writer
    /// thread is gone (the worker then writes for itself).
    fn take_back(&mut self) -> Option<Vec<Batch>> {
        match self.done.recv() {
            Ok(set) => {
                self.outstanding -= 1;
                Some(set)
            }
            Err(_) => {
                self.jobs = None;
                self.outstanding = 0;
                None
            }
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the channel ends the thread once it has written what it holds.
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Writes a job's batches to every sink, counts the outcome, falls back to
/// stderr for a sink that fails, and empties the batches.
fn write_job(core: &Core, metrics: &Metrics, job: &mut Job) {
    let started = Instant::now();
    let mut all_ok = true;
    // One bit per format: its batch went to stderr already. Formats are
    // few (one per distinct sink format), far below 64.
    let mut fell_back = 0u64;
    for (i, slot) in core.sinks.iter().enumerate() {
        let batch = &job.batches[slot.format];
        let mut sink = match slot.sink.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let result = catch_unwind(AssertUnwindSafe(|| sink.write_batch(batch)));
        let counters = &metrics.sinks[i];
        match result {
            Ok(Ok(())) => {
                counters
                    .written
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
            }
            failure => {
                all_ok = false;
                counters.errors.fetch_add(1, Ordering::Relaxed);
                let why = match &failure {
                    Ok(Err(e)) => e.to_string(),
                    _ => "the sink panicked".to_owned(),
                };
                diagnostics::warn(
                    "sink",
                    "sink write failed; batch written to stderr",
                    &[("sink", sink.name()), ("error", &why)],
                );
                let bit = 1u64 << (slot.format % 64);
                if fell_back & bit == 0 {
                    fell_back |= bit;
                    sinks::write_to_stderr(batch);
                }
            }
        }
    }
    metrics.observe_flush(started.elapsed());
    metrics.batches.fetch_add(1, Ordering::Relaxed);
    let counter = if all_ok {
        &metrics.written
    } else {
        &metrics.failed
    };
    counter.fetch_add(job.events, Ordering::Relaxed);
    for b in &mut job.batches {
        b.clear();
    }
}
