//! [`AsyncSink`]: the trait a network sink implements, and [`Adapter`], which
//! makes one a [`fapilog::Sink`] driven on the sink's driver thread.
//!
//! A network sink encodes each batch once into requests within the
//! destination's limits ([`AsyncSink::encode`]), then sends them one at a
//! time, in order ([`AsyncSink::send`]). A retry resends exactly the
//! requests that failed, with the same bytes (and so the same signature
//! and de-duplication keys); the requests already delivered are not sent
//! again, and a line the destination refused is never retried: it goes to
//! the driver's divert chain (fallback sink, then stderr), counted.

use std::collections::VecDeque;
use std::future::Future;
use std::time::Duration;

use fapilog::{Batch, Format, Sink, SinkError, WhenFull};

use crate::runtime;

/// One request of an encoded batch: the exact bytes to send (or whatever
/// the sink sends) and which lines of the batch it carries.
#[derive(Debug)]
#[non_exhaustive]
pub struct Request<B> {
    /// What is sent; a retry sends it again unchanged.
    pub body: B,
    /// The batch lines (indices into the batch) in this request.
    pub lines: Vec<usize>,
}

impl<B> Request<B> {
    /// A request carrying the batch lines `lines`.
    pub fn new(body: B, lines: Vec<usize>) -> Request<B> {
        Request { body, lines }
    }
}

/// A batch encoded into requests.
#[derive(Debug)]
#[non_exhaustive]
pub struct Encoded<B> {
    /// The requests, sent in this order.
    pub requests: Vec<Request<B>>,
    /// Lines refused before sending (too large for the destination, not
    /// representable), never retried.
    pub rejected: Vec<usize>,
    /// Why those lines were refused.
    pub reason: Option<String>,
}

impl<B> Encoded<B> {
    /// No request, no rejected line.
    pub fn new() -> Encoded<B> {
        Encoded {
            requests: Vec::new(),
            rejected: Vec::new(),
            reason: None,
        }
    }

    /// Appends a request.
    pub fn push(&mut self, request: Request<B>) {
        self.requests.push(request);
    }

    /// Refuses line `line` of the batch for `reason`.
    pub fn reject(&mut self, line: usize, reason: impl Into<String>) {
        self.rejected.push(line);
        self.reason = Some(reason.into());
    }
}

impl<B> Default for Encoded<B> {
    fn default() -> Self {
        Encoded::new()
    }
}

/// A sink whose writes are asynchronous requests: what the network sinks
/// implement. Wrap one in [`Adapter`] to add it to a pipeline.
///
/// `send` classifies the destination's answer: `Ok` when delivered,
/// [`SinkError::Transient`] (with `after` from `Retry-After` when given)
/// to retry this request later, [`SinkError::Rejected`] when the
/// destination refused it for good, or [`SinkError::Partial`] listing the
/// refused lines as indices into the *batch* (take them from
/// [`Request::lines`]).
pub trait AsyncSink: Send + 'static {
    /// What one request sends.
    type Body: Send + Sync + 'static;

    /// A short name for metrics and diagnostics.
    fn name(&self) -> &str;

    /// The format the sink wants its batches in (default JSON envelopes).
    fn format(&self) -> Format {
        Format::Json
    }

    /// The driver's policy when this sink's buffer is full (default
    /// [`WhenFull::DropNewest`]: a slow destination slows nothing else).
    fn when_full(&self) -> WhenFull {
        WhenFull::DropNewest
    }

    /// Longest one `send` may take before it counts as a transient failure.
    fn timeout(&self) -> Duration {
        Duration::from_secs(30)
    }

    /// Called once when the pipeline starts. A destination that is down
    /// must not fail here (sends retry, the driver counts): only a setup
    /// that can never work should.
    fn start(&mut self) -> impl Future<Output = Result<(), SinkError>> + Send {
        async { Ok(()) }
    }

    /// Encodes a whole batch once into requests within the destination's
    /// byte and count limits.
    fn encode(&mut self, batch: &Batch) -> Result<Encoded<Self::Body>, SinkError>;

    /// Sends one request and classifies the answer.
    fn send(
        &mut self,
        request: &Request<Self::Body>,
    ) -> impl Future<Output = Result<(), SinkError>> + Send;

    /// Called once at shutdown, after the last batch.
    fn stop(&mut self) -> impl Future<Output = Result<(), SinkError>> + Send {
        async { Ok(()) }
    }
}

