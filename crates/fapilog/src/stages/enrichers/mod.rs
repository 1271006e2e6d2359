//! Built-in enrichers: add fields to every event.
//!
//! | name | type | adds |
//! |---|---|---|
//! | `runtime_info` | [`RuntimeInfo`] | `diagnostics.{rust, fapilog, os, arch}` (+ version, thread when set) |
//! | `context_vars` | [`ContextVars`] | nothing: the core already puts the bound context in `context`/`data` |
//! | `kubernetes` | [`Kubernetes`] | `diagnostics.k8s_{pod,namespace,node,container,cluster,deployment}` |
//! | `static_fields` | [`StaticFields`] | configured `data`/`diagnostics` fields and tags |
//!
//! `service`, `env`, `version`, `host` and `pid` are written by the core for
//! every event (from the pipeline's settings), whether or not `runtime_info` runs.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config_serde::settings_serde;

use crate::envelope::Event;
use crate::error::Error;
use crate::stages::{Enricher, StageError};
use crate::value::{Map, Text, Value};

/// The compiler that built this crate (`rustc --version`), when known.
pub const RUSTC_VERSION: &str = match option_env!("RUSTC_VERSION_OF_FAPILOG_BUILD") {
    Some(v) => v,
    None => "unknown",
};

/// Settings of the `runtime_info` enricher (`enricher_config.runtime_info`).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct RuntimeInfoConfig {
    /// Also write `diagnostics.thread_name`/`thread_id` (off). These name
    /// the worker thread that processed the event: the queued record does
    /// not carry the caller's thread.
    pub include_thread: bool,
    /// Overrides `diagnostics.version` (else the pipeline's `version` / `FAPILOG_VERSION`).
    pub version: Option<String>,
}

settings_serde!(RuntimeInfoConfig {
    include_thread,
    version
});

thread_local! {
    /// This thread's name and id, formatted once.
    static THREAD: (Option<Arc<str>>, Arc<str>) = {
        let t = std::thread::current();
        (t.name().map(Arc::from), Arc::from(format!("{:?}", t.id())))
    };
}

/// Adds what the process runs on: `diagnostics.rust` (the compiler of the
/// build), `fapilog` (this crate's version), `os`, `arch`.
pub struct RuntimeInfo {
    fields: Vec<(&'static str, Value<'static>)>,
    include_thread: bool,
}

impl RuntimeInfo {
    /// From its settings.
    pub fn from_config(c: &RuntimeInfoConfig) -> RuntimeInfo {
        let mut fields: Vec<(&'static str, Value<'static>)> = vec![
            ("rust", Value::str(RUSTC_VERSION)),
            ("fapilog", Value::str(env!("CARGO_PKG_VERSION"))),
            ("os", Value::str(std::env::consts::OS)),
            ("arch", Value::str(std::env::consts::ARCH)),
        ];
        if let Some(v) = &c.version {
            fields.push(("version", Value::Str(Text::Shared(Arc::from(v.as_str())))));
        }
        RuntimeInfo {
            fields,
            include_thread: c.include_thread,
        }
    }
}

impl Default for RuntimeInfo {
    fn default() -> Self {
        RuntimeInfo::from_config(&RuntimeInfoConfig::default())
    }
}

impl Enricher for RuntimeInfo {
    fn name(&self) -> &str {
        "runtime_info"
    }

    fn is_constant(&self) -> bool {
        // The thread fields name the worker thread, which varies.
        !self.include_thread
    }

    fn enrich(&self, event: &mut Event<'_>) -> Result<(), StageError> {
        for (k, v) in &self.fields {
            event.diagnostics.insert(*k, v.clone());
        }
        if self.include_thread {
            let (name, id) = THREAD.with(Clone::clone);
            if let Some(n) = name {
                event
                    .diagnostics
                    .insert("thread_name", Value::Str(Text::Shared(n)));
            }
            event
                .diagnostics
                .insert("thread_id", Value::Str(Text::Shared(id)));
        }
        Ok(())
    }
}

