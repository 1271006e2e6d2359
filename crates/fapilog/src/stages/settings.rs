//! Stage settings: which built-in filters, enrichers, redactors and
//! processors run, and their options, by fapilog's names.
//!
//! [`StageSettings`] is plain data (serde, `deny_unknown_fields`), meant to
//! be embedded in the pipeline's settings and filled from code, a TOML file
//! or `FAPILOG_CORE__FILTERS` / `FAPILOG_FILTER_CONFIG__*`-style variables.
//! [`StageSettings::build`] turns it into stage instances; every invalid
//! name or value is an [`Error::InvalidSetting`] naming the key.
//!
//! ```
//! use fapilog::stages::settings::StageSettings;
//! let s: StageSettings = serde_json::from_str(r#"{
//!     "filters": ["level", "rate-limit"],
//!     "redactors": ["field_mask", "regex_mask", "url_credentials"],
//!     "filter_config": {"level": {"min_level": "DEBUG", "overrides": "hyper=warning"}},
//!     "redactor_config": {"presets": ["CREDENTIALS", "pci_dss"]}
//! }"#).unwrap();
//! let built = s.build().unwrap();
//! assert_eq!(built.filters.len(), 2);
//! assert_eq!(built.redactors.len(), 3);
//!
//! let err = serde_json::from_str::<StageSettings>(r#"{"filters": ["nope"]}"#)
//!     .unwrap()
//!     .build()
//!     .unwrap_err();
//! assert!(err.to_string().contains("core.filters"));
//! ```

use std::sync::Arc;

use crate::config_serde::settings_serde;

use super::clock::{self, SharedClock};
use super::enrichers::{
    ContextVars, ContextVarsConfig, Kubernetes, KubernetesConfig, RuntimeInfo, RuntimeInfoConfig,
    StaticFields, StaticFieldsConfig,
};
use super::filters::{
    AdaptiveSamplingConfig, AdaptiveSamplingFilter, FirstOccurrenceConfig, FirstOccurrenceFilter,
    LevelConfig, LevelFilter, LevelHandle, RateLimitConfig, RateLimitFilter, SamplingConfig,
    SamplingFilter, TraceSamplingConfig, TraceSamplingFilter,
};
use super::processors::{Exceptions, ExceptionsConfig, SizeGuard, SizeGuardConfig};
use super::redactors::presets::{RedactionPreset, ALL_PRESETS};
use super::redactors::{
    redaction_for, FieldBlocker, FieldBlockerConfig, FieldMask, FieldMaskConfig, RegexMask,
    RegexMaskConfig, StringTruncate, StringTruncateConfig, UrlCredentials, UrlCredentialsConfig,
};
use super::{Enricher, Filter, Processor, Redactor, StageClock};
use crate::error::Error;

/// Built-in filter names.
pub const FILTER_NAMES: [&str; 6] = [
    "level",
    "sampling",
    "rate_limit",
    "adaptive_sampling",
    "trace_sampling",
    "first_occurrence",
];
/// Built-in enricher names (aliases: `runtime_info_enricher`,
/// `context_vars_enricher`, `k8s`, `k8s_enricher`).
pub const ENRICHER_NAMES: [&str; 4] = [
    "runtime_info",
    "context_vars",
    "kubernetes",
    "static_fields",
];
/// Built-in redactor names.
pub const REDACTOR_NAMES: [&str; 5] = [
    "field_mask",
    "regex_mask",
    "url_credentials",
    "field_blocker",
    "string_truncate",
];
/// Built-in processor names (`zero_copy` is accepted and does nothing).
pub const PROCESSOR_NAMES: [&str; 3] = ["size_guard", "exceptions", "zero_copy"];

/// Which built-in stages run, in order, and their options.
///
/// Names are fapilog's, normalised (`-` → `_`, lowercase). Defaults follow
/// fapilog: enrichers `[runtime_info, context_vars]`, redactors
/// `[url_credentials]`, no filters; processors default to `[exceptions]`
/// (fapilog bounds backtraces at envelope build, always).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct StageSettings {
    /// Filters, in order (`core.filters`, default none).
    pub filters: Vec<String>,
    /// Enrichers, in order (`core.enrichers`, default `[runtime_info, context_vars]`).
    pub enrichers: Vec<String>,
    /// Redactors, in order (`core.redactors`, default `[url_credentials]`).
    pub redactors: Vec<String>,
    /// Processors, in order (`core.processors`, default `[exceptions]`).
    pub processors: Vec<String>,
    /// Filter options (`filter_config.*`).
    pub filter_config: FilterConfig,
    /// Enricher options (`enricher_config.*`).
    pub enricher_config: EnricherConfig,
    /// Redactor options and presets (`redactor_config.*`).
    pub redactor_config: RedactorConfig,
    /// Processor options (`processor_config.*`).
    pub processor_config: ProcessorConfig,
}

settings_serde!(StageSettings {
    filters,
    enrichers,
    redactors,
    processors,
    filter_config,
    enricher_config,
    redactor_config,
    processor_config
});

