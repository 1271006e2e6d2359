use super::StageError;
use crate::envelope::Event;

/// Removes or masks secrets. Runs after enrichers, before any sink sees the event.
pub trait Redactor: Send + Sync + 'static {
    /// A short name for metrics and diagnostics.
    fn name(&self) -> &str;

    /// Redacts `event` in place.
    fn redact(&self, event: &mut Event<'_>) -> Result<(), StageError>;
}

/// What happens to an event when a redactor fails (errors or panics).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RedactionFailMode {
    /// Withhold the event (counted as dropped, reason `redaction_failed`): the default,
    /// because a half-redacted event may hold the secret.
    #[default]
    Closed,
    /// Pass the event on and report the failure on stderr (once per redactor).
    Warn,
    /// Pass the event on; the failure is only counted.
    Open,
}
