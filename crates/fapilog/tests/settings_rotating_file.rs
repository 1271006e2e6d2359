//! The rotating file sink from settings, under both of fapilog's spellings:
//! `FAPILOG_FILE__*` and `FAPILOG_SINK_CONFIG__ROTATING_FILE__*`.

use std::time::Duration;

use fapilog::settings::{FileSettings, Loader, Settings};
use fapilog::sinks::FsyncPolicy;
use fapilog::{Error, Pipeline};

fn files(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    names.sort();
    names
}

const KEYS: [(&str, &str); 9] = [
    ("DIRECTORY", "/var/log/app"),
    ("FILENAME_PREFIX", "api"),
    ("MODE", "text"),
    ("MAX_BYTES", "5 MB"),
    ("INTERVAL_SECONDS", "daily"),
    ("MAX_FILES", "7"),
    ("MAX_TOTAL_BYTES", "1 GB"),
    ("COMPRESS_ROTATED", "yes"),
    ("FSYNC", "every_batch"),
];

fn expected_file() -> FileSettings {
    let mut f = Settings::default().file;
    f.directory = Some("/var/log/app".into());
    f.filename_prefix = "api".into();
    f.mode = "text".into();
    f.max_bytes = 5 << 20;
    f.interval_seconds = 86_400.0;
    f.max_files = 7;
    f.max_total_bytes = 1 << 30;
    f.compress_rotated = true;
    f.fsync = FsyncPolicy::EveryBatch;
    f
}

#[test]
fn both_spellings_and_the_toml_table_set_the_same_keys() {
    for prefix in ["FAPILOG_FILE__", "FAPILOG_SINK_CONFIG__ROTATING_FILE__"] {
        let vars: Vec<(String, &str)> = KEYS
            .iter()
            .map(|(k, v)| (format!("{prefix}{k}"), *v))
            .collect();
        let s = Settings::from_env_vars(vars).expect(prefix);
        assert_eq!(s.file, expected_file(), "{prefix}");
    }
    let toml: String = KEYS
        .iter()
        .map(|(k, v)| format!("{} = \"{v}\"\n", k.to_ascii_lowercase()))
        .collect();
    for table in ["file", "sink_config.rotating_file"] {
        let s = Loader::new()
            .toml_str("app.toml", &format!("[{table}]\n{toml}"))
            .load()
            .expect(table);
        assert_eq!(s.file, expected_file(), "[{table}]");
    }
    // Both set: the long form wins.
    let s = Settings::from_env_vars([
        ("FAPILOG_FILE__MAX_FILES", "3"),
        ("FAPILOG_SINK_CONFIG__ROTATING_FILE__MAX_FILES", "4"),
    ])
    .expect("both");
    assert_eq!(s.file.max_files, 4);
}

