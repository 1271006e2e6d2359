//! Settings that are valid but change nothing, for `fapilog check`.

use fapilog::settings::{Directives, Origin, Origins};
use fapilog::stages::settings::{normalize_name, EnricherConfig, FilterConfig, ProcessorConfig};
use fapilog::Settings;

/// One sentence per setting that has no effect with the rest of `settings`
/// (`origins` says which keys something set), and per `RUST_LOG` directive
/// that is left out.
pub fn no_effect(settings: &Settings, origins: &Origins, rust_log: Option<&str>) -> Vec<String> {
    let st = &settings.stages;
    let listed = |list: &[String], name: &str| list.iter().any(|f| normalize_name(f) == name);
    let (fc, fd) = (&st.filter_config, FilterConfig::default());
    let (ec, ed) = (&st.enricher_config, EnricherConfig::default());
    let (pc, pd) = (&st.processor_config, ProcessorConfig::default());
    let (f, e, p) = (&st.filters, &st.enrichers, &st.processors);
    // (options group, list key, stage name, options set, listed)
    let stages = [
        (
            "filter_config",
            "core.filters",
            "sampling",
            fc.sampling != fd.sampling,
            listed(f, "sampling"),
        ),
        (
            "filter_config",
            "core.filters",
            "rate_limit",
            fc.rate_limit != fd.rate_limit,
            listed(f, "rate_limit"),
        ),
        (
            "filter_config",
            "core.filters",
            "adaptive_sampling",
            fc.adaptive_sampling != fd.adaptive_sampling,
            listed(f, "adaptive_sampling"),
        ),
        (
            "filter_config",
            "core.filters",
            "trace_sampling",
            fc.trace_sampling != fd.trace_sampling,
            listed(f, "trace_sampling"),
        ),
        (
            "filter_config",
            "core.filters",
            "first_occurrence",
            fc.first_occurrence != fd.first_occurrence,
            listed(f, "first_occurrence"),
        ),
        (
            "enricher_config",
            "core.enrichers",
            "runtime_info",
            ec.runtime_info != ed.runtime_info,
            listed(e, "runtime_info") || listed(e, "runtime_info_enricher"),
        ),
        (
            "enricher_config",
            "core.enrichers",
            "context_vars",
            ec.context_vars != ed.context_vars,
            listed(e, "context_vars"),
        ),
        (
            "enricher_config",
            "core.enrichers",
            "kubernetes",
            ec.kubernetes != ed.kubernetes,
            listed(e, "kubernetes"),
        ),
        (
            "enricher_config",
            "core.enrichers",
            "static_fields",
            ec.static_fields != ed.static_fields,
            listed(e, "static_fields"),
        ),
        (
            "processor_config",
            "core.processors",
            "size_guard",
            pc.size_guard != pd.size_guard,
            listed(p, "size_guard"),
        ),
        (
            "processor_config",
            "core.processors",
            "exceptions",
            pc.exceptions != pd.exceptions,
            listed(p, "exceptions"),
        ),
    ];
    let mut out: Vec<String> = stages
        .iter()
        .filter(|(_, _, _, set, listed)| *set && !*listed)
        .map(|(group, list_key, name, _, _)| {
            format!("{group}.{name}.* is set, but {list_key} does not list {name}")
        })
        .collect();

    // The level filter: listed, turned on by overrides, or off.
    let level_listed = listed(f, "level");
    if !level_listed
        && fc.level.overrides.0.is_empty()
        && fc.level.min_level != fd.level.min_level
        && fc.level.min_level != settings.core.log_level
    {
        out.push(
            "filter_config.level.min_level is set, but the level filter is off (core.filters \
             does not list level and there are no overrides); core.log_level decides"
                .to_owned(),
        );
    }
    let log_level_set = origins
        .iter()
        .any(|(k, o)| *k == "core.log_level" && !matches!(o, Origin::Default));
    if level_listed && log_level_set && settings.core.log_level != fc.level.min_level {
        out.push(format!(
            "core.log_level ({}) is set, but core.filters lists level, whose \
             filter_config.level.min_level ({}) decides",
            settings.core.log_level, fc.level.min_level
        ));
    }
    if let Some(Ok(d)) = rust_log.map(Directives::parse) {
        for ignored in &d.ignored {
            out.push(format!(
                "RUST_LOG directive {ignored:?} is left out: span and field filters are not supported"
            ));
        }
    }
    out
}
