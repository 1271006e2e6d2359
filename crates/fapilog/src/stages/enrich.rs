use super::StageError;
use crate::envelope::Event;

/// Adds fields to an event. Runs after the filters, before the redactors
/// (so redactors see what enrichers add).
pub trait Enricher: Send + Sync + 'static {
    /// A short name for metrics and diagnostics.
    fn name(&self) -> &str;

    /// Adds to `event`.
    fn enrich(&self, event: &mut Event<'_>) -> Result<(), StageError>;

    /// `true` promises that `enrich` adds the same `diagnostics` entries to
    /// every event, reads nothing from it and changes nothing else (the
    /// process's runtime, the pod's names). When every stage of a pipeline
    /// makes such a promise, the worker computes this enricher's output once
    /// and writes ordinary events straight from the queued call, without
    /// building an [`Event`]: about twice the throughput. Default `false`.
    fn is_constant(&self) -> bool {
        false
    }
}
