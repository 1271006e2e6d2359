//! Pipeline methods for the stages: the level filter's handle and the
//! stage counters (the builder's stage methods are in the pipeline builder).

use super::filters::LevelHandle;
use super::StageCounters;
use crate::pipeline::Pipeline;

impl Pipeline {
    /// The handle of the level filter added with
    /// [`PipelineBuilder::level_filter`](crate::PipelineBuilder::level_filter), [`PipelineBuilder::level_overrides`](crate::PipelineBuilder::level_overrides)
    /// or stage settings, to change levels at run time.
    pub fn levels(&self) -> Option<LevelHandle> {
        self.inner.levels.clone()
    }

    /// The built-in stages' counters and gauges (redacted fields, rate
    /// limited, deduplicated, adaptive sample rate, size guard, worker restarts).
    pub fn stage_counters(&self) -> StageCounters {
        self.inner.shared.metrics.stage_runtime.snapshot()
    }
}
