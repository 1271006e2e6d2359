//! The tower `Service`: request id, trace context and bound context on the
//! way in; catching panics and errors, and the access-log event, on the way out.

use std::any::Any;
use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use bytes::Buf;
use fapilog::context::Scoped;
use fapilog::{Context, ErrorValue, FieldValue, Level, Logger};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use tower_service::Service;

use crate::client_ip;
use crate::headers;
use crate::layer::Config;
use crate::request_id::{self, Origin, RequestId};
use crate::trace_context::TraceContext;

type BoxError = Box<dyn StdError + Send + Sync>;

/// An error a handler hands to the access log, with its `source()` chain:
/// put it in the response's extensions (for example from your error type's
/// `IntoResponse`), and the completion event is logged at ERROR with it.
///
/// ```
/// use fapilog_axum::HandlerError;
/// let mut response = http::Response::new(());
/// *response.status_mut() = http::StatusCode::BAD_GATEWAY;
/// let cause = std::io::Error::other("upstream reset");
/// response.extensions_mut().insert(HandlerError::new(cause));
/// ```
#[derive(Clone)]
pub struct HandlerError {
    error: Arc<dyn StdError + Send + Sync>,
    type_name: &'static str,
}

impl HandlerError {
    /// Wraps `error`.
    pub fn new<E: StdError + Send + Sync + 'static>(error: E) -> HandlerError {
        HandlerError {
            error: Arc::new(error),
            type_name: std::any::type_name::<E>(),
        }
    }

    /// The error.
    pub fn error(&self) -> &(dyn StdError + Send + Sync + 'static) {
        &*self.error
    }
}

impl fmt::Debug for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HandlerError({}: {})", self.type_name, self.error)
    }
}

/// A handler panic, as an error for `diagnostics.exception`.
#[derive(Debug)]
struct Panic(String);

impl fmt::Display for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for Panic {}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "handler panicked".to_owned()
    }
}

enum Failure {
    Panic(Panic),
    Service(BoxError),
    Handler(HandlerError),
}

impl Failure {
    fn as_error(&self) -> ErrorValue<'_> {
        match self {
            Failure::Panic(p) => ErrorValue::from_dyn(p, "panic"),
            Failure::Service(e) => ErrorValue::from_dyn(&**e, "service error"),
            Failure::Handler(h) => ErrorValue::from_dyn(&*h.error, h.type_name),
        }
    }
}

/// Everything the access-log event needs; logs itself once, when dropped:
/// at the end of the response body, or early if the request is abandoned.
struct Completion {
    logger: Logger,
    config: Arc<Config>,
    context: Context,
    start: Instant,
    method: Method,
    path: String,
    route: Option<String>,
    request_bytes: Option<u64>,
    client_ip: Option<IpAddr>,
    user_agent: Option<String>,
    headers: Option<BTreeMap<String, String>>,
    skipped: bool,
    request_id_replaced: bool,
    status: Option<StatusCode>,
    response_bytes: u64,
    failure: Option<Failure>,
}

impl Completion {
    fn emit(&mut self) {
        let latency = self.start.elapsed();
        let slow = self.config.slow.is_some_and(|t| latency >= t);
        let failed = self.failure.is_some() || self.status.is_some_and(|s| s.is_server_error());
        if self.skipped && !failed {
            return;
        }
        let success = !failed && !slow && self.status.is_some_and(|s| s.as_u16() < 400);
        if success && !self.config.keep_success() {
            return;
        }
        let mut level = match self.status {
            _ if failed => Level::ERROR,
            // Abandoned before a response (client gone, timeout layer).
            None => Level::WARNING,
            Some(s) if s.is_client_error() => Level::WARNING,
            Some(_) => Level::INFO,
        };
        if slow && level < Level::WARNING {
            level = Level::WARNING;
        }
        let Some(mut call) = self.logger.capture(level) else {
            return;
        };
        call.message_args(match (&self.failure, self.status) {
            (Some(_), _) => format_args!("request_failed"),
            (None, None) => format_args!("request_cancelled"),
            (None, Some(_)) => format_args!("request_completed"),
        });
        call.context(&self.context);
        call.field("method", FieldValue::Str(self.method.as_str()));
        call.field("path", FieldValue::Str(&self.path));
        call.field(
            "route",
            self.route
                .as_deref()
                .map_or(FieldValue::Null, FieldValue::Str),
        );
        call.field(
            "status_code",
            self.status
                .map_or(FieldValue::Null, |s| FieldValue::U64(s.as_u16().into())),
        );
        call.field("latency_ms", FieldValue::F64(round3(latency)));
        call.field(
            "request_bytes",
            self.request_bytes.map_or(FieldValue::Null, FieldValue::U64),
        );
        call.field("response_bytes", FieldValue::U64(self.response_bytes));
        match &self.client_ip {
            Some(ip) => call.field("client_ip", FieldValue::Display(ip)),
            None => call.field("client_ip", FieldValue::Null),
        }
        call.field(
            "user_agent",
            self.user_agent
                .as_deref()
                .map_or(FieldValue::Null, FieldValue::Str),
        );
        if let Some(h) = &self.headers {
            call.field("headers", FieldValue::Json(h));
        }
        if slow {
            call.field("slow", FieldValue::Bool(true));
        }
        if self.request_id_replaced {
            call.field("request_id_replaced", FieldValue::Bool(true));
        }
        if let Some(f) = &self.failure {
            call.field("error", FieldValue::Error(f.as_error()));
        }
        call.submit();
    }
}

