//! A batch as `PutLogEvents` bodies within CloudWatch Logs' limits.
//!
//! Each line becomes `{"timestamp": <event time, ms>, "message": <the
//! envelope line>}`. Events are sorted by time (the service refuses a call
//! out of order) and split so that one call holds at most 10,000 events,
//! at most 1,048,576 bytes counting each message's UTF-8 bytes plus 26, and
//! spans less than 24 hours. An event the service would refuse anyway is
//! refused here, before sending, and counted: larger than 1 MiB − 26 bytes,
//! older than 14 days, more than 2 hours in the future.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fapilog::Batch;

use crate::adapter::{Encoded, Request};

/// Events in one call.
pub(crate) const MAX_EVENTS: usize = 10_000;
/// Bytes of one call: Σ (message bytes + [`EVENT_OVERHEAD`]).
pub(crate) const MAX_BYTES: usize = 1_048_576;
/// What the service counts per event besides its message.
pub(crate) const EVENT_OVERHEAD: usize = 26;
/// Longest time between the first and the last event of one call.
pub(crate) const MAX_SPAN_MS: i64 = 24 * 3600 * 1000;
/// How old an event may be.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(14 * 24 * 3600);
/// How far in the future an event may be.
pub(crate) const MAX_AHEAD: Duration = Duration::from_secs(2 * 3600);

/// Milliseconds since the Unix epoch (negative before it).
pub(crate) fn unix_ms(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

/// One event to put: its batch line, time and message.
struct Event<'a> {
    line: usize,
    ms: i64,
    message: &'a str,
}

/// Encodes `batch` into `PutLogEvents` bodies for `group`/`stream`, judged
/// against `now` (the sink passes the clock; tests pass a fixed time).
pub(crate) fn encode(
    batch: &Batch,
    group: &str,
    stream: &str,
    now: SystemTime,
) -> Encoded<Vec<u8>> {
    let mut out = Encoded::new();
    let oldest = unix_ms(now.checked_sub(MAX_AGE).unwrap_or(UNIX_EPOCH));
    let newest = unix_ms(now + MAX_AHEAD);
    let mut events = Vec::with_capacity(batch.len());
    for (i, line) in batch.lines().enumerate() {
        let Ok(message) = std::str::from_utf8(line.bytes) else {
            out.reject(i, "CloudWatch Logs: the line is not UTF-8");
            continue;
        };
        if message.is_empty() {
            out.reject(i, "CloudWatch Logs: an empty message");
            continue;
        }
        if message.len() + EVENT_OVERHEAD > MAX_BYTES {
            out.reject(
                i,
                format!(
                    "CloudWatch Logs: an event of {} bytes is larger than {} bytes",
                    message.len(),
                    MAX_BYTES - EVENT_OVERHEAD
                ),
            );
            continue;
        }
        let ms = unix_ms(line.time);
        if ms < oldest {
            out.reject(i, "CloudWatch Logs: the event is older than 14 days");
            continue;
        }
        if ms > newest {
            out.reject(
                i,
                "CloudWatch Logs: the event is more than 2 hours in the future",
            );
            continue;
        }
        events.push(Event {
            line: i,
            ms,
            message,
        });
    }
    // Stable: events of the same millisecond keep the order they were logged in.
    events.sort_by_key(|e| e.ms);

    for range in split(&events) {
        out.push(body(&events[range], group, stream));
    }
    out
}

