//! A fake Loki push endpoint on the shared loopback server.
//!
//! No Loki binary can be installed on this machine: no Debian, PyPI or npm
//! package ships Loki, promtail or Grafana (PyPI's `grafana-loki-push`
//! only drives docker). So this server speaks Loki's push API from its
//! reference definitions instead: it decodes snappy (block format) +
//! protobuf with messages written here from Loki's `pkg/push/push.proto`
//! (independently of the sink's), or JSON (gunzipped when
//! `Content-Encoding: gzip`) with serde; it enforces Loki's label rules
//! (names `[a-zA-Z_][a-zA-Z0-9_]*` without the reserved `__` prefix, at
//! most 15 names, at least one, no duplicates); it answers 204, and every
//! third push 200; and it refuses with 400 a whole push that carries a
//! chosen line, as Loki does for one too-old or too-long line.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use prost::Message;

use crate::common::http_server::{Recorded, Reply, Server};

/// `logproto.PushRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PushRequest {
    #[prost(message, repeated, tag = "1")]
    pub streams: Vec<StreamAdapter>,
    #[prost(string, tag = "2")]
    pub format: String,
}

/// `logproto.StreamAdapter`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StreamAdapter {
    #[prost(string, tag = "1")]
    pub labels: String,
    #[prost(message, repeated, tag = "2")]
    pub entries: Vec<EntryAdapter>,
    #[prost(uint64, tag = "3")]
    pub hash: u64,
}

/// `logproto.EntryAdapter`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EntryAdapter {
    #[prost(message, optional, tag = "1")]
    pub timestamp: Option<Timestamp>,
    #[prost(string, tag = "2")]
    pub line: String,
    #[prost(message, repeated, tag = "3")]
    pub structured_metadata: Vec<LabelPairAdapter>,
}

/// `logproto.LabelPairAdapter`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LabelPairAdapter {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `google.protobuf.Timestamp`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Timestamp {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// One line Loki stored.
#[derive(Clone, Debug)]
pub struct Stored {
    /// The stream's labels.
    pub labels: BTreeMap<String, String>,
    /// The entry's time, ns since the epoch.
    pub ts: i64,
    /// The line.
    pub line: String,
    /// Structured metadata.
    pub metadata: BTreeMap<String, String>,
    /// The `X-Scope-OrgID` of its push.
    pub tenant: Option<String>,
}

impl Stored {
    /// The line as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.line).expect("a JSON line")
    }
}

/// What the fake stores and how it answers.
#[derive(Default)]
pub struct Store {
    /// Every line accepted, in arrival order.
    pub lines: Mutex<Vec<Stored>>,
    /// Pushes answered with 2xx.
    pub accepted_pushes: Mutex<usize>,
    /// Lines that make the whole push fail with 400.
    pub poison: Mutex<Vec<String>>,
    /// Authorization header every push must carry (401 otherwise).
    pub authorization: Mutex<Option<String>>,
    /// Pushes (numbered from 1, in arrival) answered 503 instead.
    pub unavailable_at: Mutex<Vec<usize>>,
    calls: Mutex<usize>,
}

/// A fake Loki on a loopback port.
pub struct FakeLoki {
    /// The HTTP server (for scripting 429/5xx and reading raw requests).
    pub server: Server,
    /// What it stored.
    pub store: Arc<Store>,
}

impl FakeLoki {
    /// Starts on a free port.
    pub fn start() -> FakeLoki {
        FakeLoki::start_at(0, Arc::new(Store::default()))
    }

    /// Starts on `port` with `store` (to come back after a shutdown).
    pub fn start_at(port: u16, store: Arc<Store>) -> FakeLoki {
        let server = Server::start_at(port, Reply::Status(204));
        let st = Arc::clone(&store);
        server.respond_with(move |req| answer(&st, req));
        FakeLoki { server, store }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.server.url("")
    }

    /// Lines stored so far.
    pub fn lines(&self) -> Vec<Stored> {
        self.store.lines.lock().unwrap().clone()
    }

    /// How many lines are stored.
    pub fn count(&self) -> usize {
        self.store.lines.lock().unwrap().len()
    }

    /// Stops listening; returns the store.
    pub fn shutdown(self) -> Arc<Store> {
        self.server.shutdown();
        self.store
    }
}

fn bad(status: u16, why: &str) -> Reply {
    Reply::With {
        status,
        headers: Vec::new(),
        body: why.as_bytes().to_vec(),
    }
}