fn round3(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// Logs once: the completion moves from the future into the body, and
/// whichever holds it last writes the event when it is dropped.
struct Pending(Option<Completion>);

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            c.emit();
        }
    }
}

/// The middleware service; made by [`RequestLogLayer`](crate::RequestLogLayer).
#[derive(Clone, Debug)]
pub struct RequestLog<S> {
    inner: S,
    logger: Logger,
    config: Arc<Config>,
}

impl<S> RequestLog<S> {
    pub(crate) fn new(inner: S, logger: Logger, config: Arc<Config>) -> RequestLog<S> {
        RequestLog {
            inner,
            logger,
            config,
        }
    }
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for RequestLog<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    S::Error: Into<BoxError>,
    ResB: Body,
{
    type Response = Response<ResponseBody<ResB>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqB>) -> Self::Future {
        let config = &self.config;
        let (id, origin) = request_id::resolve(req.headers().get(&config.request_id_header));
        let echo = HeaderValue::from_str(&id).ok();
        if let Some(v) = &echo {
            // Downstream sees the id that is logged, never a rejected one.
            req.headers_mut()
                .insert(config.request_id_header.clone(), v.clone());
        }
        let trace = TraceContext::from_headers(req.headers());
        let context = Context::current().with(&[
            ("request_id", FieldValue::Str(&id)),
            ("correlation_id", FieldValue::Str(&id)),
            ("trace_id", FieldValue::Str(trace.trace_id())),
            ("span_id", FieldValue::Str(trace.span_id())),
        ]);

        let path = req.uri().path().to_owned();
        #[cfg(feature = "axum")]
        let route = req
            .extensions()
            .get::<axum::extract::MatchedPath>()
            .map(|m| m.as_str().to_owned());
        #[cfg(not(feature = "axum"))]
        let route: Option<String> = None;
        let headers = headers::collect(req.headers(), &config.headers, &config.redacted);
        let completion = Completion {
            logger: self.logger.clone(),
            config: Arc::clone(config),
            context: context.clone(),
            start: Instant::now(),
            method: req.method().clone(),
            skipped: config.skip_paths.contains(&path),
            path,
            route,
            request_bytes: req
                .headers()
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok()),
            client_ip: client_ip::client_ip(
                req.headers(),
                client_ip::peer(req.extensions()),
                &config.trusted_proxies,
            ),
            user_agent: req
                .headers()
                .get(http::header::USER_AGENT)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
            headers,
            request_id_replaced: origin == Origin::Replaced,
            status: None,
            response_bytes: 0,
            failure: None,
        };
        // The request's context is also a `tracing` span, so that
        // `.instrument(Span::current())` carries it into spawned tasks.
        #[cfg(feature = "tracing")]
        let span = tracing::info_span!(
            target: "fapilog_axum",
            "request",
            request_id = %id,
            correlation_id = %id,
            trace_id = %trace.trace_id(),
            span_id = %trace.span_id(),
        );
        req.extensions_mut().insert(RequestId(id));
        req.extensions_mut().insert(trace);

