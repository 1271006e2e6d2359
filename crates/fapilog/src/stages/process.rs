use super::{StageError, Verdict};
use crate::envelope::Event;

/// Shapes the final event (size limits, truncation). Runs last.
pub trait Processor: Send + Sync + 'static {
    /// A short name for metrics and diagnostics.
    fn name(&self) -> &str;

    /// Changes `event`; [`Verdict::Drop`] removes it (counted as filtered).
    fn process(&self, event: &mut Event<'_>) -> Result<Verdict, StageError>;

    /// `true` promises that `process` keeps, and changes nothing in, any
    /// event without `diagnostics.exception` (an event with no error field);
    /// the worker then writes such events without building an [`Event`]
    /// (see [`crate::Enricher::is_constant`]). Default `false`.
    fn only_exceptions(&self) -> bool {
        false
    }
}
