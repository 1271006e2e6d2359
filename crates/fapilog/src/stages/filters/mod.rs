//! Built-in filters: decide whether an event goes on.
//!
//! | name | type | what it does |
//! |---|---|---|
//! | `level` | [`LevelFilter`] | global minimum + per-logger overrides, changeable at run time |
//! | `sampling` | [`SamplingFilter`] | keeps a fraction per level; WARNING and above pass |
//! | `adaptive_sampling` | [`AdaptiveSamplingFilter`] | a target events/s; the rate follows the load |
//! | `rate_limit` | [`RateLimitFilter`] | token bucket per key, bounded keys, suppression count |
//! | `first_occurrence` | [`FirstOccurrenceFilter`] | identical events once per window, then a repeat count |
//! | `trace_sampling` | [`TraceSamplingFilter`] | whole traces kept or dropped by trace-id hash |
//!
//! Protected levels: ERROR and CRITICAL pass every sampling and rate-limit
//! filter unless a filter's `always_pass_levels` says otherwise.

mod adaptive;
mod first_occurrence;
mod level;
mod rate_limit;
mod sampling;

pub use adaptive::{AdaptiveSamplingConfig, AdaptiveSamplingFilter};
pub use first_occurrence::{FirstOccurrenceConfig, FirstOccurrenceFilter};
pub use level::{LevelConfig, LevelFilter, LevelHandle, LevelOverrides};
pub use rate_limit::{OverflowAction, RateLimitConfig, RateLimitFilter};
pub use sampling::{SamplingConfig, SamplingFilter, TraceSamplingConfig, TraceSamplingFilter};
