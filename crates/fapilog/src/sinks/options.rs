//! How a sink's driver delivers: its buffer, what happens when the buffer
//! is full, retries, the circuit breaker and the fallback.

use std::num::NonZeroUsize;
use std::time::Duration;

/// What a sink's driver does with a batch when the sink's buffer is full.
///
/// Each variant says what happens to the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WhenFull {
    /// The worker waits for room: backpressure travels to the queue, where
    /// the callers' [`Backpressure`](crate::Backpressure) policy decides.
    /// Nothing is lost at the sink, but a stuck sink slows every caller
    /// once the queue fills. The default of local sinks (stdout, stderr,
    /// files), whose delays are the machine's own.
    Block,
    /// The new batch is dropped for this sink only: the other sinks still
    /// get it. Counted per sink and level, and reported in the in-band
    /// `logs dropped` event that the other sinks receive. The default of
    /// every other sink, so a slow or dead destination slows nothing.
    DropNewest,
    /// The batch goes to the sink's disk spool (cargo feature `spool`,
    /// configured with `SinkOptions::spool`), and so does every later
    /// batch until the spool is drained, so the sink still receives its
    /// lines in order. The spool keeps them across outages and restarts
    /// (its `SpoolFsync` policy says what a crash or a power loss can
    /// take); when the spool itself is full, its `SpoolWhenFull` policy
    /// decides. Without a spool, the pipeline refuses to build. See
    /// `docs/spool.md`.
    Spill,
}

/// Retries of a failed batch: exponential backoff with full jitter.
///
/// The n-th retry waits a random time in `[0, min(max_delay, initial ×
/// multiplier^n)]` (full jitter), or exactly what the sink asked for with
/// [`SinkError::Transient`](crate::SinkError::Transient)'s `after` (capped by
/// `max_delay` and the deadlines). Retries stop after `max_attempts`
/// attempts in all, or once `max_elapsed` has passed since the first
/// attempt, or at the shutdown deadline; the batch is then diverted.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included (default 5; 1 means no retry).
    pub max_attempts: u32,
    /// The first retry's upper bound (default 100 ms).
    pub initial: Duration,
    /// Growth of the bound per retry (default 2.0).
    pub multiplier: f64,
    /// Largest bound, and largest `after` honoured (default 30 s).
    pub max_delay: Duration,
    /// Longest time spent on one batch, retries included (default 60 s).
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial: Duration::from_millis(100),
            multiplier: 2.0,
            max_delay: Duration::from_secs(30),
            max_elapsed: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries: a failed batch is diverted at once.
    pub fn none() -> RetryPolicy {
        RetryPolicy::default().max_attempts(1)
    }

    /// Attempts in all, the first included.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// The first retry's upper bound.
    pub fn initial(mut self, delay: Duration) -> Self {
        self.initial = delay;
        self
    }

    /// Growth of the bound per retry.
    pub fn multiplier(mut self, factor: f64) -> Self {
        self.multiplier = factor;
        self
    }

    /// Largest bound, and largest `Retry-After` honoured.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Longest time spent on one batch, retries included.
    pub fn max_elapsed(mut self, budget: Duration) -> Self {
        self.max_elapsed = budget;
        self
    }
}

/// The circuit breaker of a sink: after `failure_threshold` consecutive
/// failed batches it opens, and batches go straight down the divert chain;
/// after `cooldown` one batch probes the sink: success closes the breaker,
/// failure opens it again for a cooldown twice as long (at most
/// `max_cooldown`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BreakerPolicy {
    /// Consecutive failures that open the breaker (default 5; 0 turns the breaker off).
    pub failure_threshold: u32,
    /// Time before the first probe (default 30 s).
    pub cooldown: Duration,
    /// Longest cooldown as it grows (default 5 min).
    pub max_cooldown: Duration,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        BreakerPolicy {
            failure_threshold: 5,
            cooldown: Duration::from_secs(30),
            max_cooldown: Duration::from_secs(300),
        }
    }
}