#[test]
fn fapilog_defaults_and_value_forms() {
    let f = Settings::default().file;
    assert_eq!(f.filename_prefix, "fapilog");
    assert_eq!(f.mode, "json");
    assert_eq!(f.max_bytes, 10 * 1024 * 1024);
    assert_eq!(
        (f.interval_seconds, f.max_files, f.max_total_bytes),
        (0.0, 0, 0)
    );
    assert!(!f.compress_rotated);
    for (v, secs) in [
        ("hourly", 3600.0),
        ("weekly", 604_800.0),
        ("2w", 1_209_600.0),
        ("90m", 5400.0),
        ("0", 0.0),
    ] {
        let s = Settings::from_env_vars([("FAPILOG_FILE__INTERVAL_SECONDS", v)]).expect(v);
        assert_eq!(s.file.interval_seconds, secs, "{v}");
    }
    for (k, v) in [
        ("FAPILOG_FILE__MAX_BYTES", "lots"),
        ("FAPILOG_FILE__INTERVAL_SECONDS", "fortnightly"),
        ("FAPILOG_SINK_CONFIG__ROTATING_FILE__MAX_FILES", "-1"),
        (
            "FAPILOG_SINK_CONFIG__ROTATING_FILE__COMPRESS_ROTATED",
            "maybe",
        ),
        ("FAPILOG_FILE__FSYNC", "sometimes"),
        ("FAPILOG_SINK_CONFIG__ROTATING_FILE__FILENAME_PREFIX", "a/b"),
    ] {
        let e = Settings::from_env_vars([(k, v)]).expect_err(k);
        assert!(matches!(e, Error::InvalidSetting { .. }), "{k}: {e:?}");
        let msg = e.to_string();
        assert!(msg.contains(k) && msg.contains(&format!("{v:?}")), "{msg}");
    }
    // An unknown name under the long form is a warning, and an error when strict.
    assert!(Settings::from_env_vars([("FAPILOG_SINK_CONFIG__ROTATING_FILE__NOPE", "1")]).is_ok());
    let e = fapilog::settings::Loader::new()
        .env_vars([("FAPILOG_SINK_CONFIG__ROTATING_FILE__NOPE", "1")])
        .strict(true)
        .load()
        .expect_err("unknown");
    assert!(matches!(e, Error::UnknownSetting { .. }), "{e:?}");
}

#[test]
fn core_sinks_names_rotating_file_as_fapilog_does() {
    for name in [
        "rotating_file",
        "rotating-file",
        "[\"rotating_file\"]",
        "file",
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().display().to_string();
        let s = Settings::from_env_vars([
            ("FAPILOG_CORE__SINKS", name),
            ("FAPILOG_SINK_CONFIG__ROTATING_FILE__DIRECTORY", d.as_str()),
            ("FAPILOG_SINK_CONFIG__ROTATING_FILE__FILENAME_PREFIX", "svc"),
        ])
        .expect(name);
        let p = Pipeline::builder().settings(s).build().expect("build");
        fapilog::info!(p.logger("x"), "via core.sinks");
        p.shutdown(Duration::from_secs(5));
        let names = files(dir.path());
        assert_eq!(names.len(), 1, "{name}: {names:?}");
        assert!(
            names[0].starts_with("svc-") && names[0].ends_with(".jsonl"),
            "{names:?}"
        );
    }
    let e = Settings::from_env_vars([("FAPILOG_CORE__SINKS", "rotating_file")])
        .expect_err("no directory");
    assert!(
        e.to_string()
            .contains("FAPILOG_SINK_CONFIG__ROTATING_FILE__DIRECTORY"),
        "{e}"
    );
}

#[test]
fn size_rotation_and_retention_from_settings_take_effect() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().display().to_string();
    let s = Settings::from_env_vars([
        ("FAPILOG_FILE__DIRECTORY", d.as_str()),
        ("FAPILOG_FILE__MAX_BYTES", "2 KB"),
        ("FAPILOG_FILE__MAX_FILES", "2"),
        ("FAPILOG_FILE__COMPRESS_ROTATED", "true"),
    ])
    .expect("env");
    let sink = s
        .file
        .sink_builder()
        .expect("directory")
        .build()
        .expect("sink");
    let housekeeping = sink.housekeeping();
    let p = Pipeline::builder().sink(sink).build().expect("build");
    let log = p.logger("x");
    for i in 0..200 {
        fapilog::info!(log, "filler line", i = i);
    }
    p.shutdown(Duration::from_secs(5));
    assert!(housekeeping.wait_idle(Duration::from_secs(20)));
    let names = files(dir.path());
    assert_eq!(
        names.len(),
        3,
        "two rotated files and the active one: {names:?}"
    );
    assert_eq!(
        names.iter().filter(|n| n.ends_with(".jsonl.gz")).count(),
        2,
        "{names:?}"
    );
    for n in names.iter().filter(|n| n.ends_with(".jsonl")) {
        assert!(std::fs::metadata(dir.path().join(n)).expect("meta").len() <= 2048);
    }
}
