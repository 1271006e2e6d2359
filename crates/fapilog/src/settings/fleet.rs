//! The rest of fapilog's names: every variable fapilog 0.18.1 reads that
//! has no dedicated field in [`Settings`], so one fleet's configuration
//! serves Python and Rust services alike.
//!
//! Each is parsed with fapilog's type (a bad value is an error naming the
//! variable and the value) and kept as text in [`Settings::accepted`]
//! (read it back with [`Settings::get`]). What it does here is its key's
//! [`Effect`]: the settings of network sinks are kept for
//! them; the ones that mean nothing here (a Python integration, an asyncio
//! knob, a setting fapilog itself ignores) are reported by `fapilog check`
//! and once at debug level, never silently acted on differently. Aliases
//! (`FAPILOG_LOKI__URL`, `FAPILOG_SIZE_GUARD__MAX_BYTES`, …) set their long
//! form and, as in fapilog, win over it.

use std::collections::BTreeMap;

use super::keys::{boolean, list, Effect, Key, Raw};
use super::Settings;

/// fapilog settings kept as text: the ones without a dedicated field here.
///
/// ```
/// use fapilog::Settings;
/// let s = Settings::from_env_vars([("FAPILOG_LOKI__URL", "http://loki:3100")])?;
/// assert_eq!(s.get("sink_config.loki.url").as_deref(), Some("http://loki:3100"));
/// # Ok::<(), fapilog::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AcceptedSettings {
    values: BTreeMap<&'static str, String>,
}

impl AcceptedSettings {
    /// The value set for `path` (normalised text), `None` when unset.
    pub fn get(&self, path: &str) -> Option<&str> {
        self.values.get(path).map(String::as_str)
    }

    /// The paths set, with their values (secrets included: do not print).
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.values.iter().map(|(k, v)| (*k, v.as_str()))
    }
}

/// fapilog's type of a kept setting.
pub(super) enum Kind {
    Bool,
    Int,
    Float,
    Str,
    Choice(&'static [&'static str]),
    List,
    Object,
    Opt(&'static Kind),
    /// fapilog's routing rules: a JSON list of `{"levels": [...], "sinks": [...]}`.
    Rules,
}

/// The normalised text of `raw` as a `kind`, or what is allowed.
fn parse(kind: &Kind, raw: &Raw) -> Result<String, String> {
    let text = match raw {
        Raw::Str(s) => Some(s.trim()),
        _ => None,
    };
    match kind {
        Kind::Opt(_) if text == Some("") => Ok(String::new()),
        Kind::Opt(inner) => parse(inner, raw),
        Kind::Bool => boolean(raw).map(|b| b.to_string()),
        Kind::Int => match raw {
            Raw::Int(i) => Ok(i.to_string()),
            _ => text
                .and_then(|t| t.parse::<i64>().ok())
                .map(|i| i.to_string())
                .ok_or_else(|| "an integer".to_owned()),
        },
        Kind::Float => match raw {
            Raw::Int(i) => Ok(format!("{:?}", *i as f64)),
            Raw::Float(f) if f.is_finite() => Ok(format!("{f:?}")),
            _ => text
                .and_then(|t| t.parse::<f64>().ok())
                .filter(|f| f.is_finite())
                .map(|f| format!("{f:?}"))
                .ok_or_else(|| "a number".to_owned()),
        },
        Kind::Str => match raw {
            Raw::Str(s) => Ok(s.clone()),
            _ => Err("a string".to_owned()),
        },
        Kind::Choice(allowed) => text
            .and_then(|t| allowed.iter().find(|a| a.eq_ignore_ascii_case(t)))
            .map(|a| (*a).to_owned())
            .ok_or_else(|| format!("one of {}", allowed.join(", "))),
        Kind::List => list(raw).and_then(|items| {
            serde_json::to_string(&items).map_err(|_| "a list of strings".to_owned())
        }),
        Kind::Object => text
            .and_then(|t| {
                serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(t).ok()
            })
            .and_then(|m| serde_json::to_string(&m).ok())
            .ok_or_else(|| "a JSON object ({\"key\": value, …})".to_owned()),
        Kind::Rules => {
            let expected =
                "a JSON list of {\"levels\": [level names or \"*\"], \"sinks\": [sink names]}";
            let rules = match raw {
                Raw::Str(t) => serde_json::from_str::<Vec<RouteRule>>(t.trim()),
                _ => return Err(expected.to_owned()),
            }
            .map_err(|_| expected.to_owned())?;
            for r in &rules {
                for l in &r.levels {
                    if l != "*" && l.parse::<crate::Level>().is_err() {
                        return Err(format!("{expected} (level {l:?} is not a level)"));
                    }
                }
            }
            serde_json::to_string(&rules).map_err(|_| expected.to_owned())
        }
    }
}

/// One of fapilog's routing rules, as `sink_routing.rules` spells it.
/// `sinks` is required, `levels` defaults to none.
#[derive(Default)]
pub(crate) struct RouteRule {
    pub(crate) levels: Vec<String>,
    pub(crate) sinks: Vec<String>,
}

crate::config_serde::settings_serde!(RouteRule { levels, sinks } required sinks);

pub(super) fn store(
    s: &mut Settings,
    path: &'static str,
    kind: &Kind,
    raw: &Raw,
) -> Result<(), String> {
    let v = parse(kind, raw)?;
    s.accepted.values.insert(path, v);
    Ok(())
}

pub(super) fn stored(s: &Settings, path: &str, default: &str) -> String {
    s.accepted.get(path).unwrap_or(default).to_owned()
}