fn answer(store: &Store, req: &Recorded) -> Reply {
    if req.method != "POST" || req.path != "/loki/api/v1/push" {
        return bad(404, "404 page not found");
    }
    let call = {
        let mut c = store.calls.lock().unwrap();
        *c += 1;
        *c
    };
    if store.unavailable_at.lock().unwrap().contains(&call) {
        return bad(503, "ingester not ready");
    }
    if let Some(want) = &*store.authorization.lock().unwrap() {
        if req.header("authorization") != Some(want.as_str()) {
            return bad(401, "no org id / bad credentials");
        }
    }
    let streams = match decode(req) {
        Ok(s) => s,
        Err(e) => return bad(400, &e),
    };
    let tenant = req.header("x-scope-orgid").map(str::to_owned);
    let mut batch = Vec::new();
    for (labels, entries) in streams {
        let labels = match parse_labels(&labels) {
            Ok(l) => l,
            Err(e) => return bad(400, &e),
        };
        for (ts, line, metadata) in entries {
            if store
                .poison
                .lock()
                .unwrap()
                .iter()
                .any(|p| line.contains(p.as_str()))
            {
                return bad(
                    400,
                    "entry for stream has timestamp too old, oldest acceptable timestamp is …",
                );
            }
            batch.push(Stored {
                labels: labels.clone(),
                ts,
                line,
                metadata,
                tenant: tenant.clone(),
            });
        }
    }
    store.lines.lock().unwrap().extend(batch);
    let mut n = store.accepted_pushes.lock().unwrap();
    *n += 1;
    // Loki answers 204; a gateway in front of it may answer 200.
    Reply::Status(if *n % 3 == 0 { 200 } else { 204 })
}

type Entries = Vec<(i64, String, BTreeMap<String, String>)>;

fn decode(req: &Recorded) -> Result<Vec<(String, Entries)>, String> {
    match req.header("content-type") {
        Some("application/x-protobuf") => {
            let raw = snap::raw::Decoder::new()
                .decompress_vec(&req.body)
                .map_err(|e| format!("snappy: {e}"))?;
            let push = PushRequest::decode(&raw[..]).map_err(|e| format!("protobuf: {e}"))?;
            Ok(push
                .streams
                .into_iter()
                .map(|s| {
                    let entries = s
                        .entries
                        .into_iter()
                        .map(|e| {
                            let t = e.timestamp.unwrap_or_default();
                            let md = e
                                .structured_metadata
                                .into_iter()
                                .map(|p| (p.name, p.value))
                                .collect();
                            (t.seconds * 1_000_000_000 + i64::from(t.nanos), e.line, md)
                        })
                        .collect();
                    (s.labels, entries)
                })
                .collect())
        }
        Some("application/json") => {
            let v: serde_json::Value =
                serde_json::from_slice(&req.body_decoded()).map_err(|e| format!("json: {e}"))?;
            let mut out = Vec::new();
            for s in v["streams"].as_array().ok_or("no streams")? {
                let labels = s["stream"].as_object().ok_or("no stream labels")?;
                let rendered = format!(
                    "{{{}}}",
                    labels
                        .iter()
                        .map(|(k, v)| format!("{k}={}", v))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                let mut entries = Vec::new();
                for e in s["values"].as_array().ok_or("no values")? {
                    let ts: i64 = e[0]
                        .as_str()
                        .and_then(|t| t.parse().ok())
                        .ok_or("timestamp not a string of ns")?;
                    let line = e[1].as_str().ok_or("line not a string")?.to_owned();
                    let md = e
                        .get(2)
                        .and_then(|m| m.as_object())
                        .map(|m| {
                            m.iter()
                                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                                .collect()
                        })
                        .unwrap_or_default();
                    entries.push((ts, line, md));
                }
                out.push((rendered, entries));
            }
            Ok(out)
        }
        other => Err(format!("unsupported content type {other:?}")),
    }
}

/// Parses `{a="b", c="d"}` with Loki's rules for names.
fn parse_labels(s: &str) -> Result<BTreeMap<String, String>, String> {
    let inner = s
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .ok_or_else(|| format!("error parsing labels {s:?}"))?;
    let mut out = BTreeMap::new();
    let mut rest = inner.trim();
    while !rest.is_empty() {
        let eq = rest.find('=').ok_or("no =")?;
        let name = rest[..eq].trim();
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with("__");
        if !valid {
            return Err(format!("invalid label name {name:?}"));
        }
        let after = rest[eq + 1..].trim_start();
        let mut chars = after.char_indices();
        if chars.next().map(|(_, c)| c) != Some('"') {
            return Err("label value not quoted".into());
        }
        let mut value = String::new();
        let mut end = None;
        let mut escaped = false;
        for (i, c) in chars {
            if escaped {
                value.push(match c {
                    'n' => '\n',
                    c => c,
                });
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                end = Some(i);
                break;
            } else {
                value.push(c);
            }
        }
        let end = end.ok_or("unterminated value")?;
        if out.insert(name.to_owned(), value).is_some() {
            return Err(format!("duplicate label name {name:?}"));
        }
        rest = after[end + 1..].trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    if out.is_empty() {
        return Err("error at least one label pair is required per stream".into());
    }
    if out.len() > 15 {
        return Err(format!("stream has {} label names, limit 15", out.len()));
    }
    Ok(out)
}
