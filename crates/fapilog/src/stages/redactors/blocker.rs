//! The field blocker (removes high-risk fields) and the string truncator.

use std::sync::Arc;

use crate::config_serde::{settings_enum_serde, settings_serde};

use super::keys::{normalize, with_seen, KeyMatcher, KeyRules, Seen};
use super::walk::{self, Path, MAX_WALK_DEPTH};
use crate::envelope::Event;
use crate::error::Error;
use crate::stages::runtime::{self, Counter};
use crate::stages::{Redactor, StageError};
use crate::value::{Map, Text, Value};

/// Fields blocked by default: bodies and raw dumps, which hold whatever was sent.
pub const DEFAULT_BLOCKED_FIELDS: [&str; 9] = [
    "body",
    "request_body",
    "response_body",
    "payload",
    "raw",
    "dump",
    "raw_body",
    "raw_request",
    "raw_response",
];

/// What the field blocker does to a blocked field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum BlockAction {
    /// Remove the field (the default).
    #[default]
    Remove,
    /// Keep the key, replace the value with `replacement` (fapilog's behaviour).
    Replace,
}

settings_enum_serde!(BlockAction { Remove = "remove", Replace = "replace" });

/// Settings of the `field_blocker` redactor (`redactor_config.field_blocker`).
///
/// Unlike fapilog (whose settings group defaults to an empty list, so the
/// blocker configured by name blocks nothing), the default list applies.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct FieldBlockerConfig {
    /// Names or paths blocked, as for the field mask ([`DEFAULT_BLOCKED_FIELDS`]).
    pub blocked_fields: Vec<String>,
    /// Names never blocked, even when listed above.
    pub allowed_fields: Vec<String>,
    /// Remove or replace (`remove`).
    pub action: BlockAction,
    /// The replacement with `action = replace` (`[REDACTED:HIGH_RISK_FIELD]`).
    pub replacement: String,
}

settings_serde!(FieldBlockerConfig {
    blocked_fields,
    allowed_fields,
    action,
    replacement
});

impl Default for FieldBlockerConfig {
    fn default() -> Self {
        FieldBlockerConfig {
            blocked_fields: DEFAULT_BLOCKED_FIELDS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            allowed_fields: Vec::new(),
            action: BlockAction::Remove,
            replacement: "[REDACTED:HIGH_RISK_FIELD]".to_owned(),
        }
    }
}

/// Removes (or replaces) blocked fields anywhere in the event.
pub struct FieldBlocker {
    matcher: KeyMatcher,
    allowed: Vec<String>,
    action: BlockAction,
    replacement: Arc<str>,
}

impl Default for FieldBlocker {
    fn default() -> Self {
        FieldBlocker {
            matcher: KeyMatcher::new(&KeyRules {
                fields: DEFAULT_BLOCKED_FIELDS.to_vec(),
                ..KeyRules::default()
            })
            .unwrap_or_default(),
            allowed: Vec::new(),
            action: BlockAction::Remove,
            replacement: Arc::from("[REDACTED:HIGH_RISK_FIELD]"),
        }
    }
}

impl FieldBlocker {
    /// From its settings.
    pub fn from_config(c: &FieldBlockerConfig) -> Result<FieldBlocker, Error> {
        Ok(FieldBlocker {
            matcher: KeyMatcher::new(&KeyRules {
                fields: c.blocked_fields.iter().map(String::as_str).collect(),
                key: "redactor_config.field_blocker.blocked_fields",
                ..KeyRules::default()
            })?,
            allowed: c.allowed_fields.iter().map(|s| normalize(s)).collect(),
            action: c.action,
            replacement: Arc::from(c.replacement.as_str()),
        })
    }

