//! The configuration boundary for sinks that live in other crates: a
//! [`SinkFactory`] opens the network sinks `core.sinks` names
//! (`FAPILOG_CORE__SINKS=loki,stdout_json`) from the settings.

use crate::error::Error;
use crate::settings::Settings;
use crate::sinks::{Sink, SinkOptions};

/// Opens sinks by name from the settings: how `core.sinks` reaches sinks
/// that this crate does not have (the fapilog-sinks crate's HTTP, Loki,
/// CloudWatch, PostgreSQL… sinks). Register one with
/// [`PipelineBuilder::sink_factory`](crate::PipelineBuilder::sink_factory).
///
/// ```
/// use fapilog::{Error, Pipeline, Settings, Sink, SinkFactory, SinkOptions};
/// use fapilog::testing::CaptureSink;
///
/// struct Capture;
/// impl SinkFactory for Capture {
///     fn names(&self) -> &[&'static str] { &["http"] }
///     fn open(&self, _name: &str, _s: &Settings)
///         -> Result<(Box<dyn Sink>, Option<SinkOptions>), Error> {
///         Ok((Box::new(CaptureSink::new().0), None))
///     }
/// }
///
/// let mut settings = Settings::default();
/// settings.set("core.sinks", "http").unwrap();
/// let pipeline = Pipeline::builder().settings(settings).sink_factory(Capture).build().unwrap();
/// # drop(pipeline);
/// ```
pub trait SinkFactory: Send + Sync + 'static {
    /// The `core.sinks` names this factory opens.
    fn names(&self) -> &[&'static str];

    /// Opens the sink `name` from `settings`, with the delivery options the
    /// settings give it (`None`: the pipeline's defaults). A bad value
    /// fails here, naming the key and the value, with secrets masked.
    fn open(
        &self,
        name: &str,
        settings: &Settings,
    ) -> Result<(Box<dyn Sink>, Option<SinkOptions>), Error>;
}