/// The calls `events` (sorted) are put in: each within the count, byte
/// and span limits.
fn split(events: &[Event<'_>]) -> Vec<std::ops::Range<usize>> {
    let mut calls = Vec::new();
    let mut start = 0;
    while start < events.len() {
        let first_ms = events[start].ms;
        let mut bytes = 0;
        let mut end = start;
        while end < events.len() {
            let e = &events[end];
            let size = e.message.len() + EVENT_OVERHEAD;
            if end - start == MAX_EVENTS
                || bytes + size > MAX_BYTES
                || e.ms - first_ms >= MAX_SPAN_MS
            {
                break;
            }
            bytes += size;
            end += 1;
        }
        calls.push(start..end);
        start = end;
    }
    calls
}

/// One `PutLogEvents` request body (no sequence token: the service ignores it).
fn body(events: &[Event<'_>], group: &str, stream: &str) -> Request<Vec<u8>> {
    let size: usize = events.iter().map(|e| e.message.len() + 40).sum();
    let mut json = Vec::with_capacity(size + 128);
    json.extend_from_slice(b"{\"logGroupName\":");
    write_str(&mut json, group);
    json.extend_from_slice(b",\"logStreamName\":");
    write_str(&mut json, stream);
    json.extend_from_slice(b",\"logEvents\":[");
    for (n, e) in events.iter().enumerate() {
        if n > 0 {
            json.push(b',');
        }
        json.extend_from_slice(b"{\"timestamp\":");
        json.extend_from_slice(e.ms.to_string().as_bytes());
        json.extend_from_slice(b",\"message\":");
        write_str(&mut json, e.message);
        json.push(b'}');
    }
    json.extend_from_slice(b"]}");
    Request::new(json, events.iter().map(|e| e.line).collect())
}

/// `s` as a JSON string.
fn write_str(out: &mut Vec<u8>, s: &str) {
    // Serialising a `str` into a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

#[cfg(test)]
mod tests {
    use fapilog::{Event as LogEvent, Format, Level};

    use super::*;

    const NOW_S: u64 = 1_700_000_000;

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(NOW_S)
    }

    fn batch(events: &[(i64, usize)]) -> Batch {
        let mut b = Batch::new(Format::Json);
        for (n, (offset_ms, pad)) in events.iter().enumerate() {
            let msg = format!("event {n} {}", "x".repeat(*pad));
            let mut e = LogEvent::new(Level::INFO, msg);
            let base = now();
            e.timestamp = if *offset_ms >= 0 {
                base + Duration::from_millis(*offset_ms as u64)
            } else {
                base - Duration::from_millis(offset_ms.unsigned_abs())
            };
            b.push(&e);
        }
        b
    }

    fn decoded(r: &Request<Vec<u8>>) -> Vec<(i64, String)> {
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["logGroupName"], "/g");
        assert_eq!(v["logStreamName"], "s");
        assert!(v.get("sequenceToken").is_none());
        v["logEvents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["timestamp"].as_i64().unwrap(),
                    e["message"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    /// Σ message bytes + 26 per event of a request.
    fn counted_bytes(b: &Batch, r: &Request<Vec<u8>>) -> usize {
        let lines: Vec<_> = b.lines().collect();
        r.lines
            .iter()
            .map(|&i| lines[i].bytes.len() + EVENT_OVERHEAD)
            .sum()
    }

    #[test]
    fn events_carry_their_own_time_and_line_and_are_sorted() {
        let b = batch(&[(3_000, 0), (1_000, 0), (2_000, 0), (1_000, 0)]);
        let enc = encode(&b, "/g", "s", now());
        assert!(enc.rejected.is_empty());
        assert_eq!(enc.requests.len(), 1);
        let r = &enc.requests[0];
        // Same millisecond: logged order kept.
        assert_eq!(r.lines, [1, 3, 2, 0]);
        let events = decoded(r);
        let base = (NOW_S * 1000) as i64;
        let times: Vec<i64> = events.iter().map(|e| e.0 - base).collect();
        assert_eq!(times, [1_000, 1_000, 2_000, 3_000]);
        let lines: Vec<_> = b.lines().collect();
        for (k, &i) in r.lines.iter().enumerate() {
            assert_eq!(events[k].1.as_bytes(), lines[i].bytes);
        }
    }

    #[test]
    fn a_call_holds_at_most_10000_events() {
        // Envelope lines are too long to reach 10,000 in 1 MiB: short messages.
        let events: Vec<Event<'_>> = (0..25_001)
            .map(|line| Event {
                line,
                ms: 0,
                message: "x",
            })
            .collect();
        let sizes: Vec<usize> = split(&events).iter().map(|r| r.len()).collect();
        assert_eq!(sizes, [10_000, 10_000, 5_001]);
        // And 10,000 events of 78 bytes fill 1,048,576 with the overhead:
        // (78 + 26) × 10,000 = 1,040,000 fits; 79 + 26 → 9,986 per call.
        let long = "y".repeat(79);
        let events: Vec<Event<'_>> = (0..10_000)
            .map(|line| Event {
                line,
                ms: 0,
                message: &long,
            })
            .collect();
        let sizes: Vec<usize> = split(&events).iter().map(|r| r.len()).collect();
        assert_eq!(sizes, [9_986, 14]);
    }

    #[test]
    fn a_call_counts_26_bytes_per_event_within_1_mib() {
        // ~1,000-byte lines: 1,048,576 / (len + 26) per call, not / len.
        let b = batch(&vec![(0, 1_000); 3_000]);
        let enc = encode(&b, "/g", "s", now());
        assert!(enc.requests.len() >= 3);
        let mut seen = 0;
        for r in &enc.requests {
            let n = counted_bytes(&b, r);
            assert!(n <= MAX_BYTES, "{n}");
            seen += r.lines.len();
        }
        assert_eq!(seen, 3_000);
        // Every call but the last is full: one more event would not fit.
        let line_len = b.lines().next().unwrap().bytes.len();
        let full = counted_bytes(&b, &enc.requests[0]);
        assert!(full + line_len + EVENT_OVERHEAD > MAX_BYTES);
        // Counting the overhead matters: without it, more would fit.
        assert!(full - enc.requests[0].lines.len() * EVENT_OVERHEAD + line_len <= MAX_BYTES);
    }

    #[test]
    fn a_call_spans_less_than_24_hours() {
        let day = MAX_SPAN_MS;
        let b = batch(&[
            (-13 * day, 0),
            (-13 * day + day - 1, 0),
            (-13 * day + day, 0),
            (-day, 0),
            (0, 0),
        ]);
        let enc = encode(&b, "/g", "s", now());
        let lines: Vec<Vec<usize>> = enc.requests.iter().map(|r| r.lines.clone()).collect();
        assert_eq!(lines, [vec![0, 1], vec![2], vec![3], vec![4]]);
        for r in &enc.requests {
            let t = decoded(r);
            assert!(t.last().unwrap().0 - t[0].0 < day);
        }
    }

    #[test]
    fn events_too_old_too_new_or_too_large_are_refused_before_sending() {
        let hour = 3_600_000;
        let b = batch(&[
            (0, 0),
            (-14 * 24 * hour - 1, 0),                // older than 14 days
            (-14 * 24 * hour + 60_000, 0),           // just inside
            (2 * hour + 1, 0),                       // more than 2 h ahead
            (2 * hour - 60_000, 0),                  // just inside
            (0, MAX_BYTES),                          // larger than 1 MiB − 26
            (0, MAX_BYTES - EVENT_OVERHEAD - 1_000), // fits
        ]);
        let enc = encode(&b, "/g", "s", now());
        let mut rejected = enc.rejected.clone();
        rejected.sort_unstable();
        assert_eq!(rejected, [1, 3, 5]);
        let sent: usize = enc.requests.iter().map(|r| r.lines.len()).sum();
        assert_eq!(sent, 4);
        for r in &enc.requests {
            assert!(counted_bytes(&b, r) <= MAX_BYTES);
        }
    }

    #[test]
    fn messages_are_escaped_json_strings() {
        let mut b = Batch::new(Format::Json);
        b.push(&LogEvent::new(Level::INFO, "quote \" backslash \\ é \u{1}"));
        let enc = encode(&b, "/g", "s", SystemTime::now());
        let events = decoded(&enc.requests[0]);
        assert_eq!(
            events[0].1.as_bytes(),
            b.lines().next().unwrap().bytes,
            "the message is the envelope line, byte for byte"
        );
    }
}
