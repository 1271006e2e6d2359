//! The active OpenTelemetry ids (from `tracing-opentelemetry`) into `context`.

use std::io::Write as _;

use fapilog::{Capture, FieldValue};
use opentelemetry::trace::{SpanId, TraceId};
use tracing_opentelemetry::OtelData;
use tracing_subscriber::registry::{LookupSpan, SpanRef};

/// Adds `trace_id` and `span_id` of the nearest span that
/// `tracing-opentelemetry` has built a context for (lower-case hex, as in
/// W3C `traceparent`).
pub(crate) fn trace_ids<'a, R: LookupSpan<'a>>(leaf: &SpanRef<'a, R>, call: &mut Capture<'_>) {
    for span in leaf.scope() {
        let ext = span.extensions();
        let Some(data) = ext.get::<OtelData>() else {
            continue;
        };
        let (Some(trace_id), Some(span_id)) = (data.trace_id(), data.span_id()) else {
            continue;
        };
        if trace_id == TraceId::INVALID || span_id == SpanId::INVALID {
            return;
        }
        let mut t = [0u8; 32];
        let mut s = [0u8; 16];
        if write!(&mut t[..], "{trace_id}").is_ok() && write!(&mut s[..], "{span_id}").is_ok() {
            if let (Ok(t), Ok(s)) = (std::str::from_utf8(&t), std::str::from_utf8(&s)) {
                call.field("trace_id", FieldValue::Str(t));
                call.field("span_id", FieldValue::Str(s));
            }
        }
        return;
    }
}