impl Default for StageSettings {
    fn default() -> Self {
        StageSettings {
            filters: Vec::new(),
            enrichers: vec!["runtime_info".to_owned(), "context_vars".to_owned()],
            redactors: vec!["url_credentials".to_owned()],
            processors: vec!["exceptions".to_owned()],
            filter_config: FilterConfig::default(),
            enricher_config: EnricherConfig::default(),
            redactor_config: RedactorConfig::default(),
            processor_config: ProcessorConfig::default(),
        }
    }
}

/// Options of the built-in filters.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct FilterConfig {
    /// `level`.
    pub level: LevelConfig,
    /// `sampling`.
    pub sampling: SamplingConfig,
    /// `rate_limit`.
    pub rate_limit: RateLimitConfig,
    /// `adaptive_sampling`.
    pub adaptive_sampling: AdaptiveSamplingConfig,
    /// `trace_sampling`.
    pub trace_sampling: TraceSamplingConfig,
    /// `first_occurrence`.
    pub first_occurrence: FirstOccurrenceConfig,
}

settings_serde!(FilterConfig {
    level,
    sampling,
    rate_limit,
    adaptive_sampling,
    trace_sampling,
    first_occurrence
});

/// Options of the built-in enrichers.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct EnricherConfig {
    /// `runtime_info`.
    pub runtime_info: RuntimeInfoConfig,
    /// `context_vars` (no options).
    pub context_vars: ContextVarsConfig,
    /// `kubernetes`.
    pub kubernetes: KubernetesConfig,
    /// `static_fields`.
    pub static_fields: StaticFieldsConfig,
}

settings_serde!(EnricherConfig {
    runtime_info,
    context_vars,
    kubernetes,
    static_fields
});

/// Options of the built-in redactors, and the presets.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct RedactorConfig {
    /// Presets by name (`CREDENTIALS`, `PCI_DSS`, …; case-insensitive).
    /// Their fields go to `field_mask`, their value kinds to `regex_mask`;
    /// when neither of those is in the redactor list, both are added in
    /// front of it (rather than silently doing nothing).
    pub presets: Vec<String>,
    /// `field_mask`.
    pub field_mask: FieldMaskConfig,
    /// `regex_mask`.
    pub regex_mask: RegexMaskConfig,
    /// `url_credentials`.
    pub url_credentials: UrlCredentialsConfig,
    /// `field_blocker`.
    pub field_blocker: FieldBlockerConfig,
    /// `string_truncate`.
    pub string_truncate: StringTruncateConfig,
}

settings_serde!(RedactorConfig {
    presets,
    field_mask,
    regex_mask,
    url_credentials,
    field_blocker,
    string_truncate
});

/// Options of the built-in processors.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct ProcessorConfig {
    /// `size_guard`.
    pub size_guard: SizeGuardConfig,
    /// `exceptions`.
    pub exceptions: ExceptionsConfig,
}

settings_serde!(ProcessorConfig {
    size_guard,
    exceptions
});

/// Stage instances built from [`StageSettings`].
#[non_exhaustive]
pub struct BuiltStages {
    /// Filters, in order.
    pub filters: Vec<Box<dyn Filter>>,
    /// Enrichers, in order.
    pub enrichers: Vec<Box<dyn Enricher>>,
    /// Redactors, in order.
    pub redactors: Vec<Box<dyn Redactor>>,
    /// Processors, in order.
    pub processors: Vec<Box<dyn Processor>>,
    /// The handle of the `level` filter, when it is configured.
    pub level: Option<LevelHandle>,
}

impl std::fmt::Debug for BuiltStages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = |v: Vec<&str>| v.join(",");
        f.debug_struct("BuiltStages")
            .field(
                "filters",
                &names(self.filters.iter().map(|s| s.name()).collect()),
            )
            .field(
                "enrichers",
                &names(self.enrichers.iter().map(|s| s.name()).collect()),
            )
            .field(
                "redactors",
                &names(self.redactors.iter().map(|s| s.name()).collect()),
            )
            .field(
                "processors",
                &names(self.processors.iter().map(|s| s.name()).collect()),
            )
            .finish()
    }
}

/// `-` → `_`, lowercase, trimmed.
pub fn normalize_name(name: &str) -> String {
    name.trim().replace('-', "_").to_ascii_lowercase()
}

fn unknown(key: &str, value: &str, known: &[&str]) -> Error {
    Error::InvalidSetting {
        key: key.to_owned(),
        value: value.to_owned(),
        expected: format!("one of {}", known.join(", ")),
    }
}

/// Resolves preset names.
pub fn presets_by_name<S: AsRef<str>>(names: &[S]) -> Result<Vec<&'static RedactionPreset>, Error> {
    names
        .iter()
        .map(|n| {
            RedactionPreset::by_name(n.as_ref()).ok_or_else(|| {
                let known: Vec<&str> = ALL_PRESETS.iter().map(|p| p.name).collect();
                unknown("redactor_config.presets", n.as_ref(), &known)
            })
        })
        .collect()
}

