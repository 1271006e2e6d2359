//! One configuration for a fleet of Python fapilog and Rust services:
//! every variable fapilog 0.18.1 reads is accepted here with a value
//! fapilog accepts, and where it means something here it takes effect.
//!
//! The names and values are `tests/fleet/fapilog-0.18.1-names.tsv`,
//! recorded once from fapilog 0.18.1 itself by `tests/fleet/extract_names.py`
//! (every value was checked against fapilog's own `Settings`).

use fapilog::settings::{keys, Loader, Note};
use fapilog::{Error, Level, Settings};

struct Name {
    var: String,
    a: String,
    b: Option<String>,
}

fn names() -> Vec<Name> {
    include_str!("fleet/fapilog-0.18.1-names.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let mut f = l.split('\t');
            let var = f.next().unwrap_or_default().to_owned();
            let a = f.next().unwrap_or_default().to_owned();
            let b = f.next().filter(|b| *b != "-").map(str::to_owned);
            Name { var, a, b }
        })
        .collect()
}

fn load(var: &str, value: &str) -> Result<fapilog::settings::LoadReport, Error> {
    Loader::new()
        .env_vars([(var, value)])
        .strict(true)
        .load_report()
}

/// The value of `var`'s setting as `Settings::get` shows it, secrets
/// included (they are compared, never printed).
fn value_of(s: &Settings, var: &str) -> String {
    let k = keys::lookup_env(var).unwrap_or_else(|| panic!("{var} is not in the key table"));
    let path = k
        .alias
        .map_or_else(|| keys::env_to_path(var).unwrap_or_default(), str::to_owned);
    let target = keys::lookup(&path).unwrap_or(k);
    if target.secret {
        return s.accepted.get(&path).unwrap_or_default().to_owned();
    }
    s.get(&path)
        .unwrap_or_else(|| panic!("{var}: no value at {path}"))
}

#[test]
fn the_surface_list_is_the_whole_of_fapilogs_names() {
    let n = names();
    assert!(n.len() >= 300, "{} names", n.len());
    assert_eq!(
        n.iter()
            .filter(|x| x.var.starts_with("FAPILOG_CORE__"))
            .count(),
        54
    );
}