/// An [`AsyncSink`] as a [`fapilog::Sink`]: each batch is encoded once and
/// its requests are sent in order on the shared runtime; a retry resends
/// only the requests still pending.
///
/// ```no_run
/// # #[cfg(feature = "http")] {
/// use fapilog::Pipeline;
/// use fapilog_sinks::HttpSink;
///
/// let sink = HttpSink::builder("http://127.0.0.1:9000/logs").build().unwrap();
/// let pipeline = Pipeline::builder().sink(sink).build().unwrap();
/// # }
/// ```
pub struct Adapter<S: AsyncSink> {
    inner: S,
    /// Requests of the current batch not delivered yet, in order.
    pending: VecDeque<Request<S::Body>>,
    /// Lines of the current batch refused so far.
    refused: Vec<usize>,
    refused_reason: Option<String>,
    batch_len: usize,
}

impl<S: AsyncSink + std::fmt::Debug> std::fmt::Debug for Adapter<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Adapter")
            .field("inner", &self.inner)
            .field("pending_requests", &self.pending.len())
            .finish()
    }
}

impl<S: AsyncSink> Adapter<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Adapter<S> {
        Adapter {
            inner,
            pending: VecDeque::new(),
            refused: Vec::new(),
            refused_reason: None,
            batch_len: 0,
        }
    }

    /// The wrapped sink.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Sends the pending requests in order; stops at the first that fails
    /// transiently, keeping it and the rest pending.
    fn send_pending(&mut self) -> Result<(), SinkError> {
        let timeout = self.inner.timeout();
        while let Some(request) = self.pending.front() {
            let inner = &mut self.inner;
            let result = runtime::block_on(async {
                match tokio::time::timeout(timeout, inner.send(request)).await {
                    Ok(r) => r,
                    Err(_) => Err(SinkError::transient(format!(
                        "no answer within {timeout:?}"
                    ))),
                }
            })?;
            match result {
                Ok(()) => {}
                Err(SinkError::Partial { rejected, message }) => {
                    self.refused.extend(rejected);
                    self.refused_reason = Some(message);
                }
                Err(SinkError::Rejected(message)) => {
                    self.refused.extend_from_slice(&request.lines);
                    self.refused_reason = Some(message);
                }
                Err(e) => return Err(e),
            }
            self.pending.pop_front();
        }
        self.outcome()
    }

    /// The whole batch's result once nothing is pending.
    fn outcome(&mut self) -> Result<(), SinkError> {
        if self.refused.is_empty() {
            return Ok(());
        }
        let mut refused = std::mem::take(&mut self.refused);
        refused.sort_unstable();
        refused.dedup();
        let message = self
            .refused_reason
            .take()
            .unwrap_or_else(|| "refused by the destination".to_owned());
        if refused.len() >= self.batch_len {
            Err(SinkError::Rejected(message))
        } else {
            Err(SinkError::Partial {
                rejected: refused,
                message,
            })
        }
    }
}

impl<S: AsyncSink> Sink for Adapter<S> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn format(&self) -> Format {
        self.inner.format()
    }

    fn when_full(&self) -> WhenFull {
        self.inner.when_full()
    }

    fn start(&mut self) -> Result<(), SinkError> {
        let inner = &mut self.inner;
        runtime::block_on(inner.start())?
    }

    fn write_batch(&mut self, batch: &Batch) -> Result<(), SinkError> {
        self.pending.clear();
        self.refused.clear();
        self.refused_reason = None;
        self.batch_len = batch.len();
        let encoded = self.inner.encode(batch)?;
        self.pending = encoded.requests.into();
        self.refused = encoded.rejected;
        self.refused_reason = encoded.reason;
        self.send_pending()
    }

    fn retry_batch(&mut self, batch: &Batch) -> Result<(), SinkError> {
        if self.pending.is_empty() && self.refused.is_empty() {
            return self.write_batch(batch);
        }
        self.send_pending()
    }

    fn stop(&mut self) -> Result<(), SinkError> {
        let inner = &mut self.inner;
        runtime::block_on(inner.stop())?
    }
}