impl StageSettings {
    /// Builds the stages, on the system clock.
    pub fn build(&self) -> Result<BuiltStages, Error> {
        self.build_with_clock(clock::system())
    }

    /// Builds the stages; windowed filters read `clock`.
    pub fn build_with_clock(&self, clock: Arc<dyn StageClock>) -> Result<BuiltStages, Error> {
        let clock: SharedClock = clock;
        let mut out = BuiltStages {
            filters: Vec::new(),
            enrichers: Vec::new(),
            redactors: Vec::new(),
            processors: Vec::new(),
            level: None,
        };
        let fc = &self.filter_config;
        // Overrides turn the level filter on by themselves.
        let auto_level = (!fc.level.overrides.0.is_empty()
            && !self.filters.iter().any(|f| normalize_name(f) == "level"))
        .then(|| "level".to_owned());
        for raw in auto_level.iter().chain(&self.filters) {
            let f: Box<dyn Filter> = match normalize_name(raw).as_str() {
                "level" => {
                    let f = LevelFilter::from_config(&fc.level);
                    out.level = Some(f.handle());
                    Box::new(f)
                }
                "sampling" => Box::new(SamplingFilter::from_config(&fc.sampling)?),
                "rate_limit" => {
                    Box::new(RateLimitFilter::with_clock(&fc.rate_limit, clock.clone())?)
                }
                "adaptive_sampling" => Box::new(AdaptiveSamplingFilter::with_clock(
                    &fc.adaptive_sampling,
                    clock.clone(),
                )?),
                "trace_sampling" => Box::new(TraceSamplingFilter::from_config(&fc.trace_sampling)?),
                "first_occurrence" => Box::new(FirstOccurrenceFilter::with_clock(
                    &fc.first_occurrence,
                    clock.clone(),
                )?),
                _ => return Err(unknown("core.filters", raw, &FILTER_NAMES)),
            };
            out.filters.push(f);
        }
        let ec = &self.enricher_config;
        for raw in &self.enrichers {
            let e: Box<dyn Enricher> = match normalize_name(raw).as_str() {
                "runtime_info" | "runtime_info_enricher" => {
                    Box::new(RuntimeInfo::from_config(&ec.runtime_info))
                }
                "context_vars" | "context_vars_enricher" => Box::new(ContextVars),
                "kubernetes" | "k8s" | "k8s_enricher" => {
                    Box::new(Kubernetes::from_config(&ec.kubernetes))
                }
                "static_fields" => Box::new(StaticFields::from_config(&ec.static_fields)?),
                _ => return Err(unknown("core.enrichers", raw, &ENRICHER_NAMES)),
            };
            out.enrichers.push(e);
        }
        out.redactors = self.build_redactors()?;
        let pc = &self.processor_config;
        for raw in &self.processors {
            let p: Box<dyn Processor> = match normalize_name(raw).as_str() {
                "size_guard" => Box::new(SizeGuard::from_config(&pc.size_guard)?),
                "exceptions" => Box::new(Exceptions::from_config(&pc.exceptions)?),
                "zero_copy" => continue,
                _ => return Err(unknown("core.processors", raw, &PROCESSOR_NAMES)),
            };
            out.processors.push(p);
        }
        Ok(out)
    }

    fn build_redactors(&self) -> Result<Vec<Box<dyn Redactor>>, Error> {
        let rc = &self.redactor_config;
        let presets = presets_by_name(&rc.presets)?;
        let mut names: Vec<String> = self.redactors.iter().map(|n| normalize_name(n)).collect();
        for (raw, n) in self.redactors.iter().zip(&names) {
            if !REDACTOR_NAMES.contains(&n.as_str()) {
                return Err(unknown("core.redactors", raw, &REDACTOR_NAMES));
            }
        }
        if !presets.is_empty() && !names.iter().any(|n| n == "field_mask" || n == "regex_mask") {
            names.splice(0..0, ["field_mask".to_owned(), "regex_mask".to_owned()]);
        }
        let (mut fm, mut rm) = if presets.is_empty() {
            (
                Some(FieldMask::from_config(&rc.field_mask)?),
                Some(RegexMask::from_config(&rc.regex_mask)?),
            )
        } else {
            let (f, r) = redaction_for(&presets, &rc.field_mask, &rc.regex_mask)?;
            (Some(f), Some(r))
        };
        let mut out: Vec<Box<dyn Redactor>> = Vec::new();
        for n in &names {
            match n.as_str() {
                "field_mask" => {
                    if let Some(f) = fm.take() {
                        out.push(Box::new(f));
                    }
                }
                "regex_mask" => {
                    if let Some(r) = rm.take() {
                        out.push(Box::new(r));
                    }
                }
                "url_credentials" => {
                    out.push(Box::new(UrlCredentials::from_config(&rc.url_credentials)))
                }
                "field_blocker" => {
                    out.push(Box::new(FieldBlocker::from_config(&rc.field_blocker)?))
                }
                "string_truncate" => {
                    out.push(Box::new(StringTruncate::from_config(&rc.string_truncate)))
                }
                _ => {}
            }
        }
        Ok(out)
    }
}
