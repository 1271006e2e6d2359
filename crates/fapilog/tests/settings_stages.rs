//! Stage settings from the environment and files reach the pipeline, and
//! the run-time handle changes levels without a restart.
#![cfg(feature = "config-file")]

use std::time::Duration;

use fapilog::settings::{Loader, Preset, Reloader};
use fapilog::testing::CaptureSink;
use fapilog::{Level, Pipeline, Settings};

const T: Duration = Duration::from_secs(5);

#[test]
fn stage_lists_and_groups_map_from_env_and_file() {
    let s = Settings::from_env_vars([
        ("FAPILOG_CORE__FILTERS", r#"["level","sampling"]"#),
        ("FAPILOG_CORE__ENRICHERS", "runtime_info"),
        ("FAPILOG_CORE__REDACTORS", "field_mask,url_credentials"),
        ("FAPILOG_CORE__PROCESSORS", "size_guard"),
        ("FAPILOG_FILTER_CONFIG__SAMPLING__SAMPLE_RATE", "0.1"),
        ("FAPILOG_FILTER_CONFIG__LEVEL__OVERRIDES", "app.db=debug"),
        ("FAPILOG_REDACTOR_CONFIG__PRESETS", r#"["CREDENTIALS"]"#),
        ("FAPILOG_PROCESSOR_CONFIG__SIZE_GUARD__MAX_BYTES", "4096"),
    ])
    .expect("env");
    assert_eq!(s.stages.filters, vec!["level", "sampling"]);
    assert_eq!(s.stages.enrichers, vec!["runtime_info"]);
    assert_eq!(s.stages.redactors, vec!["field_mask", "url_credentials"]);
    assert_eq!(s.stages.processors, vec!["size_guard"]);
    assert_eq!(s.stages.filter_config.sampling.sample_rate, 0.1);
    assert_eq!(
        s.stages.filter_config.level.overrides.0.get("app.db"),
        Some(&Level::DEBUG)
    );
    assert_eq!(s.stages.redactor_config.presets, vec!["CREDENTIALS"]);
    assert_eq!(s.stages.processor_config.size_guard.max_bytes, 4096);

    let f = Loader::new()
        .toml_str(
            "s.toml",
            "[core]\nfilters = [\"level\", \"sampling\"]\nenrichers = [\"runtime_info\"]\n\
             redactors = [\"field_mask\", \"url_credentials\"]\nprocessors = [\"size_guard\"]\n\
             [filter_config.sampling]\nsample_rate = 0.1\n\
             [filter_config.level]\noverrides = \"app.db=debug\"\n\
             [redactor_config]\npresets = [\"CREDENTIALS\"]\n\
             [processor_config.size_guard]\nmax_bytes = 4096\n",
        )
        .load()
        .expect("file");
    assert_eq!(f, s, "file and environment agree");
}

#[test]
fn stage_errors_name_the_key() {
    let e = Settings::from_env_vars([("FAPILOG_FILTER_CONFIG__SAMPLING__SAMPLE_RATIO", "0.1")])
        .expect_err("unknown option");
    let msg = e.to_string();
    assert!(
        msg.contains("FAPILOG_FILTER_CONFIG__SAMPLING__SAMPLE_RATIO"),
        "{msg}"
    );
    assert!(msg.contains("sample_rate"), "names what is allowed: {msg}");
    let e = Settings::from_env_vars([("FAPILOG_FILTER_CONFIG__SAMPLING__SAMPLE_RATE", "often")])
        .expect_err("bad type");
    assert!(e.to_string().contains("\"often\""), "{e}");
    let e = Settings::from_env_vars([("FAPILOG_CORE__FILTERS", "nope")]).expect_err("bad name");
    assert!(e.to_string().contains("core.filters"), "{e}");
    let e = Settings::from_env_vars([("FAPILOG_REDACTOR_CONFIG__PRESETS", "NOT_A_PRESET")])
        .expect_err("bad preset");
    assert!(e.to_string().contains("NOT_A_PRESET"), "{e}");
    let e = Loader::new()
        .toml_str("s.toml", "[filter_config.sampling]\nsample_rate = \"x\"\n")
        .load()
        .expect_err("file");
    assert!(e.to_string().starts_with("s.toml:2: "), "{e}");
}

#[test]
fn stage_settings_take_effect_in_the_pipeline() {
    // The production preset's CREDENTIALS redaction masks a password.
    let (sink, captured) = CaptureSink::new();
    let p = Pipeline::builder()
        .preset(Preset::Production)
        .sink(sink)
        .build()
        .expect("build");
    fapilog::info!(p.logger("app"), "login", password = "hunter2", user = "bob");
    p.flush(T).expect("flush");
    let line = &captured.lines()[0];
    assert!(!line.contains("hunter2"), "{line}");
    assert!(line.contains("bob"), "{line}");

    // Minimal has no redactors: the same field goes through.
    let (sink, captured) = CaptureSink::new();
    let p = Pipeline::builder()
        .preset(Preset::Minimal)
        .sink(sink)
        .build()
        .expect("build");
    fapilog::info!(p.logger("app"), "login", password = "hunter2");
    p.flush(T).expect("flush");
    assert!(captured.lines()[0].contains("hunter2"));

    // A level filter with a per-logger override, from settings.
    let s = Settings::from_env_vars([
        ("FAPILOG_CORE__FILTERS", "level"),
        ("FAPILOG_FILTER_CONFIG__LEVEL__MIN_LEVEL", "WARNING"),
        ("FAPILOG_FILTER_CONFIG__LEVEL__OVERRIDES", "app.db=debug"),
    ])
    .expect("env");
    let (sink, captured) = CaptureSink::new();
    let p = Pipeline::builder()
        .settings(s)
        .sink(sink)
        .build()
        .expect("build");
    fapilog::debug!(p.logger("app.db"), "query");
    fapilog::info!(p.logger("app"), "hidden");
    fapilog::warning!(p.logger("app"), "shown");
    p.flush(T).expect("flush");
    assert_eq!(captured.messages(), ["query", "shown"]);
}

#[test]
fn reloader_changes_levels_without_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("fapilog.toml");
    std::fs::write(&path, "[core]\nlog_level = \"WARNING\"\n").expect("write");
    let settings = Loader::new()
        .file(&path)
        .env_vars(Vec::<(String, String)>::new())
        .load()
        .expect("load");
    let (sink, captured) = CaptureSink::new();
    let p = Pipeline::builder()
        .settings(settings.clone())
        .sink(sink)
        .build()
        .expect("build");
    let file = path.clone();
    let mut handle = Reloader::new(&p, settings)
        .with_file(&path)
        .with_loader(move || {
            Loader::new()
                .file(&file)
                .env_vars(Vec::<(String, String)>::new())
        });
    let log = p.logger("app");
    fapilog::info!(log, "before: hidden");
    handle.set_level(Level::INFO);
    fapilog::info!(log, "after set_level");

    // Unchanged file: nothing to do.
    assert_eq!(handle.reload_if_changed().expect("reload"), None);
    std::fs::write(&path, "[core]\nlog_level = \"ERROR\"\nworker_count = 3\n").expect("write");
    let report = handle.reload().expect("reload");
    assert_eq!(report.applied, vec![("core.log_level", "ERROR".to_owned())]);
    assert_eq!(report.needs_restart, vec!["core.worker_count"]);
    fapilog::warning!(log, "after reload: hidden");
    fapilog::error!(log, "after reload: shown");

    // A changed file is seen by its modification time.
    assert_eq!(handle.reload_if_changed().expect("unchanged"), None);
    std::fs::write(&path, "[core]\nlog_level = \"CRITICAL\"\n").expect("write");
    let f = std::fs::File::options()
        .write(true)
        .open(&path)
        .expect("open");
    f.set_modified(std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000))
        .expect("set mtime");
    drop(f);
    let report = handle
        .reload_if_changed()
        .expect("reload")
        .expect("changed");
    assert_eq!(
        report.applied,
        vec![("core.log_level", "CRITICAL".to_owned())]
    );
    handle.set_level(Level::ERROR);

    // A bad file changes nothing.
    std::fs::write(&path, "[core]\nlog_level = \"LOUD\"\n").expect("write");
    assert!(handle.reload().is_err());
    assert_eq!(handle.level(), Level::ERROR);

    // Per-logger levels need a level filter.
    assert!(handle.set_logger_level("app.db", Level::DEBUG).is_err());
    p.flush(T).expect("flush");
    assert_eq!(
        captured.messages(),
        ["after set_level", "after reload: shown"]
    );
}

