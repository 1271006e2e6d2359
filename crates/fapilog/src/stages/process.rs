use super::{StageError, Verdict};
use crate::envelope::Event;

/// Shapes the final event (size limits, truncation). Runs last.
pub trait Processor: Send + Sync + 'static {
    /// A short name for metrics and diagnostics.
    fn name(&self) -> &str;

    /// Changes `event`; [`Verdict::Drop`] removes it (counted as filtered).
    fn process(&self, event: &mut Event<'_>) -> Result<Verdict, StageError>;
}
