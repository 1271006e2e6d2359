//! [`NatsSink`]: each line published to JetStream with `Nats-Msg-Id` =
//! its `message_id`, the acknowledgements awaited in order.

use std::collections::VecDeque;
use std::fmt;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use async_nats::header::NATS_MESSAGE_ID;
use async_nats::jetstream::context::{PublishError, PublishErrorKind};
use async_nats::jetstream::{self, stream};
use async_nats::{ConnectOptions, HeaderMap, ServerAddr, Subject};
use bytes::Bytes;
use fapilog::{Batch, SinkError};

use super::builder::NatsSinkBuilder;
use super::counters::NatsCounters;
use super::subject::SubjectTemplate;
use crate::adapter::{AsyncSink, Encoded, Request};

/// Publishes each line of a batch to a NATS JetStream stream and waits for
/// the stream's acknowledgement: the delivery guarantee is the PubAck.
///
/// Each line is one message: the subject from
/// [`subject`](NatsSinkBuilder::subject), the payload the JSON envelope
/// line, and the header `Nats-Msg-Id` = the envelope's
/// `context.message_id`, so the stream drops a resend within its
/// duplicate window (answering `duplicate: true`, counted as delivered in
/// [`NatsCounters::duplicates`]). The lines of a request are published
/// back to back and their acknowledgements awaited in order; a timeout or
/// a lost connection is transient, and the retry resends only the lines
/// not acknowledged yet.
///
/// The sink connects on its first send: a server that is down at start
/// does not fail the build, the sends fail transiently and the driver
/// retries. A subject no stream binds ("no responders") refuses the lines
/// at once (diverted, counted) instead of retrying in a loop; a line above
/// the server's `max_payload` is refused locally, the rest of its batch
/// delivered.
///
/// ```no_run
/// use fapilog_sinks::NatsSink;
///
/// let sink = NatsSink::builder("nats://127.0.0.1:4222")
///     .subject("logs.{level}")
///     .build()?;
/// let counters = sink.get_ref().counters();
/// let pipeline = fapilog::Pipeline::builder().sink(sink).build()?;
/// let log = pipeline.logger("app");
/// fapilog::info!(log, "hello");
/// pipeline.shutdown(std::time::Duration::from_secs(5));
/// println!("stored {}, duplicates {}", counters.stored(), counters.duplicates());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct NatsSink {
    settings: Settings,
    js: Option<jetstream::Context>,
}

/// What the builder checked.
pub(crate) struct Settings {
    pub(crate) name: String,
    pub(crate) shown_url: String,
    pub(crate) servers: Vec<ServerAddr>,
    pub(crate) subject: SubjectTemplate,
    pub(crate) auth: Auth,
    pub(crate) require_tls: bool,
    pub(crate) root_certificates: Vec<PathBuf>,
    pub(crate) client_certificate: Option<(PathBuf, PathBuf)>,
    pub(crate) connect_timeout: Duration,
    pub(crate) ack_timeout: Duration,
    pub(crate) max_in_flight: usize,
    pub(crate) max_reconnect_delay: Duration,
    pub(crate) create_stream: Option<String>,
    pub(crate) counters: NatsCounters,
}

/// Checked credentials.
pub(crate) enum Auth {
    None,
    UserPassword(String, String),
    Token(String),
    NKey(String),
    /// The file's text, and its path for messages.
    Creds(String, String),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("none"),
            Auth::UserPassword(user, _) => write!(f, "user {user:?}, password ***"),
            Auth::Token(_) => f.write_str("token ***"),
            Auth::NKey(_) => f.write_str("nkey seed ***"),
            Auth::Creds(_, path) => write!(f, "creds file {path}"),
        }
    }
}

/// The lines of one request, published together.
///
/// Holds the lines' bytes (shared with the batch's other requests), each
/// line's subject and `Nats-Msg-Id`, and how far the acknowledgements got,
/// so that a retry resends only what was not acknowledged.
pub struct NatsPublishes {
    payload: Bytes,
    lines: Vec<Publish>,
    /// Leading lines acknowledged (or refused): a retry starts there.
    acked: AtomicUsize,
    /// Batch indices of lines refused as too large.
    refused: Mutex<Vec<usize>>,
}

