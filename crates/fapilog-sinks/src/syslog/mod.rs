//! The syslog sink: RFC 5424 messages over UDP, TCP or TLS; the user
//! documentation is on [`SyslogSink`] (this module is private).

mod builder;
mod conn;
mod format;
mod options;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use fapilog::{Batch, Settings, SinkError};
use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use tokio::net::UdpSocket;

use crate::adapter::{AsyncSink, Encoded, Request};
use crate::config::ConfigError;
use crate::factory::Opened;

pub use builder::{SyslogSinkBuilder, DEFAULT_SD_ID};
pub use options::{severity, Facility, Framing, MessageBody, SyslogTransport};

use conn::Stream;
use format::Formatter;

/// Opens the sink from fapilog's settings: fapilog has no syslog sink
/// and so no variables for one; say how to configure it instead.
pub(crate) fn from_settings(_settings: &Settings) -> Opened {
    Err(ConfigError::Setup(
        "fapilog has no syslog sink and no FAPILOG_* variables for one: build \
         fapilog_sinks::SyslogSink in code and add it with PipelineBuilder::sink"
            .to_owned(),
    )
    .into_core("syslog"))
}

/// One request: framed syslog messages back to back (a stream's bytes), or
/// one datagram each on UDP.
#[derive(Debug)]
pub struct SyslogFrames {
    bytes: Vec<u8>,
    /// End offset of each message in `bytes`.
    ends: Vec<usize>,
    /// Which request this is, so a UDP retry skips the datagrams sent.
    seq: u64,
}

impl SyslogFrames {
    fn new(seq: u64) -> SyslogFrames {
        SyslogFrames {
            bytes: Vec::new(),
            ends: Vec::new(),
            seq,
        }
    }

    /// All framed messages, as written to a stream.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The framed messages, one by one (each a datagram on UDP).
    pub fn frames(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let frame = &self.bytes[start..end];
            start = end;
            frame
        })
    }

    /// Number of messages.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// `true` when there is no message.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

/// The open connection, if any.
enum Conn {
    None,
    Udp(UdpSocket),
    Stream(Stream),
}

/// Sends fapilog's events to a syslog receiver as RFC 5424 messages over
/// UDP (RFC 5426), TCP (RFC 6587, octet counting by default) or TLS
/// (RFC 5425, rustls with ring). Options: [`SyslogSink::builder`].
///
/// Each batch is formatted once into requests of many framed messages (up
/// to [`max_request_bytes`](SyslogSinkBuilder::max_request_bytes)); a
/// request is written whole. The connection opens on the first send (a
/// receiver that is down fails nothing at build or start: sends return
/// [`SinkError::Transient`] and the driver backs off), is checked for a
/// receiver that went away before each write, and is dropped on any
/// error: the next attempt reconnects and writes the same request again,
/// so a message may arrive twice (at-least-once) but a receiver never
/// sees a frame cut in half. Plain syslog has no acknowledgement: what
/// the kernel accepted just before the receiver died is lost unseen. UDP
/// is at-most-once.
///
/// fapilog has no syslog sink, so there are no `FAPILOG_*` variables for
/// it: build it in code.
///
/// ```no_run
/// use fapilog::Pipeline;
/// use fapilog_sinks::{Facility, SyslogSink, SyslogTransport};
///
/// let sink = SyslogSink::builder(SyslogTransport::Tcp, "127.0.0.1:514")
///     .facility(Facility::Local0)
///     .app_name("billing")
///     .build()?;
/// let pipeline = Pipeline::builder().sink(sink).build()?;
/// fapilog::info!(pipeline.logger("app"), "hello, syslog");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SyslogSink {
    name: String,
    transport: SyslogTransport,
    address: String,
    formatter: Formatter,
    max_request_bytes: usize,
    timeout: Duration,
    tls: Option<(Arc<ClientConfig>, ServerName<'static>)>,
    conn: Conn,
    scratch: Vec<u8>,
    next_seq: u64,
    /// On UDP: the request being sent and how many of its datagrams left.
    udp_sent: (u64, usize),
}