/// Settings of the `context_vars` enricher (none; accepted for fapilog compatibility).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct ContextVarsConfig {}

settings_serde!(ContextVarsConfig {});

/// A marker, kept so fapilog's default enricher list means the same here:
/// the core already writes the bound context (request_id, user_id,
/// tenant_id, trace_id, span_id, and any bound field) into `context`/`data`
/// when it builds the event, from the caller's own context (fapilog's
/// enricher runs on its worker and cannot see the caller's context). Does nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct ContextVars;

impl Enricher for ContextVars {
    fn name(&self) -> &str {
        "context_vars"
    }

    fn is_constant(&self) -> bool {
        true
    }

    fn enrich(&self, _event: &mut Event<'_>) -> Result<(), StageError> {
        Ok(())
    }
}

/// Settings of the `kubernetes` enricher (`enricher_config.kubernetes`):
/// which downward-API environment variables to read.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct KubernetesConfig {
    /// Prefix of the keys written (`k8s_`).
    pub prefix: String,
    /// Pod name variable (`POD_NAME`).
    pub pod_name_env: String,
    /// Namespace variable (`POD_NAMESPACE`).
    pub namespace_env: String,
    /// Node variable (`NODE_NAME`).
    pub node_name_env: String,
    /// Container variable (`CONTAINER_NAME`).
    pub container_name_env: String,
    /// Cluster variable (`CLUSTER_NAME`).
    pub cluster_name_env: String,
    /// Deployment variable (`DEPLOYMENT_NAME`).
    pub deployment_name_env: String,
}

settings_serde!(KubernetesConfig {
    prefix,
    pod_name_env,
    namespace_env,
    node_name_env,
    container_name_env,
    cluster_name_env,
    deployment_name_env
});

impl Default for KubernetesConfig {
    fn default() -> Self {
        KubernetesConfig {
            prefix: "k8s_".to_owned(),
            pod_name_env: "POD_NAME".to_owned(),
            namespace_env: "POD_NAMESPACE".to_owned(),
            node_name_env: "NODE_NAME".to_owned(),
            container_name_env: "CONTAINER_NAME".to_owned(),
            cluster_name_env: "CLUSTER_NAME".to_owned(),
            deployment_name_env: "DEPLOYMENT_NAME".to_owned(),
        }
    }
}

/// Adds `diagnostics.k8s_{pod,namespace,node,container,cluster,deployment}`
/// from the downward-API variables that are set (read once, at build); adds
/// nothing outside Kubernetes.
pub struct Kubernetes {
    fields: Vec<(Text<'static>, Value<'static>)>,
}

impl Kubernetes {
    /// From its settings and this process's environment.
    pub fn from_config(c: &KubernetesConfig) -> Kubernetes {
        Kubernetes::from_vars(c, |name| std::env::var(name).ok())
    }

    /// From its settings and a variable lookup of your choice (for tests).
    pub fn from_vars(c: &KubernetesConfig, var: impl Fn(&str) -> Option<String>) -> Kubernetes {
        let pairs = [
            ("pod", &c.pod_name_env),
            ("namespace", &c.namespace_env),
            ("node", &c.node_name_env),
            ("container", &c.container_name_env),
            ("cluster", &c.cluster_name_env),
            ("deployment", &c.deployment_name_env),
        ];
        let fields = pairs
            .iter()
            .filter_map(|(k, env)| {
                let v = var(env.as_str()).filter(|v| !v.is_empty())?;
                Some((
                    Text::Shared(Arc::from(format!("{}{k}", c.prefix))),
                    Value::Str(Text::Shared(Arc::from(v))),
                ))
            })
            .collect();
        Kubernetes { fields }
    }

    /// `true` when no variable was set (the enricher adds nothing).
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

impl Enricher for Kubernetes {
    fn name(&self) -> &str {
        "kubernetes"
    }

