//! A batch into push requests: lines grouped into streams by label set,
//! each stream's entries sorted by the event's own time, streams sorted,
//! requests cut at a byte cap (before compression) and an entry cap.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use fapilog::Batch;
use prost::Message;

use super::labels::{LabelSpec, Stream};
use super::proto;
use crate::adapter::{Encoded, Request};
use crate::http_client::Compression;

/// How a push body is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum LokiEncoding {
    /// Protobuf `PushRequest`, snappy block-compressed,
    /// `Content-Type: application/x-protobuf` (Loki's native push, the default).
    #[default]
    Protobuf,
    /// `{"streams":[{"stream":{…},"values":[["<ns>","<line>"]]}]}`,
    /// `Content-Type: application/json`, gzip when asked (fapilog's push).
    Json,
}

/// One line in a request: enough to encode it again alone or with others
/// when Loki refuses a request and it is bisected.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    /// Its index in the batch.
    pub(crate) line: usize,
    /// Its stream, an index into [`LokiBody::streams`].
    pub(crate) stream: usize,
    /// The event's time, ns since the Unix epoch.
    pub(crate) ts: i64,
    /// The line.
    pub(crate) text: Box<str>,
    /// The envelope's `message_id`, sent as structured metadata when asked.
    pub(crate) message_id: Option<Box<str>>,
}

/// What one push request sends: the encoded bytes, and the entries they
/// hold (grouped by stream, streams in order) to bisect it on a 400.
#[derive(Debug)]
pub struct LokiBody {
    pub(crate) id: u64,
    pub(crate) bytes: Vec<u8>,
    pub(crate) streams: Arc<[Stream]>,
    pub(crate) entries: Vec<Entry>,
}

impl LokiBody {
    /// The bytes sent (compressed as the encoding says).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// How many log lines it carries.
    pub fn entries(&self) -> usize {
        self.entries.len()
    }
}

/// How bodies are written.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Wire {
    pub(crate) encoding: LokiEncoding,
    pub(crate) compression: Compression,
}

