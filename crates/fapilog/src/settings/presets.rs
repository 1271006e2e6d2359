//! Presets: named, complete [`Settings`] values to start from.

use std::fmt;
use std::str::FromStr;

use super::keys;
use super::{FailModeSetting, PolicyName, Settings};
use crate::level::Level;
use crate::stages::redactors::ValueKind;

/// A named bundle of settings: data you can inspect ([`Preset::settings`],
/// [`Preset::overrides`]) and override key by key from a file, the
/// environment or the builder.
///
/// ```
/// use fapilog::settings::Preset;
/// use fapilog::Level;
///
/// let dev: Preset = "dev".parse().unwrap();
/// let s = dev.settings();
/// assert_eq!(s.core.log_level, Level::DEBUG);
/// assert_eq!(s.core.batch_max_size, 1);
/// assert!(dev.overrides().iter().any(|(k, v)| k == "core.sinks" && v == "stdout_pretty"));
/// let prod = Preset::Production.overrides();
/// assert!(prod.iter().any(|(k, v)| k == "redactor_config.presets" && v == r#"["CREDENTIALS"]"#));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Preset {
    /// Local development: DEBUG, the pretty console, no batching delay.
    Dev,
    /// Services in production: INFO, JSON to stdout, the `wait` policy,
    /// ERROR/CRITICAL protected, two workers, a long drain on shutdown.
    Production,
    /// Functions (Lambda, Cloud Run jobs): small batches, the `drop` policy.
    Serverless,
    /// Never drop, closed-mode redaction.
    Hardened,
    /// The defaults, without redactors.
    Minimal,
}

impl Preset {
    /// Every preset.
    pub const ALL: [Preset; 5] = [
        Preset::Dev,
        Preset::Production,
        Preset::Serverless,
        Preset::Hardened,
        Preset::Minimal,
    ];

    /// Every preset's name, as `FAPILOG_PRESET` takes it.
    pub const NAMES: [&'static str; 5] = ["dev", "production", "serverless", "hardened", "minimal"];

    /// The name (`production`).
    pub fn name(self) -> &'static str {
        match self {
            Preset::Dev => "dev",
            Preset::Production => "production",
            Preset::Serverless => "serverless",
            Preset::Hardened => "hardened",
            Preset::Minimal => "minimal",
        }
    }

