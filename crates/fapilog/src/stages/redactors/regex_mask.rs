//! The regex mask: masks secrets and personal data inside string values and
//! the message, by what they look like.

use serde::{Deserialize, Serialize};

use super::patterns::{trigger_table, Detector, Triggers, ValueKind};
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct RegexMaskConfig {
    /// Built-in detectors (`email`, `credit_card`, `jwt`, `aws_access_key`,
    /// `bearer_token`, `private_key`, `secret_assignment`, `iban`, `phone`,
    /// `us_ssn`, `uk_nino`, `ipv4`); presets add theirs.
    pub kinds: Vec<ValueKind>,
    /// Your own regexes; every match is masked.
    pub value_patterns: Vec<String>,
    /// The replacement (`***`).
    pub mask_string: String,
}

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
/// there (digits, `@`, `eyJ`, `-----BEGIN`, …); only detectors whose
/// trigger was seen run their regex, so a string without any trigger costs
/// one pass and allocates nothing. Payment cards are Luhn-checked, IBANs
/// mod-97-checked.
pub struct RegexMask {
    detectors: Vec<Detector>,
    triggers: Box<[u8; 256]>,
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
        let mut detectors = Vec::with_capacity(kinds.len() + 1);
        for k in kinds {
            detectors.push(Detector::new(k).map_err(|e| Error::InvalidSetting {
                key: "redactor_config.regex_mask.kinds".to_owned(),
                value: k.as_str().to_owned(),
                expected: format!("a pattern that compiles ({e})"),
            })?);
        }
        if !c.value_patterns.is_empty() {
            let joined = c
                .value_patterns
                .iter()
                .map(|p| format!("(?:{p})"))
                .collect::<Vec<_>>()
                .join("|");
            let re = regex::Regex::new(&joined).map_err(|e| Error::InvalidSetting {
                key: "redactor_config.regex_mask.value_patterns".to_owned(),
                value: c.value_patterns.join(", "),
                expected: format!("valid regular expressions ({e})"),
            })?;
            detectors.push(Detector::custom(re));
        }
        let kinds: Vec<ValueKind> = detectors.iter().map(Detector::kind).collect();
        Ok(RegexMask {
            triggers: Box::new(trigger_table(&kinds)),
            detectors,
            mask: c.mask_string.clone(),
        })
    }

    /// The detectors in use.
    pub fn kinds(&self) -> Vec<ValueKind> {
        self.detectors.iter().map(Detector::kind).collect()
    }

    /// Masks `s`; `None` when nothing matched (no allocation).
    pub fn mask_str(&self, s: &str) -> Option<String> {
        let mut n = 0;
        self.mask_counted(s, &mut n)
    }

    fn mask_counted(&self, s: &str, n: &mut u64) -> Option<String> {
        let t = Triggers::scan_with(s, &self.triggers);
        let mut cur: Option<String> = None;
        for d in &self.detectors {
            if !d.may_match(t) {
                continue;
            }
            let src = cur.as_deref().unwrap_or(s);
            if let Some(next) = d.apply(src, &self.mask, n) {
                cur = Some(next);
            }
        }
        cur
    }
}

impl Redactor for RegexMask {
    fn name(&self) -> &str {
        "regex_mask"
    }

    fn redact(&self, event: &mut Event<'_>) -> Result<(), StageError> {
        if self.detectors.is_empty() {
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