impl Wire {
    /// `entries` (grouped by stream) as a push body.
    pub(crate) fn encode(&self, streams: &[Stream], entries: &[Entry]) -> Result<Vec<u8>, String> {
        match self.encoding {
            LokiEncoding::Protobuf => {
                let mut req = proto::PushRequest {
                    streams: Vec::new(),
                };
                for group in by_stream(entries) {
                    req.streams.push(proto::StreamAdapter {
                        labels: streams[group[0].stream].rendered.clone(),
                        entries: group
                            .iter()
                            .map(|e| proto::EntryAdapter {
                                timestamp: Some(proto::Timestamp::from_nanos(e.ts)),
                                line: e.text.to_string(),
                                structured_metadata: e
                                    .message_id
                                    .iter()
                                    .map(|id| proto::LabelPairAdapter {
                                        name: "message_id".to_owned(),
                                        value: id.to_string(),
                                    })
                                    .collect(),
                            })
                            .collect(),
                    });
                }
                snap::raw::Encoder::new()
                    .compress_vec(&req.encode_to_vec())
                    .map_err(|e| format!("snappy: {e}"))
            }
            LokiEncoding::Json => {
                let mut out = Vec::with_capacity(
                    entries.iter().map(|e| e.text.len() + 40).sum::<usize>() + 64,
                );
                out.extend_from_slice(br#"{"streams":["#);
                for (i, group) in by_stream(entries).enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(br#"{"stream":{"#);
                    for (j, (k, v)) in streams[group[0].stream].pairs.iter().enumerate() {
                        if j > 0 {
                            out.push(b',');
                        }
                        json_str(&mut out, k);
                        out.push(b':');
                        json_str(&mut out, v);
                    }
                    out.extend_from_slice(br#"},"values":["#);
                    for (j, e) in group.iter().enumerate() {
                        if j > 0 {
                            out.push(b',');
                        }
                        out.extend_from_slice(b"[\"");
                        out.extend_from_slice(e.ts.to_string().as_bytes());
                        out.extend_from_slice(b"\",");
                        json_str(&mut out, &e.text);
                        if let Some(id) = &e.message_id {
                            out.extend_from_slice(br#",{"message_id":"#);
                            json_str(&mut out, id);
                            out.push(b'}');
                        }
                        out.push(b']');
                    }
                    out.extend_from_slice(b"]}");
                }
                out.extend_from_slice(b"]}");
                Ok(self.compression.apply(out))
            }
        }
    }

    /// About how many bytes `e` adds to a body before compression.
    fn entry_size(&self, e: &Entry) -> usize {
        let meta = e.message_id.as_ref().map_or(0, |id| id.len() + 24);
        match self.encoding {
            LokiEncoding::Protobuf => e.text.len() + 24 + meta,
            LokiEncoding::Json => json_len(&e.text) + 26 + meta,
        }
    }
}

/// Consecutive entries of the same stream.
fn by_stream(entries: &[Entry]) -> impl Iterator<Item = &[Entry]> {
    entries.chunk_by(|a, b| a.stream == b.stream)
}

/// `s` as a JSON string.
fn json_str(out: &mut Vec<u8>, s: &str) {
    // Writing a string into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// The length of `s` as a JSON string.
fn json_len(s: &str) -> usize {
    2 + s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum::<usize>()
}

/// The limits a batch is cut at.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) max_request_bytes: usize,
    pub(crate) max_entries: usize,
    pub(crate) max_line_bytes: usize,
}

/// Encodes `batch` into requests; `next_id` numbers them.
pub(crate) fn encode_batch(
    batch: &Batch,
    spec: &LabelSpec,
    wire: Wire,
    limits: Limits,
    message_ids: bool,
    next_id: &mut u64,
) -> Encoded<LokiBody> {
    let mut encoded = Encoded::new();
    // Streams by rendered label set: sorted, as Loki and Vector like them.
    let mut groups: BTreeMap<String, (Stream, Vec<Entry>)> = BTreeMap::new();
    for (i, line) in batch.lines().enumerate() {
        if line.bytes.len() > limits.max_line_bytes {
            encoded.reject(
                i,
                format!(
                    "a line of {} bytes is above Loki's max_line_size ({} bytes)",
                    line.bytes.len(),
                    limits.max_line_bytes
                ),
            );
            continue;
        }
        let stream = spec.stream_of(line.level, line.bytes);
        let entry = Entry {
            line: i,
            stream: 0,
            ts: nanos(line.time),
            text: String::from_utf8_lossy(line.bytes).into(),
            message_id: message_ids.then(|| line.message_id.to_string().into()),
        };
        groups
            .entry(stream.rendered.clone())
            .or_insert_with(|| (stream, Vec::new()))
            .1
            .push(entry);
    }
    let mut streams = Vec::with_capacity(groups.len());
    let mut ordered = Vec::with_capacity(batch.len());
    for (n, (_, (stream, mut entries))) in groups.into_iter().enumerate() {
        // Stable: lines logged in the same nanosecond keep their order.
        entries.sort_by_key(|e| e.ts);
        ordered.extend(entries.into_iter().map(|e| Entry { stream: n, ..e }));
        streams.push(stream);
    }
    let streams: Arc<[Stream]> = streams.into();
    let mut current: Vec<Entry> = Vec::new();
    let mut size = 16;
    for e in ordered {
        let entry = wire.entry_size(&e);
        let stream_cost = streams[e.stream].rendered.len() * 2 + 32;
        let same_stream = current.last().is_some_and(|l| l.stream == e.stream);
        let add = entry + if same_stream { 0 } else { stream_cost };
        if !current.is_empty()
            && (size + add > limits.max_request_bytes || current.len() >= limits.max_entries)
        {
            push(
                &mut encoded,
                &streams,
                std::mem::take(&mut current),
                wire,
                next_id,
            );
            size = 16 + entry + stream_cost;
        } else {
            size += add;
        }
        current.push(e);
    }
    if !current.is_empty() {
        push(&mut encoded, &streams, current, wire, next_id);
    }
    encoded
}

/// Encodes `entries` as one request (or refuses them if they cannot be).
fn push(
    encoded: &mut Encoded<LokiBody>,
    streams: &Arc<[Stream]>,
    entries: Vec<Entry>,
    wire: Wire,
    next_id: &mut u64,
) {
    match wire.encode(streams, &entries) {
        Ok(bytes) => {
            *next_id += 1;
            let lines = entries.iter().map(|e| e.line).collect();
            encoded.push(Request::new(
                LokiBody {
                    id: *next_id,
                    bytes,
                    streams: Arc::clone(streams),
                    entries,
                },
                lines,
            ));
        }
        Err(why) => {
            for e in &entries {
                encoded.reject(e.line, why.clone());
            }
        }
    }
}

/// `t` as ns since the Unix epoch (0 before it, saturating far after).
pub(crate) fn nanos(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use fapilog::{Event, Format, Level};

    use super::*;

    fn spec() -> LabelSpec {
        LabelSpec::new(
            &BTreeMap::from([("service".to_owned(), "t".to_owned())]),
            &["level".to_owned()],
        )
        .unwrap()
    }

    fn batch(events: &[(Level, &str, u64)]) -> Batch {
        let mut b = Batch::new(Format::Flat);
        for (level, msg, secs) in events {
            let mut e = Event::new(*level, msg.to_string());
            e.timestamp = UNIX_EPOCH + Duration::from_secs(*secs);
            b.push(&e);
        }
        b
    }

    fn decode(body: &LokiBody) -> proto::PushRequest {
        let raw = snap::raw::Decoder::new()
            .decompress_vec(&body.bytes)
            .unwrap();
        proto::PushRequest::decode(&raw[..]).unwrap()
    }

    const WIRE: Wire = Wire {
        encoding: LokiEncoding::Protobuf,
        compression: Compression::None,
    };
    const LIMITS: Limits = Limits {
        max_request_bytes: 1 << 20,
        max_entries: 10_000,
        max_line_bytes: 256 << 10,
    };

    #[test]
    fn streams_are_sorted_and_each_stream_s_entries_by_event_time() {
        let b = batch(&[
            (Level::INFO, "late", 30),
            (Level::ERROR, "boom", 20),
            (Level::INFO, "early", 10),
        ]);
        let enc = encode_batch(&b, &spec(), WIRE, LIMITS, true, &mut 0);
        assert_eq!(enc.requests.len(), 1);
        let req = decode(&enc.requests[0].body);
        let labels: Vec<_> = req.streams.iter().map(|s| s.labels.as_str()).collect();
        assert_eq!(
            labels,
            [
                r#"{level="ERROR", service="t"}"#,
                r#"{level="INFO", service="t"}"#
            ]
        );
        let info: Vec<_> = req.streams[1]
            .entries
            .iter()
            .map(|e| (e.timestamp.unwrap().seconds, e.line.contains("early")))
            .collect();
        assert_eq!(info, [(10, true), (30, false)]);
        assert_eq!(
            req.streams[0].entries[0].structured_metadata[0].name,
            "message_id"
        );
        let mut lines = enc.requests[0].lines.clone();
        lines.sort_unstable();
        assert_eq!(lines, [0, 1, 2]);
    }

    #[test]
    fn a_batch_is_split_at_the_byte_cap_and_the_entry_cap() {
        let msg = "x".repeat(1000);
        let events: Vec<_> = (0..100).map(|i| (Level::INFO, msg.as_str(), i)).collect();
        let b = batch(&events);
        let limits = Limits {
            max_request_bytes: 10_000,
            ..LIMITS
        };
        let enc = encode_batch(&b, &spec(), WIRE, limits, false, &mut 0);
        assert!(enc.requests.len() >= 10, "{}", enc.requests.len());
        let mut seen = Vec::new();
        for r in &enc.requests {
            let raw = snap::raw::Decoder::new()
                .decompress_vec(&r.body.bytes)
                .unwrap();
            assert!(raw.len() <= 10_000, "{}", raw.len());
            seen.extend(r.lines.iter().copied());
        }
        assert_eq!(
            seen,
            (0..100).collect::<Vec<_>>(),
            "every line once, in order"
        );
        let limits = Limits {
            max_entries: 7,
            ..LIMITS
        };
        let enc = encode_batch(&b, &spec(), WIRE, limits, false, &mut 0);
        assert_eq!(enc.requests.len(), 15);
        assert!(enc.requests.iter().all(|r| r.lines.len() <= 7));
    }

    #[test]
    fn a_line_above_max_line_size_is_refused_locally() {
        let big = "y".repeat(300);
        let b = batch(&[(Level::INFO, "ok", 1), (Level::INFO, &big, 2)]);
        let limits = Limits {
            max_line_bytes: 200,
            ..LIMITS
        };
        let enc = encode_batch(&b, &spec(), WIRE, limits, false, &mut 0);
        assert_eq!(enc.rejected, [1]);
        assert!(enc.reason.unwrap().contains("max_line_size"));
        assert_eq!(enc.requests[0].lines, [0]);
    }

    #[test]
    fn json_bodies_are_loki_s_json_push() {
        let b = batch(&[(Level::INFO, "hi \"there\"", 5)]);
        let wire = Wire {
            encoding: LokiEncoding::Json,
            compression: Compression::None,
        };
        let enc = encode_batch(&b, &spec(), wire, LIMITS, false, &mut 0);
        let v: serde_json::Value = serde_json::from_slice(&enc.requests[0].body.bytes).unwrap();
        let s = &v["streams"][0];
        assert_eq!(s["stream"]["level"], "INFO");
        assert_eq!(s["stream"]["service"], "t");
        assert_eq!(s["values"][0][0], "5000000000");
        let line: serde_json::Value =
            serde_json::from_str(s["values"][0][1].as_str().unwrap()).unwrap();
        assert_eq!(line["message"], "hi \"there\"");
        assert_eq!(json_len("a\"\n\u{1}"), 2 + 1 + 2 + 2 + 6);
    }

    #[test]
    fn timestamps_split_into_seconds_and_nanos() {
        let t = proto::Timestamp::from_nanos(1_500_000_001);
        assert_eq!((t.seconds, t.nanos), (1, 500_000_001));
        assert_eq!(nanos(UNIX_EPOCH + Duration::from_nanos(42)), 42);
    }
}
