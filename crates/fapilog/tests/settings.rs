//! Settings from every source: precedence, validation errors, secrets.
#![cfg(feature = "config-file")]

use std::time::Duration;

use fapilog::settings::{Loader, Origin, Preset};
use fapilog::testing::CaptureSink;
use fapilog::{Backpressure, Error, Level, Pipeline, Settings};

const FILE: &str = r#"
preset = "production"
service = "from-file"

[core]
max_queue_size = 4096
batch_max_size = 64
log_level = "WARNING"
batch_timeout_seconds = "100ms"
batch_max_bytes = "2 MiB"
"#;

#[test]
fn precedence_default_preset_file_env_builder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("fapilog.toml");
    std::fs::write(&path, FILE).expect("write");
    let path_str = path.display().to_string();

    // default < preset < file < env.
    let (s, origins) = Loader::new()
        .env_vars([
            ("FAPILOG_CONFIG", path_str.as_str()),
            ("FAPILOG_CORE__BATCH_MAX_SIZE", "32"),
        ])
        .load_explained()
        .expect("load");
    assert_eq!(s.preset, Some(Preset::Production));
    assert_eq!(s.core.worker_count, 2, "preset");
    assert_eq!(s.core.shutdown_timeout_seconds, 25.0, "preset");
    assert_eq!(s.core.max_queue_size, 4096, "file over default");
    assert_eq!(s.core.log_level, Level::WARNING, "file over preset");
    assert_eq!(s.core.batch_timeout_seconds, 0.1);
    assert_eq!(s.core.batch_max_bytes, 2 << 20);
    assert_eq!(s.core.batch_max_size, 32, "env over file");
    assert_eq!(s.core.backpressure_wait_ms, 50, "default");
    let origin = |k: &str| {
        origins
            .iter()
            .find(|(p, _)| *p == k)
            .map(|(_, o)| o.clone())
    };
    assert_eq!(
        origin("core.batch_max_size"),
        Some(Origin::Env("FAPILOG_CORE__BATCH_MAX_SIZE".into()))
    );
    assert_eq!(
        origin("core.max_queue_size"),
        Some(Origin::File {
            path: path_str.clone(),
            line: 6
        })
    );
    assert_eq!(
        origin("core.worker_count"),
        Some(Origin::Preset(Preset::Production))
    );
    assert_eq!(origin("core.backpressure_wait_ms"), Some(Origin::Default));

    // env preset over file preset; builder preset over env preset.
    let s = Loader::new()
        .file(&path)
        .env_vars([("FAPILOG_PRESET", "serverless")])
        .load()
        .expect("load");
    assert_eq!(s.preset, Some(Preset::Serverless));
    assert_eq!(s.core.batch_max_size, 64, "file still over the preset");
    let s = Loader::new()
        .preset(Preset::Hardened)
        .file(&path)
        .env_vars([("FAPILOG_PRESET", "serverless")])
        .load()
        .expect("load");
    assert_eq!(s.preset, Some(Preset::Hardened));
    assert_eq!(s.backpressure(), Backpressure::Block);
}

#[test]
fn builder_outranks_every_source_whatever_the_call_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("fapilog.toml");
    std::fs::write(&path, FILE).expect("write");
    let (sink, _captured) = CaptureSink::new();
    // Called before config_file/preset, the builder's option still wins.
    let p = Pipeline::builder()
        .queue_capacity(100)
        .level(Level::INFO)
        .config_file(&path)
        .preset(Preset::Dev)
        .sink(sink)
        .build()
        .expect("build");
    let m = p.metrics();
    assert_eq!(m.queue_capacity, 100);
    // The file's WARNING lost to the builder's INFO (equal to the default, still explicit).
    let (sink, captured) = CaptureSink::new();
    let p = Pipeline::builder()
        .level(Level::INFO)
        .config_file(&path)
        .sink(sink)
        .build()
        .expect("build");
    fapilog::info!(p.logger("t"), "kept");
    p.flush(Duration::from_secs(5)).expect("flush");
    assert_eq!(captured.messages(), vec!["kept".to_owned()]);
    // Without the builder's level, the file's WARNING applies.
    let (sink, captured) = CaptureSink::new();
    let p = Pipeline::builder()
        .config_file(&path)
        .sink(sink)
        .build()
        .expect("build");
    fapilog::info!(p.logger("t"), "dropped by level");
    fapilog::warning!(p.logger("t"), "kept");
    p.flush(Duration::from_secs(5)).expect("flush");
    assert_eq!(captured.messages(), vec!["kept".to_owned()]);
}

