//! The sink driver: one per sink, on a thread of its own, owning the sink.
//!
//! The worker hands each driver the batches it takes ([`Delivery`]); the
//! driver keeps them in a bounded buffer (its [`WhenFull`] policy decides
//! when the buffer is full), writes them in order, retries failures with
//! backoff, opens its circuit breaker when the sink keeps failing, and
//! diverts what it gives up on: to the fallback sink named in its options
//! (whose own failures go no further), else to stderr, bounded in bytes per
//! second. Every outcome is counted in the sink's counters.
//!
//! The loop is tracing-appender's: block for the next item, handle it,
//! repeat; plus counted outcomes and a deadline at shutdown. With a disk
//! spool (cargo feature `spool`), [`spill`] keeps what the sink cannot
//! take yet and replays it in order.

mod spill;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::backoff::Backoff;
use super::breaker::Breaker;
use super::fallback::StderrBudget;
use super::options::{Resolved, WhenFull};
use super::{Sink, SinkError};
use crate::batch::Batch;
use crate::diagnostics;
use crate::metrics::{
    DivertReason, Metrics, SinkCounters, SinkDropReason, SinkErrorKind, SinkHealth,
};
use crate::stages::{ManualClock, StageClock};
pub(crate) use spill::Spool;

/// The lines of one flush of a worker, as every driver shares them.
///
/// The last driver to finish with it counts the pipeline-level outcome:
/// an event is `written` when at least one sink accepted it, `failed` when
/// none did. Its buffers then go back to the worker for reuse, so a flush
/// costs one allocation (the job itself).
pub(crate) struct Job {
    parts: JobParts,
    /// Deliveries not yet finished.
    pending: AtomicUsize,
    metrics: Arc<Metrics>,
    /// Where the emptied buffers go back for reuse.
    recycle: Option<std::sync::mpsc::Sender<JobParts>>,
}

/// The reusable buffers of a [`Job`].
#[derive(Default)]
pub(crate) struct JobParts {
    /// The encoded lines, one batch per format.
    pub(crate) batches: Vec<Batch>,
    /// Per line: some sink accepted it.
    accepted: Vec<AtomicBool>,
    /// Lines that are the pipeline's own reports, not user events.
    pub(crate) internal: Vec<u32>,
}

impl JobParts {
    pub(crate) fn new(batches: Vec<Batch>) -> JobParts {
        JobParts {
            batches,
            ..JobParts::default()
        }
    }

    fn clear(&mut self) {
        self.batches.iter_mut().for_each(Batch::clear);
        self.accepted.clear();
        self.internal.clear();
    }
}

impl Job {
    pub(crate) fn new(
        mut parts: JobParts,
        metrics: Arc<Metrics>,
        recycle: Option<std::sync::mpsc::Sender<JobParts>>,
    ) -> Arc<Job> {
        let lines = parts.batches.first().map_or(0, Batch::len);
        parts.accepted.clear();
        parts.accepted.resize_with(lines, || AtomicBool::new(false));
        Arc::new(Job {
            parts,
            // One for the worker while it hands the job out.
            pending: AtomicUsize::new(1),
            metrics,
            recycle,
        })
    }

    pub(crate) fn lines(&self) -> usize {
        self.parts.accepted.len()
    }

    fn accept(&self, lines: &Lines) {
        let accepted = &self.parts.accepted;
        match lines {
            Lines::All => accepted
                .iter()
                .for_each(|a| a.store(true, Ordering::Relaxed)),
            Lines::Some(ix) => ix
                .iter()
                .for_each(|&i| accepted[i as usize].store(true, Ordering::Relaxed)),
        }
    }

    /// One more delivery of this job is under way.
    pub(crate) fn hold(&self) {
        self.pending.fetch_add(1, Ordering::AcqRel);
    }

