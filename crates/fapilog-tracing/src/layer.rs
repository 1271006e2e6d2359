//! The `tracing_subscriber::Layer`.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use fapilog::context::ContextGuard;
use fapilog::{Context, Level, Location, Logger};
use tracing_core::callsite::Identifier;
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::Context as LayerContext;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use crate::location::Locations;
use crate::span::{context_of, SpanData, SpanVisitor};
use crate::visit::EventVisitor;
use crate::TraceLevel;

/// What names an event's logger.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoggerName {
    /// The event's target (its module path unless the call set `target:`); the default.
    #[default]
    Target,
    /// The name of the [`Logger`] the layer was built with, for every event.
    Logger,
}

/// What the layer does with events that `tracing-log` forwarded from `log`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogEvents {
    /// Log them, named after the `log` target, without the `log.*` fields (the default).
    #[default]
    Forward,
    /// Skip them: something else (such as [`crate::LogBridge`]) logs `log` records.
    Ignore,
}

/// A `tracing_subscriber::Layer` that sends events into a fapilog pipeline.
///
/// One level gate: the pipeline's levels decide what the layer logs, per
/// target: `RUST_LOG` (read by `fapilog::init()` and `from_env`),
/// `core.log_level` and the per-target overrides
/// (`PipelineBuilder::level_overrides`, `FAPILOG_FILTER_CONFIG__LEVEL__OVERRIDES`),
/// matched against each event's target (`my_crate::db`). An `EnvFilter`
/// in front can only narrow that; give both the same directives, or leave
/// it out. `TRACE` events are logged as DEBUG by default, so a `debug`
/// directive lets them through; [`TraceLevel::AsTrace`] gives `EnvFilter`'s
/// exact meaning.
///
/// ```
/// use std::time::Duration;
/// use fapilog_tracing::{FapilogLayer, TraceLevel};
/// use tracing_subscriber::{layer::SubscriberExt, EnvFilter};
///
/// # let (sink, captured) = fapilog::testing::CaptureSink::new();
/// let directives = "info,my_crate=debug"; // or RUST_LOG, read by fapilog::init()
/// let pipeline = fapilog::Pipeline::builder()
///     .level_overrides(directives)?
///     # .sink(sink)
///     .build()?;
/// let layer = FapilogLayer::new(pipeline.logger("app"))
///     .trace_level(TraceLevel::AsTrace)
///     .with_file_and_line();
/// let subscriber = tracing_subscriber::registry()
///     .with(EnvFilter::new(directives))
///     .with(layer);
/// tracing::subscriber::with_default(subscriber, || {
///     tracing::debug!(target: "my_crate::db", "connected");
///     tracing::debug!(target: "hyper", "not shown");
/// });
/// pipeline.flush(Duration::from_secs(5))?;
/// assert_eq!(captured.messages(), ["connected"]);
/// # Ok::<(), fapilog::Error>(())
/// ```
///
/// Per event, on the caller's thread: the level gate, one record captured
/// from the visited fields, the innermost span's cached context (one lock
/// of that span's cache), one queue push. Span fields are copied once, when
/// the span is created or a value is recorded.
pub struct FapilogLayer {
    logger: Logger,
    trace_level: Level,
    logger_name: LoggerName,
    log_events: LogEvents,
    span_path: bool,
    file_and_line: bool,
    locations: Locations<Identifier>,
    /// Bumped by every `Span::record`, so cached span contexts are rebuilt.
    epoch: AtomicU64,
}

impl std::fmt::Debug for FapilogLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FapilogLayer")
            .field("logger", &self.logger)
            .field("trace_level", &self.trace_level)
            .field("logger_name", &self.logger_name)
            .field("log_events", &self.log_events)
            .finish_non_exhaustive()
    }
}

impl FapilogLayer {
    /// A layer that logs through `logger`, with the defaults: TRACE as
    /// DEBUG, logger named after the target, no file/line, span path in
    /// `data.span_path`, `tracing-log` events forwarded.
    #[must_use]
    pub fn new(logger: Logger) -> FapilogLayer {
        FapilogLayer {
            logger,
            trace_level: Level::DEBUG,
            logger_name: LoggerName::Target,
            log_events: LogEvents::Forward,
            span_path: true,
            file_and_line: false,
            locations: Locations::default(),
            epoch: AtomicU64::new(0),
        }
    }

    /// How `TRACE` events are written (DEBUG by default).
    #[must_use]
    pub fn trace_level(mut self, mapping: TraceLevel) -> Self {
        self.trace_level = mapping.level();
        self
    }

    /// What names each event's logger.
    #[must_use]
    pub fn logger_name(mut self, name: LoggerName) -> Self {
        self.logger_name = name;
        self
    }

    /// What to do with events forwarded from `log` by `tracing-log`.
    #[must_use]
    pub fn log_events(mut self, mode: LogEvents) -> Self {
        self.log_events = mode;
        self
    }