#[test]
fn reloader_sets_per_logger_levels() {
    let (sink, captured) = CaptureSink::new();
    let settings = Settings::from_env_vars([("FAPILOG_CORE__FILTERS", "level")]).expect("env");
    let p = Pipeline::builder()
        .settings(settings.clone())
        .sink(sink)
        .build()
        .expect("build");
    let mut handle = Reloader::new(&p, settings.clone());
    handle
        .set_logger_level("app.db", Level::DEBUG)
        .expect("override");
    fapilog::debug!(p.logger("app.db.pool"), "shown");
    fapilog::debug!(p.logger("app"), "hidden");
    // The filter decides on the worker: let it see these before the change.
    p.flush(T).expect("flush");
    // The same through a reload of `filter_config.level`.
    let next = Settings::from_env_vars([
        ("FAPILOG_CORE__FILTERS", "level"),
        ("FAPILOG_FILTER_CONFIG__LEVEL__OVERRIDES", "app=debug"),
    ])
    .expect("env");
    let report = handle.apply(next);
    assert_eq!(report.applied.len(), 1, "{report:?}");
    assert_eq!(report.applied[0].0, "filter_config.level");
    assert!(report.needs_restart.is_empty(), "{report:?}");
    fapilog::debug!(p.logger("app"), "shown too");
    // Sampling rates are not live: reported as needing a restart.
    let next = Settings::from_env_vars([
        ("FAPILOG_CORE__FILTERS", "level"),
        ("FAPILOG_FILTER_CONFIG__LEVEL__OVERRIDES", "app=debug"),
        ("FAPILOG_FILTER_CONFIG__SAMPLING__SAMPLE_RATE", "0.5"),
    ])
    .expect("env");
    assert_eq!(handle.apply(next).needs_restart, vec!["filter_config.*"]);
    p.flush(T).expect("flush");
    assert_eq!(captured.messages(), ["shown", "shown too"]);
}

