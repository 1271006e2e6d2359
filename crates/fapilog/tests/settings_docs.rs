//! `docs/settings.md` is generated from the key registry: this test fails
//! when the file is stale or a key lacks documentation.
//! Regenerate with `FAPILOG_WRITE_DOCS=1 cargo test -p fapilog --test settings_docs`.

use std::path::PathBuf;

use fapilog::settings::{keys, markdown_table};

fn doc_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/settings.md")
}

#[test]
fn every_key_is_documented() {
    for k in keys::all() {
        assert!(!k.doc.trim().is_empty(), "{} has no documentation", k.path);
        assert!(!k.ty.trim().is_empty(), "{} has no type", k.path);
    }
}

#[test]
fn docs_file_is_current() {
    let want = markdown_table();
    if std::env::var_os("FAPILOG_WRITE_DOCS").is_some() {
        std::fs::write(doc_path(), &want).expect("write docs/settings.md");
    }
    let have = std::fs::read_to_string(doc_path()).unwrap_or_default();
    assert!(
        have == want,
        "docs/settings.md is stale: run FAPILOG_WRITE_DOCS=1 cargo test -p fapilog --test settings_docs"
    );
}

/// Every variable in the table is accepted by the parser (or rejected as
/// unavailable, for the rows that say so), and every accepted variable is
/// in the table.
#[test]
fn env_names_match_the_documented_table() {
    let doc = std::fs::read_to_string(doc_path()).expect("docs/settings.md");
    let mut documented = Vec::new();
    for line in doc.lines().filter(|l| l.starts_with("| `FAPILOG_")) {
        let name = line[3..].split('`').next().unwrap_or_default().to_owned();
        documented.push(name);
    }
    for k in keys::all() {
        assert!(
            documented.contains(&k.env_name()),
            "{} is not in docs/settings.md",
            k.env_name()
        );
    }
    for name in &documented {
        if name == "FAPILOG_CONFIG" || name == "FAPILOG_STRICT" {
            continue;
        }
        let key = keys::lookup_env(&name.replace('*', "X"))
            .unwrap_or_else(|| panic!("{name} is documented but not parsed"));
        if key.unavailable.is_some() || key.path == "preset" {
            continue;
        }
        // Each documented variable parses with its own default when it has one.
        if !key.default.is_empty() {
            let s = fapilog::Settings::from_env_vars([(name.as_str(), key.default)])
                .unwrap_or_else(|e| panic!("{name}={}: {e}", key.default));
            assert_eq!(
                s.get(key.path).as_deref(),
                fapilog::Settings::default().get(key.path).as_deref(),
                "{name}: documented default differs from the real one"
            );
        }
    }
}
