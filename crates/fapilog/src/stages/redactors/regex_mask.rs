//! The regex mask: masks secrets and personal data inside string values and
//! the message, by what they look like.

use crate::config_serde::settings_serde;

use super::patterns::{merge, trigger_table, TriggerTable, Triggers, ValueKind};
use super::scan::Ranges;
use super::user_regex::UserRegex;
use super::walk;
use crate::envelope::Event;
use crate::error::Error;
use crate::stages::runtime::{self, Counter};
use crate::stages::{Redactor, StageError};
use crate::value::Text;

/// Settings of the `regex_mask` redactor (`redactor_config.regex_mask`).
///
/// fapilog's `regex_mask.patterns` match key paths; here those live in
/// [`super::FieldMaskConfig::patterns`], and this redactor looks inside values.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RegexMaskConfig {
    /// Built-in detectors (`email`, `credit_card`, `jwt`, `aws_access_key`,
    /// `bearer_token`, `basic_auth`, `github_token`, `gitlab_token`,
    /// `slack_token`, `private_key`, `secret_assignment`, `iban`, `phone`,
    /// `us_ssn`, `uk_nino`, `ipv4`); presets add theirs.
    pub kinds: Vec<ValueKind>,
    /// Your own regexes; every match is masked.
    pub value_patterns: Vec<String>,
    /// The replacement (`***`).
    pub mask_string: String,
}

settings_serde!(RegexMaskConfig {
    kinds,
    value_patterns,
    mask_string
});

impl Default for RegexMaskConfig {
    fn default() -> Self {
        RegexMaskConfig {
            kinds: Vec::new(),
            value_patterns: Vec::new(),
            mask_string: "***".to_owned(),
        }
    }
}

/// Masks matching substrings in every string of the event: the message,
/// `context`, `diagnostics`, `data` (nested maps and arrays) and tags.
///
/// Each string is read once by a byte-class pass that notes what could be
/// there (digits, `@`, `eyJ`, `-----BEGIN`, `=`, …); only the kinds whose
/// trigger was seen run their hand-written scanner, so a string without
/// any trigger costs one pass and allocates nothing. Payment cards are
/// Luhn-checked, IBANs mod-97-checked. Your own `value_patterns` run as
/// one regex after the built-in kinds.
pub struct RegexMask {
    kinds: Vec<ValueKind>,
    custom: Option<UserRegex>,
    triggers: Box<TriggerTable>,
    mask: String,
}

impl RegexMask {
    /// Masks the given kinds with `***`.
    pub fn new(kinds: &[ValueKind]) -> Result<RegexMask, Error> {
        RegexMask::from_config(&RegexMaskConfig {
            kinds: kinds.to_vec(),
            ..RegexMaskConfig::default()
        })
    }

    /// From its settings.
    pub fn from_config(c: &RegexMaskConfig) -> Result<RegexMask, Error> {
        let mut kinds = c.kinds.clone();
        kinds.sort_by_key(|k| ValueKind::ALL.iter().position(|x| x == k));
        kinds.dedup();
        let custom = if c.value_patterns.is_empty() {
            None
        } else {
            let joined = c
                .value_patterns
                .iter()
                .map(|p| format!("(?:{p})"))
                .collect::<Vec<_>>()
                .join("|");
            Some(
                UserRegex::new(&joined).map_err(|expected| Error::InvalidSetting {
                    key: "redactor_config.regex_mask.value_patterns".to_owned(),
                    value: c.value_patterns.join(", "),
                    expected,
                })?,
            )
        };
        Ok(RegexMask {
            triggers: Box::new(trigger_table(&kinds)),
            kinds,
            custom,
            mask: c.mask_string.clone(),
        })
    }

    /// The built-in kinds in use.
    pub fn kinds(&self) -> Vec<ValueKind> {
        self.kinds.clone()
    }

    /// Masks `s`; `None` when nothing matched (no allocation).
    pub fn mask_str(&self, s: &str) -> Option<String> {
        let mut n = 0;
        self.mask_counted(s, &mut n)
    }

    fn mask_counted(&self, s: &str, n: &mut u64) -> Option<String> {
        let mut cur = None;
        if !self.kinds.is_empty() {
            let t = Triggers::scan_with(s, &self.triggers);
            let mut ranges = Ranges::new();
            let b = s.as_bytes();
            for &k in &self.kinds {
                if t.may_match(k) {
                    k.find(b, self.mask.as_bytes(), &mut ranges);
                }
            }
            if !ranges.is_empty() {
                merge(&mut ranges);
                let mut o = String::with_capacity(s.len());
                let mut last = 0;
                for &(a, z) in &ranges {
                    o.push_str(&s[last..a]);
                    o.push_str(&self.mask);
                    last = z;
                }
                o.push_str(&s[last..]);
                *n += ranges.len() as u64;
                cur = Some(o);
            }
        }
        if let Some(re) = &self.custom {
            let src = cur.as_deref().unwrap_or(s);
            if let Some(out) = re.mask_all(src, &self.mask, n) {
                cur = Some(out);
            }
        }
        cur
    }
}

impl Redactor for RegexMask {
    fn name(&self) -> &str {
        "regex_mask"
    }

    /// Exact for the built-in kinds: the string is scanned as `redact`
    /// would, nothing is allocated when it is clean. Your own patterns
    /// make no promise.
    fn leaves_unchanged(&self, text: &str) -> bool {
        if self.custom.is_some() {
            return false;
        }
        let mut n = 0;
        self.mask_counted(text, &mut n).is_none()
    }

    fn redact(&self, event: &mut Event<'_>) -> Result<(), StageError> {
        if self.kinds.is_empty() && self.custom.is_none() {
            return Ok(());
        }
        let n = walk::each_string(event, &mut |t: &mut Text<'_>| {
            let mut n = 0;
            if let Some(new) = self.mask_counted(t.as_str(), &mut n) {
                *t = Text::Owned(new);
            }
            n
        });
        runtime::count(Counter::RedactedFields, n);
        Ok(())
    }
}
