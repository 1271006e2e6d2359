//! A batch → `ExportLogsServiceRequest`s, each at most the configured
//! number of bytes before compression, records grouped per resource.

use std::time::SystemTime;

use fapilog::Batch;
use prost::Message;

use super::builder::OtlpProtocol;
use super::json;
use super::proto::{
    ExportLogsServiceRequest, InstrumentationScope, KeyValue, LogRecord, Resource, ResourceLogs,
    ScopeLogs,
};
use super::record::{to_record, unix_nanos, ResourceKey};
use crate::adapter::{Encoded, Request};
use crate::http_client::Compression;

/// Room for the tags and length prefixes of one `ResourceLogs` and its
/// `ScopeLogs` (3 nested messages, at most 1 + 10 bytes of header each).
const GROUP_OVERHEAD: usize = 40;

/// Room for the keys, brackets and commas of one JSON `resourceLogs` entry.
const JSON_GROUP_OVERHEAD: usize = 100;

/// The serialized length of a JSON value.
fn json_len(v: &serde_json::Value) -> usize {
    v.to_string().len()
}

/// How the sink encodes: fixed at build time.
#[derive(Clone, Debug)]
pub(crate) struct Encoder {
    /// Largest request before compression.
    pub(crate) max_bytes: usize,
    pub(crate) compression: Compression,
    pub(crate) protocol: OtlpProtocol,
    pub(crate) scope: InstrumentationScope,
    /// Resource attributes set on the builder, after the event's own.
    pub(crate) resource_attributes: Vec<KeyValue>,
}

/// The records of one request under construction.
struct Chunk {
    /// `(resource, records with their batch line)` in first-seen order.
    groups: Vec<(ResourceKey, Vec<(usize, LogRecord)>)>,
    bytes: usize,
}

impl Encoder {
    fn resource(&self, key: &ResourceKey) -> Resource {
        let mut attributes = key.attributes();
        for kv in &self.resource_attributes {
            if !attributes.iter().any(|a| a.key == kv.key) {
                attributes.push(kv.clone());
            }
        }
        Resource {
            attributes,
            dropped_attributes_count: 0,
        }
    }

    /// Bytes a new group for `key` adds to a request.
    fn group_bytes(&self, key: &ResourceKey) -> usize {
        let resource = self.resource(key);
        if self.protocol.is_json() {
            json_len(&json::resource(&resource))
                + json_len(&json::scope(&self.scope))
                + JSON_GROUP_OVERHEAD
        } else {
            resource.encoded_len() + self.scope.encoded_len() + GROUP_OVERHEAD
        }
    }

    /// Bytes `record` adds to a request.
    fn record_bytes(&self, record: &LogRecord) -> usize {
        if self.protocol.is_json() {
            json_len(&json::record(record)) + 1
        } else {
            let len = record.encoded_len();
            len + prost::length_delimiter_len(len) + 1
        }
    }