struct Publish {
    /// Index of the line in the batch.
    index: usize,
    range: Range<usize>,
    subject: Subject,
    id: [u8; 36],
}

impl fmt::Debug for NatsPublishes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NatsPublishes")
            .field("lines", &self.lines.len())
            .field("acked", &self.acked.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl NatsPublishes {
    fn refuse(&self, index: usize) {
        let mut refused = self.refused.lock().unwrap_or_else(|e| e.into_inner());
        if !refused.contains(&index) {
            refused.push(index);
        }
    }

    fn refused(&self) -> Vec<usize> {
        self.refused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl NatsSink {
    /// Options for a sink publishing through the server(s) at `url`
    /// (`nats://host:4222`, `tls://…`, several separated by commas;
    /// `user:password@` or `token@` in the URL authenticate unless the
    /// builder sets credentials).
    pub fn builder(url: impl Into<String>) -> NatsSinkBuilder {
        NatsSinkBuilder::new(url.into())
    }

    pub(crate) fn new(settings: Settings) -> NatsSink {
        NatsSink { settings, js: None }
    }

    /// The sink's counters (stored, duplicates, oversized, missing
    /// stream), shared: take them before handing the sink to a pipeline.
    pub fn counters(&self) -> NatsCounters {
        self.settings.counters.clone()
    }

    /// The subject template.
    pub fn subject(&self) -> &str {
        self.settings.subject.as_str()
    }

    fn connect_options(&self) -> Result<ConnectOptions, SinkError> {
        let s = &self.settings;
        let max_delay = s.max_reconnect_delay;
        let mut o = ConnectOptions::new()
            .name("fapilog")
            .connection_timeout(s.connect_timeout)
            .require_tls(s.require_tls)
            .reconnect_delay_callback(move |attempts| {
                let shift = attempts.min(16) as u32;
                Duration::from_millis(25u64 << shift).min(max_delay)
            });
        o = match &s.auth {
            Auth::None => o,
            Auth::UserPassword(user, password) => {
                o.user_and_password(user.clone(), password.clone())
            }
            Auth::Token(token) => o.token(token.clone()),
            Auth::NKey(seed) => o.nkey(seed.clone()),
            Auth::Creds(text, path) => o.credentials(text).map_err(|_| {
                SinkError::Rejected(format!("the NATS creds file {path} does not parse"))
            })?,
        };
        for pem in &s.root_certificates {
            o = o.add_root_certificates(pem.clone());
        }
        if let Some((cert, key)) = &s.client_certificate {
            o = o.add_client_certificate(cert.clone(), key.clone());
        }
        Ok(o)
    }

    /// The JetStream context, connecting first when there is none yet.
    async fn context(&mut self) -> Result<jetstream::Context, SinkError> {
        if let Some(js) = &self.js {
            return Ok(js.clone());
        }
        let s = &self.settings;
        let options = self.connect_options()?;
        let connect = options.connect(s.servers.clone());
        let client = match tokio::time::timeout(s.connect_timeout, connect).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => {
                return Err(SinkError::transient(format!(
                    "cannot connect to NATS at {}: {e}",
                    s.shown_url
                )))
            }
            Err(_) => {
                return Err(SinkError::transient(format!(
                    "no connection to NATS at {} within {:?}",
                    s.shown_url, s.connect_timeout
                )))
            }
        };
        let js = jetstream::ContextBuilder::new()
            .timeout(s.ack_timeout)
            // Acks abandoned after a failure release their slot as soon
            // as an awaited one would have timed out.
            .ack_timeout(s.ack_timeout)
            .max_ack_inflight(s.max_in_flight.saturating_mul(4))
            .build(client);
        if let Some(name) = &s.create_stream {
            let config = stream::Config {
                name: name.clone(),
                subjects: vec![s.subject.stream_subject()],
                ..Default::default()
            };
            js.get_or_create_stream(config).await.map_err(|e| {
                SinkError::transient(format!("cannot create the JetStream stream {name}: {e}"))
            })?;
        }
        s.counters.add_connect();
        self.js = Some(js.clone());
        Ok(js)
    }

    /// The failure `e` of line `k` of `request` as the driver's error.
    fn classify(&self, e: PublishError, k: usize, request: &Request<NatsPublishes>) -> SinkError {
        let s = &self.settings;
        let body = &request.body;
        let subject = body
            .lines
            .get(k)
            .map(|p| p.subject.to_string())
            .unwrap_or_else(|| s.subject.as_str().to_owned());
        match e.kind() {
            PublishErrorKind::StreamNotFound => {
                s.counters.add_no_stream();
                // Refuse what is left: resending cannot help until a
                // stream binds the subject, and a retry loop would spin.
                let mut rejected = body.refused();
                rejected.extend(
                    body.lines[k.min(body.lines.len())..]
                        .iter()
                        .map(|p| p.index),
                );
                SinkError::Partial {
                    rejected,
                    message: format!(
                        "no JetStream stream binds subject {subject} on {}: create a stream \
                         whose subjects match it (or set NatsSinkBuilder::create_stream)",
                        s.shown_url
                    ),
                }
            }
            PublishErrorKind::WrongLastMessageId | PublishErrorKind::WrongLastSequence => {
                SinkError::Rejected(format!("JetStream refused a publish to {subject}: {e}"))
            }
            _ => SinkError::transient(format!(
                "publish to {subject} on {} not acknowledged: {e}",
                s.shown_url
            )),
        }
    }
}

/// Publishes `body`'s lines from `start` on, then awaits their
/// acknowledgements in order, recording progress in `body.acked`.
/// Returns the first failure and the line it happened at.
async fn publish_all(
    js: &jetstream::Context,
    body: &NatsPublishes,
    counters: &NatsCounters,
) -> Option<(usize, PublishError)> {
    let start = body.acked.load(Ordering::Acquire);
    let mut pending = VecDeque::with_capacity(body.lines.len() - start.min(body.lines.len()));
    let mut failure = None;
    let mut sent = 0;
    for (k, p) in body.lines.iter().enumerate().skip(start) {
        let mut headers = HeaderMap::new();
        // The id is ASCII hex and hyphens (MessageId::write_hyphenated).
        let id = std::str::from_utf8(&p.id).unwrap_or_default();
        headers.insert(NATS_MESSAGE_ID, id);
        let payload = body.payload.slice(p.range.clone());
        match js
            .publish_with_headers(p.subject.clone(), headers, payload)
            .await
        {
            Ok(ack) => {
                sent += 1;
                pending.push_back((k, Some(ack)));
            }
            Err(e) if e.kind() == PublishErrorKind::MaxPayloadExceeded => {
                body.refuse(p.index);
                pending.push_back((k, None));
            }
            Err(e) => {
                failure = Some((k, e));
                break;
            }
        }
    }
    counters.add_publishes(sent);
    let (mut stored, mut duplicates) = (0, 0);
    for (k, ack) in pending {
        if let Some(ack) = ack {
            match ack.await {
                Ok(a) if a.duplicate => duplicates += 1,
                Ok(_) => stored += 1,
                Err(e) => {
                    failure = Some((k, e));
                    break;
                }
            }
        }
        body.acked.store(k + 1, Ordering::Release);
    }
    counters.add_stored(stored);
    counters.add_duplicates(duplicates);
    failure
}

impl AsyncSink for NatsSink {
    type Body = NatsPublishes;

    fn name(&self) -> &str {
        &self.settings.name
    }

    fn timeout(&self) -> Duration {
        // Connect, queue the publishes, then wait for the acks.
        let s = &self.settings;
        s.connect_timeout + s.ack_timeout * 2 + Duration::from_secs(1)
    }

    fn encode(&mut self, batch: &Batch) -> Result<Encoded<NatsPublishes>, SinkError> {
        let mut bytes = Vec::with_capacity(batch.byte_len());
        let mut lines = Vec::with_capacity(batch.len());
        for (index, line) in batch.lines().enumerate() {
            let start = bytes.len();
            bytes.extend_from_slice(line.bytes);
            let mut id = [0u8; 36];
            line.message_id.write_hyphenated(&mut id);
            lines.push(Publish {
                index,
                range: start..bytes.len(),
                subject: self.settings.subject.render(line.level),
                id,
            });
        }
        let payload = Bytes::from(bytes);
        let mut encoded = Encoded::new();
        let per_request = self.settings.max_in_flight;
        let mut lines = lines.into_iter().peekable();
        while lines.peek().is_some() {
            let chunk: Vec<Publish> = lines.by_ref().take(per_request).collect();
            let indices = chunk.iter().map(|p| p.index).collect();
            encoded.push(Request::new(
                NatsPublishes {
                    payload: payload.clone(),
                    lines: chunk,
                    acked: AtomicUsize::new(0),
                    refused: Mutex::new(Vec::new()),
                },
                indices,
            ));
        }
        Ok(encoded)
    }

    async fn send(&mut self, request: &Request<NatsPublishes>) -> Result<(), SinkError> {
        let js = self.context().await?;
        let body = &request.body;
        if let Some((k, e)) = publish_all(&js, body, &self.settings.counters).await {
            return Err(self.classify(e, k, request));
        }
        let refused = body.refused();
        if refused.is_empty() {
            return Ok(());
        }
        self.settings.counters.add_oversized(refused.len() as u64);
        let max = js.client().server_info().max_payload;
        Err(SinkError::Partial {
            message: format!(
                "{} line(s) larger than the NATS server's max_payload of {max} bytes",
                refused.len()
            ),
            rejected: refused,
        })
    }

    async fn stop(&mut self) -> Result<(), SinkError> {
        if let Some(js) = self.js.take() {
            let client = js.client();
            // Every publish was acknowledged already; flush what async-nats
            // may still hold, bounded.
            let _ = tokio::time::timeout(self.settings.ack_timeout, client.flush()).await;
        }
        Ok(())
    }
}

impl fmt::Debug for NatsSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.settings;
        f.debug_struct("NatsSink")
            .field("name", &s.name)
            .field("url", &s.shown_url)
            .field("subject", &s.subject.as_str())
            .field("auth", &s.auth)
            .field("require_tls", &s.require_tls)
            .field("connected", &self.js.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use fapilog::{Event, Format, Level};

    use super::*;

    #[test]
    fn a_batch_is_encoded_once_into_requests_of_max_in_flight_lines() {
        let mut sink = NatsSink::builder("nats://127.0.0.1:1")
            .subject("app.{level}")
            .max_in_flight(256)
            .build_sink()
            .unwrap();
        let mut batch = Batch::new(Format::Json);
        for i in 0..600 {
            let level = if i % 2 == 0 {
                Level::INFO
            } else {
                Level::ERROR
            };
            batch.push(&Event::new(level, "m"));
        }
        let encoded = sink.encode(&batch).unwrap();
        assert!(encoded.rejected.is_empty());
        let sizes: Vec<usize> = encoded.requests.iter().map(|r| r.lines.len()).collect();
        assert_eq!(sizes, [256, 256, 88]);
        let lines: Vec<_> = batch.lines().collect();
        let mut next = 0;
        for request in &encoded.requests {
            for (k, p) in request.body.lines.iter().enumerate() {
                assert_eq!(request.lines[k], next);
                assert_eq!(p.index, next);
                let line = &lines[next];
                assert_eq!(&request.body.payload[p.range.clone()], line.bytes);
                assert_eq!(
                    std::str::from_utf8(&p.id).unwrap(),
                    line.message_id.to_string()
                );
                let want = if next % 2 == 0 {
                    "app.info"
                } else {
                    "app.error"
                };
                assert_eq!(p.subject.as_str(), want);
                next += 1;
            }
        }
        assert_eq!(next, 600);
    }
}
