//! The tower `Layer` and its options.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fapilog::Logger;
use http::HeaderName;
use tower_layer::Layer;

use crate::client_ip::Cidr;
use crate::headers::{HeaderLogging, DEFAULT_REDACTED_HEADERS};
use crate::service::RequestLog;
use crate::ConfigError;

/// The default request-id header.
pub const DEFAULT_REQUEST_ID_HEADER: &str = "x-request-id";

/// Options, shared by every clone of the service.
#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) request_id_header: HeaderName,
    pub(crate) skip_paths: Vec<String>,
    pub(crate) sample_rate: f64,
    pub(crate) sampled: AtomicU64,
    pub(crate) headers: HeaderLogging,
    pub(crate) redacted: Vec<HeaderName>,
    pub(crate) slow: Option<Duration>,
    pub(crate) trusted_proxies: Vec<Cidr>,
}

impl Clone for Config {
    fn clone(&self) -> Self {
        Config {
            request_id_header: self.request_id_header.clone(),
            skip_paths: self.skip_paths.clone(),
            sample_rate: self.sample_rate,
            sampled: AtomicU64::new(self.sampled.load(Ordering::Relaxed)),
            headers: self.headers.clone(),
            redacted: self.redacted.clone(),
            slow: self.slow,
            trusted_proxies: self.trusted_proxies.clone(),
        }
    }
}

impl Config {
    /// Deterministic sampling of successful requests: of every run of
    /// requests, exactly `rate` of them are kept, evenly spread.
    pub(crate) fn keep_success(&self) -> bool {
        if self.sample_rate >= 1.0 {
            return true;
        }
        if self.sample_rate <= 0.0 {
            return false;
        }
        let n = self.sampled.fetch_add(1, Ordering::Relaxed) as f64;
        ((n + 1.0) * self.sample_rate).floor() > (n * self.sample_rate).floor()
    }
}

/// A tower [`Layer`] that gives every request an id, a trace context, a
/// bound logging context and one access-log event.
///
/// ```
/// use std::time::Duration;
/// use fapilog_axum::{HeaderLogging, RequestLogLayer};
///
/// # let pipeline = fapilog::Pipeline::builder().sink(fapilog::testing::CaptureSink::new().0).build()?;
/// let layer = RequestLogLayer::new(pipeline.logger("access"))
///     .skip_paths(["/health", "/metrics"])
///     .sample_successes(0.1)?
///     .headers(HeaderLogging::All)
///     .slow_request(Duration::from_millis(500))
///     .trusted_proxies(["10.0.0.0/8"])?;
/// let app: axum::Router = axum::Router::new()
///     .route("/", axum::routing::get(|| async { "hi" }))
///     .layer(layer);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct RequestLogLayer {
    logger: Logger,
    // Shared by every service the layer makes (axum may apply a layer per
    // route, or per request): one sampling counter for all of them.
    config: Arc<Config>,
}

impl RequestLogLayer {
    /// A layer that writes its access log through `logger` (bound fields
    /// and name are kept): `X-Request-ID`, every request logged, no headers,
    /// no slow threshold, no trusted proxies.
    pub fn new(logger: Logger) -> RequestLogLayer {
        RequestLogLayer {
            logger,
            config: Arc::new(Config {
                request_id_header: HeaderName::from_static(DEFAULT_REQUEST_ID_HEADER),
                skip_paths: Vec::new(),
                sample_rate: 1.0,
                sampled: AtomicU64::new(0),
                headers: HeaderLogging::Off,
                redacted: DEFAULT_REDACTED_HEADERS
                    .iter()
                    .map(|h| HeaderName::from_static(h))
                    .collect(),
                slow: None,
                trusted_proxies: Vec::new(),
            }),
        }
    }

    /// The header the request id is read from and echoed in.
    pub fn request_id_header(mut self, header: HeaderName) -> Self {
        self.config_mut().request_id_header = header;
        self
    }

    /// Paths (exact match) whose successful requests are not logged; their
    /// server errors, panics and handler errors still are.
    pub fn skip_paths<I, P>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        self.config_mut()
            .skip_paths
            .extend(paths.into_iter().map(Into::into));
        self
    }

    /// Logs only this share of successful requests (below 400, not slow);
    /// the others are always logged.
    ///
    /// # Errors
    /// [`ConfigError::InvalidSampleRate`] outside `0.0..=1.0`.
    pub fn sample_successes(mut self, rate: f64) -> Result<Self, ConfigError> {
        if !(0.0..=1.0).contains(&rate) {
            return Err(ConfigError::InvalidSampleRate { value: rate });
        }
        self.config_mut().sample_rate = rate;
        Ok(self)
    }

    /// Which request headers the access log includes.
    pub fn headers(mut self, mode: HeaderLogging) -> Self {
        self.config_mut().headers = mode;
        self
    }

    /// Redacts one more header, beyond [`DEFAULT_REDACTED_HEADERS`](crate::DEFAULT_REDACTED_HEADERS).
    pub fn redact_header(mut self, header: HeaderName) -> Self {
        let redacted = &mut self.config_mut().redacted;
        if !redacted.contains(&header) {
            redacted.push(header);
        }
        self
    }

    /// Requests slower than `threshold` are logged at WARNING at least,
    /// with `slow: true`.
    pub fn slow_request(mut self, threshold: Duration) -> Self {
        self.config_mut().slow = Some(threshold);
        self
    }

    /// Proxies whose `X-Forwarded-For` is believed (addresses or CIDR blocks).
    ///
    /// # Errors
    /// [`ConfigError::InvalidProxy`] naming the first entry that does not parse.
    pub fn trusted_proxies<I, S>(mut self, proxies: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for p in proxies {
            self.config_mut().trusted_proxies.push(p.as_ref().parse()?);
        }
        Ok(self)
    }

    fn config_mut(&mut self) -> &mut Config {
        Arc::make_mut(&mut self.config)
    }
}

impl<S> Layer<S> for RequestLogLayer {
    type Service = RequestLog<S>;

    fn layer(&self, inner: S) -> RequestLog<S> {
        RequestLog::new(inner, self.logger.clone(), Arc::clone(&self.config))
    }
}
