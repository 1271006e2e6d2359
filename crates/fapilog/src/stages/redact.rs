use super::StageError;
use crate::envelope::Event;

/// Removes or masks secrets. Runs after enrichers, before any sink sees the event.
pub trait Redactor: Send + Sync + 'static {
    /// A short name for metrics and diagnostics.
    fn name(&self) -> &str;

    /// Redacts `event` in place.
    fn redact(&self, event: &mut Event<'_>) -> Result<(), StageError>;

    /// A cheap pre-check for redactors that look only at string values.
    /// `true` promises that `redact` changes nothing in an event (and counts
    /// nothing) when this returns `true` for its message and for every one
    /// of its string values, whatever its keys, numbers and other fields;
    /// the worker then writes such events without building an [`Event`]
    /// (see [`crate::Enricher::is_constant`]). Default `false`: no promise,
    /// every event is built and redacted.
    fn leaves_unchanged(&self, text: &str) -> bool {
        let _ = text;
        false
    }

    /// Narrows [`Redactor::leaves_unchanged`] for redactors that decide by
    /// key: `false` when a top-level field named `key` (in `data` or
    /// `context`) might be changed. The direct path asks it for every key
    /// of a record; the promise of `leaves_unchanged` then holds for
    /// records whose keys all return `true`. Default `true`: a redactor
    /// that promised `leaves_unchanged` promised it whatever the keys.
    fn leaves_key(&self, key: &str) -> bool {
        let _ = key;
        true
    }
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
