//! The field mask: masks the values of fields whose name matches, anywhere
//! in the event.

use std::sync::Arc;

use crate::config_serde::{settings_enum_serde, settings_serde};

use super::keys::{with_seen, KeyMatcher, KeyRules, Seen};
use super::walk::Path;
use crate::diagnostics;
use crate::envelope::Event;
use crate::error::Error;
use crate::stages::runtime::{self, Counter};
use crate::stages::{Redactor, StageError};
use crate::value::{Map, Text, Value};

/// What a redactor does where it would have to scan past its limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Guardrail {
    /// Mask the part it could not scan (the default: closed).
    #[default]
    ReplaceSubtree,
    /// Leave that part as it is and report once on stderr.
    Warn,
    /// Fail, so the event goes to the pipeline's redaction fail mode
    /// (withheld when closed).
    Drop,
}

settings_enum_serde!(Guardrail { ReplaceSubtree = "replace_subtree", Warn = "warn", Drop = "drop" });

/// Settings of the `field_mask` redactor (`redactor_config.field_mask`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct FieldMaskConfig {
    /// Names or paths whose values are masked, case-insensitively (`-` =
    /// `_`): a bare name (`password`) matches at any depth of `data`,
    /// `context` and `diagnostics`, in maps inside arrays too; a dotted path
    /// matches the end of a key path (`headers.authorization`), `*` is any
    /// one key (`*.token`), `[*]`/`[n]` are ignored (array elements are
    /// transparent), and a path starting with `data.`, `context.` or
    /// `diagnostics.` is anchored at the envelope root (fapilog's form).
    pub fields_to_mask: Vec<String>,
    /// Regexes matched against the whole dotted path (`data.user.password`),
    /// fapilog's `regex_mask.patterns` semantics.
    pub patterns: Vec<String>,
    /// The replacement (`***`).
    pub mask_string: String,
    /// Deepest nesting scanned (16).
    pub max_depth: usize,
    /// Most keys scanned per event (1000).
    pub max_keys_scanned: usize,
    /// Past those limits (`replace_subtree`).
    pub on_guardrail_exceeded: Guardrail,
}

settings_serde!(FieldMaskConfig {
    fields_to_mask,
    patterns,
    mask_string,
    max_depth,
    max_keys_scanned,
    on_guardrail_exceeded
});

impl Default for FieldMaskConfig {
    fn default() -> Self {
        FieldMaskConfig {
            fields_to_mask: Vec::new(),
            patterns: Vec::new(),
            mask_string: "***".to_owned(),
            max_depth: 16,
            max_keys_scanned: 1000,
            on_guardrail_exceeded: Guardrail::ReplaceSubtree,
        }
    }
}

/// Masks the values of matching fields (whole values: a matching map or
/// array is replaced by the mask). `null` values are left alone; a value
/// already equal to the mask is not counted again.
pub struct FieldMask {
    matcher: KeyMatcher,
    mask: Arc<str>,
    max_depth: usize,
    max_keys: usize,
    guardrail: Guardrail,
}

struct Walk<'s> {
    scanned: usize,
    masked: u64,
    scratch: String,
    seen: &'s mut Seen,
}

impl FieldMask {
    /// From its settings.
    pub fn from_config(c: &FieldMaskConfig) -> Result<FieldMask, Error> {
        FieldMask::with_rules(c, &[], &[])
    }

    /// From its settings plus name fragments and suffixes (what presets add).
    pub(crate) fn with_rules(
        c: &FieldMaskConfig,
        fragments: &[&str],
        suffixes: &[&str],
    ) -> Result<FieldMask, Error> {
        let matcher = KeyMatcher::new(&KeyRules {
            fields: c.fields_to_mask.iter().map(String::as_str).collect(),
            fragments: fragments.to_vec(),
            suffixes: suffixes.to_vec(),
            path_patterns: c.patterns.iter().map(String::as_str).collect(),
            key: "redactor_config.field_mask.fields_to_mask",
        })?;
        Ok(FieldMask {
            matcher,
            mask: Arc::from(c.mask_string.as_str()),
            max_depth: c.max_depth.max(1),
            max_keys: c.max_keys_scanned.max(1),
            guardrail: c.on_guardrail_exceeded,
        })
    }

