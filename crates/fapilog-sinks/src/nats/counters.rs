//! What the sink counts besides the driver's metrics: duplicates the
//! stream recognised, lines too large, missing-stream answers, connects.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Live counters of one [`NatsSink`](super::NatsSink), readable while the
/// sink runs inside a pipeline: take them with
/// [`NatsSink::counters`](super::NatsSink::counters) before adding the sink.
///
/// The driver's own metrics ([`fapilog::Pipeline::metrics`]) count lines
/// written, retries, errors and diversions; these say what JetStream
/// answered.
#[derive(Clone, Debug, Default)]
pub struct NatsCounters {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    stored: AtomicU64,
    duplicates: AtomicU64,
    oversized: AtomicU64,
    no_stream: AtomicU64,
    connects: AtomicU64,
    publishes: AtomicU64,
}

impl NatsCounters {
    /// Lines the stream acknowledged as newly stored.
    pub fn stored(&self) -> u64 {
        self.inner.stored.load(Ordering::Relaxed)
    }

    /// Lines the stream acknowledged with `duplicate: true`: an earlier
    /// attempt had stored them (its ack was lost or late). Counted as
    /// delivered.
    pub fn duplicates(&self) -> u64 {
        self.inner.duplicates.load(Ordering::Relaxed)
    }

    /// Lines refused locally because they exceed the server's
    /// `max_payload`.
    pub fn oversized(&self) -> u64 {
        self.inner.oversized.load(Ordering::Relaxed)
    }

    /// Publishes answered "no responders": no stream binds the subject.
    pub fn no_stream(&self) -> u64 {
        self.inner.no_stream.load(Ordering::Relaxed)
    }

    /// Successful connections made by the sink (async-nats reconnects on
    /// its own after that; those are not counted here).
    pub fn connects(&self) -> u64 {
        self.inner.connects.load(Ordering::Relaxed)
    }

    /// Publishes sent, first attempts and resends alike.
    pub fn publishes(&self) -> u64 {
        self.inner.publishes.load(Ordering::Relaxed)
    }

    pub(crate) fn add_stored(&self, n: u64) {
        self.inner.stored.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn add_duplicates(&self, n: u64) {
        self.inner.duplicates.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn add_oversized(&self, n: u64) {
        self.inner.oversized.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn add_no_stream(&self) {
        self.inner.no_stream.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add_connect(&self) {
        self.inner.connects.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add_publishes(&self, n: u64) {
        self.inner.publishes.fetch_add(n, Ordering::Relaxed);
    }
}