impl fmt::Debug for SyslogSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyslogSink")
            .field("name", &self.name)
            .field("transport", &self.transport)
            .field("address", &self.address)
            .field("formatter", &self.formatter)
            .field("max_request_bytes", &self.max_request_bytes)
            .field("timeout", &self.timeout)
            .field("tls", &self.tls.as_ref().map(|(_, name)| name))
            .field("connected", &!matches!(self.conn, Conn::None))
            .finish()
    }
}

impl SyslogSink {
    /// Options for a sink sending over `transport` to `address`
    /// (`host:port`; syslog's ports are 514 for UDP and TCP, 6514 for TLS).
    pub fn builder(transport: SyslogTransport, address: impl Into<String>) -> SyslogSinkBuilder {
        SyslogSinkBuilder::new(transport, address.into())
    }

    pub(crate) fn new(
        name: String,
        transport: SyslogTransport,
        address: String,
        formatter: Formatter,
        max_request_bytes: usize,
        timeout: Duration,
        tls: Option<(Arc<ClientConfig>, ServerName<'static>)>,
    ) -> SyslogSink {
        SyslogSink {
            name,
            transport,
            address,
            formatter,
            max_request_bytes,
            timeout,
            tls,
            conn: Conn::None,
            scratch: Vec::with_capacity(4096),
            next_seq: 0,
            udp_sent: (u64::MAX, 0),
        }
    }

    fn transient(&self, what: &str, e: std::io::Error) -> SinkError {
        SinkError::transient(format!("syslog {}: {what}: {e}", self.address))
    }

    async fn send_udp(&mut self, frames: &SyslogFrames) -> Result<(), SinkError> {
        if self.udp_sent.0 != frames.seq {
            self.udp_sent = (frames.seq, 0);
        }
        let socket = match std::mem::replace(&mut self.conn, Conn::None) {
            Conn::Udp(s) => s,
            _ => conn::udp(&self.address)
                .await
                .map_err(|e| self.transient("cannot open a UDP socket", e))?,
        };
        for frame in frames.frames().skip(self.udp_sent.1) {
            if let Err(e) = socket.send(frame).await {
                // A refused port is reported on the next send; a new socket
                // starts clean.
                return Err(self.transient("send failed", e));
            }
            self.udp_sent.1 += 1;
        }
        self.conn = Conn::Udp(socket);
        Ok(())
    }

    async fn send_stream(&mut self, frames: &SyslogFrames) -> Result<(), SinkError> {
        // Taken out while writing: if the write is abandoned (timeout),
        // the half-written connection is dropped, never reused.
        let open = match std::mem::replace(&mut self.conn, Conn::None) {
            Conn::Stream(mut s) => (!s.peer_closed().await).then_some(s),
            _ => None,
        };
        let mut stream = match open {
            Some(s) => s,
            None => Stream::connect(&self.address, self.tls.as_ref())
                .await
                .map_err(|e| self.transient("cannot connect", e))?,
        };
        stream
            .write_all(&frames.bytes)
            .await
            .map_err(|e| self.transient("write failed", e))?;
        self.conn = Conn::Stream(stream);
        Ok(())
    }
}

impl AsyncSink for SyslogSink {
    type Body = SyslogFrames;

    fn name(&self) -> &str {
        &self.name
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }

    fn encode(&mut self, batch: &Batch) -> Result<Encoded<SyslogFrames>, SinkError> {
        let mut encoded = Encoded::new();
        let cap = match self.transport {
            // Datagrams are sent one by one: any number fits a request.
            SyslogTransport::Udp => usize::MAX,
            _ => self.max_request_bytes,
        };
        let mut frames = SyslogFrames::new(self.next_seq);
        let mut lines = Vec::new();
        for (i, line) in batch.lines().enumerate() {
            let start = frames.bytes.len();
            if let Err(reason) = self
                .formatter
                .write(&line, &mut frames.bytes, &mut self.scratch)
            {
                encoded.reject(i, reason);
                continue;
            }
            if frames.bytes.len() > cap && !lines.is_empty() {
                // This message starts the next request.
                let tail = frames.bytes.split_off(start);
                self.next_seq += 1;
                let full = std::mem::replace(&mut frames, SyslogFrames::new(self.next_seq));
                encoded.push(Request::new(full, std::mem::take(&mut lines)));
                frames.bytes = tail;
            }
            frames.ends.push(frames.bytes.len());
            lines.push(i);
        }
        if !lines.is_empty() {
            self.next_seq += 1;
            encoded.push(Request::new(frames, lines));
        }
        Ok(encoded)
    }

