//! Built-in redactors: keep secrets out before any sink sees the event.
//!
//! | name | type | what it does |
//! |---|---|---|
//! | `field_mask` | [`FieldMask`] | masks values of fields by name or path, case-insensitively, at any depth |
//! | `regex_mask` | [`RegexMask`] | masks secrets inside string values and the message (cards, e-mails, JWTs, keys, …) |
//! | `url_credentials` | [`UrlCredentials`] | strips `user:password@` and secret query parameters from URLs anywhere |
//! | `field_blocker` | [`FieldBlocker`] | removes high-risk fields (bodies, raw dumps) |
//! | `string_truncate` | [`StringTruncate`] | caps string length with a marker |
//!
//! [Presets](presets) bundle field names and value detectors by regulation
//! and compose: see [`redaction_for`].
//!
//! Redactors allocate only where they change a value (`Text::Owned`);
//! strings with nothing to hide are read once and left borrowed. Each
//! masked value counts in [`crate::stages::StageCounters::redacted_fields`];
//! no diagnostic ever contains a value.
//!
//! ```
//! use std::time::Duration;
//! use fapilog::stages::redactors::presets;
//! use fapilog::testing::CaptureSink;
//!
//! let (sink, captured) = CaptureSink::new();
//! let pipeline = fapilog::Pipeline::builder()
//!     .redaction_preset(&presets::CREDENTIALS)
//!     .sink(sink)
//!     .build()?;
//! fapilog::info!(pipeline.logger("app"), "login with token=abc123", password = "hunter2");
//! pipeline.flush(Duration::from_secs(5))?;
//! let log = &captured.envelopes()[0]["log"];
//! assert_eq!(log["data"]["password"], "***");
//! assert_eq!(log["message"], "login with token=***");
//! # Ok::<(), fapilog::Error>(())
//! ```

mod blocker;
mod field_mask;
mod keys;
mod patterns;
pub mod presets;
mod regex_mask;
mod scan;
mod url_credentials;
mod user_regex;
pub(crate) mod walk;
pub use walk::TOO_DEEP;

pub use blocker::{
    BlockAction, FieldBlocker, FieldBlockerConfig, StringTruncate, StringTruncateConfig,
    DEFAULT_BLOCKED_FIELDS,
};
pub use field_mask::{FieldMask, FieldMaskConfig, Guardrail};
pub use patterns::ValueKind;
pub use presets::{RedactionPreset, ResolvedPresets};
pub use regex_mask::{RegexMask, RegexMaskConfig};
pub use scan::is_credential_key;
pub use url_credentials::{UrlCredentials, UrlCredentialsConfig, DEFAULT_SECRET_PARAMS};

pub(crate) use blocker::cut;

use crate::error::Error;

/// The field mask and regex mask for a set of presets, on top of the given
/// settings (their own fields, patterns and kinds are kept).
pub fn redaction_for(
    presets: &[&'static RedactionPreset],
    field_mask: &FieldMaskConfig,
    regex_mask: &RegexMaskConfig,
) -> Result<(FieldMask, RegexMask), Error> {
    let r = presets::resolve_presets(presets);
    let mut fm = field_mask.clone();
    for f in &r.fields {
        if !fm.fields_to_mask.iter().any(|x| x == f) {
            fm.fields_to_mask.push((*f).to_owned());
        }
    }
    let mut rm = regex_mask.clone();
    for k in &r.value_kinds {
        if !rm.kinds.contains(k) {
            rm.kinds.push(*k);
        }
    }
    Ok((
        FieldMask::with_rules(&fm, &r.fragments, &r.suffixes)?,
        RegexMask::from_config(&rm)?,
    ))
}