        let inner = &mut self.inner;
        let called = context.in_scope(|| {
            #[cfg(feature = "tracing")]
            let _entered = span.enter();
            catch_unwind(AssertUnwindSafe(|| inner.call(req)))
        });
        let state = match called {
            Ok(fut) => State::Running {
                #[cfg(feature = "tracing")]
                future: context.scope(tracing::Instrument::instrument(fut, span)),
                #[cfg(not(feature = "tracing"))]
                future: context.scope(fut),
            },
            Err(payload) => State::Panicked {
                message: Some(panic_message(&*payload)),
            },
        };
        ResponseFuture {
            state,
            pending: Pending(Some(completion)),
            header: self.config.request_id_header.clone(),
            echo,
        }
    }
}

#[cfg(feature = "tracing")]
type Traced<F> = tracing::instrument::Instrumented<F>;
#[cfg(not(feature = "tracing"))]
type Traced<F> = F;

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<F> {
        Running { #[pin] future: Scoped<Traced<F>> },
        Panicked { message: Option<String> },
    }
}

pin_project_lite::pin_project! {
    /// The future of [`RequestLog`]: the inner response, or a 500 when the
    /// handler panicked or failed.
    pub struct ResponseFuture<F> {
        #[pin]
        state: State<F>,
        pending: Pending,
        header: http::HeaderName,
        echo: Option<HeaderValue>,
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

fn internal_error<B>() -> Response<ResponseBody<B>> {
    let mut r = Response::new(ResponseBody::empty());
    *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    r
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    E: Into<BoxError>,
    B: Body,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let outcome = match this.state.project() {
            StateProj::Running { future } => {
                match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
                    Ok(Poll::Pending) => return Poll::Pending,
                    Ok(Poll::Ready(Ok(response))) => Ok(response),
                    Ok(Poll::Ready(Err(e))) => Err(Failure::Service(e.into())),
                    Err(payload) => Err(Failure::Panic(Panic(panic_message(&*payload)))),
                }
            }
            StateProj::Panicked { message } => Err(Failure::Panic(Panic(
                message
                    .take()
                    .unwrap_or_else(|| "handler panicked".to_owned()),
            ))),
        };
        let mut completion = this.pending.0.take();
        let mut response = match outcome {
            Ok(response) => {
                let (parts, body) = response.into_parts();
                if let Some(c) = completion.as_mut() {
                    c.status = Some(parts.status);
                    if let Some(h) = parts.extensions.get::<HandlerError>() {
                        c.failure = Some(Failure::Handler(h.clone()));
                    }
                }
                Response::from_parts(parts, ResponseBody::new(body))
            }
            Err(failure) => {
                if let Some(c) = completion.as_mut() {
                    c.status = Some(StatusCode::INTERNAL_SERVER_ERROR);
                    c.failure = Some(failure);
                }
                internal_error()
            }
        };
        if let Some(v) = this.echo.take() {
            response.headers_mut().insert(this.header.clone(), v);
        }
        response.body_mut().pending = Pending(completion);
        Poll::Ready(Ok(response))
    }
}

pin_project_lite::pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Body { #[pin] body: B },
        Empty,
    }
}

pin_project_lite::pin_project! {
    /// The response body: the handler's, counted; the access-log event is
    /// written when it ends (or is dropped).
    pub struct ResponseBody<B> {
        #[pin]
        kind: Kind<B>,
        pending: Pending,
    }
}

impl<B> fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseBody").finish_non_exhaustive()
    }
}

impl<B> ResponseBody<B> {
    fn new(body: B) -> Self {
        ResponseBody {
            kind: Kind::Body { body },
            pending: Pending(None),
        }
    }

    fn empty() -> Self {
        ResponseBody {
            kind: Kind::Empty,
            pending: Pending(None),
        }
    }
}

impl<B: Body> Body for ResponseBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = self.project();
        let polled = match this.kind.project() {
            KindProj::Body { body } => body.poll_frame(cx),
            KindProj::Empty => Poll::Ready(None),
        };
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(data), Some(c)) = (frame.data_ref(), this.pending.0.as_mut()) {
                    c.response_bytes += data.remaining() as u64;
                }
            }
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => {
                // End of the body: log now rather than when the connection lets go.
                drop(this.pending.0.take().map(|c| Pending(Some(c))));
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Body { body } => body.is_end_stream(),
            Kind::Empty => true,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Body { body } => body.size_hint(),
            Kind::Empty => SizeHint::with_exact(0),
        }
    }
}