    async fn send(&mut self, request: &Request<SyslogFrames>) -> Result<(), SinkError> {
        match self.transport {
            SyslogTransport::Udp => self.send_udp(&request.body).await,
            _ => self.send_stream(&request.body).await,
        }
    }

    async fn stop(&mut self) -> Result<(), SinkError> {
        if let Conn::Stream(mut s) = std::mem::replace(&mut self.conn, Conn::None) {
            // A clean close, bounded: a receiver that stopped reading must
            // not hold the shutdown. Errors are moot now.
            let _ = tokio::time::timeout(self.timeout, s.close()).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fapilog::{Event, Format, Level};

    fn batch(n: usize) -> Batch {
        let mut b = Batch::new(Format::Json);
        for i in 0..n {
            b.push(&Event::new(Level::INFO, format!("event {i}")));
        }
        b
    }

    fn sink(transport: SyslogTransport, max_request: usize) -> SyslogSink {
        let adapter = SyslogSink::builder(transport, "127.0.0.1:514")
            .max_request_bytes(max_request)
            .build()
            .unwrap();
        let inner = adapter.get_ref();
        SyslogSink::new(
            inner.name.clone(),
            inner.transport,
            inner.address.clone(),
            inner.formatter.clone(),
            inner.max_request_bytes,
            inner.timeout,
            None,
        )
    }

    #[test]
    fn a_batch_is_split_into_requests_under_the_byte_cap_in_order() {
        let mut s = sink(SyslogTransport::Tcp, 2000);
        let b = batch(100);
        let enc = s.encode(&b).unwrap();
        assert!(enc.requests.len() > 1);
        let mut lines = Vec::new();
        let mut all = Vec::new();
        for r in &enc.requests {
            assert!(r.body.as_bytes().len() <= 2000);
            assert_eq!(r.body.len(), r.lines.len());
            lines.extend(r.lines.iter().copied());
            all.extend_from_slice(r.body.as_bytes());
        }
        assert_eq!(lines, (0..100).collect::<Vec<_>>());
        let mut whole = sink(SyslogTransport::Tcp, 1 << 20);
        let one = whole.encode(&b).unwrap();
        assert_eq!(one.requests.len(), 1);
        assert_eq!(
            one.requests[0].body.as_bytes(),
            &all[..],
            "same frames, same order"
        );
        // Each request is a distinct unit for retries.
        let seqs: HashSet<u64> = enc.requests.iter().map(|r| r.body.seq).collect();
        assert_eq!(seqs.len(), enc.requests.len());
    }

    #[test]
    fn a_message_larger_than_the_cap_gets_a_request_of_its_own() {
        let mut s = sink(SyslogTransport::Tcp, 10);
        let enc = s.encode(&batch(3)).unwrap();
        assert_eq!(enc.requests.len(), 3);
        assert!(enc.requests.iter().all(|r| r.lines.len() == 1));
    }

    #[test]
    fn udp_frames_are_bare_messages() {
        let mut s = sink(SyslogTransport::Udp, 10);
        let enc = s.encode(&batch(5)).unwrap();
        assert_eq!(enc.requests.len(), 1, "datagrams go one by one anyway");
        for f in enc.requests[0].body.frames() {
            assert!(f.starts_with(b"<14>1 "), "{}", String::from_utf8_lossy(f));
            assert!(f.ends_with(b"}"));
        }
    }

    use std::collections::HashSet;
}
