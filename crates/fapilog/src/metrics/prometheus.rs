//! The pipeline's metrics in the Prometheus text exposition format (0.0.4).
//!
//! Names are prefixed `fapilog_` and match fapilog's where fapilog has the
//! metric (`fapilog_events_submitted_total`, `fapilog_sink_errors_total{sink}`,
//! `fapilog_flush_seconds`, `fapilog_queue_high_watermark`, …). Where fapilog
//! labels drops by `protected`, we label them by `level` and `reason`, which
//! says more and still sums to the same total.
//!
//! ```
//! use std::time::Duration;
//! use fapilog::Pipeline;
//! use fapilog::testing::CaptureSink;
//!
//! let (sink, _captured) = CaptureSink::new();
//! let pipeline = Pipeline::builder().sink(sink).build()?;
//! fapilog::info!(pipeline.logger("app"), "hello");
//! pipeline.flush(Duration::from_secs(5))?;
//! let text = pipeline.metrics().to_prometheus();
//! assert!(text.contains("# TYPE fapilog_events_submitted_total counter\n"));
//! assert!(text.contains("fapilog_events_submitted_total 1\n"));
//! # Ok::<(), fapilog::Error>(())
//! ```

use std::fmt::Write as _;

use crate::metrics::MetricsSnapshot;

/// The `Content-Type` of [`MetricsSnapshot::to_prometheus`]'s output.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

