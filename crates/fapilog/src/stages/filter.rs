use super::{StageError, Verdict};
use crate::envelope::Event;

/// Decides whether an event goes on. Runs first, before any enrichment.
///
/// A filter that errors or panics keeps the event.
pub trait Filter: Send + Sync + 'static {
    /// A short name for metrics and diagnostics.
    fn name(&self) -> &str;

    /// [`Verdict::Keep`] to pass the event on, [`Verdict::Drop`] to remove it.
    fn filter(&self, event: &Event<'_>) -> Result<Verdict, StageError>;
}
