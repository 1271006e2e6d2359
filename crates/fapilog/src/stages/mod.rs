//! Stages: what runs on every event after the queue, in this order:
//! filters → enrichers → redactors → processors.
//!
//! Each stage is a small trait with one required method; built-ins are
//! ordinary implementations, and your own plug in through the builder.
//! Every call is isolated: an error or a panic is caught, counted per stage
//! in the metrics, reported once on stderr, and the event goes on — except
//! that a failing redactor in [`RedactionFailMode::Closed`] (the default)
//! withholds the event, because passing it on could leak what it was meant
//! to hide. A worker that dies anyway (a panic outside these guards) is
//! started again and counted in [`StageCounters::worker_restarts`].
//!
//! Built-ins, by fapilog's names (configurable as data through
//! [`settings::StageSettings`]):
//! - [`filters`]: `level` (per-logger, changeable at run time), `sampling`,
//!   `adaptive_sampling`, `rate_limit`, `first_occurrence`, `trace_sampling`;
//! - [`enrichers`]: `runtime_info`, `context_vars`, `kubernetes`, `static_fields`;
//! - [`redactors`]: `field_mask`, `regex_mask`, `url_credentials`,
//!   `field_blocker`, `string_truncate`, and the [`redactors::presets`];
//! - [`processors`]: `size_guard`, `exceptions`.
//!
//! Windowed filters read a [`StageClock`]; tests pass a [`ManualClock`].
//! What the built-ins count is read with [`crate::Pipeline::stage_counters`].
//!
//! ```
//! use fapilog::{Enricher, Event, StageError, Value};
//!
//! struct Region(&'static str);
//!
//! impl Enricher for Region {
//!     fn name(&self) -> &str { "region" }
//!     fn enrich(&self, event: &mut Event<'_>) -> Result<(), StageError> {
//!         event.diagnostics.insert("region", Value::from(self.0));
//!         Ok(())
//!     }
//! }
//!
//! let pipeline = fapilog::Pipeline::builder()
//!     .enricher(Region("eu-west-1"))
//!     .sink(fapilog::testing::CaptureSink::new().0)
//!     .build()
//!     .unwrap();
//! # drop(pipeline);
//! ```

mod builder;
mod clock;
mod enrich;
pub mod enrichers;
mod filter;
pub mod filters;
mod process;
pub mod processors;
mod redact;
pub mod redactors;
mod runtime;
pub mod settings;

pub use crate::metrics::stages::StageCounters;
pub use clock::{ManualClock, StageClock, SystemClock};
pub use enrich::Enricher;
pub use filter::Filter;
pub use process::Processor;
pub use redact::{RedactionFailMode, Redactor};
pub use settings::StageSettings;

use std::sync::Arc;

use crate::diagnostics;
use crate::envelope::Event;
use crate::error::Error;
use crate::metrics::{DropReason, Metrics};

/// Whether an event goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Keep the event.
    Keep,
    /// Drop the event (counted as filtered).
    Drop,
}

/// A stage's failure.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct StageError {
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StageError {
    /// A failure described by `message` (never put secrets in it).
    pub fn new(message: impl Into<String>) -> StageError {
        StageError {
            message: message.into(),
            source: None,
        }
    }

    /// A failure caused by `source`.
    pub fn with_source(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> StageError {
        StageError {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }
}

/// What happened to an event in the stages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Keep,
    Filtered,
    Withheld(DropReason),
}

/// The configured stages of a pipeline.
#[derive(Default)]
pub(crate) struct Stages {
    pub(crate) filters: Vec<Box<dyn Filter>>,
    pub(crate) enrichers: Vec<Box<dyn Enricher>>,
    pub(crate) redactors: Vec<Box<dyn Redactor>>,
    pub(crate) processors: Vec<Box<dyn Processor>>,
    pub(crate) fail_mode: RedactionFailMode,
    /// Presets added through the builder, and the redactors built from them
    /// (they run before the other redactors).
    pub(crate) presets: Vec<&'static redactors::RedactionPreset>,
    pub(crate) preset_redactors: Vec<Box<dyn Redactor>>,
    /// Level filters whose handles steer the caller-side gate.
    pub(crate) levels: Vec<filters::LevelHandle>,
    /// A configuration error found by a builder method that cannot return one.
    pub(crate) error: Option<Error>,
}

impl Stages {
    /// Connects the level filter to the pipeline's caller-side gate.
    /// The handle of the level filter, to change levels at run time.
    pub(crate) fn level_handle(&self) -> Option<filters::LevelHandle> {
        self.levels.last().cloned()
    }

    pub(crate) fn attach(&mut self, gate: &Arc<crate::level::Gate>) -> Result<(), Error> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if let Some(h) = self.levels.last() {
            h.attach(gate);
        }
        Ok(())
    }

    pub(crate) fn run(&self, ev: &mut Event<'_>, metrics: &Metrics) -> Outcome {
        let outcome = self.run_stages(ev, metrics);
        runtime::fold(&metrics.stage_runtime);
        outcome
    }

    fn run_stages(&self, ev: &mut Event<'_>, metrics: &Metrics) -> Outcome {
        for f in &self.filters {
            // A failing filter keeps the event: losing lines is worse.
            let keep = guarded(f.name(), metrics, || f.filter(ev)) != Some(Verdict::Drop);
            runtime::apply_notes(ev, keep);
            if !keep {
                return Outcome::Filtered;
            }
        }
        for e in &self.enrichers {
            let _ = guarded(e.name(), metrics, || e.enrich(ev));
        }
        for r in self.preset_redactors.iter().chain(&self.redactors) {
            if guarded(r.name(), metrics, || r.redact(ev)).is_none() {
                match self.fail_mode {
                    RedactionFailMode::Closed => {
                        return Outcome::Withheld(DropReason::RedactionFailed)
                    }
                    RedactionFailMode::Warn | RedactionFailMode::Open => {}
                }
            }
        }
        for p in &self.processors {
            if guarded(p.name(), metrics, || p.process(ev)) == Some(Verdict::Drop) {
                return Outcome::Filtered;
            }
        }
        Outcome::Keep
    }
}

/// Counts a worker restart and says so once on stderr.
pub(crate) fn worker_restarted(metrics: &Metrics) {
    let n = metrics
        .stage_runtime
        .worker_restarts
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if n == 0 {
        diagnostics::warn(
            "worker",
            "a worker thread panicked and was restarted; further restarts are counted only",
            &[],
        );
    }
}

/// Runs one stage call; `None` when it failed or panicked (counted). A
/// panic prints no standard panic report: it is reported on stderr at most
/// once per stage per [`crate::panics::REPORT_EVERY`], with a count.
fn guarded<R>(
    name: &str,
    metrics: &Metrics,
    f: impl FnOnce() -> Result<R, StageError>,
) -> Option<R> {
    match crate::panics::catch(f) {
        Ok(Ok(r)) => Some(r),
        Ok(Err(e)) => {
            if metrics.count_stage_error(name, false) {
                diagnostics::warn(
                    "stage",
                    "stage failed; further failures are counted only",
                    &[("stage", name), ("error", &e.to_string())],
                );
            }
            None
        }
        Err(panicked) => {
            metrics.count_stage_error(name, true);
            panicked.report("stage", name);
            None
        }
    }
}
