use super::StageError;
use crate::envelope::Event;

/// Adds fields to an event. Runs after the filters, before the redactors
/// (so redactors see what enrichers add).
pub trait Enricher: Send + Sync + 'static {
    /// A short name for metrics and diagnostics.
    fn name(&self) -> &str;

    /// Adds to `event`.
    fn enrich(&self, event: &mut Event<'_>) -> Result<(), StageError>;
}
