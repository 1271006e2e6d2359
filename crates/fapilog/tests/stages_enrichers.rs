//! The built-in enrichers through the public API.

use std::time::Duration;

use fapilog::stages::enrichers::{
    ContextVars, Kubernetes, KubernetesConfig, RuntimeInfo, RuntimeInfoConfig, StaticFields,
    StaticFieldsConfig, RUSTC_VERSION,
};
use fapilog::testing::CaptureSink;
use fapilog::{Pipeline, PipelineBuilder};
use serde_json::{json as j, Value as J};

fn one(builder: PipelineBuilder) -> J {
    let (sink, captured) = CaptureSink::new();
    let p = builder.sink(sink).build().expect("valid pipeline");
    let _ctx = fapilog::context::bind(&[("request_id", fapilog::FieldValue::Str("req-9"))]);
    fapilog::info!(
        p.logger("app"),
        "hello",
        own = "mine",
        region = "from-event"
    );
    p.flush(Duration::from_secs(10)).expect("flushed");
    captured.envelopes()[0]["log"].clone()
}

#[test]
fn runtime_info_adds_build_and_platform() {
    let l = one(Pipeline::builder().enricher(RuntimeInfo::default()));
    let d = &l["diagnostics"];
    assert!(d["rust"].as_str().unwrap().starts_with("rustc "), "{d}");
    assert_eq!(d["rust"], RUSTC_VERSION);
    assert_eq!(d["fapilog"], env!("CARGO_PKG_VERSION"));
    assert_eq!(d["os"], std::env::consts::OS);
    assert_eq!(d["arch"], std::env::consts::ARCH);
    assert!(d.get("thread_name").is_none());
    // The core's fields stay.
    assert!(d["pid"].as_u64().is_some() && d["host"].is_string() && d["service"].is_string());

    let mut cfg = RuntimeInfoConfig::default();
    cfg.include_thread = true;
    cfg.version = Some("2.4.1".into());
    let l = one(Pipeline::builder().enricher(RuntimeInfo::from_config(&cfg)));
    assert!(l["diagnostics"]["thread_name"]
        .as_str()
        .unwrap()
        .starts_with("fapilog-worker"));
    assert!(l["diagnostics"]["thread_id"].is_string());
    assert_eq!(l["diagnostics"]["version"], "2.4.1");
}

#[test]
fn context_vars_is_a_marker_the_core_does_the_work() {
    let l = one(Pipeline::builder().enricher(ContextVars));
    assert_eq!(l["context"]["request_id"], "req-9");
    assert!(l["context"]["correlation_id"].is_null(), "fapilog's rule");
}

#[test]
fn kubernetes_reads_the_downward_api_variables() {
    let vars = |name: &str| match name {
        "POD_NAME" => Some("api-7f9c".to_owned()),
        "POD_NAMESPACE" => Some("prod".to_owned()),
        "NODE_NAME" => Some("node-ü1".to_owned()),
        "CONTAINER_NAME" => Some(String::new()),
        _ => None,
    };
    let k = Kubernetes::from_vars(&KubernetesConfig::default(), vars);
    let l = one(Pipeline::builder().enricher(k));
    let d = &l["diagnostics"];
    assert_eq!(d["k8s_pod"], "api-7f9c");
    assert_eq!(d["k8s_namespace"], "prod");
    assert_eq!(d["k8s_node"], "node-ü1");
    assert!(d.get("k8s_container").is_none(), "empty means absent");
    assert!(d.get("k8s_cluster").is_none());

    let none = Kubernetes::from_vars(&KubernetesConfig::default(), |_| None);
    assert!(none.is_empty());
    let l = one(Pipeline::builder().enricher(none));
    assert!(!l["diagnostics"]
        .as_object()
        .unwrap()
        .keys()
        .any(|k| k.starts_with("k8s_")));
}

#[test]
fn static_fields_and_tags() {
    let cfg: StaticFieldsConfig = serde_json::from_value(j!({
        "fields": {"region": "eu-west-1", "team": {"name": "core", "size": 4}, "own": "config"},
        "diagnostics": {"build": 42},
        "tags": ["blue", "canary"]
    }))
    .unwrap();
    let l = one(Pipeline::builder().enricher(StaticFields::from_config(&cfg).unwrap()));
    assert_eq!(l["data"]["team"], j!({"name": "core", "size": 4}));
    assert_eq!(
        l["data"]["region"], "from-event",
        "the event's own field wins"
    );
    assert_eq!(l["data"]["own"], "mine");
    assert_eq!(l["diagnostics"]["build"], 42);
    assert_eq!(l["tags"], j!(["blue", "canary"]));

    let l = one(Pipeline::builder().enricher(StaticFields::new().field("zone", "b").tag("x")));
    assert_eq!(l["data"]["zone"], "b");
    assert_eq!(l["tags"], j!(["x"]));
}