impl BreakerPolicy {
    /// A breaker that never opens.
    pub fn off() -> BreakerPolicy {
        BreakerPolicy::default().failure_threshold(0)
    }

    /// Consecutive failed batches that open the breaker (0: never).
    pub fn failure_threshold(mut self, failures: u32) -> Self {
        self.failure_threshold = failures;
        self
    }

    /// Time before the first probe.
    pub fn cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// Longest cooldown as it doubles after failed probes.
    pub fn max_cooldown(mut self, cooldown: Duration) -> Self {
        self.max_cooldown = cooldown;
        self
    }
}

/// How the pipeline delivers to one sink. Every option has a default; the
/// `when_full` default depends on the sink ([`Sink::when_full`](crate::Sink::when_full)).
///
/// ```
/// use std::time::Duration;
/// use fapilog::sinks::{RetryPolicy, SinkOptions, WhenFull};
/// use fapilog::testing::CaptureSink;
///
/// let (primary, _) = CaptureSink::named("primary", fapilog::Format::Json);
/// let (backup, _) = CaptureSink::named("backup", fapilog::Format::Json);
/// let options = SinkOptions::new()
///     .when_full(WhenFull::DropNewest)
///     .buffer_batches(32)
///     .retry(RetryPolicy::default().max_attempts(3))
///     .fallback("backup");
/// let pipeline = fapilog::Pipeline::builder()
///     .sink_with(primary, options)
///     .sink(backup)
///     .build()?;
/// # drop(pipeline);
/// # Ok::<(), fapilog::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[must_use]
#[non_exhaustive]
pub struct SinkOptions {
    pub(crate) when_full: Option<WhenFull>,
    pub(crate) buffer_batches: Option<usize>,
    pub(crate) buffer_bytes: Option<usize>,
    pub(crate) retry: RetryPolicy,
    pub(crate) breaker: BreakerPolicy,
    pub(crate) fallback: Option<String>,
    #[cfg(feature = "spool")]
    pub(crate) spool: Option<crate::spool::SpoolOptions>,
}

/// Default of [`SinkOptions::buffer_batches`].
pub const DEFAULT_BUFFER_BATCHES: usize = 16;
/// Default of [`SinkOptions::buffer_bytes`].
pub const DEFAULT_BUFFER_BYTES: usize = 16 << 20;

impl SinkOptions {
    /// Every option at its default.
    pub fn new() -> SinkOptions {
        SinkOptions::default()
    }

    /// What happens when the sink's buffer is full (default: the sink's own
    /// [`Sink::when_full`](crate::Sink::when_full)).
    pub fn when_full(mut self, policy: WhenFull) -> Self {
        self.when_full = Some(policy);
        self
    }

    /// Batches the sink's buffer holds (default 16; 0 is refused at build time).
    pub fn buffer_batches(mut self, batches: usize) -> Self {
        self.buffer_batches = Some(batches);
        self
    }

    /// Encoded bytes the sink's buffer holds (default 16 MiB; 0 is refused
    /// at build time). A batch larger than this is still taken when the
    /// buffer is empty.
    pub fn buffer_bytes(mut self, bytes: usize) -> Self {
        self.buffer_bytes = Some(bytes);
        self
    }

    /// Retries of a failed batch (default [`RetryPolicy::default`]).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The circuit breaker (default [`BreakerPolicy::default`]).
    pub fn breaker(mut self, breaker: BreakerPolicy) -> Self {
        self.breaker = breaker;
        self
    }

    /// Another sink of the pipeline, by name, that receives what this sink
    /// gives up on (retries exhausted, rejected, breaker open). The
    /// fallback's own failures go to stderr: fallbacks are never chained.
    pub fn fallback(mut self, sink: impl Into<String>) -> Self {
        self.fallback = Some(sink.into());
        self
    }

