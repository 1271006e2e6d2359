//! Builder and pipeline methods for the stages: presets, stage settings,
//! level overrides, and the stage counters.

use super::filters::{LevelFilter, LevelHandle, LevelOverrides};
use super::redactors::{redaction_for, FieldMaskConfig, RedactionPreset, RegexMaskConfig};
use super::settings::StageSettings;
use super::StageCounters;
use crate::error::Error;
use crate::pipeline::{Pipeline, PipelineBuilder};

impl PipelineBuilder {
    /// Adds a redaction preset ([`super::redactors::presets`]). Presets
    /// compose: every preset added is merged into one field mask and one
    /// regex mask, which run before the other redactors.
    ///
    /// ```
    /// use fapilog::stages::redactors::presets::{CREDENTIALS, PCI_DSS};
    /// let builder = fapilog::Pipeline::builder()
    ///     .redaction_preset(&CREDENTIALS)
    ///     .redaction_preset(&PCI_DSS);
    /// # drop(builder);
    /// ```
    pub fn redaction_preset(mut self, preset: &'static RedactionPreset) -> Self {
        if !self.stages.presets.iter().any(|p| std::ptr::eq(*p, preset)) {
            self.stages.presets.push(preset);
        }
        match redaction_for(
            &self.stages.presets,
            &FieldMaskConfig::default(),
            &RegexMaskConfig::default(),
        ) {
            Ok((fm, rm)) => {
                self.stages.preset_redactors = vec![Box::new(fm), Box::new(rm)];
            }
            Err(e) => self.stages.error = Some(e),
        }
        self
    }

    /// Adds the stages described by `settings` (after any added so far, in
    /// each kind's order). Invalid names or values fail here, naming the key.
    pub fn stage_settings(mut self, settings: &StageSettings) -> Result<Self, Error> {
        let built = settings.build()?;
        self.stages.filters.extend(built.filters);
        self.stages.enrichers.extend(built.enrichers);
        self.stages.redactors.extend(built.redactors);
        self.stages.processors.extend(built.processors);
        if let Some(h) = built.level {
            self.stages.levels.push(h);
        }
        Ok(self)
    }

    /// Adds a level filter whose handle steers the caller-side level gate
    /// (so an override below the global level takes effect). Change its
    /// levels later through [`Pipeline::levels`] or [`LevelFilter::handle`].
    pub fn level_filter(mut self, filter: LevelFilter) -> Self {
        self.stages.levels.push(filter.handle());
        self.stages.filters.push(Box::new(filter));
        self
    }

    /// Adds a level filter with per-logger overrides: `"app.db=debug,hyper=warning"`
    /// (a bare level, as in `"info,app.db=debug"`, sets the global minimum;
    /// otherwise it is `core.log_level`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use fapilog::testing::CaptureSink;
    ///
    /// let (sink, captured) = CaptureSink::new();
    /// let pipeline = fapilog::Pipeline::builder()
    ///     .level_overrides("warning,app.db=debug")?
    ///     .sink(sink)
    ///     .build()?;
    /// fapilog::debug!(pipeline.logger("app.db"), "query");
    /// fapilog::info!(pipeline.logger("app"), "hidden");
    /// // Level changes apply to what the worker processes after them.
    /// pipeline.flush(Duration::from_secs(5))?;
    /// pipeline.levels().unwrap().set_override("app", fapilog::Level::INFO);
    /// fapilog::info!(pipeline.logger("app"), "shown");
    /// pipeline.flush(Duration::from_secs(5))?;
    /// assert_eq!(captured.messages(), ["query", "shown"]);
    /// # Ok::<(), fapilog::Error>(())
    /// ```
    pub fn level_overrides(self, spec: &str) -> Result<Self, Error> {
        let (global, o) = LevelOverrides::parse(spec)?;
        let mut f = LevelFilter::new(global.unwrap_or(self.settings.core.log_level));
        for (logger, level) in o.0 {
            f = f.with_override(&logger, level);
        }
        Ok(self.level_filter(f))
    }
}

impl Pipeline {
    /// The handle of the level filter added with
    /// [`PipelineBuilder::level_filter`], [`PipelineBuilder::level_overrides`]
    /// or stage settings, to change levels at run time.
    pub fn levels(&self) -> Option<LevelHandle> {
        self.inner.shared.metrics.stage_runtime.levels()
    }

    /// The built-in stages' counters and gauges (redacted fields, rate
    /// limited, deduplicated, adaptive sample rate, size guard, worker restarts).
    pub fn stage_counters(&self) -> StageCounters {
        self.inner.shared.metrics.stage_runtime.snapshot()
    }
}