pub(super) fn copy(from: &Settings, to: &mut Settings, path: &'static str) {
    match from.accepted.values.get(path) {
        Some(v) => to.accepted.values.insert(path, v.clone()),
        None => to.accepted.values.remove(path),
    };
}

/// Accepts only `want` (as a `kind`): fapilog's default, the behaviour here.
pub(super) fn only(
    s: &mut Settings,
    path: &'static str,
    want: &str,
    why: &str,
    raw: &Raw,
) -> Result<(), String> {
    let kind = if want == "true" || want == "false" {
        &Kind::Bool
    } else if want.starts_with('[') {
        &Kind::List
    } else {
        &Kind::Float
    };
    let got = parse(kind, raw)?;
    let want_n = parse(kind, &Raw::Str(want.to_owned()))?;
    if got != want_n {
        return Err(format!("{want} ({why})"));
    }
    s.accepted.values.insert(path, got);
    Ok(())
}

/// Applies `raw` to the key at `target` (an alias's long form).
pub(super) fn forward(s: &mut Settings, target: &str, raw: &Raw) -> Result<(), String> {
    match super::keys::lookup(target) {
        Some(k) => k.set(s, target, raw),
        None => Err(format!("a value for {target}")),
    }
}

fn apply_stored(k: &Key, s: &mut Settings, _path: &str, raw: &Raw) -> Result<(), String> {
    store(s, k.path, k.kind.unwrap_or(&Kind::Str), raw)
}

fn show_stored(k: &Key, s: &Settings) -> String {
    stored(s, k.path, k.default)
}

fn copy_stored(k: &Key, from: &Settings, to: &mut Settings) {
    copy(from, to, k.path);
}

fn apply_alias(k: &Key, s: &mut Settings, _path: &str, raw: &Raw) -> Result<(), String> {
    forward(s, k.alias.unwrap_or_default(), raw)
}

fn show_alias(k: &Key, s: &Settings) -> String {
    s.get(k.alias.unwrap_or_default()).unwrap_or_default()
}

fn no_copy(_: &Key, _: &Settings, _: &mut Settings) {}

macro_rules! stored {
    (@key $path:literal, $kind:expr, $ty:literal, $default:literal, $effect:expr, $doc:expr, $secret:literal) => {
        Key {
            path: $path,
            ty: $ty,
            default: $default,
            doc: $doc,
            secret: $secret,
            unavailable: None,
            effect: $effect,
            alias: None,
            apply: apply_stored,
            show: show_stored,
            copy: copy_stored,
            kind: Some(&$kind),
        }
    };
    ($path:literal, $kind:expr, $ty:literal, $default:literal, na $why:literal, $secret:literal) => {
        stored!(@key $path, $kind, $ty, $default, Effect::NoEffect($why),
            concat!("fapilog's setting, accepted; no effect here: ", $why, "."), $secret)
    };
    ($path:literal, $kind:expr, $ty:literal, $default:literal, sink $sink:literal, $secret:literal) => {
        stored!(@key $path, $kind, $ty, $default, Effect::SinkNotBuilt($sink),
            concat!("Setting of fapilog's ", $sink, " sink, read by the fapilog-sinks crate's `", $sink, "` sink (cargo feature `", $sink, "`)."), $secret)
    };
    ($path:literal, $kind:expr, $ty:literal, $default:literal, active $doc:literal, $secret:literal) => {
        stored!(@key $path, $kind, $ty, $default, Effect::Active, $doc, $secret)
    };
}

macro_rules! alias {
    ($path:literal, $target:literal) => {
        Key {
            path: $path,
            ty: "as its long form",
            default: "",
            doc: concat!(
                "Alias of `",
                $target,
                "` (as in fapilog, the alias wins over the long form)."
            ),
            secret: false,
            unavailable: None,
            effect: Effect::Active,
            alias: Some($target),
            apply: apply_alias,
            show: show_alias,
            copy: no_copy,
            kind: None,
        }
    };
}

macro_rules! only {
    ($path:literal, $want:literal, $default:literal, $doc:literal) => {
        Key {
            path: $path,
            ty: concat!($want, " (only)"),
            default: $default,
            doc: $doc,
            secret: false,
            unavailable: None,
            effect: Effect::Active,
            alias: None,
            apply: |_, s, _p, raw| {
                only(
                    s,
                    $path,
                    $want,
                    "the only value this version can honour",
                    raw,
                )
            },
            show: show_stored,
            copy: copy_stored,
            kind: None,
        }
    };
}