impl MetricsSnapshot {
    /// Renders the snapshot in the Prometheus text exposition format.
    ///
    /// Every metric family has its `# HELP` and `# TYPE` lines; labelled
    /// families (drops, sinks, stages) list one series per label set seen.
    /// Serve it with [`PROMETHEUS_CONTENT_TYPE`].
    pub fn to_prometheus(&self) -> String {
        let mut out = String::with_capacity(2048);
        let w = &mut out;
        counter(
            w,
            "fapilog_events_submitted_total",
            "Log calls that passed the level gate.",
            self.submitted,
        );
        counter(
            w,
            "fapilog_events_written_total",
            "Events every sink accepted.",
            self.written,
        );
        counter(
            w,
            "fapilog_events_failed_total",
            "Events at least one sink failed to write (sent to the stderr fallback).",
            self.failed,
        );
        counter(
            w,
            "fapilog_events_filtered_total",
            "Events removed by filters.",
            self.filtered,
        );

        header(
            w,
            "fapilog_events_dropped_total",
            "Events dropped, by level and reason.",
            "counter",
        );
        for d in &self.dropped {
            series(
                w,
                "fapilog_events_dropped_total",
                &[("level", d.level), ("reason", d.reason.as_str())],
                d.count,
            );
        }
        counter(
            w,
            "fapilog_drop_reports_total",
            "In-band 'logs dropped' events written.",
            self.drop_reports,
        );

        gauge(
            w,
            "fapilog_queue_depth",
            "Events in the queue now.",
            self.queue_depth as u64,
        );
        gauge(
            w,
            "fapilog_queue_capacity",
            "Configured capacity of the main queue.",
            self.queue_capacity as u64,
        );
        gauge(
            w,
            "fapilog_queue_high_watermark",
            "The deepest the queue was seen.",
            self.queue_high_watermark as u64,
        );
        counter(
            w,
            "fapilog_batches_total",
            "Batches handed to the sinks.",
            self.batches,
        );

        header(
            w,
            "fapilog_flush_seconds",
            "Time to write one batch to the sinks.",
            "histogram",
        );
        for (le, count) in &self.flush_histogram {
            let _ = write!(w, "fapilog_flush_seconds_bucket{{le=\"");
            float(w, *le);
            let _ = writeln!(w, "\"}} {count}");
        }
        let _ = write!(w, "fapilog_flush_seconds_sum ");
        float(w, self.flush_seconds_total);
        let _ = writeln!(w);
        let _ = writeln!(w, "fapilog_flush_seconds_count {}", self.flush_count);
        header(
            w,
            "fapilog_flush_seconds_max",
            "Slowest batch write, seconds.",
            "gauge",
        );
        let _ = write!(w, "fapilog_flush_seconds_max ");
        float(w, self.flush_seconds_max);
        let _ = writeln!(w);

        let by_sink = |pick: fn(&crate::SinkMetrics) -> u64| {
            self.sinks.iter().map(move |s| (s.name.as_str(), pick(s)))
        };
        labelled_counter(
            w,
            "fapilog_sink_events_written_total",
            "Events each sink accepted.",
            "sink",
            by_sink(|s| s.written),
        );
        labelled_counter(
            w,
            "fapilog_sink_errors_total",
            "Failed batch writes per sink (errors and panics).",
            "sink",
            by_sink(|s| s.errors),
        );
        self.sink_families(w);
        let by_plugin = |pick: fn(&crate::StageMetrics) -> u64| {
            self.stage_errors
                .iter()
                .map(move |s| (s.stage.as_str(), pick(s)))
        };
        labelled_counter(
            w,
            "fapilog_plugin_errors_total",
            "Stage (filter, enricher, redactor, processor) calls that failed, panics included.",
            "plugin",
            by_plugin(|s| s.errors + s.panics),
        );
        labelled_counter(
            w,
            "fapilog_plugin_panics_total",
            "Stage calls that panicked.",
            "plugin",
            by_plugin(|s| s.panics),
        );

        let st = &self.stages;
        let stage_counters: [(&str, &str, u64); 8] = [
            (
                "fapilog_redacted_fields_total",
                "Values the built-in redactors masked, removed or rewrote.",
                st.redacted_fields,
            ),
            (
                "fapilog_rate_limited_total",
                "Events the rate-limit filter suppressed.",
                st.rate_limited,
            ),
            (
                "fapilog_deduplicated_total",
                "Repeats the first-occurrence filter suppressed.",
                st.deduplicated,
            ),
            (
                "fapilog_sampled_out_total",
                "Events the sampling filters dropped.",
                st.sampled_out,
            ),
            (
                "fapilog_size_guard_truncated_total",
                "Events the size guard shortened.",
                st.size_guard_truncated,
            ),
            (
                "fapilog_size_guard_dropped_total",
                "Events the size guard dropped.",
                st.size_guard_dropped,
            ),
            (
                "fapilog_exceptions_bounded_total",
                "Backtraces the exceptions processor shortened.",
                st.exceptions_bounded,
            ),
            (
                "fapilog_worker_restarts_total",
                "Worker threads that died and were restarted.",
                st.worker_restarts,
            ),
        ];
        for (name, help, value) in stage_counters {
            counter(w, name, help, value);
        }
        gauge(
            w,
            "fapilog_rate_limit_keys_tracked",
            "Keys the rate-limit filter tracks now.",
            st.rate_limit_keys_tracked,
        );
        if let Some(rate) = st.adaptive_sample_rate {
            header(
                w,
                "fapilog_filter_sample_rate",
                "The adaptive sampling filter's current sample rate.",
                "gauge",
            );
            let _ = write!(
                w,
                "fapilog_filter_sample_rate{{filter=\"adaptive_sampling\"}} "
            );
            float(w, rate);
            let _ = writeln!(w);
        }
        out
    }
}

/// A per-sink family: name, help, type, and the value it reads.
type SinkFamily = (
    &'static str,
    &'static str,
    &'static str,
    fn(&crate::SinkMetrics) -> u64,
);

