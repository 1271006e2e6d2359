//! The nats sink (not built yet).

use fapilog::Settings;

use crate::config::ConfigError;
use crate::factory::Opened;

/// Opens the sink from fapilog's settings.
pub(crate) fn from_settings(_settings: &Settings) -> Opened {
    Err(ConfigError::Setup("the nats sink is not built yet".to_owned()).into_core("nats"))
}