#[test]
fn builder_and_env_and_file_agree() {
    // The same configuration three ways gives the same Settings.
    let from_env = Settings::from_env_vars([
        ("FAPILOG_CORE__MAX_QUEUE_SIZE", "2048"),
        ("FAPILOG_CORE__LOG_LEVEL", "DEBUG"),
        (
            "FAPILOG_CORE__PROTECTED_LEVELS",
            r#"["ERROR","CRITICAL","WARNING"]"#,
        ),
        ("FAPILOG_CORE__BATCH_TIMEOUT_SECONDS", "500ms"),
        ("FAPILOG_SERVICE", "api"),
    ])
    .expect("env");
    let from_file = Loader::new()
        .toml_str(
            "x.toml",
            "service = \"api\"\n[core]\nmax_queue_size = 2048\nlog_level = \"DEBUG\"\n\
             protected_levels = [\"ERROR\", \"CRITICAL\", \"WARNING\"]\nbatch_timeout_seconds = 0.5\n",
        )
        .load()
        .expect("file");
    let mut from_code = Settings::default();
    from_code.core.max_queue_size = 2048;
    from_code.core.log_level = Level::DEBUG;
    from_code.core.protected_levels = vec![Level::ERROR, Level::CRITICAL, Level::WARNING];
    from_code.core.batch_timeout_seconds = 0.5;
    from_code.service = "api".into();
    assert_eq!(from_env, from_file);
    assert_eq!(from_env, from_code);
}

fn env_err(k: &str, v: &str) -> Error {
    Settings::from_env_vars([(k, v)]).expect_err(k)
}

#[test]
fn every_env_validation_error_names_key_value_and_expectation() {
    for (k, v) in [
        ("FAPILOG_CORE__LOG_LEVEL", "LOUD"),
        ("FAPILOG_CORE__MAX_QUEUE_SIZE", "0"),
        ("FAPILOG_CORE__MAX_QUEUE_SIZE", "-3"),
        ("FAPILOG_CORE__MAX_QUEUE_SIZE", "99999999"),
        ("FAPILOG_CORE__PROTECTED_QUEUE_SIZE", "0"),
        ("FAPILOG_CORE__PROTECTED_LEVELS", "ERROR,LOUD"),
        ("FAPILOG_CORE__PROTECTED_LEVELS", "[1,2]"),
        ("FAPILOG_CORE__BATCH_MAX_SIZE", "0"),
        ("FAPILOG_CORE__BATCH_MAX_BYTES", "12"),
        ("FAPILOG_CORE__BATCH_MAX_BYTES", "10 parsecs"),
        ("FAPILOG_CORE__BATCH_TIMEOUT_SECONDS", "0"),
        ("FAPILOG_CORE__BATCH_TIMEOUT_SECONDS", "soon"),
        ("FAPILOG_CORE__BACKPRESSURE_POLICY", "panic"),
        ("FAPILOG_CORE__DROP_ON_FULL", "maybe"),
        ("FAPILOG_CORE__BACKPRESSURE_WAIT_MS", "4000000"),
        ("FAPILOG_CORE__WORKER_COUNT", "65"),
        ("FAPILOG_CORE__SHUTDOWN_TIMEOUT_SECONDS", "2h"),
        ("FAPILOG_CORE__SINKS", "kafka"),
        ("FAPILOG_CORE__TRACE_LEVEL_NAME", "VERBOSE"),
        ("FAPILOG_CORE__DROP_SUMMARY_WINDOW_SECONDS", "0"),
        ("FAPILOG_CORE__REDACTION_FAIL_MODE", "sometimes"),
        ("FAPILOG_CORE__ENABLE_METRICS", "maybe"),
        ("FAPILOG_SERVICE", " "),
        ("FAPILOG_FILE__FILENAME_PREFIX", "a/b"),
        ("FAPILOG_FILE__MODE", "xml"),
        ("FAPILOG_PRESET", "turbo"),
    ] {
        let e = env_err(k, v);
        assert!(matches!(e, Error::InvalidSetting { .. }), "{k}={v}: {e:?}");
        let msg = e.to_string();
        assert!(msg.contains(k), "{msg}");
        assert!(msg.contains(&format!("{:?}", v)), "{msg}");
        assert!(msg.contains("expected"), "{msg}");
    }
}

