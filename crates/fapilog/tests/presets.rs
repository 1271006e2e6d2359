//! Every preset: its values, that it builds, and that any key overrides it.

use std::time::Duration;

#[cfg(feature = "config-file")]
use fapilog::settings::Loader;
use fapilog::settings::Preset;
use fapilog::testing::CaptureSink;
use fapilog::{Backpressure, Level, Pipeline, Settings};

#[test]
fn dev() {
    let s = Preset::Dev.settings();
    assert!(s.stages.redactors.is_empty());
    assert_eq!(s.stages.enrichers, vec!["runtime_info", "context_vars"]);
    assert_eq!(s.core.log_level, Level::DEBUG);
    assert_eq!(s.core.sinks, vec!["stdout_pretty"]);
    assert_eq!(s.core.batch_max_size, 1, "no batching delay");
}

#[test]
fn production() {
    let s = Preset::Production.settings();
    assert_eq!(s.core.log_level, Level::INFO);
    assert_eq!(s.core.sinks, vec!["stdout_json"]);
    assert_eq!(
        s.backpressure(),
        Backpressure::Wait {
            timeout: Duration::from_millis(50)
        }
    );
    assert_eq!(s.core.protected_levels, vec![Level::ERROR, Level::CRITICAL]);
    assert_eq!(s.core.worker_count, 2);
    assert_eq!(s.core.shutdown_timeout_seconds, 25.0);
    assert!(Preset::Production.description().contains("circuit breaker"));
    assert_eq!(
        s.stages.redactors,
        vec!["field_mask", "regex_mask", "url_credentials"]
    );
    assert_eq!(s.stages.redactor_config.presets, vec!["CREDENTIALS"]);
}

#[test]
fn serverless() {
    let s = Preset::Serverless.settings();
    assert_eq!(s.core.batch_max_size, 25);
    assert_eq!(s.backpressure(), Backpressure::Drop);
    assert!(Preset::Serverless.description().contains("Pipeline::flush"));
}

#[test]
fn hardened() {
    let s = Preset::Hardened.settings();
    assert_eq!(s.backpressure(), Backpressure::Block, "never drop");
    assert_eq!(s.core.batch_max_size, 100);
    assert_eq!(s.get("core.redaction_fail_mode").as_deref(), Some("closed"));
    assert!(s.stages.redactors.contains(&"field_blocker".to_owned()));
    assert_eq!(
        s.stages.redactor_config.presets,
        vec!["CREDENTIALS", "HIPAA_PHI", "PCI_DSS"]
    );
}

#[test]
fn minimal() {
    let mut s = Preset::Minimal.settings();
    assert_eq!(
        Preset::Minimal.overrides(),
        vec![("core.redactors".to_owned(), String::new())]
    );
    assert!(s.stages.redactors.is_empty());
    s.preset = None;
    s.stages.redactors = Settings::default().stages.redactors;
    assert_eq!(s, Settings::default());
}

#[test]
fn every_preset_is_valid_named_and_builds() {
    for p in Preset::ALL {
        assert_eq!(p.name().parse::<Preset>().ok(), Some(p));
        assert_eq!(p.settings().preset, Some(p));
        p.settings().validate().expect("valid");
        let s = Settings::from_env_vars([("FAPILOG_PRESET", p.name())]).expect("env");
        assert_eq!(s, p.settings());
        let (sink, captured) = CaptureSink::new();
        let pipeline = Pipeline::builder()
            .preset(p)
            .sink(sink)
            .build()
            .expect("build");
        fapilog::error!(pipeline.logger("preset"), "hello");
        pipeline.flush(Duration::from_secs(5)).expect("flush");
        assert_eq!(captured.len(), 1, "{p}");
        // Every override is visible as data.
        for (k, v) in p.overrides() {
            assert_eq!(p.settings().get(&k).as_deref(), Some(v.as_str()), "{k}");
        }
    }
    assert!("turbo".parse::<Preset>().is_err());
}

#[cfg(feature = "config-file")]
#[test]
fn presets_are_overridable_key_by_key() {
    for p in Preset::ALL {
        let s = Loader::new()
            .preset(p)
            .toml_str("o.toml", "[core]\nbatch_max_size = 7\n")
            .env_vars([("FAPILOG_CORE__WORKER_COUNT", "3")])
            .load()
            .expect("load");
        let mut want = p.settings();
        want.core.batch_max_size = 7;
        want.core.worker_count = 3;
        assert_eq!(s, want, "{p}");
    }
}