/// The kept settings, in fapilog's order.
pub(super) static FLEET: &[Key] = &[
    stored!("schema_version", Kind::Str, "string", "1.0", na "the envelope is always schema 1.1, as fapilog writes it", false),
    stored!("core.app_name", Kind::Str, "string", "fapilog", na "fapilog writes it nowhere either; the service name is FAPILOG_SERVICE", false),
    only!("core.context_binding_enabled", "true", "true", "Context binding is always on; `true` (fapilog's default) is accepted, `false` is not available."),
    stored!("core.default_bound_context", Kind::Object, "JSON object", "{}", na "not applied in this version: bind fields in code, or use enricher_config.static_fields", false),
    stored!("core.internal_logging_enabled", Kind::Bool, "boolean", "false", active "Internal diagnostics at debug level on stderr: settings that do not apply here, and what the pipeline does at start. Warnings are always written.", false),
    stored!("core.diagnostics_output", Kind::Choice(&["stderr", "stdout"]), "stderr, stdout", "stderr", na "internal diagnostics always go to stderr, as in fapilog", false),
    stored!("core.error_dedupe_window_seconds", Kind::Float, "number", "5.0", na "error de-duplication is not implemented (in fapilog it is off for the default protected levels)", false),
    stored!("core.error_dedupe_max_entries", Kind::Int, "integer", "1000", na "error de-duplication is not implemented (in fapilog it is off for the default protected levels)", false),
    stored!("core.error_dedupe_ttl_multiplier", Kind::Float, "number", "10.0", na "error de-duplication is not implemented (in fapilog it is off for the default protected levels)", false),
    stored!("core.sensitive_fields_policy", Kind::List, "list (JSON or comma-separated)", "[]", na "fapilog only emits a diagnostic for it", false),
    only!("core.enable_redactors", "true", "true", "Redaction is switched off with `FAPILOG_CORE__REDACTORS=[]`; `true` (fapilog's default) is accepted, `false` is not available."),
    stored!("core.redactors_order", Kind::List, "list (JSON or comma-separated)", "[\"field-mask\",\"regex-mask\",\"url-credentials\"]", na "inert in fapilog: the order of core.redactors is used, here too", false),
    stored!("core.redaction_max_depth", Kind::Opt(&Kind::Int), "integer (or empty)", "6", na "the per-redactor limits apply (redactor_config.<name>.max_depth)", false),
    stored!("core.redaction_max_keys_scanned", Kind::Opt(&Kind::Int), "integer (or empty)", "5000", na "the per-redactor limits apply (redactor_config.<name>.max_keys_scanned)", false),
    only!("core.exceptions_enabled", "true", "true", "Exceptions are always written to diagnostics.exception; `true` (fapilog's default) is accepted, `false` is not available."),
    alias!("core.exceptions_max_frames", "processor_config.exceptions.max_frames"),
    alias!("core.exceptions_max_stack_chars", "processor_config.exceptions.max_stack_chars"),
    stored!("core.strict_envelope_mode", Kind::Bool, "boolean", "false", na "every envelope written here is valid v1.1", false),
    stored!("core.capture_unhandled_enabled", Kind::Bool, "boolean", "false", na "no panic hook is installed by this version", false),
    stored!("core.serialize_in_flush", Kind::Bool, "boolean", "false", na "a fapilog internal: processors always run here", false),
    stored!("core.resource_pool_max_size", Kind::Int, "integer", "8", na "inert in fapilog", false),
    stored!("core.resource_pool_acquire_timeout_seconds", Kind::Float, "number", "2.0", na "inert in fapilog", false),
    stored!("core.sink_circuit_breaker_enabled", Kind::Bool, "boolean", "true", active "The sink drivers' circuit breaker, for the sinks added without options of their own. Unset, it is on (fapilog's default is off: set `false` to match it).", false),
    stored!("core.sink_circuit_breaker_failure_threshold", Kind::Int, "integer", "5", active "Consecutive failed batches that open a sink's breaker.", false),
    stored!("core.sink_circuit_breaker_recovery_timeout_seconds", Kind::Float, "number", "30.0", active "Seconds before an open breaker lets one probe through (doubling after each failed probe, up to 5 min).", false),
    stored!("core.sink_circuit_breaker_fallback_sink", Kind::Opt(&Kind::Str), "string (or empty)", "", active "The sink (by name) that receives what the other sinks give up on (retries spent, rejected, breaker open); unset: stderr, bounded.", false),
    stored!("core.sink_parallel_writes", Kind::Bool, "boolean", "false", na "every sink has its own writer thread here: sinks are always written in parallel", false),
    stored!("core.sink_concurrency", Kind::Int, "integer", "1", na "one batch in flight per sink keeps ordered destinations ordered", false),
    stored!("core.fallback_redact_mode", Kind::Choice(&["inherit", "minimal", "none"]), "inherit, minimal, none", "minimal", na "inert in fapilog; redaction runs before any sink or fallback here", false),
    stored!("core.atexit_drain_enabled", Kind::Bool, "boolean", "true", na "a Python exit hook: here the pipeline drains when it (or init's guard) is dropped", false),
    stored!("core.atexit_drain_timeout_seconds", Kind::Float, "number", "2.0", na "a Python exit hook: the drain deadline is core.shutdown_timeout_seconds", false),
    stored!("core.signal_handler_enabled", Kind::Bool, "boolean", "true", na "a Python signal hook: no signal handler is installed here", false),
    stored!("core.flush_on_critical", Kind::Bool, "boolean", "false", na "inert in fapilog", false),
    stored!("core.emit_drop_summary", Kind::Bool, "boolean", "false", na "inert in fapilog; drops are always reported in-band here (core.drop_summary_window_seconds)", false),
    stored!("core.fallback_scrub_raw", Kind::Bool, "boolean", "true", na "the stderr fallback here writes only redacted envelopes", false),
    stored!("core.fallback_raw_max_bytes", Kind::Opt(&Kind::Int), "integer (or empty)", "", na "the stderr fallback here writes only redacted envelopes", false),
    stored!("core.benchmark_file_path", Kind::Opt(&Kind::Str), "string (or empty)", "", na "a fapilog benchmark option; use `fapilog bench`", false),
    stored!("security.encryption.enabled", Kind::Bool, "boolean", "true", na "validation-only in fapilog 0.18.1", false),
    stored!("security.encryption.algorithm", Kind::Choice(&["AES-256", "ChaCha20-Poly1305", "AES-128"]), "AES-256, ChaCha20-Poly1305, AES-128", "AES-256", na "validation-only in fapilog 0.18.1", false),
    stored!("security.encryption.key_source", Kind::Opt(&Kind::Choice(&["env", "file", "kms", "vault"])), "env, file, kms, vault (or empty)", "", na "validation-only in fapilog 0.18.1", false),
    stored!("security.encryption.env_var_name", Kind::Opt(&Kind::Str), "string (or empty)", "", na "validation-only in fapilog 0.18.1", false),
    stored!("security.encryption.key_file_path", Kind::Opt(&Kind::Str), "string (or empty)", "", na "validation-only in fapilog 0.18.1", false),
    stored!("security.encryption.key_id", Kind::Opt(&Kind::Str), "string (or empty)", "", na "validation-only in fapilog 0.18.1", false),
    stored!("security.encryption.rotate_interval_days", Kind::Int, "integer", "90", na "validation-only in fapilog 0.18.1", false),
    stored!("security.encryption.min_tls_version", Kind::Choice(&["1.2", "1.3"]), "1.2, 1.3", "1.2", na "validation-only in fapilog 0.18.1", false),
    stored!("security.access_control.enabled", Kind::Bool, "boolean", "true", na "validation-only in fapilog 0.18.1", false),
    stored!("security.access_control.auth_mode", Kind::Choice(&["none", "basic", "token", "oauth2"]), "none, basic, token, oauth2", "token", na "validation-only in fapilog 0.18.1", false),
    stored!("security.access_control.allowed_roles", Kind::List, "list (JSON or comma-separated)", "[\"admin\",\"system\"]", na "validation-only in fapilog 0.18.1", false),
    stored!("security.access_control.require_admin_for_sensitive_ops", Kind::Bool, "boolean", "true", na "validation-only in fapilog 0.18.1", false),
    stored!("security.access_control.allow_anonymous_read", Kind::Bool, "boolean", "false", na "validation-only in fapilog 0.18.1", false),
    stored!("security.access_control.allow_anonymous_write", Kind::Bool, "boolean", "false", na "validation-only in fapilog 0.18.1", false),
    stored!("observability.monitoring.enabled", Kind::Bool, "boolean", "false", na "validation-only in fapilog 0.18.1", false),
    stored!("observability.monitoring.endpoint", Kind::Opt(&Kind::Str), "string (or empty)", "", na "validation-only in fapilog 0.18.1", false),
    stored!("observability.metrics.enabled", Kind::Bool, "boolean", "false", na "validation-only in fapilog 0.18.1", false),
    stored!("observability.metrics.exporter", Kind::Choice(&["prometheus", "none"]), "prometheus, none", "prometheus", na "validation-only in fapilog 0.18.1", false),
    stored!("observability.metrics.port", Kind::Int, "integer", "8000", na "validation-only in fapilog 0.18.1", false),
    stored!("observability.tracing.enabled", Kind::Bool, "boolean", "false", na "validation-only in fapilog 0.18.1", false),
    stored!("observability.tracing.provider", Kind::Choice(&["otel", "none"]), "otel, none", "otel", na "validation-only in fapilog 0.18.1", false),
    stored!("observability.tracing.sampling_rate", Kind::Float, "number", "0.1", na "validation-only in fapilog 0.18.1", false),
    stored!("observability.logging.format", Kind::Choice(&["json", "text"]), "json, text", "json", na "validation-only in fapilog 0.18.1", false),
    stored!("observability.logging.include_correlation", Kind::Bool, "boolean", "true", na "validation-only in fapilog 0.18.1", false),
    only!("observability.logging.sampling_rate", "1.0", "1.0", "Deprecated in fapilog (which still samples DEBUG/INFO with it): use `filter_config.sampling.sample_rate`; only `1.0` is accepted."),
    stored!("observability.alerting.enabled", Kind::Bool, "boolean", "false", na "validation-only in fapilog 0.18.1", false),
    stored!("observability.alerting.min_severity", Kind::Choice(&["INFO", "WARNING", "ERROR", "CRITICAL"]), "INFO, WARNING, ERROR, CRITICAL", "ERROR", na "validation-only in fapilog 0.18.1", false),
    stored!("adaptive.enabled", Kind::Bool, "boolean", "false", na "adaptive pressure control is not implemented in this version", false),
    stored!("adaptive.check_interval_seconds", Kind::Float, "number", "0.25", na "adaptive pressure control is not implemented in this version", false),
    stored!("adaptive.cooldown_seconds", Kind::Float, "number", "2.0", na "adaptive pressure control is not implemented in this version", false),
    stored!("adaptive.escalate_to_elevated", Kind::Float, "number", "0.6", na "adaptive pressure control is not implemented in this version", false),
    stored!("adaptive.escalate_to_high", Kind::Float, "number", "0.8", na "adaptive pressure control is not implemented in this version", false),
    stored!("adaptive.escalate_to_critical", Kind::Float, "number", "0.92", na "adaptive pressure control is not implemented in this version", false),
    stored!("adaptive.filter_tightening", Kind::Bool, "boolean", "true", na "adaptive pressure control is not implemented in this version", false),
    stored!("adaptive.worker_scaling", Kind::Bool, "boolean", "true", na "adaptive pressure control is not implemented in this version", false),
    stored!("adaptive.batch_sizing", Kind::Bool, "boolean", "false", na "adaptive pressure control is not implemented in this version", false),
    stored!("adaptive.max_workers", Kind::Int, "integer", "8", na "adaptive pressure control is not implemented in this version", false),
    stored!("adaptive.circuit_pressure_boost", Kind::Float, "number", "0.2", na "adaptive pressure control is not implemented in this version", false),
    stored!("adaptive.protected_shed_threshold", Kind::Float, "number", "0.7", na "adaptive pressure control is not implemented in this version", false),
    stored!("adaptive.protected_recover_threshold", Kind::Float, "number", "0.3", na "adaptive pressure control is not implemented in this version", false),
    stored!("adaptive.deescalate_from_critical", Kind::Float, "number", "0.75", na "adaptive pressure control is not implemented in this version", false),
    stored!("adaptive.deescalate_from_high", Kind::Float, "number", "0.6", na "adaptive pressure control is not implemented in this version", false),
    stored!("adaptive.deescalate_from_elevated", Kind::Float, "number", "0.4", na "adaptive pressure control is not implemented in this version", false),
    stored!("http.endpoint", Kind::Opt(&Kind::Str), "string (or empty)", "", sink "http", false),
    stored!("http.headers", Kind::Object, "JSON object", "{}", sink "http", true),
    stored!("http.headers_json", Kind::Opt(&Kind::Str), "string (or empty)", "", sink "http", true),
    stored!("http.retry_max_attempts", Kind::Opt(&Kind::Int), "integer (or empty)", "", sink "http", false),
    stored!("http.retry_backoff_seconds", Kind::Opt(&Kind::Float), "number (or empty)", "", sink "http", false),
    stored!("http.timeout_seconds", Kind::Float, "number", "5.0", sink "http", false),
    stored!("http.batch_size", Kind::Int, "integer", "1", sink "http", false),
    stored!("http.batch_timeout_seconds", Kind::Float, "number", "5.0", na "the pipeline cuts batches (core.batch_timeout_seconds); the sink sends each batch as soon as it gets it", false),
    stored!("http.batch_format", Kind::Str, "string", "array", sink "http", false),
    stored!("http.batch_wrapper_key", Kind::Str, "string", "logs", sink "http", false),
    stored!("plugins.enabled", Kind::Bool, "boolean", "true", na "Python entry-point plugins: stages are registered in code here", false),
    stored!("plugins.allow_external", Kind::Bool, "boolean", "false", na "Python entry-point plugins: stages are registered in code here", false),
    stored!("plugins.allowlist", Kind::List, "list (JSON or comma-separated)", "[]", na "Python entry-point plugins: stages are registered in code here", false),
    stored!("plugins.denylist", Kind::List, "list (JSON or comma-separated)", "[]", na "Python entry-point plugins: stages are registered in code here", false),
    stored!("plugins.validation_mode", Kind::Str, "string", "disabled", na "Python entry-point plugins: stages are registered in code here", false),
    stored!("sink_config.http.endpoint", Kind::Opt(&Kind::Str), "string (or empty)", "", na "unused by fapilog (its http sink reads http.*)", false),
    stored!("sink_config.http.headers", Kind::Object, "JSON object", "{}", na "unused by fapilog (its http sink reads http.*)", true),
    stored!("sink_config.http.headers_json", Kind::Opt(&Kind::Str), "string (or empty)", "", na "unused by fapilog (its http sink reads http.*)", true),
    stored!("sink_config.http.retry_max_attempts", Kind::Opt(&Kind::Int), "integer (or empty)", "", na "unused by fapilog (its http sink reads http.*)", false),
    stored!("sink_config.http.retry_backoff_seconds", Kind::Opt(&Kind::Float), "number (or empty)", "", na "unused by fapilog (its http sink reads http.*)", false),
    stored!("sink_config.http.timeout_seconds", Kind::Float, "number", "5.0", na "unused by fapilog (its http sink reads http.*)", false),
    stored!("sink_config.http.batch_size", Kind::Int, "integer", "1", na "unused by fapilog (its http sink reads http.*)", false),
    stored!("sink_config.http.batch_timeout_seconds", Kind::Float, "number", "5.0", na "unused by fapilog (its http sink reads http.*)", false),
    stored!("sink_config.http.batch_format", Kind::Str, "string", "array", na "unused by fapilog (its http sink reads http.*)", false),
    stored!("sink_config.http.batch_wrapper_key", Kind::Str, "string", "logs", na "unused by fapilog (its http sink reads http.*)", false),
    stored!("sink_config.webhook.endpoint", Kind::Opt(&Kind::Str), "string (or empty)", "", sink "webhook", false),
    stored!("sink_config.webhook.secret", Kind::Opt(&Kind::Str), "string (or empty)", "", sink "webhook", true),
    stored!("sink_config.webhook.headers", Kind::Object, "JSON object", "{}", sink "webhook", true),
    stored!("sink_config.webhook.retry_max_attempts", Kind::Opt(&Kind::Int), "integer (or empty)", "", sink "webhook", false),
    stored!("sink_config.webhook.retry_backoff_seconds", Kind::Opt(&Kind::Float), "number (or empty)", "", sink "webhook", false),
    stored!("sink_config.webhook.timeout_seconds", Kind::Float, "number", "5.0", sink "webhook", false),
    stored!("sink_config.webhook.batch_size", Kind::Int, "integer", "1", sink "webhook", false),
    stored!("sink_config.webhook.batch_timeout_seconds", Kind::Float, "number", "5.0", na "the pipeline cuts batches (core.batch_timeout_seconds); the sink sends each batch as soon as it gets it", false),
    stored!("sink_config.webhook.signature_mode", Kind::Choice(&["hmac", "header"]), "hmac, header", "hmac", sink "webhook", false),
    stored!("sink_config.webhook.replay_tolerance_seconds", Kind::Int, "integer", "300", na "the receiver's replay window, which the receiver enforces (docs/sinks/webhook.md)", false),
    stored!("sink_config.loki.url", Kind::Str, "string", "http://localhost:3100", sink "loki", false),
    stored!("sink_config.loki.tenant_id", Kind::Opt(&Kind::Str), "string (or empty)", "", sink "loki", false),
    stored!("sink_config.loki.labels", Kind::Object, "JSON object", "{\"service\":\"fapilog\"}", sink "loki", false),
    stored!("sink_config.loki.label_keys", Kind::List, "list (JSON or comma-separated)", "[\"level\"]", sink "loki", false),
    stored!("sink_config.loki.batch_size", Kind::Int, "integer", "100", sink "loki", false),
    stored!("sink_config.loki.batch_timeout_seconds", Kind::Float, "number", "5.0", na "the pipeline cuts batches (core.batch_timeout_seconds); the sink sends each batch as soon as it gets it", false),
    stored!("sink_config.loki.timeout_seconds", Kind::Float, "number", "10.0", sink "loki", false),
    stored!("sink_config.loki.max_retries", Kind::Int, "integer", "3", sink "loki", false),
    stored!("sink_config.loki.retry_base_delay", Kind::Float, "number", "0.5", sink "loki", false),
    stored!("sink_config.loki.auth_username", Kind::Opt(&Kind::Str), "string (or empty)", "", sink "loki", false),
    stored!("sink_config.loki.auth_password", Kind::Opt(&Kind::Str), "string (or empty)", "", sink "loki", true),
    stored!("sink_config.loki.auth_token", Kind::Opt(&Kind::Str), "string (or empty)", "", sink "loki", true),
    stored!("sink_config.loki.circuit_breaker_enabled", Kind::Bool, "boolean", "true", sink "loki", false),
    stored!("sink_config.loki.circuit_breaker_threshold", Kind::Int, "integer", "5", sink "loki", false),
    stored!("sink_config.stdout_json", Kind::Object, "JSON object", "{}", na "Python stdout options (capture mode)", false),
    stored!("sink_config.sealed.inner_sink", Kind::Str, "string", "rotating_file", na "the fapilog-tamper add-on (Python)", false),
    stored!("sink_config.sealed.inner_config", Kind::Object, "JSON object", "{}", na "the fapilog-tamper add-on (Python)", false),
    stored!("sink_config.sealed.manifest_path", Kind::Opt(&Kind::Str), "string (or empty)", "", na "the fapilog-tamper add-on (Python)", false),
    stored!("sink_config.sealed.sign_manifests", Kind::Bool, "boolean", "true", na "the fapilog-tamper add-on (Python)", false),
    stored!("sink_config.sealed.key_id", Kind::Opt(&Kind::Str), "string (or empty)", "", na "the fapilog-tamper add-on (Python)", false),
    stored!("sink_config.sealed.key_provider", Kind::Opt(&Kind::Str), "string (or empty)", "env", na "the fapilog-tamper add-on (Python)", false),
    stored!("sink_config.sealed.chain_state_path", Kind::Opt(&Kind::Str), "string (or empty)", "", na "the fapilog-tamper add-on (Python)", false),
    stored!("sink_config.sealed.rotate_chain", Kind::Bool, "boolean", "false", na "the fapilog-tamper add-on (Python)", false),
    stored!("sink_config.sealed.fsync_on_write", Kind::Bool, "boolean", "false", na "the fapilog-tamper add-on (Python)", false),
    stored!("sink_config.sealed.fsync_on_rotate", Kind::Bool, "boolean", "true", na "the fapilog-tamper add-on (Python)", false),
    stored!("sink_config.sealed.compress_rotated", Kind::Bool, "boolean", "false", na "the fapilog-tamper add-on (Python)", false),
    stored!("sink_config.sealed.use_kms_signing", Kind::Bool, "boolean", "false", na "the fapilog-tamper add-on (Python)", false),
    stored!("sink_config.cloudwatch.log_group_name", Kind::Str, "string", "/fapilog/default", sink "cloudwatch", false),
    stored!("sink_config.cloudwatch.log_stream_name", Kind::Opt(&Kind::Str), "string (or empty)", "", sink "cloudwatch", false),
    stored!("sink_config.cloudwatch.region", Kind::Opt(&Kind::Str), "string (or empty)", "", sink "cloudwatch", false),
    stored!("sink_config.cloudwatch.create_log_group", Kind::Bool, "boolean", "true", sink "cloudwatch", false),
    stored!("sink_config.cloudwatch.create_log_stream", Kind::Bool, "boolean", "true", sink "cloudwatch", false),
    stored!("sink_config.cloudwatch.batch_size", Kind::Int, "integer", "100", na "the pipeline cuts batches (core.batch_max_size); a batch goes in as few PutLogEvents calls as CloudWatch's limits allow", false),
    stored!("sink_config.cloudwatch.batch_timeout_seconds", Kind::Float, "number", "5.0", na "the pipeline cuts batches (core.batch_timeout_seconds); the sink sends each batch as soon as it gets it", false),
    stored!("sink_config.cloudwatch.endpoint_url", Kind::Opt(&Kind::Str), "string (or empty)", "", sink "cloudwatch", false),
    stored!("sink_config.cloudwatch.max_retries", Kind::Int, "integer", "3", sink "cloudwatch", false),
    stored!("sink_config.cloudwatch.retry_base_delay", Kind::Float, "number", "0.5", sink "cloudwatch", false),
    stored!("sink_config.cloudwatch.circuit_breaker_enabled", Kind::Bool, "boolean", "true", sink "cloudwatch", false),
    stored!("sink_config.cloudwatch.circuit_breaker_threshold", Kind::Int, "integer", "5", sink "cloudwatch", false),
    stored!("sink_config.postgres.dsn", Kind::Opt(&Kind::Str), "string (or empty)", "", sink "postgres", true),
    stored!("sink_config.postgres.host", Kind::Str, "string", "localhost", sink "postgres", false),
    stored!("sink_config.postgres.port", Kind::Int, "integer", "5432", sink "postgres", false),
    stored!("sink_config.postgres.database", Kind::Str, "string", "fapilog", sink "postgres", false),
    stored!("sink_config.postgres.user", Kind::Str, "string", "fapilog", sink "postgres", false),
    stored!("sink_config.postgres.password", Kind::Opt(&Kind::Str), "string (or empty)", "", sink "postgres", true),
    stored!("sink_config.postgres.table_name", Kind::Str, "string", "logs", sink "postgres", false),
    stored!("sink_config.postgres.schema_name", Kind::Str, "string", "public", sink "postgres", false),
    stored!("sink_config.postgres.create_table", Kind::Bool, "boolean", "true", sink "postgres", false),
    stored!("sink_config.postgres.min_pool_size", Kind::Int, "integer", "2", na "the postgres sink writes each batch in one transaction on one connection", false),
    stored!("sink_config.postgres.max_pool_size", Kind::Int, "integer", "10", na "the postgres sink writes each batch in one transaction on one connection", false),
    stored!("sink_config.postgres.pool_acquire_timeout", Kind::Float, "number", "10.0", sink "postgres", false),
    stored!("sink_config.postgres.batch_size", Kind::Int, "integer", "100", sink "postgres", false),
    stored!("sink_config.postgres.batch_timeout_seconds", Kind::Float, "number", "5.0", na "the pipeline cuts batches (core.batch_timeout_seconds); the sink sends each batch as soon as it gets it", false),
    stored!("sink_config.postgres.max_retries", Kind::Int, "integer", "3", sink "postgres", false),
    stored!("sink_config.postgres.retry_base_delay", Kind::Float, "number", "0.5", sink "postgres", false),
    stored!("sink_config.postgres.circuit_breaker_enabled", Kind::Bool, "boolean", "true", sink "postgres", false),
    stored!("sink_config.postgres.circuit_breaker_threshold", Kind::Int, "integer", "5", sink "postgres", false),
    stored!("sink_config.postgres.use_jsonb", Kind::Bool, "boolean", "true", sink "postgres", false),
    stored!("sink_config.postgres.include_raw_json", Kind::Bool, "boolean", "true", sink "postgres", false),
    stored!("sink_config.postgres.extract_fields", Kind::List, "list (JSON or comma-separated)", "[\"timestamp\",\"level\",\"logger\",\"correlation_id\",\"message\"]", sink "postgres", false),
    stored!("sink_config.extra", Kind::Object, "JSON object", "{}", na "options of third-party Python plugins", false),
    stored!("enricher_config.integrity.algorithm", Kind::Choice(&["sha256", "ed25519"]), "sha256, ed25519", "sha256", na "the fapilog-tamper add-on (Python)", false),
    stored!("enricher_config.integrity.key_id", Kind::Opt(&Kind::Str), "string (or empty)", "", na "the fapilog-tamper add-on (Python)", false),
    stored!("enricher_config.integrity.key_provider", Kind::Opt(&Kind::Str), "string (or empty)", "env", na "the fapilog-tamper add-on (Python)", false),
    stored!("enricher_config.integrity.chain_state_path", Kind::Opt(&Kind::Str), "string (or empty)", "", na "the fapilog-tamper add-on (Python)", false),
    stored!("enricher_config.integrity.rotate_chain", Kind::Bool, "boolean", "false", na "the fapilog-tamper add-on (Python)", false),
    stored!("enricher_config.integrity.use_kms_signing", Kind::Bool, "boolean", "false", na "the fapilog-tamper add-on (Python)", false),
    stored!("enricher_config.extra", Kind::Object, "JSON object", "{}", na "options of third-party Python plugins", false),
    stored!("redactor_config.extra", Kind::Object, "JSON object", "{}", na "options of third-party Python plugins", false),
    stored!("filter_config.extra", Kind::Object, "JSON object", "{}", na "options of third-party Python plugins", false),
    stored!("processor_config.zero_copy", Kind::Object, "JSON object", "{}", na "fapilog's pass-through processor: nothing to do", false),
    stored!("processor_config.extra", Kind::Object, "JSON object", "{}", na "options of third-party Python plugins", false),
    alias!("loki.url", "sink_config.loki.url"),
    alias!("loki.tenant_id", "sink_config.loki.tenant_id"),
    alias!("loki.auth_username", "sink_config.loki.auth_username"),
    alias!("loki.auth_password", "sink_config.loki.auth_password"),
    alias!("loki.auth_token", "sink_config.loki.auth_token"),
    alias!("loki.timeout_seconds", "sink_config.loki.timeout_seconds"),
    alias!("loki.batch_size", "sink_config.loki.batch_size"),
    alias!("loki.batch_timeout_seconds", "sink_config.loki.batch_timeout_seconds"),
    alias!("loki.max_retries", "sink_config.loki.max_retries"),
    alias!("loki.retry_base_delay", "sink_config.loki.retry_base_delay"),
    alias!("loki.circuit_breaker_enabled", "sink_config.loki.circuit_breaker_enabled"),
    alias!("loki.circuit_breaker_threshold", "sink_config.loki.circuit_breaker_threshold"),
    alias!("loki.labels", "sink_config.loki.labels"),
    alias!("loki.label_keys", "sink_config.loki.label_keys"),
    alias!("cloudwatch.log_group_name", "sink_config.cloudwatch.log_group_name"),
    alias!("cloudwatch.log_stream_name", "sink_config.cloudwatch.log_stream_name"),
    alias!("cloudwatch.region", "sink_config.cloudwatch.region"),
    alias!("cloudwatch.endpoint_url", "sink_config.cloudwatch.endpoint_url"),
    alias!("cloudwatch.batch_size", "sink_config.cloudwatch.batch_size"),
    alias!("cloudwatch.batch_timeout_seconds", "sink_config.cloudwatch.batch_timeout_seconds"),
    alias!("cloudwatch.max_retries", "sink_config.cloudwatch.max_retries"),
    alias!("cloudwatch.retry_base_delay", "sink_config.cloudwatch.retry_base_delay"),
    alias!("cloudwatch.create_log_group", "sink_config.cloudwatch.create_log_group"),
    alias!("cloudwatch.create_log_stream", "sink_config.cloudwatch.create_log_stream"),
    alias!("cloudwatch.circuit_breaker_enabled", "sink_config.cloudwatch.circuit_breaker_enabled"),
    alias!("cloudwatch.circuit_breaker_threshold", "sink_config.cloudwatch.circuit_breaker_threshold"),
    alias!("postgres.dsn", "sink_config.postgres.dsn"),
    alias!("postgres.host", "sink_config.postgres.host"),
    alias!("postgres.port", "sink_config.postgres.port"),
    alias!("postgres.database", "sink_config.postgres.database"),
    alias!("postgres.user", "sink_config.postgres.user"),
    alias!("postgres.password", "sink_config.postgres.password"),
    alias!("postgres.table_name", "sink_config.postgres.table_name"),
    alias!("postgres.schema_name", "sink_config.postgres.schema_name"),
    alias!("postgres.min_pool_size", "sink_config.postgres.min_pool_size"),
    alias!("postgres.max_pool_size", "sink_config.postgres.max_pool_size"),
    alias!("postgres.pool_acquire_timeout", "sink_config.postgres.pool_acquire_timeout"),
    alias!("postgres.batch_size", "sink_config.postgres.batch_size"),
    alias!("postgres.batch_timeout_seconds", "sink_config.postgres.batch_timeout_seconds"),
    alias!("postgres.max_retries", "sink_config.postgres.max_retries"),
    alias!("postgres.retry_base_delay", "sink_config.postgres.retry_base_delay"),
    alias!("postgres.circuit_breaker_enabled", "sink_config.postgres.circuit_breaker_enabled"),
    alias!("postgres.circuit_breaker_threshold", "sink_config.postgres.circuit_breaker_threshold"),
    alias!("postgres.create_table", "sink_config.postgres.create_table"),
    alias!("postgres.use_jsonb", "sink_config.postgres.use_jsonb"),
    alias!("postgres.include_raw_json", "sink_config.postgres.include_raw_json"),
    alias!("postgres.extract_fields", "sink_config.postgres.extract_fields"),
    alias!("size_guard.action", "processor_config.size_guard.action"),
    alias!("size_guard.max_bytes", "processor_config.size_guard.max_bytes"),
    alias!("size_guard.preserve_fields", "processor_config.size_guard.preserve_fields"),
    stored!("fastapi.skip_paths", Kind::List, "list", "", na "the FastAPI integration (Python); the axum layer is configured in code", false),
    stored!("fastapi.include_headers", Kind::List, "list", "", na "the FastAPI integration (Python); the axum layer is configured in code", true),
    stored!("fastapi.sample_rate", Kind::Float, "number", "1.0", na "the FastAPI integration (Python); the axum layer is configured in code", false),
    stored!("fastapi.log_errors_on_skip", Kind::Bool, "boolean", "true", na "the FastAPI integration (Python); the axum layer is configured in code", false),
    stored!("strict_plugin_compat", Kind::Bool, "boolean", "false", na "Python plugin compatibility checks", false),
    stored!("redactor_config.field_mask.block_on_unredactable", Kind::Bool, "boolean", "true", na "a failing redactor follows core.redaction_fail_mode here (closed by default)", false),
    alias!("redactor_config.regex_mask.patterns", "redactor_config.field_mask.patterns"),
    stored!("redactor_config.regex_mask.block_on_unredactable", Kind::Bool, "boolean", "false", na "a failing redactor follows core.redaction_fail_mode here (closed by default)", false),
    stored!("redactor_config.regex_mask.max_depth", Kind::Int, "integer", "16", na "path patterns run with the field_mask redactor here, under its limits", false),
    stored!("redactor_config.regex_mask.max_keys_scanned", Kind::Int, "integer", "1000", na "path patterns run with the field_mask redactor here, under its limits", false),
    stored!("redactor_config.field_blocker.max_depth", Kind::Int, "integer", "16", na "the field blocker walks the whole event here (the encoder bounds nesting)", false),
    stored!("redactor_config.field_blocker.max_keys_scanned", Kind::Int, "integer", "1000", na "the field blocker walks the whole event here (the encoder bounds nesting)", false),
    stored!("redactor_config.string_truncate.max_depth", Kind::Int, "integer", "16", na "string truncation walks the whole event here (the encoder bounds nesting)", false),
    stored!("redactor_config.string_truncate.max_keys_scanned", Kind::Int, "integer", "1000", na "string truncation walks the whole event here (the encoder bounds nesting)", false),
    stored!("sink_routing.enabled", Kind::Bool, "boolean", "false", active "Route lines to sinks by level with `sink_routing.rules` (as in fapilog, routing is on only when enabled and the rules are not empty).", false),
    stored!("sink_routing.rules", Kind::Rules, "JSON list of {levels, sinks}", "[]", active "Routing rules, in order: `[{\"levels\": [\"ERROR\", \"CRITICAL\"], \"sinks\": [\"errors\"]}]`; a level `*` makes the rule's sinks the fallback. A sink that no rule names takes every line.", false),
    stored!("sink_routing.overlap", Kind::Bool, "boolean", "true", active "`true`: a line goes to the sinks of every rule it matches; `false`: of the first.", false),
    stored!("sink_routing.fallback_sinks", Kind::List, "list (sink names)", "[]", active "Sinks that take the lines no rule matches.", false),
];