#[test]
fn unknown_keys_fail_in_strict_mode_and_unavailable_keys_fail() {
    let strict = |k: &str, v: &str| {
        Loader::new()
            .env_vars([(k, v)])
            .strict(true)
            .load()
            .expect_err(k)
    };
    let e = strict("FAPILOG_CORE__MAX_QUEUE", "1");
    assert!(matches!(e, Error::UnknownSetting { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("FAPILOG_CORE__MAX_QUEUE"), "{msg}");
    assert!(
        msg.contains("did you mean FAPILOG_CORE__MAX_QUEUE_SIZE"),
        "suggests the nearest name: {msg}"
    );
    let e = strict("FAPILOG_NOPE", "1");
    assert!(matches!(e, Error::UnknownSetting { .. }), "{e:?}");
    // Not strict: ignored, as fapilog does.
    assert!(Settings::from_env_vars([("FAPILOG_NOPE", "1")]).is_ok());

    let e = env_err("FAPILOG_CORE__SINKS", "stdout_json,audit");
    assert!(
        e.to_string()
            .contains("sink audit is not built in this version"),
        "{e}"
    );

    // A failure anywhere leaves nothing half-applied.
    let mut s = Settings::default();
    let before = s.clone();
    let r = s.apply_env([
        ("FAPILOG_CORE__MAX_QUEUE_SIZE", "77"),
        ("FAPILOG_CORE__WORKER_COUNT", "0"),
    ]);
    assert!(r.is_err());
    assert_eq!(s, before);
}

#[test]
fn file_errors_name_file_line_and_key() {
    let text = "[core]\nmax_queue_size = 10\n\nworker_count = \"many\"\n";
    let e = Loader::new()
        .toml_str("app.toml", text)
        .load()
        .expect_err("bad");
    let msg = e.to_string();
    assert!(msg.starts_with("app.toml:4: "), "{msg}");
    assert!(msg.contains("core.worker_count"), "{msg}");
    assert!(msg.contains("\"many\""), "{msg}");
    assert!(msg.contains("an integer from 1 to 64"), "{msg}");

    let e = Loader::new()
        .toml_str("app.toml", "[core]\nmax_queue_size = 10\nqueue = 3\n")
        .load()
        .expect_err("unknown");
    let msg = e.to_string();
    assert!(
        msg.starts_with("app.toml:3: unknown setting core.queue"),
        "{msg}"
    );

    // fapilog's names are keys of a file too.
    let s = Loader::new()
        .toml_str("app.toml", "[loki]\nurl = \"http://loki:3100\"\n")
        .load()
        .unwrap();
    assert_eq!(
        s.get("sink_config.loki.url").as_deref(),
        Some("http://loki:3100")
    );
    let e = Loader::new()
        .toml_str("app.toml", "[loki]\nbatch_size = \"lots\"\n")
        .load()
        .expect_err("bad value");
    assert!(
        e.to_string()
            .contains("app.toml:2: invalid setting loki.batch_size"),
        "{e}"
    );

    let e = Loader::new()
        .toml_str("app.toml", "[core]\nmax_queue_size = = 3\n")
        .load()
        .expect_err("syntax");
    assert!(matches!(e, Error::ConfigSyntax { line: 2, .. }), "{e:?}");

    let e = Loader::new()
        .file("/nonexistent/fapilog.toml")
        .load()
        .expect_err("missing");
    assert!(matches!(e, Error::Open { .. }), "{e:?}");

    let e = Loader::new()
        .toml_str("app.toml", "[[core]]\nx = 1\n")
        .load()
        .expect_err("array of tables");
    assert!(e.to_string().contains("app.toml:1"), "{e}");

    let e = Loader::new()
        .toml_str("app.toml", "[core]\nsinks = [\"file\"]\n")
        .load()
        .expect_err("file sink without a directory");
    assert!(e.to_string().contains("file.directory"), "{e}");
}

#[test]
fn secrets_are_never_printed() {
    let secret = "hunter2";
    for (k, v) in [
        (
            "FAPILOG_POSTGRES__DSN",
            "postgres://app:hunter2@db/logs".to_owned(),
        ),
        ("FAPILOG_LOKI__AUTH_PASSWORD", secret.to_owned()),
        ("FAPILOG_LOKI__AUTH_TOKEN", secret.to_owned()),
        ("FAPILOG_CORE__DB_PASSWORD", secret.to_owned()),
        (
            "FAPILOG_CORE__SINKS",
            "postgres://app:hunter2@db/logs".to_owned(),
        ),
        ("FAPILOG_SERVICE_TOKEN", secret.to_owned()),
    ] {
        match Loader::new()
            .env_vars([(k, v.as_str())])
            .strict(true)
            .load()
        {
            Err(e) => {
                assert!(!e.to_string().contains(secret), "{k}: {e}");
                assert!(!format!("{e:?}").contains(secret), "{k}: {e:?}");
            }
            Ok(s) => {
                // Accepted (a sink's credentials): kept, never shown.
                let path = fapilog::settings::keys::lookup_env(k)
                    .and_then(|key| key.alias)
                    .unwrap_or_default();
                assert_eq!(s.get(path).as_deref(), Some("***"), "{k}");
                assert!(s.effective().iter().all(|(_, v)| !v.contains(secret)));
            }
        }
    }
    let e = Loader::new()
        .toml_str("a.toml", "[postgres]\npassword = 42\n")
        .load()
        .expect_err("pg");
    assert!(!format!("{e} {e:?}").contains("42"), "{e}");
    // What `fapilog check` prints holds no secret either.
    let s = Settings::default();
    assert!(s.effective().iter().all(|(_, v)| !v.contains(secret)));
}

#[test]
fn file_directory_alone_makes_the_rotating_file_sink_the_default() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    let logs_str = logs.display().to_string();
    let s = Settings::from_env_vars([
        ("FAPILOG_FILE__DIRECTORY", logs_str.as_str()),
        ("FAPILOG_FILE__FILENAME_PREFIX", "app"),
    ])
    .expect("env");
    let p = Pipeline::builder().settings(s).build().expect("build");
    fapilog::info!(p.logger("f"), "to the file");
    p.shutdown(Duration::from_secs(5));
    let names: Vec<String> = std::fs::read_dir(&logs)
        .expect("log directory")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    // fapilog's name: app-YYYYMMDD-HHMMSS.jsonl
    let name = &names[0];
    let stamp = name
        .strip_prefix("app-")
        .and_then(|n| n.strip_suffix(".jsonl"))
        .unwrap_or_else(|| panic!("{name}"));
    assert!(
        stamp.len() == 15
            && stamp.as_bytes()[8] == b'-'
            && stamp.bytes().filter(u8::is_ascii_digit).count() == 14,
        "{name}"
    );
    let text = std::fs::read_to_string(logs.join(name)).expect("log file");
    assert!(text.contains("\"message\":\"to the file\""), "{text}");
}

#[test]
fn set_and_get_by_path() {
    let mut s = Settings::default();
    s.set("core.batch_max_bytes", "10MiB").expect("set");
    assert_eq!(s.core.batch_max_bytes, 10 << 20);
    assert_eq!(s.get("core.batch_max_bytes").as_deref(), Some("10485760"));
    s.set("core.shutdown_timeout_seconds", "1h").expect("set");
    assert_eq!(s.core.shutdown_timeout_seconds, 3600.0);
    assert!(s.set("core.nope", "1").is_err());
    assert!(s.get("core.nope").is_none());
    s.set("preset", "dev").expect("preset");
    assert_eq!(s, Preset::Dev.settings());
}

/// Every key of the registry rejects a nonsense value (except the free-text
/// ones), through the environment and through a file, naming the key.
#[test]
fn every_key_rejects_nonsense() {
    const FREE_TEXT: [&str; 6] = [
        "service",
        "env",
        "version",
        "file.directory",
        "file.filename_prefix",
        "spool.directory",
    ];
    for k in fapilog::settings::keys::all() {
        // fapilog's free-text and list settings take any text.
        let free = k.ty.starts_with("string")
            || k.ty == "list"
            || k.ty.starts_with("list (")
            || k.alias.is_some();
        if k.is_group() || FREE_TEXT.contains(&k.path) || free {
            continue;
        }
        let var = k.env_name();
        let e = Settings::from_env_vars([(var.as_str(), "?? nonsense ??")]).expect_err(&var);
        assert!(
            e.to_string().contains(&var) || e.to_string().contains(k.path),
            "{var}: {e}"
        );
        if k.path == "preset" {
            continue;
        }
        let (table, key) = k.path.rsplit_once('.').unwrap_or(("", k.path));
        let text = if table.is_empty() {
            format!("{key} = \"?? nonsense ??\"\n")
        } else {
            format!("[{table}]\n{key} = \"?? nonsense ??\"\n")
        };
        let e = Loader::new()
            .toml_str("k.toml", &text)
            .load()
            .expect_err(k.path);
        let msg = e.to_string();
        assert!(msg.contains(k.path), "{}: {msg}", k.path);
    }
}

#[test]
fn loader_debug_shows_no_values() {
    let l = Loader::new()
        .toml_str("a.toml", "[postgres]\npassword = \"hunter2\"\n")
        .env_vars([("FAPILOG_POSTGRES__DSN", "postgres://a:hunter2@db/x")]);
    let shown = format!("{l:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("FAPILOG_POSTGRES__DSN"), "{shown}");
}

/// Without the `spool` cargo feature, a spool directory is refused by name.
#[cfg(not(feature = "spool"))]
#[test]
fn a_spool_directory_without_the_spool_feature_is_refused_naming_the_key() {
    let e = fapilog::Settings::from_env_vars([("FAPILOG_SPOOL__DIRECTORY", "/tmp/spool")])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("/tmp/spool") && e.contains("cargo feature `spool`"),
        "{e}"
    );
}