    /// A delivery of this job is finished; the last one counts the outcome.
    pub(crate) fn release(&self) {
        if self.pending.fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        let mut written = 0;
        let mut failed = 0;
        for (i, a) in self.parts.accepted.iter().enumerate() {
            if self.parts.internal.contains(&(i as u32)) {
                continue;
            }
            if a.load(Ordering::Relaxed) {
                written += 1;
            } else {
                failed += 1;
            }
        }
        self.metrics.written.fetch_add(written, Ordering::Relaxed);
        self.metrics.failed.fetch_add(failed, Ordering::Relaxed);
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        if let Some(tx) = self.recycle.take() {
            let mut parts = std::mem::take(&mut self.parts);
            parts.clear();
            let _ = tx.send(parts);
        }
    }
}

/// Which lines of a job a delivery carries.
#[derive(Clone, Debug)]
pub(crate) enum Lines {
    All,
    /// Indices into the job's lines, in order.
    Some(Arc<[u32]>),
}

impl Lines {
    /// The lines as a batch of their own, unless they are the whole job.
    fn select(&self, job: &Job, format: usize) -> Option<Batch> {
        match self {
            Lines::All => None,
            Lines::Some(ix) => Some(job.parts.batches[format].select(ix)),
        }
    }

    fn sub(&self, positions: &[usize]) -> Lines {
        let picked: Vec<u32> = positions
            .iter()
            .map(|&p| match self {
                Lines::All => p as u32,
                Lines::Some(ix) => ix[p],
            })
            .collect();
        Lines::Some(picked.into())
    }
}

/// Lines of a job on their way to one sink.
pub(crate) struct Delivery {
    job: Arc<Job>,
    format: usize,
    /// The lines, when not the whole batch of `format`.
    own: Option<Batch>,
    lines: Lines,
    /// `Some` when another sink diverted these lines here: they go no
    /// further than stderr.
    diverted_from: Option<usize>,
}

impl Delivery {
    /// The lines `lines` of `job`, for a sink reading batches of `format`.
    pub(crate) fn new(job: &Arc<Job>, format: usize, lines: Lines) -> Delivery {
        job.hold();
        Delivery {
            own: lines.select(job, format),
            job: Arc::clone(job),
            format,
            lines,
            diverted_from: None,
        }
    }

    fn batch(&self) -> &Batch {
        match &self.own {
            Some(b) => b,
            None => &self.job.parts.batches[self.format],
        }
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        self.job.release();
    }
}

enum Item {
    Batch(Delivery),
    /// A flush; with a spool in use, the spool's sequence number to replay up to first.
    Flush(Arc<Ack>, Option<u64>),
    /// The spool holds batches to replay.
    Spooled,
}

/// A flush request's answer.
#[derive(Default)]
pub(crate) struct Ack {
    done: Mutex<bool>,
    cv: Condvar,
}

impl Ack {
    fn set(&self) {
        *lock(&self.done) = true;
        self.cv.notify_all();
    }

