//! The pipeline's metrics through the [`metrics`] crate facade (feature
//! `metrics`), so an exporter the application already installed
//! (`metrics-exporter-prometheus`, StatsD, …) picks them up.
//!
//! The names and labels are those of
//! [`MetricsSnapshot::to_prometheus`](crate::MetricsSnapshot::to_prometheus).
//! Counters are published as absolute values. The facade cannot take a
//! ready-made histogram, so the flush latency is published as
//! `fapilog_flush_seconds_count` (counter), `fapilog_flush_seconds_sum` and
//! `fapilog_flush_seconds_max` (gauges); use `to_prometheus` for its buckets.
//!
//! ```
//! # #[cfg(feature = "metrics")] {
//! use std::time::Duration;
//! let (sink, _) = fapilog::testing::CaptureSink::new();
//! let pipeline = fapilog::Pipeline::builder().sink(sink).build().unwrap();
//! // Once, now (e.g. from a scrape handler) …
//! fapilog::metrics_facade::publish(&pipeline.metrics());
//! // … or every few seconds from a thread of its own, until the guard drops.
//! let _publisher = fapilog::metrics_facade::publish_every(&pipeline, Duration::from_secs(5)).unwrap();
//! # }
//! ```

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::error::Error;
use crate::metrics::MetricsSnapshot;
use crate::pipeline::{Inner, Pipeline};

/// Publishes one snapshot to the installed `metrics` recorder.
pub fn publish(m: &MetricsSnapshot) {
    use ::metrics::{counter, gauge};
    counter!("fapilog_events_submitted_total").absolute(m.submitted);
    counter!("fapilog_events_written_total").absolute(m.written);
    counter!("fapilog_events_failed_total").absolute(m.failed);
    counter!("fapilog_events_filtered_total").absolute(m.filtered);
    for d in &m.dropped {
        counter!("fapilog_events_dropped_total", "level" => d.level, "reason" => d.reason.as_str())
            .absolute(d.count);
    }
    counter!("fapilog_drop_reports_total").absolute(m.drop_reports);
    gauge!("fapilog_queue_depth").set(m.queue_depth as f64);
    gauge!("fapilog_queue_capacity").set(m.queue_capacity as f64);
    gauge!("fapilog_queue_high_watermark").set(m.queue_high_watermark as f64);
    counter!("fapilog_batches_total").absolute(m.batches);
    counter!("fapilog_flush_seconds_count").absolute(m.flush_count);
    gauge!("fapilog_flush_seconds_sum").set(m.flush_seconds_total);
    gauge!("fapilog_flush_seconds_max").set(m.flush_seconds_max);
    for s in &m.sinks {
        counter!("fapilog_sink_events_written_total", "sink" => s.name.clone()).absolute(s.written);
        counter!("fapilog_sink_errors_total", "sink" => s.name.clone()).absolute(s.errors);
    }
    for s in &m.stage_errors {
        counter!("fapilog_plugin_errors_total", "plugin" => s.stage.clone())
            .absolute(s.errors + s.panics);
        counter!("fapilog_plugin_panics_total", "plugin" => s.stage.clone()).absolute(s.panics);
    }
}

/// Publishes the pipeline's metrics every `interval` on a thread of its
/// own, until the guard drops or the pipeline shuts down. The thread holds
/// no strong handle: dropping the application's last handle still drains.
pub fn publish_every(pipeline: &Pipeline, interval: Duration) -> Result<PublisherGuard, Error> {
    let weak: Weak<Inner> = Arc::downgrade(&pipeline.inner);
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let thread = std::thread::Builder::new()
        .name("fapilog-metrics".to_owned())
        .spawn(move || {
            while !flag.load(Ordering::Acquire) {
                let Some(inner) = weak.upgrade() else {
                    break;
                };
                publish(&Pipeline { inner }.metrics());
                std::thread::park_timeout(interval);
            }
        })
        .map_err(Error::Spawn)?;
    Ok(PublisherGuard {
        stop,
        thread: Some(thread),
    })
}

/// Stops [`publish_every`]'s thread when dropped.
#[must_use = "dropping the guard stops publishing"]
#[derive(Debug)]
pub struct PublisherGuard {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for PublisherGuard {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}
