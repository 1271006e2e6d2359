//! W3C trace context (`traceparent` / `tracestate`): the caller's trace is
//! continued with a new span of this server; without one, a trace starts here.

use std::fmt::Write as _;

use http::HeaderMap;

/// Longest `tracestate` passed on (the W3C limit is 512 characters).
const MAX_TRACESTATE: usize = 512;

/// This request's place in a distributed trace, in the request's extensions.
///
/// `span_id` is the id of this server's span; use [`traceparent`](Self::traceparent)
/// as the header of outgoing calls so they continue the trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceContext {
    trace_id: String,
    span_id: String,
    parent_span_id: Option<String>,
    flags: u8,
    tracestate: Option<String>,
}

impl TraceContext {
    /// The trace id: 32 lower-case hex digits.
    pub fn trace_id(&self) -> &str {
        &self.trace_id
    }

    /// This server's span id: 16 lower-case hex digits.
    pub fn span_id(&self) -> &str {
        &self.span_id
    }

    /// The caller's span id, when the request carried a `traceparent`.
    pub fn parent_span_id(&self) -> Option<&str> {
        self.parent_span_id.as_deref()
    }

    /// `true` when the trace is sampled (flag `01`).
    pub fn sampled(&self) -> bool {
        self.flags & 1 == 1
    }

    /// The vendor `tracestate`, passed on unchanged.
    pub fn tracestate(&self) -> Option<&str> {
        self.tracestate.as_deref()
    }

    /// The `traceparent` value for outgoing calls (this span as their parent).
    pub fn traceparent(&self) -> String {
        format!("00-{}-{}-{:02x}", self.trace_id, self.span_id, self.flags)
    }

    /// Continues the caller's trace when `traceparent` is valid, else starts one.
    pub fn from_headers(headers: &HeaderMap) -> TraceContext {
        let parent = headers
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_traceparent);
        match parent {
            Some((trace_id, parent_span, flags)) => TraceContext {
                trace_id: trace_id.to_owned(),
                span_id: random_hex::<8>(),
                parent_span_id: Some(parent_span.to_owned()),
                flags,
                tracestate: headers
                    .get("tracestate")
                    .and_then(|v| v.to_str().ok())
                    .filter(|s| s.len() <= MAX_TRACESTATE)
                    .map(str::to_owned),
            },
            None => TraceContext {
                trace_id: random_hex::<16>(),
                span_id: random_hex::<8>(),
                parent_span_id: None,
                flags: 1,
                tracestate: None,
            },
        }
    }
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `version-traceid-parentid-flags`; `None` when malformed or all-zero ids.
/// Later versions are read by their first four fields, as the spec asks.
pub(crate) fn parse_traceparent(value: &str) -> Option<(&str, &str, u8)> {
    let value = value.trim();
    let mut parts = value.split('-');
    let version = parts.next()?;
    let trace_id = parts.next()?;
    let span_id = parts.next()?;
    let flags = parts.next()?;
    let extra = parts.next();
    if version.len() != 2 || !is_lower_hex(version) || version == "ff" {
        return None;
    }
    if version == "00" && extra.is_some() {
        return None;
    }
    if trace_id.len() != 32 || !is_lower_hex(trace_id) || trace_id.bytes().all(|b| b == b'0') {
        return None;
    }
    if span_id.len() != 16 || !is_lower_hex(span_id) || span_id.bytes().all(|b| b == b'0') {
        return None;
    }
    if flags.len() != 2 || !is_lower_hex(flags) {
        return None;
    }
    let flags = u8::from_str_radix(flags, 16).ok()?;
    Some((trace_id, span_id, flags))
}

/// `N` random bytes as lower-case hex (never all zero).
fn random_hex<const N: usize>() -> String {
    let mut out = String::with_capacity(N * 2);
    loop {
        let bytes = uuid::Uuid::new_v4().into_bytes();
        if bytes[..N].iter().any(|b| *b != 0) {
            for b in &bytes[..N] {
                let _ = write!(out, "{b:02x}");
            }
            return out;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_valid_and_rejects_malformed() {
        let ok = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(
            parse_traceparent(ok),
            Some(("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 1))
        );
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-xyz-00f067aa0ba902b7-01",
        ] {
            assert_eq!(parse_traceparent(bad), None, "{bad}");
        }
        assert!(parse_traceparent(
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future"
        )
        .is_some());
    }

    #[test]
    fn continues_or_starts_a_trace() {
        let mut h = HeaderMap::new();
        h.insert(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
                .parse()
                .unwrap(),
        );
        h.insert("tracestate", "congo=t61rcWkgMzE".parse().unwrap());
        let tc = TraceContext::from_headers(&h);
        assert_eq!(tc.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(tc.parent_span_id(), Some("00f067aa0ba902b7"));
        assert_ne!(tc.span_id(), "00f067aa0ba902b7");
        assert!(!tc.sampled());
        assert_eq!(tc.tracestate(), Some("congo=t61rcWkgMzE"));
        assert!(tc
            .traceparent()
            .starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));

        let fresh = TraceContext::from_headers(&HeaderMap::new());
        assert_eq!(fresh.trace_id().len(), 32);
        assert_eq!(fresh.span_id().len(), 16);
        assert!(parse_traceparent(&fresh.traceparent()).is_some());
    }
}
