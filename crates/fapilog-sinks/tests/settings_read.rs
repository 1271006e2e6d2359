//! Every fapilog setting the key registry says this crate reads
//! (`Effect::SinkNotBuilt`, which `fapilog check` reports as "read by the
//! fapilog-sinks crate") is read by that sink's settings code: a setting
//! that would have no effect must be registered as such instead.
//!
//! The check is on the source text: each key's name must appear quoted in
//! the sink's module, or be one of the shared delivery settings of
//! `src/config.rs` that the sink's module asks for.

use std::path::{Path, PathBuf};

use fapilog::settings::keys::{self, Effect};

fn sources(dir: &Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// The settings `src/config.rs` reads for a sink that calls `helper`.
const SHARED: [(&str, &[&str]); 2] = [
    (
        "delivery_options(",
        &[
            "max_retries",
            "retry_base_delay",
            "circuit_breaker_enabled",
            "circuit_breaker_threshold",
        ],
    ),
    (
        "http_delivery_options(",
        &["retry_max_attempts", "retry_backoff_seconds"],
    ),
];

#[test]
fn every_setting_registered_as_read_by_a_sink_is_read_by_it() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut unread = Vec::new();
    let mut checked = 0;
    for key in keys::all() {
        let Effect::SinkNotBuilt(sink) = key.effect else {
            continue;
        };
        if key.alias.is_some() || key.is_group() {
            continue;
        }
        let mut text = String::new();
        sources(&src.join(sink), &mut text);
        let name = key.path.rsplit('.').next().unwrap();
        let quoted = format!("\"{name}\"");
        let shared = SHARED
            .iter()
            .any(|(helper, names)| text.contains(helper) && names.contains(&name));
        if !text.contains(&quoted) && !shared {
            unread.push(key.path);
        }
        checked += 1;
    }
    assert!(checked > 50, "only {checked} keys checked");
    assert!(
        unread.is_empty(),
        "registered as read by fapilog-sinks, but no sink reads them: {unread:?}"
    );
}
