//! NATS JetStream: each line published with `Nats-Msg-Id` = its
//! `message_id`, delivered once the stream acknowledges it.
//!
//! fapilog (Python) has no NATS sink, so its settings have no `nats.*`
//! keys: the sink is configured in code with [`NatsSink::builder`], and
//! `FAPILOG_CORE__SINKS=nats` fails to open with a message saying so.

mod builder;
mod counters;
mod sink;
mod subject;

use fapilog::Settings;

pub use builder::{NatsSinkBuilder, DEFAULT_SUBJECT};
pub use counters::NatsCounters;
pub use sink::{NatsPublishes, NatsSink};

use crate::config::ConfigError;
use crate::factory::Opened;

/// `core.sinks = nats`: refused with a clear message, since fapilog's
/// settings have no keys for it (see the module docs).
pub(crate) fn from_settings(_settings: &Settings) -> Opened {
    Err(ConfigError::Setup(
        "fapilog's settings have no NATS keys (fapilog has no NATS sink): build the sink \
         in code with fapilog_sinks::NatsSink::builder(url) and add it with \
         Pipeline::builder().sink(..) or .sink_with(..)"
            .to_owned(),
    )
    .into_core("nats"))
}