    /// What the preset is for, and what it leaves out.
    pub fn description(self) -> &'static str {
        match self {
            Preset::Dev => {
                "Local development: DEBUG and up, the human console format (`stdout_pretty`), \
                 every event written at once (batches of one)."
            }
            Preset::Production => {
                "Services in production: INFO and up, JSON envelopes to stdout, the `wait` \
                 policy (a full queue slows callers by at most 50 ms before an event is dropped \
                 and counted), ERROR and CRITICAL protected, two workers, 25 s to drain on \
                 shutdown, failing redactors report on stderr (`warn`, as in fapilog). \
                 Not included yet: fapilog's sink circuit breaker and rotating-file fallback \
                 (they arrive with the network and rotating-file sinks)."
            }
            Preset::Serverless => {
                "Functions: INFO and up, JSON to stdout, batches of 25, the `drop` policy (a \
                 function never waits on its logger). Flush at the end of each invocation with \
                 `Pipeline::flush`: the preset cannot know when an invocation ends."
            }
            Preset::Hardened => {
                "Never drop, never leak: the `block` policy (a full queue makes callers wait \
                 for room), closed-mode redaction (an event whose redactor fails is withheld), \
                 batches of 100, two workers, 25 s to drain. The envelope is always written \
                 by the typed encoder, so fapilog's `strict_envelope_mode` has no counterpart \
                 to turn on. Not included yet: fapilog's rotating-file second sink."
            }
            Preset::Minimal => {
                "The defaults with no redactors (as in fapilog): nothing else added."
            }
        }
    }

    /// The complete settings of this preset.
    pub fn settings(self) -> Settings {
        let mut s = Settings {
            preset: Some(self),
            ..Settings::default()
        };
        let redactors = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect();
        let st = &mut s.stages;
        match self {
            Preset::Dev | Preset::Minimal => st.redactors = Vec::new(),
            Preset::Production | Preset::Serverless => {
                st.redactors = redactors(&["field_mask", "regex_mask", "url_credentials"]);
                st.redactor_config.presets = vec!["CREDENTIALS".to_owned()];
                // Card numbers anywhere in a string (Luhn-checked).
                st.redactor_config.regex_mask.kinds = vec![ValueKind::CreditCard];
            }
            Preset::Hardened => {
                st.redactors = redactors(&[
                    "field_mask",
                    "regex_mask",
                    "url_credentials",
                    "field_blocker",
                ]);
                st.redactor_config.presets = vec![
                    "CREDENTIALS".to_owned(),
                    "HIPAA_PHI".to_owned(),
                    "PCI_DSS".to_owned(),
                ];
                // IBANs anywhere in a string (mod-97-checked); e-mail
                // addresses and SSNs come with HIPAA_PHI, cards with PCI_DSS.
                st.redactor_config.regex_mask.kinds = vec![ValueKind::Iban];
            }
        }
        let c = &mut s.core;
        match self {
            Preset::Dev => {
                c.log_level = Level::DEBUG;
                c.sinks = vec!["stdout_pretty".to_owned()];
                c.batch_max_size = 1;
            }
            Preset::Production => {
                c.log_level = Level::INFO;
                c.worker_count = 2;
                c.batch_max_size = 256;
                c.max_queue_size = 10_000;
                c.batch_timeout_seconds = 0.25;
                c.shutdown_timeout_seconds = 25.0;
                c.backpressure_policy = PolicyName::Wait;
                c.drop_on_full = false;
                c.protected_levels = vec![Level::ERROR, Level::CRITICAL];
                c.sinks = vec!["stdout_json".to_owned()];
                c.redaction_fail_mode = FailModeSetting::Warn;
            }
            Preset::Serverless => {
                c.log_level = Level::INFO;
                c.worker_count = 2;
                c.batch_max_size = 25;
                c.drop_on_full = true;
                c.backpressure_policy = PolicyName::Drop;
                c.sinks = vec!["stdout_json".to_owned()];
                c.redaction_fail_mode = FailModeSetting::Warn;
            }
            Preset::Hardened => {
                c.log_level = Level::INFO;
                c.worker_count = 2;
                c.batch_max_size = 100;
                c.shutdown_timeout_seconds = 25.0;
                c.drop_on_full = false;
                c.backpressure_policy = PolicyName::Block;
                c.redaction_fail_mode = FailModeSetting::Closed;
                c.sinks = vec!["stdout_json".to_owned()];
            }
            Preset::Minimal => {}
        }
        s
    }

    /// The keys this preset changes from the defaults, with its values (as
    /// the environment would spell them), in documentation order. Inside
    /// the `*_config` groups, each changed option is listed by its full
    /// path (`redactor_config.presets`).
    pub fn overrides(self) -> Vec<(String, String)> {
        let s = self.settings();
        let d = Settings::default();
        let mut out = Vec::new();
        for k in keys::all() {
            if k.unavailable.is_some() || k.path == "preset" {
                continue;
            }
            let (v, dv) = (k.shown(&s), k.shown(&d));
            if v == dv {
                continue;
            }
            if k.is_group() {
                let prefix = k.path.trim_end_matches(".*");
                let parse = |t: &str| serde_json::from_str(t).unwrap_or(serde_json::Value::Null);
                diff_json(prefix, &parse(&v), &parse(&dv), &mut out);
            } else {
                out.push((k.path.to_owned(), v));
            }
        }
        out
    }
}

/// The leaves of `a` that differ from `b`, by dotted path.
fn diff_json(
    path: &str,
    a: &serde_json::Value,
    b: &serde_json::Value,
    out: &mut Vec<(String, String)>,
) {
    match (a, b) {
        (serde_json::Value::Object(x), serde_json::Value::Object(y)) => {
            for (k, v) in x {
                let null = serde_json::Value::Null;
                diff_json(&format!("{path}.{k}"), v, y.get(k).unwrap_or(&null), out);
            }
        }
        _ if a != b => out.push((path.to_owned(), super::json_text(a))),
        _ => {}
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The name is not a preset's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown preset {0:?}: expected one of dev, production, serverless, hardened, minimal")]
pub struct UnknownPreset(String);

impl FromStr for Preset {
    type Err = UnknownPreset;

    fn from_str(s: &str) -> Result<Preset, UnknownPreset> {
        let t = s.trim().to_ascii_lowercase();
        Preset::ALL
            .into_iter()
            .find(|p| p.name() == t)
            .ok_or_else(|| UnknownPreset(s.to_owned()))
    }
}