    /// Encodes `batch` into requests; a record that cannot fit in a
    /// request on its own is refused.
    pub(crate) fn encode(&self, batch: &Batch) -> Encoded<Vec<u8>> {
        let observed = unix_nanos(SystemTime::now());
        let mut out = Encoded::new();
        let mut chunk = Chunk {
            groups: Vec::new(),
            bytes: 0,
        };
        // Each resource's group size, computed once per batch.
        let mut sizes: Vec<(ResourceKey, usize)> = Vec::new();
        for (i, line) in batch.lines().enumerate() {
            let (key, record) = to_record(&line, observed);
            let record_bytes = self.record_bytes(&record);
            let group_size = match sizes.iter().find(|(k, _)| *k == key) {
                Some((_, n)) => *n,
                None => {
                    let n = self.group_bytes(&key);
                    sizes.push((key.clone(), n));
                    n
                }
            };
            let new_group = !chunk.groups.iter().any(|(k, _)| *k == key);
            let group_bytes = if new_group { group_size } else { 0 };
            if record_bytes + group_size > self.max_bytes {
                out.reject(
                    i,
                    format!(
                        "a log record of {record_bytes} bytes is larger than the OTLP request cap of {} bytes",
                        self.max_bytes
                    ),
                );
                continue;
            }
            if chunk.bytes + group_bytes + record_bytes > self.max_bytes {
                self.flush(&mut chunk, &mut out);
                chunk.bytes = group_size;
            } else {
                chunk.bytes += group_bytes;
            }
            chunk.bytes += record_bytes;
            match chunk.groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, records)) => records.push((i, record)),
                None => chunk.groups.push((key, vec![(i, record)])),
            }
        }
        self.flush(&mut chunk, &mut out);
        out
    }

    /// Turns `chunk` into a request (when it holds any record).
    fn flush(&self, chunk: &mut Chunk, out: &mut Encoded<Vec<u8>>) {
        if chunk.groups.is_empty() {
            return;
        }
        let mut lines = Vec::new();
        let mut request = ExportLogsServiceRequest {
            resource_logs: Vec::with_capacity(chunk.groups.len()),
        };
        for (key, records) in chunk.groups.drain(..) {
            let mut log_records = Vec::with_capacity(records.len());
            for (i, r) in records {
                lines.push(i);
                log_records.push(r);
            }
            request.resource_logs.push(ResourceLogs {
                resource: Some(self.resource(&key)),
                scope_logs: vec![ScopeLogs {
                    scope: Some(self.scope.clone()),
                    log_records,
                }],
            });
        }
        chunk.bytes = 0;
        // OTLP/HTTP protobuf and OTLP/gRPC carry the same message bytes.
        let bytes = if self.protocol.is_json() {
            json::request(&request).to_string().into_bytes()
        } else {
            request.encode_to_vec()
        };
        let body = self.compression.apply(bytes);
        out.push(Request::new(body, lines));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otlp::proto::Value;
    use fapilog::{Event, Format, Level};

    fn encoder(max_bytes: usize) -> Encoder {
        Encoder {
            max_bytes,
            compression: Compression::None,
            protocol: OtlpProtocol::HttpProtobuf,
            scope: InstrumentationScope {
                name: "fapilog".into(),
                version: "1".into(),
            },
            resource_attributes: vec![],
        }
    }

    fn decode(body: &[u8]) -> ExportLogsServiceRequest {
        ExportLogsServiceRequest::decode(body).unwrap()
    }

    fn messages(req: &ExportLogsServiceRequest) -> Vec<String> {
        req.resource_logs
            .iter()
            .flat_map(|r| &r.scope_logs)
            .flat_map(|s| &s.log_records)
            .map(|r| match r.body.as_ref().and_then(|b| b.value.as_ref()) {
                Some(Value::StringValue(s)) => s.clone(),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_batch_is_split_under_the_byte_cap_in_order() {
        let mut batch = Batch::new(Format::Json);
        for i in 0..300 {
            batch.push(&Event::new(
                Level::INFO,
                format!("event {i:04} {}", "x".repeat(50)).as_str(),
            ));
        }
        let enc = encoder(4096);
        let out = enc.encode(&batch);
        assert!(out.rejected.is_empty());
        assert!(out.requests.len() > 5, "{}", out.requests.len());
        let mut all = Vec::new();
        let mut lines = Vec::new();
        for r in &out.requests {
            assert!(r.body.len() <= 4096, "{}", r.body.len());
            all.extend(messages(&decode(&r.body)));
            lines.extend(r.lines.iter().copied());
        }
        let expected: Vec<String> = (0..300)
            .map(|i| format!("event {i:04} {}", "x".repeat(50)))
            .collect();
        assert_eq!(all, expected);
        assert_eq!(lines, (0..300).collect::<Vec<_>>());
    }

    #[test]
    fn an_oversized_record_is_refused_alone() {
        let mut batch = Batch::new(Format::Json);
        batch.push(&Event::new(Level::INFO, "small"));
        batch.push(&Event::new(Level::INFO, "y".repeat(5000).as_str()));
        batch.push(&Event::new(Level::INFO, "after"));
        let out = encoder(2048).encode(&batch);
        assert_eq!(out.rejected, [1]);
        assert!(out.reason.unwrap().contains("2048"));
        assert_eq!(out.requests.len(), 1);
        assert_eq!(messages(&decode(&out.requests[0].body)), ["small", "after"]);
        assert_eq!(out.requests[0].lines, [0, 2]);
    }

    #[test]
    fn json_requests_are_split_under_the_cap_too() {
        let mut batch = Batch::new(Format::Json);
        for i in 0..200 {
            batch.push(&Event::new(Level::INFO, format!("event {i:04}").as_str()));
        }
        let mut enc = encoder(4096);
        enc.protocol = OtlpProtocol::HttpJson;
        let out = enc.encode(&batch);
        assert!(out.requests.len() > 3);
        let mut n = 0;
        for r in &out.requests {
            assert!(r.body.len() <= 4096, "{}", r.body.len());
            let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            n += v["resourceLogs"][0]["scopeLogs"][0]["logRecords"]
                .as_array()
                .unwrap()
                .len();
        }
        assert_eq!(n, 200);
    }

    #[test]
    fn gzip_bodies_decompress_to_the_request() {
        let mut batch = Batch::new(Format::Json);
        batch.push(&Event::new(Level::INFO, "zipped"));
        let mut enc = encoder(1 << 20);
        enc.compression = Compression::Gzip;
        let out = enc.encode(&batch);
        use std::io::Read;
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(&out.requests[0].body[..])
            .read_to_end(&mut raw)
            .unwrap();
        assert_eq!(messages(&decode(&raw)), ["zipped"]);
    }
}