    /// No fallback sink: what the driver gives up on goes to stderr.
    pub fn no_fallback(mut self) -> Self {
        self.fallback = None;
        self
    }

    /// The retry policy set.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// The breaker policy set.
    pub fn breaker_policy(&self) -> BreakerPolicy {
        self.breaker
    }

    /// The fallback sink's name, if one is set.
    pub fn fallback_sink(&self) -> Option<&str> {
        self.fallback.as_deref()
    }

    /// A disk spool for this sink (cargo feature `spool`): with
    /// [`WhenFull::Spill`], what does not fit the buffer waits there; with
    /// [`SpoolMode::Always`](crate::sinks::SpoolMode::Always), every batch
    /// passes through it. Batches the sink gives up on (retries
    /// exhausted, breaker open) and those left at the shutdown deadline go
    /// there too instead of the fallback, and are replayed in order.
    #[cfg(feature = "spool")]
    pub fn spool(mut self, spool: crate::spool::SpoolOptions) -> Self {
        self.spool = Some(spool);
        self
    }

    /// The options with their defaults filled in, checked.
    pub(crate) fn resolve(
        &self,
        sink: &str,
        sink_default: WhenFull,
    ) -> Result<Resolved, crate::Error> {
        let bad = |what: &str, value: String, expected: &str| crate::Error::InvalidSinkOption {
            sink: sink.to_owned(),
            option: what.to_owned(),
            value,
            expected: expected.to_owned(),
        };
        let batches = self.buffer_batches.unwrap_or(DEFAULT_BUFFER_BATCHES);
        let batches = NonZeroUsize::new(batches)
            .ok_or_else(|| bad("buffer_batches", "0".into(), "at least 1"))?;
        let bytes = self.buffer_bytes.unwrap_or(DEFAULT_BUFFER_BYTES);
        let bytes = NonZeroUsize::new(bytes)
            .ok_or_else(|| bad("buffer_bytes", "0".into(), "at least 1"))?;
        let r = &self.retry;
        if r.max_attempts == 0 {
            return Err(bad("retry.max_attempts", "0".into(), "at least 1"));
        }
        if !(r.multiplier.is_finite() && r.multiplier >= 1.0) {
            return Err(bad(
                "retry.multiplier",
                r.multiplier.to_string(),
                "a finite number >= 1.0",
            ));
        }
        if self.fallback.as_deref() == Some(sink) {
            return Err(bad(
                "fallback",
                sink.to_owned(),
                "another sink than the sink itself",
            ));
        }
        let when_full = self.when_full.unwrap_or(sink_default);
        #[cfg(feature = "spool")]
        if let Some(spool) = &self.spool {
            spool
                .check()
                .map_err(|(option, value, expected)| bad(option, value, expected))?;
        }
        #[cfg(feature = "spool")]
        let spooled = self.spool.is_some();
        #[cfg(not(feature = "spool"))]
        let spooled = false;
        if when_full == WhenFull::Spill && !spooled {
            return Err(bad(
                "when_full",
                "spill".into(),
                "a spool to spill to (SinkOptions::spool, cargo feature `spool`)",
            ));
        }
        Ok(Resolved {
            when_full,
            #[cfg(feature = "spool")]
            spool: self.spool.clone(),
            buffer_batches: batches,
            buffer_bytes: bytes,
            retry: self.retry,
            breaker: self.breaker,
        })
    }
}

/// [`SinkOptions`] with every default filled in.
#[derive(Clone, Debug)]
pub(crate) struct Resolved {
    pub(crate) when_full: WhenFull,
    pub(crate) buffer_batches: NonZeroUsize,
    pub(crate) buffer_bytes: NonZeroUsize,
    pub(crate) retry: RetryPolicy,
    pub(crate) breaker: BreakerPolicy,
    #[cfg(feature = "spool")]
    pub(crate) spool: Option<crate::spool::SpoolOptions>,
}