#[test]
fn every_fapilog_name_is_accepted_with_a_value_fapilog_accepts() {
    let mut failures = Vec::new();
    for n in names() {
        for v in std::iter::once(&n.a).chain(n.b.as_ref()) {
            match load(&n.var, v) {
                Ok(r) => {
                    if let Some(u) = r.notes.iter().find(|x| matches!(x, Note::Unknown { .. })) {
                        failures.push(format!("{}={v}: {u}", n.var));
                    }
                }
                // Without the `regex` feature, a regex setting is refused by
                // name (scripts/test also runs this test with the feature on).
                Err(e)
                    if cfg!(not(feature = "regex"))
                        && e.to_string().contains("`regex` cargo feature") => {}
                Err(e) => failures.push(format!("{}={v}: {e}", n.var)),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} refused:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_value_is_kept_or_applied() {
    let mut failures = Vec::new();
    for n in names() {
        let Some(b) = &n.b else { continue };
        let (Ok(ra), Ok(rb)) = (load(&n.var, &n.a), load(&n.var, b)) else {
            continue; // reported by the sweep above
        };
        let (va, vb) = (
            value_of(&ra.settings, &n.var),
            value_of(&rb.settings, &n.var),
        );
        if va == vb {
            failures.push(format!(
                "{}: {:?} and {b:?} both read back as {va:?}",
                n.var, n.a
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} not kept:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn pythons_own_defaults_are_accepted() {
    let s = Settings::from_env_vars([
        ("FAPILOG_CORE__ENABLE_METRICS", "false"),
        (
            "FAPILOG_CORE__PROTECTED_LEVELS",
            r#"["ERROR","CRITICAL","FATAL","AUDIT","SECURITY"]"#,
        ),
        ("FAPILOG_CORE__DROP_ON_FULL", "true"),
        ("FAPILOG_CORE__EXCEPTIONS_ENABLED", "true"),
        ("FAPILOG_SINK_ROUTING__ENABLED", "false"),
    ])
    .unwrap();
    assert_eq!(
        s.core.protected_levels,
        [
            Level::ERROR,
            Level::CRITICAL,
            Level::custom(60, "AUDIT"),
            Level::custom(70, "SECURITY")
        ]
    );
    assert_eq!(
        s.core.protected_levels,
        Settings::default().core.protected_levels
    );
    assert!(!s.core.enable_metrics);
}

#[test]
fn settings_with_a_meaning_here_take_effect() {
    let s = Settings::from_env_vars([
        ("FAPILOG_CORE__EXCEPTIONS_MAX_FRAMES", "3"),
        ("FAPILOG_CORE__EXCEPTIONS_MAX_STACK_CHARS", "5000"),
        ("FAPILOG_SIZE_GUARD__MAX_BYTES", "1000"),
        ("FAPILOG_SIZE_GUARD__ACTION", "drop"),
        ("FAPILOG_CORE__INTERNAL_LOGGING_ENABLED", "true"),
    ])
    .unwrap();
    assert_eq!(s.stages.processor_config.exceptions.max_frames, 3);
    assert_eq!(s.stages.processor_config.exceptions.max_stack_chars, 5000);
    assert_eq!(s.stages.processor_config.size_guard.max_bytes, 1000);
    assert_eq!(
        s.get("processor_config.size_guard.action").as_deref(),
        Some("drop")
    );
    assert_eq!(
        s.get("core.internal_logging_enabled").as_deref(),
        Some("true")
    );
}

#[test]
fn an_alias_wins_over_its_long_form_as_in_fapilog() {
    for vars in [
        [
            ("FAPILOG_LOKI__URL", "http://alias:3100"),
            ("FAPILOG_SINK_CONFIG__LOKI__URL", "http://long:3100"),
        ],
        [
            ("FAPILOG_SINK_CONFIG__LOKI__URL", "http://long:3100"),
            ("FAPILOG_LOKI__URL", "http://alias:3100"),
        ],
    ] {
        let s = Settings::from_env_vars(vars).unwrap();
        assert_eq!(
            s.get("sink_config.loki.url").as_deref(),
            Some("http://alias:3100")
        );
        assert_eq!(s.get("loki.url").as_deref(), Some("http://alias:3100"));
    }
    let s = Settings::from_env_vars([("FAPILOG_POSTGRES__PASSWORD", "hunter2")]).unwrap();
    assert_eq!(
        s.accepted.get("sink_config.postgres.password"),
        Some("hunter2")
    );
    assert_eq!(
        s.get("sink_config.postgres.password").as_deref(),
        Some("***")
    );
}

#[test]
fn an_unknown_name_is_a_warning_with_a_suggestion_unless_strict() {
    let r = Loader::new()
        .env_vars([
            ("FAPILOG_FASTAPI__ENABLED", "true"),
            ("FAPILOG_CORE__LOG_LEVL", "DEBUG"),
        ])
        .load_report()
        .unwrap();
    let unknown: Vec<String> = r.notes.iter().map(ToString::to_string).collect();
    assert_eq!(unknown.len(), 2, "{unknown:?}");
    assert!(
        unknown.iter().any(|n| n.contains("FAPILOG_CORE__LOG_LEVL")
            && n.contains("did you mean FAPILOG_CORE__LOG_LEVEL?")),
        "{unknown:?}"
    );
    assert!(
        unknown
            .iter()
            .any(|n| n.contains("FAPILOG_FASTAPI__ENABLED")),
        "{unknown:?}"
    );
    assert_eq!(
        r.settings.core.log_level,
        Level::INFO,
        "an unknown name is ignored"
    );

    for strict in [
        Loader::new()
            .env_vars([("FAPILOG_CORE__LOG_LEVL", "DEBUG")])
            .strict(true),
        Loader::new().env_vars([
            ("FAPILOG_CORE__LOG_LEVL", "DEBUG"),
            ("FAPILOG_STRICT", "true"),
        ]),
    ] {
        let e = strict.load().unwrap_err();
        assert!(matches!(e, Error::UnknownSetting { .. }), "{e:?}");
        let msg = e.to_string();
        assert!(
            msg.contains("FAPILOG_CORE__LOG_LEVL")
                && msg.contains("did you mean FAPILOG_CORE__LOG_LEVEL"),
            "{msg}"
        );
    }
    // Strict mode off by the Loader wins over the variable.
    assert!(Loader::new()
        .env_vars([("FAPILOG_NOPE", "1"), ("FAPILOG_STRICT", "true")])
        .strict(false)
        .load()
        .is_ok());
    let e = Settings::from_env_vars([("FAPILOG_STRICT", "sometimes")]).unwrap_err();
    assert!(e.to_string().contains("FAPILOG_STRICT"), "{e}");
}

#[test]
fn a_bad_value_for_a_known_name_stays_an_error_naming_key_and_value() {
    for (k, v) in [
        ("FAPILOG_LOKI__BATCH_SIZE", "lots"),
        ("FAPILOG_ADAPTIVE__ENABLED", "maybe"),
        ("FAPILOG_HTTP__TIMEOUT_SECONDS", "soon"),
        ("FAPILOG_CORE__DEFAULT_BOUND_CONTEXT", "tenant=acme"),
        ("FAPILOG_CORE__EXCEPTIONS_ENABLED", "false"),
        (
            "FAPILOG_SINK_ROUTING__RULES",
            r#"[{"levels":["ERROR"],"sink":["x"]}]"#,
        ),
        ("FAPILOG_OBSERVABILITY__LOGGING__SAMPLING_RATE", "0.5"),
    ] {
        let e = Settings::from_env_vars([(k, v)]).unwrap_err();
        assert!(matches!(e, Error::InvalidSetting { .. }), "{k}={v}: {e:?}");
        let msg = e.to_string();
        assert!(msg.contains(k) && msg.contains("expected"), "{msg}");
    }
}

#[test]
fn settings_without_effect_are_reported_not_acted_on() {
    let r = Loader::new()
        .env_vars([
            ("FAPILOG_CORE__SIGNAL_HANDLER_ENABLED", "false"),
            ("FAPILOG_FASTAPI__SKIP_PATHS", "/health"),
            ("FAPILOG_LOKI__URL", "http://loki:3100"),
            ("FAPILOG_CORE__MAX_QUEUE_SIZE", "500"),
        ])
        .load_report()
        .unwrap();
    let notes: Vec<String> = r.notes.iter().map(ToString::to_string).collect();
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert!(
        notes.iter().any(
            |n| n.starts_with("FAPILOG_CORE__SIGNAL_HANDLER_ENABLED: accepted, not applicable")
        ),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("FAPILOG_FASTAPI__SKIP_PATHS: accepted, not applicable")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("FAPILOG_LOKI__URL") && n.contains("fapilog-sinks crate opens")),
        "{notes:?}"
    );
}

#[test]
fn naming_a_network_sink_without_its_factory_fails_at_build_time_naming_the_crate() {
    for sink in [
        "loki",
        "http",
        "cloudwatch",
        "postgres",
        "webhook",
        "otlp",
        "syslog",
        "nats",
    ] {
        let json = format!(r#"["stdout_json","{sink}"]"#);
        let s = Settings::from_env_vars([("FAPILOG_CORE__SINKS", json.as_str())])
            .expect("a network sink's name is accepted");
        let Err(e) = fapilog::Pipeline::builder().settings(s).build() else {
            panic!("{sink}: the pipeline was built");
        };
        let msg = e.to_string();
        assert!(
            matches!(e, fapilog::Error::SinkNotRegistered { .. }),
            "{sink}: {msg}"
        );
        assert!(
            msg.contains(&format!("{sink:?}")) && msg.contains("fapilog-sinks"),
            "{msg}"
        );
    }
    let e = Settings::from_env_vars([("FAPILOG_CORE__SINKS", "stdout_json,sealed")]).unwrap_err();
    assert!(
        e.to_string()
            .contains("sink sealed is not built in this version"),
        "{e}"
    );
}

/// Re-executed as a child: loads the process's settings twice.
fn child_loads_twice() {
    for _ in 0..2 {
        Settings::load().expect("settings");
    }
}

fn run_child(internal_logging: bool) -> String {
    let mut c = std::process::Command::new(std::env::current_exe().expect("test binary"));
    c.args([
        "--exact",
        "child_entry_point",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("FLEET_PARITY_CHILD", "1")
    .env("FAPILOG_FASTAPI__ENABLED", "true")
    .env("FAPILOG_CORE__SIGNAL_HANDLER_ENABLED", "true");
    if internal_logging {
        c.env("FAPILOG_CORE__INTERNAL_LOGGING_ENABLED", "true");
    }
    let out = c.output().expect("child");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn child_entry_point() {
    if std::env::var_os("FLEET_PARITY_CHILD").is_some() {
        child_loads_twice();
    }
}

#[test]
fn notes_go_to_stderr_once_warnings_always_the_rest_at_debug_level() {
    if std::env::var_os("FLEET_PARITY_CHILD").is_some() {
        return;
    }
    let quiet = run_child(false);
    let warn: Vec<&str> = quiet
        .lines()
        .filter(|l| l.contains("FAPILOG_FASTAPI__ENABLED"))
        .collect();
    assert_eq!(warn.len(), 1, "once per process: {quiet}");
    assert!(warn[0].contains(r#""level":"WARN""#), "{quiet}");
    assert!(
        !quiet.contains("SIGNAL_HANDLER"),
        "debug lines only when asked: {quiet}"
    );

    let debug = run_child(true);
    let lines: Vec<&str> = debug
        .lines()
        .filter(|l| l.contains("FAPILOG_CORE__SIGNAL_HANDLER_ENABLED"))
        .collect();
    assert_eq!(lines.len(), 1, "{debug}");
    assert!(
        lines[0].contains(r#""level":"DEBUG""#) && lines[0].contains("not applicable"),
        "{debug}"
    );
}