impl MetricsSnapshot {
    /// The sink drivers' families: bytes, retries, errors by kind, drops
    /// and diversions by reason, buffer, write time, breaker and health.
    fn sink_families(&self, w: &mut String) {
        let simple: [SinkFamily; 6] = [
            (
                "fapilog_sink_bytes_written_total",
                "Bytes of the lines each sink accepted.",
                "counter",
                |s| s.bytes,
            ),
            (
                "fapilog_sink_retries_total",
                "Write attempts that were retries.",
                "counter",
                |s| s.retries,
            ),
            (
                "fapilog_sink_breaker_opened_total",
                "Times each sink's circuit breaker opened.",
                "counter",
                |s| s.breaker_opened,
            ),
            (
                "fapilog_sink_received_diverted_total",
                "Lines each sink received as another sink's fallback.",
                "counter",
                |s| s.received_diverted,
            ),
            (
                "fapilog_sink_buffer_batches",
                "Batches in each sink's buffer.",
                "gauge",
                |s| s.buffer_depth as u64,
            ),
            (
                "fapilog_sink_buffer_high_watermark_batches",
                "The most batches each sink's buffer held.",
                "gauge",
                |s| s.buffer_high_watermark as u64,
            ),
        ];
        for (name, help, kind, pick) in simple {
            header(w, name, help, kind);
            for s in &self.sinks {
                series(w, name, &[("sink", &s.name)], pick(s));
            }
        }
        let name = "fapilog_sink_errors_by_kind_total";
        header(w, name, "Failed batch writes per sink and kind.", "counter");
        for s in &self.sinks {
            for (k, n) in &s.errors_by_kind {
                series(w, name, &[("sink", &s.name), ("kind", k.as_str())], *n);
            }
        }
        let name = "fapilog_sink_dropped_total";
        header(
            w,
            name,
            "Lines a sink lost (buffer full, left at shutdown, stderr over budget), by level and reason.",
            "counter",
        );
        for s in &self.sinks {
            for (level, reason, n) in &s.dropped {
                series(
                    w,
                    name,
                    &[
                        ("sink", &s.name),
                        ("level", level),
                        ("reason", reason.as_str()),
                    ],
                    *n,
                );
            }
        }
        let name = "fapilog_sink_diverted_total";
        header(
            w,
            name,
            "Lines a sink gave up on and sent to its fallback or stderr, by reason.",
            "counter",
        );
        for s in &self.sinks {
            for (reason, n) in &s.diverted {
                series(
                    w,
                    name,
                    &[("sink", &s.name), ("reason", reason.as_str())],
                    *n,
                );
            }
        }
        let name = "fapilog_sink_diverted_to_total";
        header(w, name, "Diverted lines by where they went.", "counter");
        for s in &self.sinks {
            series(
                w,
                name,
                &[("sink", &s.name), ("to", "fallback")],
                s.diverted_to_fallback,
            );
            series(
                w,
                name,
                &[("sink", &s.name), ("to", "stderr")],
                s.diverted_to_stderr,
            );
        }
        let name = "fapilog_sink_write_seconds";
        header(w, name, "Time spent in each sink's writes.", "summary");
        for s in &self.sinks {
            let _ = write!(w, "{name}_sum{{sink=\"");
            label_value(w, &s.name);
            w.push_str("\"} ");
            float(w, s.write_seconds_total);
            let _ = writeln!(w);
            series(w, &format!("{name}_count"), &[("sink", &s.name)], s.writes);
        }
        let name = "fapilog_sink_health";
        header(
            w,
            name,
            "1 for each sink's current state (healthy, retrying, open, stopped).",
            "gauge",
        );
        for s in &self.sinks {
            for state in [
                crate::SinkHealth::Healthy,
                crate::SinkHealth::Retrying,
                crate::SinkHealth::Open,
                crate::SinkHealth::Stopped,
            ] {
                series(
                    w,
                    name,
                    &[("sink", &s.name), ("state", state.as_str())],
                    u64::from(s.health == state),
                );
            }
        }
        self.spool_families(w);
    }