    /// Passes the source file, line and module of each event to the pipeline,
    /// which writes them as `diagnostics.location` when `core.include_location`
    /// is on.
    #[must_use]
    pub fn with_file_and_line(mut self) -> Self {
        self.file_and_line = true;
        self
    }

    /// Leaves out `data.span_path`.
    #[must_use]
    pub fn without_span_path(mut self) -> Self {
        self.span_path = false;
        self
    }

    fn level(&self, level: &tracing_core::Level) -> Level {
        match *level {
            tracing_core::Level::ERROR => Level::ERROR,
            tracing_core::Level::WARN => Level::WARNING,
            tracing_core::Level::INFO => Level::INFO,
            tracing_core::Level::DEBUG => Level::DEBUG,
            _ => self.trace_level,
        }
    }

    fn location(&self, meta: &'static Metadata<'static>) -> Option<&'static Location> {
        let file = meta.file()?;
        Some(self.locations.get(meta.callsite(), || Location {
            file,
            line: meta.line().unwrap_or(0),
            module: meta.module_path().unwrap_or(""),
        }))
    }
}

/// A span entered on this thread: its merged context is the thread's bound
/// context until it exits, so native `fapilog` calls inside it (and inside
/// futures `.instrument(span)`ed into spawned tasks) carry its fields.
struct Entered {
    id: Id,
    epoch: u64,
    context: Context,
    path: Arc<str>,
    _guard: ContextGuard,
}

thread_local! {
    static ENTERED: RefCell<Vec<Entered>> = const { RefCell::new(Vec::new()) };
}

/// `true` for the events `tracing-log` makes from `log` records (their
/// callsites are named `log event`; the name check fails fast for others).
#[inline]
fn is_from_log(meta: &Metadata<'_>) -> bool {
    meta.name() == "log event" && meta.fields().field("log.target").is_some()
}

impl<S> Layer<S> for FapilogLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let name = span.name();
        let path: Arc<str> = match span.parent() {
            Some(parent) => match parent.extensions().get::<SpanData>() {
                Some(p) => format!("{}:{name}", p.path).into(),
                None => name.into(),
            },
            None => name.into(),
        };
        let mut data = SpanData::new(path);
        attrs.record(&mut SpanVisitor(&mut data.fields));
        span.extensions_mut().insert(data);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        if let Some(data) = span.extensions_mut().get_mut::<SpanData>() {
            values.record(&mut SpanVisitor(&mut data.fields));
        }
        self.epoch.fetch_add(1, Ordering::Release);
    }

    fn on_enter(&self, id: &Id, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let epoch = self.epoch.load(Ordering::Acquire);
        let Some((context, path)) = context_of(&span, epoch) else {
            return;
        };
        let guard = context.enter();
        let _ = ENTERED.try_with(|e| {
            e.borrow_mut().push(Entered {
                id: id.clone(),
                epoch,
                context,
                path,
                _guard: guard,
            })
        });
    }

    fn on_exit(&self, id: &Id, _ctx: LayerContext<'_, S>) {
        let _ = ENTERED.try_with(|e| {
            let mut e = e.borrow_mut();
            // Exits come in reverse order of entries; an out-of-order one
            // unwinds the spans entered after it too.
            if let Some(at) = e.iter().rposition(|x| x.id == *id) {
                while e.len() > at {
                    e.pop();
                }
            }
        });
    }

    fn on_event(&self, event: &Event<'_>, ctx: LayerContext<'_, S>) {
        let meta = event.metadata();
        let level = self.level(meta.level());
        let Some(mut call) = self.logger.capture(level) else {
            return;
        };
        let from_log = is_from_log(meta);
        if from_log && self.log_events == LogEvents::Ignore {
            return;
        }
        let by_target = self.logger_name == LoggerName::Target;
        if by_target {
            call.logger_name_static(meta.target());
        }
        if self.file_and_line && !from_log {
            if let Some(location) = self.location(meta) {
                call.location(location);
            }
        }
        if let Some(leaf) = ctx.event_span(event) {
            let epoch = self.epoch.load(Ordering::Acquire);
            // The innermost entered span's context is already built, unless
            // something was bound on top of it since.
            let entered = ENTERED
                .try_with(|e| {
                    e.borrow()
                        .last()
                        .filter(|x| {
                            x.id == leaf.id()
                                && x.epoch == epoch
                                && Context::current().ptr_eq(&x.context)
                        })
                        .map(|x| (x.context.clone(), Arc::clone(&x.path)))
                })
                .ok()
                .flatten();
            if let Some((context, path)) = entered.or_else(|| context_of(&leaf, epoch)) {
                call.context(&context);
                if self.span_path {
                    call.field("span_path", fapilog::FieldValue::Str(&path));
                }
            }
            #[cfg(feature = "opentelemetry")]
            crate::otel::trace_ids(&leaf, &mut call);
        }
        event.record(&mut EventVisitor {
            call: &mut call,
            from_log,
            logger_from_target: by_target,
        });
        call.submit();
    }
}
