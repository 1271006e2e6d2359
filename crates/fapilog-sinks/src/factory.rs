//! `core.sinks` names → this crate's sinks: fapilog's `FAPILOG_*`
//! variables open them (`FAPILOG_CORE__SINKS=loki,stdout_json`).

use fapilog::{Settings, Sink, SinkFactory, SinkOptions};

use crate::config::ConfigError;

/// The [`SinkFactory`] of this crate: register it with
/// [`PipelineBuilder::sink_factory`](fapilog::PipelineBuilder::sink_factory)
/// (or call [`init`](crate::init)), and `core.sinks` can name `http`,
/// `webhook`, `loki`, `cloudwatch`, `postgres`, `otlp`, `syslog` and
/// `nats`. A sink whose cargo feature is off fails to open, naming the
/// feature.
///
/// ```
/// let factory = fapilog_sinks::factory();
/// let err = fapilog::Pipeline::builder()
///     .settings({
///         let mut s = fapilog::Settings::default();
///         s.set("core.sinks", "loki").unwrap();
///         s.set("loki.url", "not a url").unwrap();
///         s
///     })
///     .sink_factory(factory)
///     .build()
///     .unwrap_err();
/// assert!(err.to_string().contains("loki"), "{err}");
/// ```
pub fn factory() -> Factory {
    Factory { _private: () }
}

/// Opens this crate's sinks from fapilog's settings; see [`factory`].
#[derive(Clone, Copy, Debug)]
pub struct Factory {
    _private: (),
}

/// What a sink's `from_settings` returns.
pub(crate) type Opened = Result<(Box<dyn Sink>, Option<SinkOptions>), fapilog::Error>;

impl SinkFactory for Factory {
    fn names(&self) -> &[&'static str] {
        &fapilog::settings::keys::NETWORK_SINKS
    }

    fn open(&self, name: &str, settings: &Settings) -> Opened {
        let _ = settings;
        match name {
            #[cfg(feature = "http")]
            "http" => crate::http::from_settings(settings),
            #[cfg(feature = "webhook")]
            "webhook" => crate::webhook::from_settings(settings),
            #[cfg(feature = "loki")]
            "loki" => crate::loki::from_settings(settings),
            #[cfg(feature = "cloudwatch")]
            "cloudwatch" => crate::cloudwatch::from_settings(settings),
            #[cfg(feature = "postgres")]
            "postgres" => crate::postgres::from_settings(settings),
            #[cfg(feature = "otlp")]
            "otlp" => crate::otlp::from_settings(settings),
            #[cfg(feature = "syslog")]
            "syslog" => crate::syslog::from_settings(settings),
            #[cfg(feature = "nats")]
            "nats" => crate::nats::from_settings(settings),
            other => Err(ConfigError::Setup(format!(
                "fapilog-sinks was built without its `{other}` cargo feature"
            ))
            .into_core(other)),
        }
    }
}

/// [`fapilog::init`] with this crate's sinks available to `core.sinks`.
pub fn init() -> Result<fapilog::Guard, fapilog::Error> {
    fapilog::init_with(
        fapilog::Pipeline::builder()
            .sink_factory(factory())
            .from_env()?,
    )
}