    /// The disk spools' families (`fapilog_sink_spool_*`), for the sinks
    /// that have one; nothing when none has.
    fn spool_families(&self, w: &mut String) {
        type SpoolFamily = (
            &'static str,
            &'static str,
            &'static str,
            fn(&crate::SpoolMetrics) -> u64,
        );
        let spools: Vec<(&str, &crate::SpoolMetrics)> = self
            .sinks
            .iter()
            .filter_map(|s| Some((s.name.as_str(), s.spool.as_ref()?)))
            .collect();
        if spools.is_empty() {
            return;
        }
        let simple: [SpoolFamily; 9] = [
            (
                "fapilog_sink_spool_bytes",
                "Bytes of segment files in each sink's spool.",
                "gauge",
                |s| s.bytes,
            ),
            (
                "fapilog_sink_spool_segments",
                "Segment files in each sink's spool.",
                "gauge",
                |s| s.segments,
            ),
            (
                "fapilog_sink_spool_pending_lines",
                "Lines waiting in each sink's spool.",
                "gauge",
                |s| s.pending,
            ),
            (
                "fapilog_sink_spool_spooled_lines_total",
                "Lines written to each sink's spool.",
                "counter",
                |s| s.spooled,
            ),
            (
                "fapilog_sink_spool_replayed_lines_total",
                "Lines read back from each sink's spool and delivered.",
                "counter",
                |s| s.replayed,
            ),
            (
                "fapilog_sink_spool_corrupt_frames_total",
                "Frames skipped as corrupt (checksum, length, torn tail).",
                "counter",
                |s| s.corrupt_skipped,
            ),
            (
                "fapilog_sink_spool_write_errors_total",
                "Spool writes the disk refused.",
                "counter",
                |s| s.write_errors,
            ),
            (
                "fapilog_sink_spool_sync_errors_total",
                "Spool fsyncs that failed.",
                "counter",
                |s| s.sync_errors,
            ),
            (
                "fapilog_sink_spool_degraded",
                "1 while a spool's last fsync failed.",
                "gauge",
                |s| u64::from(s.degraded),
            ),
        ];
        for (name, help, kind, pick) in simple {
            header(w, name, help, kind);
            for (sink, s) in &spools {
                series(w, name, &[("sink", sink)], pick(s));
            }
        }
        let name = "fapilog_sink_spool_dropped_lines_total";
        header(
            w,
            name,
            "Lines each spool's size policy dropped, by policy.",
            "counter",
        );
        for (sink, s) in &spools {
            series(
                w,
                name,
                &[("sink", sink), ("policy", "drop_oldest")],
                s.dropped_oldest,
            );
            series(
                w,
                name,
                &[("sink", sink), ("policy", "drop_newest")],
                s.dropped_newest,
            );
        }
        let name = "fapilog_sink_spool_oldest_age_seconds";
        header(
            w,
            name,
            "Age of the oldest line waiting in each sink's spool.",
            "gauge",
        );
        for (sink, s) in &spools {
            w.push_str(name);
            w.push_str("{sink=\"");
            label_value(w, sink);
            w.push_str("\"} ");
            float(w, s.oldest_age_seconds);
            w.push('\n');
        }
    }
}

fn header(w: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(w, "# HELP {name} {help}");
    let _ = writeln!(w, "# TYPE {name} {kind}");
}

fn counter(w: &mut String, name: &str, help: &str, value: u64) {
    header(w, name, help, "counter");
    let _ = writeln!(w, "{name} {value}");
}

fn gauge(w: &mut String, name: &str, help: &str, value: u64) {
    header(w, name, help, "gauge");
    let _ = writeln!(w, "{name} {value}");
}

/// A counter family with one label: a header, then one series per row.
fn labelled_counter<'a>(
    w: &mut String,
    name: &str,
    help: &str,
    label: &str,
    rows: impl Iterator<Item = (&'a str, u64)>,
) {
    header(w, name, help, "counter");
    for (value_of_label, count) in rows {
        series(w, name, &[(label, value_of_label)], count);
    }
}

fn series(w: &mut String, name: &str, labels: &[(&str, &str)], value: u64) {
    w.push_str(name);
    w.push('{');
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            w.push(',');
        }
        w.push_str(k);
        w.push_str("=\"");
        label_value(w, v);
        w.push('"');
    }
    let _ = writeln!(w, "}} {value}");
}

/// Label values escape `\`, `"` and newline, as the format requires.
fn label_value(w: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => w.push_str("\\\\"),
            '"' => w.push_str("\\\""),
            '\n' => w.push_str("\\n"),
            c => w.push(c),
        }
    }
}

/// Floats as Prometheus reads them: `+Inf`, `-Inf`, `NaN`, else Rust's
/// shortest round-trip form.
fn float(w: &mut String, v: f64) {
    if v.is_nan() {
        w.push_str("NaN");
    } else if v == f64::INFINITY {
        w.push_str("+Inf");
    } else if v == f64::NEG_INFINITY {
        w.push_str("-Inf");
    } else {
        let _ = write!(w, "{v}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_label_values() {
        let mut s = String::new();
        label_value(&mut s, "a\"b\\c\nd");
        assert_eq!(s, "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn floats_in_prometheus_spelling() {
        let mut s = String::new();
        float(&mut s, f64::INFINITY);
        s.push(' ');
        float(&mut s, 0.0005);
        s.push(' ');
        float(&mut s, 1.0);
        assert_eq!(s, "+Inf 0.0005 1");
    }
}