#[test]
fn watch_reloads_the_file_when_it_changes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("fapilog.toml");
    std::fs::write(&path, "[core]\nlog_level = \"WARNING\"\n").expect("write");
    let no_env = Vec::<(String, String)>::new;
    let settings = Loader::new()
        .file(&path)
        .env_vars(no_env())
        .load()
        .expect("load");
    let (sink, _captured) = CaptureSink::new();
    let p = Pipeline::builder()
        .settings(settings.clone())
        .sink(sink)
        .build()
        .expect("build");
    let log = p.logger("app");
    assert!(!log.enabled(Level::INFO));
    let file = path.clone();
    let guard = Reloader::new(&p, settings)
        .with_file(&path)
        .with_loader(move || Loader::new().file(&file).env_vars(no_env()))
        .watch(Duration::from_millis(5))
        .expect("watch");
    std::fs::write(&path, "[core]\nlog_level = \"DEBUG\"\n").expect("write");
    let f = std::fs::File::options()
        .write(true)
        .open(&path)
        .expect("open");
    f.set_modified(std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000))
        .expect("set mtime");
    drop(f);
    // Wait for the condition, with a deadline.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !log.enabled(Level::DEBUG) && std::time::Instant::now() < deadline {
        std::thread::yield_now();
    }
    assert!(
        log.enabled(Level::DEBUG),
        "the watcher did not apply the new level"
    );
    drop(guard);
}