    /// Waits until answered or `deadline`; `true` when answered.
    pub(crate) fn wait(&self, deadline: Instant) -> bool {
        let mut done = lock(&self.done);
        while !*done {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            done = match self.cv.wait_timeout(done, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
        true
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

struct Buffer {
    items: VecDeque<Item>,
    bytes: usize,
    batches: usize,
    closed: bool,
    /// Once set, retries stop at it and what is still buffered after it is dropped.
    deadline: Option<Instant>,
    /// Batches go to the spool until it is empty (see `spill`).
    spilling: bool,
}

/// What the worker and the driver thread share.
pub(crate) struct Channel {
    buffer: Mutex<Buffer>,
    /// The driver waits here for items (and for the shutdown deadline while backing off).
    work: Condvar,
    /// The worker waits here for room (under `Block`).
    room: Condvar,
    capacity: usize,
    capacity_bytes: usize,
    when_full: WhenFull,
    pub(crate) format: usize,
    pub(crate) index: usize,
    counters: Arc<Metrics>,
    spool: Option<Mutex<Spool>>,
    /// `SpoolMode::Always`: every batch passes through the spool.
    always: bool,
    /// How often an idle driver runs the spool's interval fsync.
    tick: Option<Duration>,
}

impl Channel {
    fn counters(&self) -> &SinkCounters {
        &self.counters.sinks[self.index]
    }

    /// Hands a delivery to the driver, applying the sink's `when_full`
    /// policy. `force` skips the capacity check (fallback diversions must
    /// never wait).
    pub(crate) fn send(&self, d: Delivery) {
        let mut b = lock(&self.buffer);
        let size = d.batch().byte_len();
        let fits = |b: &Buffer| {
            b.batches == 0 || (b.batches < self.capacity && b.bytes + size <= self.capacity_bytes)
        };
        if self.spills(&b, fits(&b)) {
            self.spill(b, d);
            return;
        }
        if !fits(&b) {
            match self.when_full {
                WhenFull::DropNewest => {
                    drop(b);
                    self.counters()
                        .drop_lines(SinkDropReason::BufferFull, d.batch().levels());
                    return;
                }
                // A spill needs a spool, which `resolve` checked.
                WhenFull::Block | WhenFull::Spill => {
                    while !fits(&b) && !b.closed {
                        b = match self.room.wait(b) {
                            Ok(g) => g,
                            Err(p) => p.into_inner(),
                        };
                    }
                }
            }
        }
        self.push(b, Item::Batch(d), size);
    }

    /// A diversion from another sink: taken when there is room, else handed back.
    fn try_send_diverted(&self, d: Delivery) -> Result<(), Delivery> {
        let b = lock(&self.buffer);
        let size = d.batch().byte_len();
        if b.closed
            || !(b.batches == 0
                || (b.batches < self.capacity && b.bytes + size <= self.capacity_bytes))
        {
            return Err(d);
        }
        self.counters()
            .received_diverted
            .fetch_add(d.batch().len() as u64, Ordering::Relaxed);
        self.push(b, Item::Batch(d), size);
        Ok(())
    }

    fn push(&self, mut b: MutexGuard<'_, Buffer>, item: Item, size: usize) {
        b.bytes += size;
        if matches!(item, Item::Batch(_)) {
            b.batches += 1;
        }
        b.items.push_back(item);
        self.counters().observe_buffer(b.batches);
        drop(b);
        self.work.notify_one();
    }

    /// Asks the driver to write out what it holds and flush the sink.
    pub(crate) fn flush(&self) -> Arc<Ack> {
        let ack = Arc::new(Ack::default());
        let b = lock(&self.buffer);
        if b.closed {
            drop(b);
            ack.set();
            return ack;
        }
        let mark = self.spool_mark(&b);
        self.push(b, Item::Flush(Arc::clone(&ack), mark), 0);
        ack
    }

    /// No more deliveries; the driver drains until `deadline`, then stops the sink.
    pub(crate) fn close(&self, deadline: Instant) {
        let mut b = lock(&self.buffer);
        b.closed = true;
        b.deadline = Some(deadline);
        drop(b);
        self.work.notify_all();
        self.room.notify_all();
    }

    fn deadline(&self) -> Option<Instant> {
        lock(&self.buffer).deadline
    }

    /// The next item, waiting for one; `None` once closed and empty.
    /// `replay`: the spool's batches may be handed out.
    fn next(&self, replay: bool) -> Option<Item> {
        let mut b = lock(&self.buffer);
        loop {
            if let Some(item) = b.items.pop_front() {
                if let Item::Batch(d) = &item {
                    b.bytes -= d.batch().byte_len();
                    b.batches -= 1;
                }
                self.counters().observe_buffer(b.batches);
                drop(b);
                self.room.notify_all();
                return Some(item);
            }
            if let Some(item) = self.spooled_item(&mut b, replay) {
                return Some(item);
            }
            if b.closed {
                return None;
            }
            b = match self.tick {
                None => match self.work.wait(b) {
                    Ok(g) => g,
                    Err(p) => p.into_inner(),
                },
                Some(tick) => {
                    let b = match self.work.wait_timeout(b, tick) {
                        Ok((g, _)) => g,
                        Err(p) => p.into_inner().0,
                    };
                    self.maintain_spool();
                    b
                }
            };
        }
    }

    /// Waits `delay`, or less when the shutdown deadline comes first
    /// (running the spool's interval fsync meanwhile).
    fn pause(&self, delay: Duration) {
        let until = Instant::now() + delay;
        let mut b = lock(&self.buffer);
        loop {
            let now = Instant::now();
            let end = b.deadline.map_or(until, |d| d.min(until));
            if now >= end {
                return;
            }
            let slice = self.tick.map_or(end - now, |t| t.min(end - now));
            b = match self.work.wait_timeout(b, slice) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
            if self.tick.is_some() {
                self.maintain_spool();
            }
        }
    }
}

/// How one write of a batch (with its retries) ended.
enum Outcome {
    Written,
    /// These positions (sorted) were refused; the rest was written.
    Partial(Vec<usize>),
    Rejected,
    Panicked,
    /// Retries exhausted, breaker open, or the shutdown deadline.
    GaveUp(DivertReason),
}

/// `(always, tick)`: whether every batch passes through the sink's spool,
/// and how often an idle driver runs its interval fsync.
#[cfg(feature = "spool")]
fn spill_settings(options: &Resolved) -> (bool, Option<Duration>) {
    use crate::spool::{SpoolFsync, SpoolMode};
    match &options.spool {
        None => (false, None),
        Some(s) => (
            s.mode == SpoolMode::Always,
            match s.fsync {
                SpoolFsync::Interval(d) => Some(d),
                _ => None,
            },
        ),
    }
}

#[cfg(not(feature = "spool"))]
fn spill_settings(_: &Resolved) -> (bool, Option<Duration>) {
    (false, None)
}

/// The clock a driver reads for backoff and the breaker.
#[derive(Clone)]
pub(crate) enum DriverClock {
    System,
    /// Tests: time moves when told, and a wait advances it instead of sleeping.
    Manual(ManualClock, Instant),
}

impl DriverClock {
    pub(crate) fn manual(clock: ManualClock) -> DriverClock {
        DriverClock::Manual(clock, Instant::now())
    }

    fn now(&self) -> Instant {
        match self {
            DriverClock::System => Instant::now(),
            DriverClock::Manual(c, origin) => *origin + c.now(),
        }
    }
}

/// A running driver: the channel to it and its thread.
pub(crate) struct Driver {
    pub(crate) channel: Arc<Channel>,
    /// Some sink diverts to this one: it is flushed and closed after the others.
    pub(crate) is_fallback: bool,
    thread: Option<JoinHandle<()>>,
}

/// Everything a driver thread owns.
struct Runner {
    sink: Box<dyn Sink>,
    channel: Arc<Channel>,
    options: Resolved,
    breaker: Breaker,
    clock: DriverClock,
    rng: fastrand::Rng,
    /// The drivers of the pipeline, to reach the fallback.
    fallback: Option<Arc<Channel>>,
    stderr: Arc<StderrBudget>,
    /// The wait before the next try of the spool's head after the sink gave up on it.
    spool_wait: Duration,
    /// At shutdown the sink gave up on the spool: what it holds stays there.
    replay_stopped: bool,
}

/// What a driver is built from.
pub(crate) struct Spec {
    pub(crate) sink: Box<dyn Sink>,
    pub(crate) options: Resolved,
    pub(crate) format: usize,
    pub(crate) index: usize,
    pub(crate) clock: DriverClock,
    pub(crate) spool: Option<Spool>,
}

impl Driver {
    /// Creates the channels of every sink, then starts their threads (a
    /// fallback must exist before any driver can divert to it).
    pub(crate) fn start_all(
        mut specs: Vec<Spec>,
        fallbacks: Vec<Option<usize>>,
        metrics: &Arc<Metrics>,
    ) -> std::io::Result<Vec<Driver>> {
        let channels: Vec<Arc<Channel>> = specs
            .iter_mut()
            .map(|s| {
                let spool = s.spool.take();
                let (always, tick) = spill_settings(&s.options);
                let spilling = always || spool.as_ref().is_some_and(|sp| !sp.is_empty());
                Arc::new(Channel {
                    buffer: Mutex::new(Buffer {
                        items: VecDeque::new(),
                        bytes: 0,
                        batches: 0,
                        closed: false,
                        deadline: None,
                        spilling,
                    }),
                    work: Condvar::new(),
                    room: Condvar::new(),
                    capacity: s.options.buffer_batches.get(),
                    capacity_bytes: s.options.buffer_bytes.get(),
                    when_full: s.options.when_full,
                    format: s.format,
                    index: s.index,
                    counters: Arc::clone(metrics),
                    spool: spill::shared(spool),
                    always,
                    tick,
                })
            })
            .collect();
        let stderr = Arc::new(StderrBudget::default());
        let mut drivers: Vec<Driver> = Vec::with_capacity(specs.len());
        let targets = fallbacks.clone();
        for (spec, fallback) in specs.into_iter().zip(fallbacks) {
            let channel = Arc::clone(&channels[spec.index]);
            let runner = Runner {
                breaker: Breaker::new(spec.options.breaker),
                sink: spec.sink,
                channel: Arc::clone(&channel),
                options: spec.options,
                clock: spec.clock,
                rng: fastrand::Rng::new(),
                fallback: fallback.map(|i| Arc::clone(&channels[i])),
                stderr: Arc::clone(&stderr),
                spool_wait: Duration::ZERO,
                replay_stopped: false,
            };
            let name = format!("fapilog-sink-{}", spec.index);
            match std::thread::Builder::new()
                .name(name)
                .spawn(move || runner.run())
            {
                Ok(t) => drivers.push(Driver {
                    is_fallback: targets.contains(&Some(spec.index)),
                    channel,
                    thread: Some(t),
                }),
                Err(e) => {
                    let deadline = Instant::now();
                    for d in &drivers {
                        d.channel.close(deadline);
                    }
                    return Err(e);
                }
            }
        }
        Ok(drivers)
    }

    /// Waits for the driver thread to end, until `deadline`; `true` when it did.
    pub(crate) fn join(&mut self, deadline: Instant) -> bool {
        let Some(t) = self.thread.take() else {
            return true;
        };
        while !t.is_finished() {
            if Instant::now() >= deadline {
                self.thread = Some(t);
                return false;
            }
            std::thread::park_timeout(Duration::from_millis(2));
        }
        let _ = t.join();
        true
    }
}

impl Runner {
    fn counters(&self) -> &SinkCounters {
        self.channel.counters()
    }

    fn run(mut self) {
        while let Some(item) = self.channel.next(!self.replay_stopped) {
            match item {
                Item::Batch(d) => {
                    let past = self.channel.deadline().is_some_and(|t| Instant::now() >= t);
                    if past {
                        // Shutdown's deadline passed: what is left goes to
                        // the spool, else it is lost, counted.
                        if let Err(d) = self.channel.spill_back(d) {
                            self.counters()
                                .drop_lines(SinkDropReason::Shutdown, d.batch().levels());
                        }
                    } else {
                        self.deliver(d);
                    }
                }
                Item::Spooled => {
                    self.replay_one();
                }
                Item::Flush(ack, mark) => {
                    if let Some(mark) = mark {
                        self.replay_until(mark);
                    }
                    let name = self.sink.name().to_owned();
                    let sink = &mut self.sink;
                    if !matches!(crate::panics::catch(|| sink.flush()), Ok(Ok(()))) {
                        diagnostics::warn("sink", "sink flush failed", &[("sink", &name)]);
                    }
                    ack.set();
                }
            }
        }
        self.channel.close_spool();
        let name = self.sink.name().to_owned();
        let sink = &mut self.sink;
        if !matches!(crate::panics::catch(|| sink.stop()), Ok(Ok(()))) {
            diagnostics::warn("sink", "sink stop failed", &[("sink", &name)]);
        }
        self.counters().set_health(SinkHealth::Stopped);
    }

    fn deliver(&mut self, d: Delivery) {
        loop {
            match self.attempt(d.batch()) {
                // Newer batches wait in the spool: this older one stays in
                // memory and is tried again, so the sink's order holds.
                Outcome::GaveUp(_) if self.channel.holds_back() => self.hold_off(),
                outcome => return self.settle(d, outcome),
            }
        }
    }

    /// What becomes of `d` after its last attempt.
    fn settle(&mut self, d: Delivery, outcome: Outcome) {
        match outcome {
            Outcome::Written => self.delivered(&d, None),
            Outcome::Partial(refused) => {
                let kept: Vec<usize> = (0..d.batch().len())
                    .filter(|i| refused.binary_search(i).is_err())
                    .collect();
                self.delivered(&d, Some(&kept));
                if !refused.is_empty() {
                    let part = Delivery {
                        own: Some(
                            d.batch()
                                .select(&refused.iter().map(|&i| i as u32).collect::<Vec<_>>()),
                        ),
                        lines: d.lines.sub(&refused),
                        diverted_from: d.diverted_from,
                        format: d.format,
                        job: Arc::clone(&d.job),
                    };
                    d.job.hold();
                    self.divert(part, DivertReason::Rejected);
                }
            }
            Outcome::Rejected => self.divert(d, DivertReason::Rejected),
            Outcome::Panicked => self.divert(d, DivertReason::Panicked),
            // The spool comes first in the divert chain: it keeps the batch
            // (and every later one, in order) for a replay.
            Outcome::GaveUp(reason) => {
                if let Err(d) = self.channel.spill_back(d) {
                    self.divert(d, reason);
                }
            }
        }
    }

    /// Writes `batch`, retrying transient failures with backoff, and says
    /// how it ended. Counts errors, retries and the breaker's state.
    fn attempt(&mut self, batch: &Batch) -> Outcome {
        let start = self.clock.now();
        if !self.breaker.allows(start) {
            return Outcome::GaveUp(DivertReason::BreakerOpen);
        }
        // A probe after the cooldown gets one attempt.
        let probing = self.breaker.state(start) == crate::sinks::BreakerState::HalfOpen;
        let mut backoff = Backoff::new(self.options.retry, start);
        let mut retry = false;
        loop {
            let began = Instant::now();
            let sink = &mut self.sink;
            let result = crate::panics::catch(|| {
                if retry {
                    sink.retry_batch(batch)
                } else {
                    sink.write_batch(batch)
                }
            });
            retry = true;
            self.counters().observe_write(began.elapsed());
            let err = match result {
                Ok(Ok(())) => return Outcome::Written,
                Ok(Err(SinkError::Partial { rejected, message })) => {
                    self.counters().error(SinkErrorKind::Rejected);
                    self.warn("sink rejected part of a batch", &message);
                    let n = batch.len();
                    let mut refused: Vec<usize> = rejected.into_iter().filter(|&i| i < n).collect();
                    refused.sort_unstable();
                    refused.dedup();
                    return Outcome::Partial(refused);
                }
                Ok(Err(SinkError::Rejected(message))) => {
                    // The destination answered: it is up, the data was bad.
                    self.counters().error(SinkErrorKind::Rejected);
                    self.warn("sink rejected a batch", &message);
                    return Outcome::Rejected;
                }
                Err(panicked) => {
                    // The same batch would panic again: no retry.
                    self.counters().error(SinkErrorKind::Panic);
                    panicked.report("sink", self.sink.name());
                    self.failed(self.clock.now());
                    return Outcome::Panicked;
                }
                Ok(Err(e)) => e,
            };
            self.counters().error(SinkErrorKind::Transient);
            let now = self.clock.now();
            let after = match &err {
                SinkError::Transient { after, .. } => *after,
                _ => None,
            };
            let next = if probing {
                None
            } else {
                backoff.next_delay(now, after, self.rng.f64())
            };
            let Some(delay) = next else {
                self.warn("sink write failed; giving the batch up", &err.to_string());
                return Outcome::GaveUp(if self.failed(now) {
                    DivertReason::BreakerOpen
                } else {
                    DivertReason::RetriesExhausted
                });
            };
            if let Some(deadline) = self.channel.deadline() {
                if Instant::now() + delay >= deadline {
                    return Outcome::GaveUp(DivertReason::Shutdown);
                }
            }
            self.counters().set_health(SinkHealth::Retrying);
            self.counters().retries.fetch_add(1, Ordering::Relaxed);
            match &self.clock {
                DriverClock::System => self.channel.pause(delay),
                DriverClock::Manual(c, _) => c.advance(delay),
            }
        }
    }

    /// Counts a batch given up on; `true` when the breaker opened.
    fn failed(&mut self, now: Instant) -> bool {
        if self.breaker.on_failure(now) {
            self.counters()
                .breaker_opened
                .fetch_add(1, Ordering::Relaxed);
            self.counters().set_health(SinkHealth::Open);
            self.warn(
                "circuit breaker opened",
                "batches are diverted until a probe succeeds",
            );
            return true;
        }
        false
    }

    /// Counts the lines `positions` (all when `None`) of `d` as written.
    fn delivered(&mut self, d: &Delivery, positions: Option<&[usize]>) {
        self.count_written(d.batch(), positions);
        let lines = match positions {
            None => d.lines.clone(),
            Some(ps) => d.lines.sub(ps),
        };
        d.job.accept(&lines);
    }

    /// Counts the lines `positions` (all when `None`) of `batch` as written.
    fn count_written(&mut self, batch: &Batch, positions: Option<&[usize]>) {
        let (n, bytes) = match positions {
            None => (batch.len(), batch.byte_len()),
            Some(ps) => {
                let sizes: Vec<usize> = batch.lines().map(|l| l.bytes.len() + 1).collect();
                (ps.len(), ps.iter().map(|&p| sizes[p]).sum())
            }
        };
        self.breaker.on_success();
        self.spool_wait = Duration::ZERO;
        self.counters().set_health(SinkHealth::Healthy);
        self.counters()
            .written
            .fetch_add(n as u64, Ordering::Relaxed);
        self.counters()
            .bytes
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Sends lines down the divert chain: the fallback sink (once), else stderr.
    fn divert(&mut self, mut d: Delivery, reason: DivertReason) {
        let n = d.batch().len() as u64;
        self.counters().divert(reason, n);
        if d.diverted_from.is_none() {
            if let Some(fb) = &self.fallback {
                d.diverted_from = Some(self.channel.index);
                if fb.format != d.format {
                    d.own = d.lines.select(&d.job, fb.format);
                    d.format = fb.format;
                }
                match fb.try_send_diverted(d) {
                    Ok(()) => {
                        self.counters()
                            .diverted_to_fallback
                            .fetch_add(n, Ordering::Relaxed);
                        return;
                    }
                    Err(back) => d = back,
                }
            }
        }
        self.to_stderr(d.batch());
    }

    /// The end of the divert chain: stderr, within its byte budget; what
    /// the budget refuses is dropped, counted `stderr_limit`.
    fn to_stderr(&self, batch: &Batch) {
        if self.stderr.write(batch) {
            self.counters()
                .diverted_to_stderr
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
        } else {
            self.counters()
                .drop_lines(SinkDropReason::StderrLimit, batch.levels());
        }
    }

    fn warn(&self, what: &str, error: &str) {
        diagnostics::warn(
            "sink",
            what,
            &[("sink", self.sink.name()), ("error", error)],
        );
    }
}