    fn is_constant(&self) -> bool {
        true
    }

    fn enrich(&self, event: &mut Event<'_>) -> Result<(), StageError> {
        for (k, v) in &self.fields {
            event.diagnostics.insert(k.clone(), v.clone());
        }
        Ok(())
    }
}

/// Settings of the `static_fields` enricher (`enricher_config.static_fields`).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct StaticFieldsConfig {
    /// Added to `data` (an event's own field of the same name wins).
    pub fields: BTreeMap<String, serde_json::Value>,
    /// Added to `diagnostics` (replacing what is there).
    pub diagnostics: BTreeMap<String, serde_json::Value>,
    /// Added to `tags`.
    pub tags: Vec<String>,
}

settings_serde!(StaticFieldsConfig {
    fields,
    diagnostics,
    tags
});

/// Adds fixed fields and tags from configuration.
pub struct StaticFields {
    data: Vec<(Text<'static>, Value<'static>)>,
    diagnostics: Vec<(Text<'static>, Value<'static>)>,
    tags: Vec<Text<'static>>,
}

fn shared(v: &serde_json::Value) -> Value<'static> {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => n
            .as_u64()
            .map(Value::U64)
            .or_else(|| n.as_i64().map(Value::I64))
            .unwrap_or_else(|| Value::F64(n.as_f64().unwrap_or(0.0))),
        serde_json::Value::String(s) => Value::Str(Text::Shared(Arc::from(s.as_str()))),
        serde_json::Value::Array(a) => Value::Array(a.iter().map(shared).collect()),
        serde_json::Value::Object(o) => {
            let mut m = Map::new();
            for (k, v) in o {
                m.insert(Text::Shared(Arc::from(k.as_str())), shared(v));
            }
            Value::Map(m)
        }
    }
}

impl StaticFields {
    /// From its settings.
    pub fn from_config(c: &StaticFieldsConfig) -> Result<StaticFields, Error> {
        let conv = |m: &BTreeMap<String, serde_json::Value>| {
            m.iter()
                .map(|(k, v)| (Text::Shared(Arc::from(k.as_str())), shared(v)))
                .collect()
        };
        Ok(StaticFields {
            data: conv(&c.fields),
            diagnostics: conv(&c.diagnostics),
            tags: c
                .tags
                .iter()
                .map(|t| Text::Shared(Arc::from(t.as_str())))
                .collect(),
        })
    }

    /// Adds `key = value` to `data` of every event.
    pub fn field(mut self, key: &str, value: impl Into<serde_json::Value>) -> StaticFields {
        self.data
            .push((Text::Shared(Arc::from(key)), shared(&value.into())));
        self
    }

    /// Adds a tag to every event.
    pub fn tag(mut self, tag: &str) -> StaticFields {
        self.tags.push(Text::Shared(Arc::from(tag)));
        self
    }

    /// Nothing yet: add with [`StaticFields::field`] and [`StaticFields::tag`].
    pub fn new() -> StaticFields {
        StaticFields {
            data: Vec::new(),
            diagnostics: Vec::new(),
            tags: Vec::new(),
        }
    }
}

impl Default for StaticFields {
    fn default() -> Self {
        StaticFields::new()
    }
}

impl Enricher for StaticFields {
    fn name(&self) -> &str {
        "static_fields"
    }

    fn enrich(&self, event: &mut Event<'_>) -> Result<(), StageError> {
        for (k, v) in &self.data {
            if !event.data.contains_key(k) {
                event.data.insert(k.clone(), v.clone());
            }
        }
        for (k, v) in &self.diagnostics {
            event.diagnostics.insert(k.clone(), v.clone());
        }
        for t in &self.tags {
            if !event.tags.iter().any(|x| x == t) {
                event.tags.push(t.clone());
            }
        }
        Ok(())
    }
}