    /// Masks `fields` (names or paths) with `***`.
    pub fn new<S: AsRef<str>>(fields: &[S]) -> Result<FieldMask, Error> {
        FieldMask::from_config(&FieldMaskConfig {
            fields_to_mask: fields.iter().map(|s| s.as_ref().to_owned()).collect(),
            ..FieldMaskConfig::default()
        })
    }

    fn mask_value(&self) -> Value<'static> {
        Value::Str(Text::Shared(Arc::clone(&self.mask)))
    }

    fn is_mask(&self, v: &Value<'_>) -> bool {
        matches!(v, Value::Str(t) if t.as_str() == &*self.mask)
    }

    fn exceeded(&self, v: &mut Value<'_>, w: &mut Walk<'_>, what: &str) -> Result<(), StageError> {
        match self.guardrail {
            Guardrail::ReplaceSubtree => {
                if !v.is_null() && !self.is_mask(v) {
                    *v = self.mask_value();
                    w.masked += 1;
                }
                Ok(())
            }
            Guardrail::Warn => {
                diagnostics::warn(
                    "redactor",
                    "field_mask left part of an event unscanned",
                    &[("limit", what)],
                );
                Ok(())
            }
            Guardrail::Drop => Err(StageError::new(format!(
                "field_mask: {what} exceeded; event dropped"
            ))),
        }
    }

    fn walk_map(
        &self,
        m: &mut Map<'_>,
        path: &Path<'_>,
        w: &mut Walk<'_>,
    ) -> Result<(), StageError> {
        for (k, v) in m.iter_mut() {
            w.scanned += 1;
            if w.scanned > self.max_keys {
                self.exceeded(v, w, "max_keys_scanned")?;
                continue;
            }
            let p = path.child(k);
            if self.matcher.matches(&p, &mut w.scratch, w.seen) {
                if !v.is_null() && !self.is_mask(v) {
                    *v = self.mask_value();
                    w.masked += 1;
                }
                continue;
            }
            self.walk_value(v, &p, w)?;
        }
        Ok(())
    }

    fn walk_value(
        &self,
        v: &mut Value<'_>,
        p: &Path<'_>,
        w: &mut Walk<'_>,
    ) -> Result<(), StageError> {
        match v {
            Value::Map(_) | Value::Array(_) if p.depth >= self.max_depth => {
                self.exceeded(v, w, "max_depth")
            }
            Value::Map(m) => self.walk_map(m, p, w),
            Value::Array(a) => {
                for x in a.iter_mut() {
                    self.walk_value(x, p, w)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

impl Redactor for FieldMask {
    fn name(&self) -> &str {
        "field_mask"
    }

    /// It never looks at string values: a promise whenever its rules are
    /// names, fragments or suffixes (paths and regexes need the event) and
    /// its key limit is beyond what a direct record carries.
    fn leaves_unchanged(&self, _text: &str) -> bool {
        self.matcher.by_key_only() && self.max_keys >= 256
    }

    fn leaves_key(&self, key: &str) -> bool {
        !self.matcher.key_hit(key)
    }

    fn redact(&self, event: &mut Event<'_>) -> Result<(), StageError> {
        if self.matcher.is_empty() {
            return Ok(());
        }
        let (masked, result) = with_seen(|seen| {
            let mut w = Walk {
                scanned: 0,
                masked: 0,
                scratch: String::new(),
                seen,
            };
            let result = (|| {
                self.walk_map(&mut event.context, &Path::root("context"), &mut w)?;
                self.walk_map(&mut event.diagnostics, &Path::root("diagnostics"), &mut w)?;
                self.walk_map(&mut event.data, &Path::root("data"), &mut w)
            })();
            (w.masked, result)
        });
        runtime::count(Counter::RedactedFields, masked);
        result
    }
}