    fn walk(&self, m: &mut Map<'_>, path: &Path<'_>, scratch: &mut String, seen: &mut Seen) -> u64 {
        let mut n = 0;
        m.retain(|k, v| {
            let p = path.child(k);
            if self.matcher.matches(&p, scratch, seen) && !self.allowed.contains(&normalize(k)) {
                n += 1;
                return match self.action {
                    BlockAction::Remove => false,
                    BlockAction::Replace => {
                        *v = Value::Str(Text::Shared(Arc::clone(&self.replacement)));
                        true
                    }
                };
            }
            if p.depth < MAX_WALK_DEPTH {
                n += self.walk_value(v, &p, scratch, seen);
            }
            true
        });
        n
    }

    fn walk_value(
        &self,
        v: &mut Value<'_>,
        p: &Path<'_>,
        scratch: &mut String,
        seen: &mut Seen,
    ) -> u64 {
        match v {
            Value::Map(m) => self.walk(m, p, scratch, seen),
            Value::Array(a) => a
                .iter_mut()
                .map(|x| self.walk_value(x, p, scratch, seen))
                .sum(),
            _ => 0,
        }
    }
}

impl Redactor for FieldBlocker {
    fn name(&self) -> &str {
        "field_blocker"
    }

    /// It never looks at string values (see [`FieldMask`](super::FieldMask)).
    fn leaves_unchanged(&self, _text: &str) -> bool {
        self.matcher.by_key_only()
    }

    fn leaves_key(&self, key: &str) -> bool {
        !self.matcher.key_hit(key) || self.allowed.contains(&normalize(key))
    }

    fn redact(&self, event: &mut Event<'_>) -> Result<(), StageError> {
        let n = with_seen(|seen| {
            let mut scratch = String::new();
            let mut n = self.walk(
                &mut event.context,
                &Path::root("context"),
                &mut scratch,
                seen,
            );
            n += self.walk(
                &mut event.diagnostics,
                &Path::root("diagnostics"),
                &mut scratch,
                seen,
            );
            n + self.walk(&mut event.data, &Path::root("data"), &mut scratch, seen)
        });
        runtime::count(Counter::RedactedFields, n);
        Ok(())
    }
}

/// Settings of the `string_truncate` redactor (`redactor_config.string_truncate`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct StringTruncateConfig {
    /// Longest string kept, in bytes (unset: off, as in fapilog).
    pub max_string_length: Option<usize>,
    /// Appended to a cut string (`[truncated]`).
    pub marker: String,
}

settings_serde!(StringTruncateConfig {
    max_string_length,
    marker
});

impl Default for StringTruncateConfig {
    fn default() -> Self {
        StringTruncateConfig {
            max_string_length: None,
            marker: "[truncated]".to_owned(),
        }
    }
}

/// Cuts every string (message included) longer than the limit, at a
/// character boundary, and appends the marker.
pub struct StringTruncate {
    max: usize,
    marker: String,
}

impl StringTruncate {
    /// Cuts strings longer than `max` bytes.
    pub fn new(max: usize) -> StringTruncate {
        StringTruncate {
            max,
            marker: "[truncated]".to_owned(),
        }
    }

    /// From its settings.
    pub fn from_config(c: &StringTruncateConfig) -> StringTruncate {
        StringTruncate {
            max: c.max_string_length.unwrap_or(usize::MAX),
            marker: c.marker.clone(),
        }
    }
}

/// `s` cut to at most `max` bytes at a character boundary.
pub(crate) fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl Redactor for StringTruncate {
    fn name(&self) -> &str {
        "string_truncate"
    }

    fn redact(&self, event: &mut Event<'_>) -> Result<(), StageError> {
        if self.max == usize::MAX {
            return Ok(());
        }
        let n = walk::each_string(event, &mut |t: &mut Text<'_>| {
            if t.len() <= self.max {
                return 0;
            }
            let mut s = String::with_capacity(self.max + self.marker.len());
            s.push_str(cut(t, self.max));
            s.push_str(&self.marker);
            *t = Text::Owned(s);
            1
        });
        runtime::count(Counter::RedactedFields, n);
        Ok(())
    }
}
