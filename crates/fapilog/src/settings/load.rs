//! The sources of settings and how they stack: default < preset < TOML file
//! < environment < builder.

use std::fmt;
use std::path::{Path, PathBuf};

use super::keys::{self, Raw};
use super::presets::Preset;
use super::secrets::{is_secret_name, mask_value};
use super::{invalid, Settings};
use crate::error::Error;

/// Where a value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// The built-in default.
    Default,
    /// A preset.
    Preset(Preset),
    /// A TOML file, at a line.
    File {
        /// The file.
        path: String,
        /// The line of the key (1-based).
        line: usize,
    },
    /// An environment variable.
    Env(String),
    /// Code: the builder or [`Settings::set`].
    Code,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::Preset(p) => write!(f, "preset {}", p.name()),
            Origin::File { path, line } => write!(f, "{path}:{line}"),
            Origin::Env(v) => write!(f, "env {v}"),
            Origin::Code => f.write_str("code"),
        }
    }
}

/// Where each key's value came from, in [`keys::all`] order.
pub type Origins = Vec<(&'static str, Origin)>;

/// Something about a configuration that is not an error.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Note {
    /// A `FAPILOG_*` variable no setting has (a Python sibling's
    /// integration, a typo): ignored, as fapilog does.
    Unknown {
        /// The variable.
        name: String,
        /// The nearest known variable, if one is close.
        suggestion: Option<String>,
    },
    /// A setting that is accepted and has no effect here.
    NoEffect {
        /// The variable (or file key) that set it.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// A setting of a network sink, which the fapilog-sinks crate opens.
    SinkNotBuilt {
        /// The variable (or file key) that set it.
        name: String,
        /// The sink.
        sink: &'static str,
    },
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::Unknown {
                name,
                suggestion: Some(s),
            } => {
                write!(f, "unknown variable {name}, ignored: did you mean {s}?")
            }
            Note::Unknown {
                name,
                suggestion: None,
            } => {
                write!(
                    f,
                    "unknown variable {name}, ignored (no fapilog setting has this name)"
                )
            }
            Note::NoEffect { name, reason } => {
                write!(f, "{name}: accepted, not applicable here: {reason}")
            }
            Note::SinkNotBuilt { name, sink } => write!(
                f,
                "{name}: kept for the {sink} sink, which the fapilog-sinks crate opens (cargo feature `{sink}`)"
            ),
        }
    }
}

/// What [`Loader::load_report`] found: the settings, where each value came
/// from, and the notes (unknown variables, settings without effect here).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct LoadReport {
    /// The resolved settings.
    pub settings: Settings,
    /// Where each key's value came from.
    pub origins: Origins,
    /// Unknown variables and settings without effect, in the order met.
    pub notes: Vec<Note>,
}

/// The unknown-variable error of strict mode.
fn unknown_error(name: &str, value: &str) -> Error {
    let path = keys::env_to_path(name).unwrap_or_default();
    Error::UnknownSetting {
        key: name.to_owned(),
        value: mask_value(name, value),
        expected: match keys::suggest(name) {
            Some(s) => format!("a known variable: did you mean {s}? (strict mode: FAPILOG_STRICT)"),
            None => format!(
                "{} (as FAPILOG_<GROUP>__<KEY> variables; strict mode: FAPILOG_STRICT)",
                keys::siblings(&path)
            ),
        },
    }
}

/// The note for a key that was set, if it has no effect here.
fn effect_note(path: &str, shown: &str) -> Option<Note> {
    let k = keys::lookup(path)?;
    let k = match k.alias {
        Some(t) => keys::lookup(t)?,
        None => k,
    };
    match k.effect {
        keys::Effect::Active => None,
        keys::Effect::NoEffect(reason) => Some(Note::NoEffect {
            name: shown.to_owned(),
            reason,
        }),
        keys::Effect::SinkNotBuilt(sink) => Some(Note::SinkNotBuilt {
            name: shown.to_owned(),
            sink,
        }),
    }
}

/// Writes the notes once per process: unknown variables as warnings, the
/// rest at debug level when `core.internal_logging_enabled` is on.
fn report_once(notes: &[Note], settings: &Settings) {
    use std::sync::atomic::{AtomicBool, Ordering};
    static DONE: AtomicBool = AtomicBool::new(false);
    if notes.is_empty() || DONE.swap(true, Ordering::Relaxed) {
        return;
    }
    let debug = settings.accepted.get("core.internal_logging_enabled") == Some("true");
    for n in notes {
        let text = n.to_string();
        match n {
            Note::Unknown { .. } => crate::diagnostics::startup("WARN", "settings", &text),
            _ if debug => crate::diagnostics::startup("DEBUG", "settings", &text),
            _ => {}
        }
    }
}

/// One key/value pair from a source.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    path: String,
    raw: Raw,
    origin: Origin,
}

/// Wraps an error about one entry with its source's name for the key.
fn name_error(e: Error, origin: &Origin) -> Error {
    match origin {
        Origin::File { path, line } => Error::ConfigFile {
            path: path.clone(),
            line: *line,
            source: Box::new(e),
        },
        _ => e,
    }
}

/// Applies one value through the registry; errors name the key as the
/// source spells it (the variable for the environment, the dotted path
/// otherwise, with file and line for a file).
pub(crate) fn apply_one(
    s: &mut Settings,
    path: &str,
    raw: &Raw,
    origin: &Origin,
) -> Result<(), Error> {
    let shown_key = match origin {
        Origin::Env(var) => var.clone(),
        _ => path.to_owned(),
    };
    let value = raw.to_string();
    let err = match keys::lookup(path) {
        None => Error::UnknownSetting {
            value: mask_value(&shown_key, &value),
            expected: match origin {
                Origin::Env(_) => {
                    let list = keys::siblings(path);
                    format!("{} (as FAPILOG_<GROUP>__<KEY> variables)", list)
                }
                _ => keys::siblings(path),
            },
            key: shown_key,
        },
        Some(k) if k.unavailable.is_some() => Error::UnavailableSetting {
            key: shown_key,
            reason: k.unavailable.unwrap_or_default().to_owned(),
        },
        Some(k) => match k.set(s, path, raw) {
            Ok(()) => return Ok(()),
            Err(expected) => Error::InvalidSetting {
                value: if k.secret || is_secret_name(&shown_key) {
                    "***".to_owned()
                } else {
                    mask_value(&shown_key, &value)
                },
                key: shown_key,
                expected,
            },
        },
    };
    Err(name_error(err, origin))
}

/// The `FAPILOG_*` variables of one environment, sorted by name.
#[derive(Clone, Default)]
pub(crate) struct EnvVars {
    vars: Vec<(String, String)>,
    env_fallback: Option<String>,
    config: Option<String>,
    preset: Option<String>,
    strict: Option<String>,
    /// `RUST_LOG`, read just below the `FAPILOG_*` variables.
    rust_log: Option<String>,
}

impl EnvVars {
    pub(crate) fn collect<K: AsRef<str>, V: AsRef<str>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> EnvVars {
        let mut out = EnvVars::default();
        for (k, v) in vars {
            let upper = k.as_ref().to_ascii_uppercase();
            let v = v.as_ref().to_owned();
            match upper.as_str() {
                "ENV" => out.env_fallback = Some(v),
                "FAPILOG_CONFIG" => out.config = Some(v),
                "FAPILOG_PRESET" => out.preset = Some(v),
                "FAPILOG_STRICT" => out.strict = Some(v),
                "RUST_LOG" => out.rust_log = Some(v),
                _ if upper.starts_with("FAPILOG_") => out.vars.push((upper, v)),
                _ => {}
            }
        }
        // Sorted by name, aliases last: as in fapilog, `FAPILOG_LOKI__URL`
        // wins over `FAPILOG_SINK_CONFIG__LOKI__URL`.
        out.vars.sort_by_cached_key(|(k, _)| {
            let alias = keys::lookup_env(k).is_some_and(|key| key.alias.is_some());
            (alias, k.clone())
        });
        out
    }

    /// `FAPILOG_STRICT`, when set.
    fn strict(&self) -> Result<Option<bool>, Error> {
        self.strict
            .as_deref()
            .map(|v| {
                keys::boolean(&Raw::Str(v.to_owned()))
                    .map_err(|expected| invalid("FAPILOG_STRICT", v, &expected))
            })
            .transpose()
    }

    /// `true` when the variable names no setting.
    fn is_unknown(name: &str) -> bool {
        keys::lookup_env(name).is_none()
    }

    fn process() -> EnvVars {
        EnvVars::collect(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
    }

    fn entries(&self) -> Vec<Entry> {
        self.vars
            .iter()
            .map(|(k, v)| Entry {
                path: keys::env_to_path(k).unwrap_or_default(),
                raw: Raw::Str(v.clone()),
                origin: Origin::Env(k.clone()),
            })
            .collect()
    }

    /// Applies the variables (and the plain `ENV` fallback) to `s`.
    pub(crate) fn apply(&self, s: &mut Settings) -> Result<(), Error> {
        if let Some(e) = &self.env_fallback {
            if s.env == "dev" && !self.vars.iter().any(|(k, _)| k == "FAPILOG_ENV") {
                s.env = e.clone();
            }
        }
        let strict = self.strict()?.unwrap_or(false);
        let mut notes = Vec::new();
        for e in self.entries() {
            if let Origin::Env(name) = &e.origin {
                if EnvVars::is_unknown(name) {
                    if strict {
                        return Err(unknown_error(name, &e.raw.to_string()));
                    }
                    notes.push(Note::Unknown {
                        name: name.clone(),
                        suggestion: keys::suggest(name),
                    });
                    continue;
                }
            }
            apply_one(s, &e.path, &e.raw, &e.origin)?;
        }
        report_once(&notes, s);
        Ok(())
    }
}

/// Combines a preset, a TOML file and environment variables, in that order
/// of precedence (lowest first).
///
/// ```
/// # #[cfg(feature = "config-file")] {
/// use fapilog::settings::{Loader, Preset};
/// let s = Loader::new()
///     .preset(Preset::Dev)
///     .toml_str("app.toml", "[core]\nmax_queue_size = 512\nlog_level = \"WARNING\"\n")
///     .env_vars([("FAPILOG_CORE__LOG_LEVEL", "ERROR")])
///     .load()?;
/// assert_eq!(s.core.max_queue_size, 512);      // file over preset
/// assert_eq!(s.core.log_level, fapilog::Level::ERROR); // env over file
/// assert_eq!(s.core.batch_max_size, 1);        // the dev preset
/// # }
/// # Ok::<(), fapilog::Error>(())
/// ```
#[derive(Clone, Default)]
#[must_use = "a loader does nothing until `load` is called"]
pub struct Loader {
    base: Option<Settings>,
    preset: Option<Preset>,
    file: Option<PathBuf>,
    text: Option<(String, String)>,
    env: Option<EnvVars>,
    strict: Option<bool>,
}

/// Shows the sources, never their values (a file or a variable may hold a
/// secret).
impl fmt::Debug for Loader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loader")
            .field("preset", &self.preset)
            .field("file", &self.file)
            .field("toml_str", &self.text.as_ref().map(|(name, _)| name))
            .field(
                "env_vars",
                &self
                    .env
                    .as_ref()
                    .map(|e| e.vars.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>()),
            )
            .finish_non_exhaustive()
    }
}

impl Loader {
    /// A loader with no sources: `load` gives the defaults.
    pub fn new() -> Loader {
        Loader::default()
    }

    /// Starts from `base` instead of the defaults (a preset, if one is
    /// named anywhere, still replaces it).
    pub fn base(mut self, base: Settings) -> Loader {
        self.base = Some(base);
        self
    }

    /// Uses this preset, whatever `FAPILOG_PRESET` or the file say.
    pub fn preset(mut self, preset: Preset) -> Loader {
        self.preset = Some(preset);
        self
    }

    /// Reads this TOML file, whatever `FAPILOG_CONFIG` says.
    pub fn file(mut self, path: impl AsRef<Path>) -> Loader {
        self.file = Some(path.as_ref().to_path_buf());
        self
    }

    /// Uses this TOML text (named `name` in errors) as the file.
    pub fn toml_str(mut self, name: &str, text: &str) -> Loader {
        self.text = Some((name.to_owned(), text.to_owned()));
        self
    }

    /// Reads these variables (`FAPILOG_*`, `FAPILOG_PRESET`,
    /// `FAPILOG_CONFIG`, `ENV`) instead of the process environment.
    pub fn env_vars<K: AsRef<str>, V: AsRef<str>>(
        mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Loader {
        self.env = Some(EnvVars::collect(vars));
        self
    }

    /// Reads the process environment.
    pub fn process_env(mut self) -> Loader {
        self.env = Some(EnvVars::process());
        self
    }

    /// Strict mode: an unknown `FAPILOG_*` variable is an error instead of
    /// a warning (whatever `FAPILOG_STRICT` says).
    ///
    /// ```
    /// use fapilog::settings::Loader;
    /// let vars = [("FAPILOG_FASTAPI__ENABLED", "true")];
    /// assert!(Loader::new().env_vars(vars).load().is_ok()); // a warning
    /// assert!(Loader::new().env_vars(vars).strict(true).load().is_err());
    /// ```
    pub fn strict(mut self, strict: bool) -> Loader {
        self.strict = Some(strict);
        self
    }

    /// Resolves and validates the settings.
    pub fn load(self) -> Result<Settings, Error> {
        self.load_explained().map(|(s, _)| s)
    }

    /// Resolves and validates the settings, and says where each key's value
    /// came from (in [`keys::all`] order). Unknown variables are reported
    /// once as warnings on stderr; settings without effect here once at
    /// debug level when `core.internal_logging_enabled` is on.
    pub fn load_explained(self) -> Result<(Settings, Origins), Error> {
        let r = self.load_report()?;
        report_once(&r.notes, &r.settings);
        Ok((r.settings, r.origins))
    }

    /// Resolves and validates the settings and returns the notes instead of
    /// writing them (what `fapilog check` prints).
    ///
    /// ```
    /// use fapilog::settings::{Loader, Note};
    /// let r = Loader::new()
    ///     .env_vars([("FAPILOG_CORE__MAX_QUEUE_SIZ", "10"), ("FAPILOG_CORE__SIGNAL_HANDLER_ENABLED", "true")])
    ///     .load_report()?;
    /// assert!(matches!(&r.notes[0], Note::Unknown { suggestion: Some(s), .. } if s == "FAPILOG_CORE__MAX_QUEUE_SIZE"));
    /// assert!(matches!(&r.notes[1], Note::NoEffect { .. }));
    /// # Ok::<(), fapilog::Error>(())
    /// ```
    pub fn load_report(self) -> Result<LoadReport, Error> {
        self.resolve_report(None)
    }

    /// Resolves, then puts back the `touched` keys of `builder` (the
    /// builder's layer, highest of all; `"*"` means every key).
    pub(crate) fn resolve(
        self,
        builder: Option<(&Settings, &[&'static str])>,
    ) -> Result<(Settings, Origins), Error> {
        let r = self.resolve_report(builder)?;
        report_once(&r.notes, &r.settings);
        Ok((r.settings, r.origins))
    }

    fn resolve_report(
        self,
        builder: Option<(&Settings, &[&'static str])>,
    ) -> Result<LoadReport, Error> {
        let env = self.env.unwrap_or_default();
        let strict = match self.strict {
            Some(s) => s,
            None => env.strict()?.unwrap_or(false),
        };
        let mut notes: Vec<Note> = Vec::new();
        let file_entries = match (&self.text, &self.file, &env.config) {
            (Some((name, text)), _, _) => parse_toml(name, text)?,
            (None, Some(path), _) => read_toml(path)?,
            (None, None, Some(path)) if !path.is_empty() => read_toml(Path::new(path))?,
            _ => Vec::new(),
        };

        // The preset: builder, else FAPILOG_PRESET, else the file's.
        let mut preset_origin = Origin::Code;
        let preset = match (self.preset, &env.preset) {
            (Some(p), _) => Some(p),
            (None, Some(name)) => {
                preset_origin = Origin::Env("FAPILOG_PRESET".to_owned());
                Some(parse_preset("FAPILOG_PRESET", name, &preset_origin)?)
            }
            (None, None) => match file_entries.iter().find(|e| e.path == "preset") {
                Some(e) => {
                    preset_origin = e.origin.clone();
                    Some(parse_preset("preset", &e.raw.to_string(), &e.origin)?)
                }
                None => None,
            },
        };

        let mut s = match (preset, self.base) {
            (Some(p), _) => p.settings(),
            (None, Some(b)) => b,
            (None, None) => Settings::default(),
        };
        let mut origins: Vec<(&'static str, Origin)> = keys::all()
            .iter()
            .filter(|k| k.unavailable.is_none())
            .map(|k| {
                let o = match preset {
                    Some(_) if k.path == "preset" => preset_origin.clone(),
                    Some(p) if k.shown(&s) != k.shown(&Settings::default()) => Origin::Preset(p),
                    _ => Origin::Default,
                };
                (k.path, o)
            })
            .collect();
        let mut record = |path: &str, origin: &Origin| {
            let Some(key) = keys::lookup(path) else {
                return;
            };
            if let Some(slot) = origins.iter_mut().find(|(p, _)| *p == key.path) {
                slot.1 = origin.clone();
            }
        };

        for e in &file_entries {
            if e.path == "preset" {
                continue;
            }
            apply_one(&mut s, &e.path, &e.raw, &e.origin)?;
            notes.extend(effect_note(&e.path, &e.path));
            record(&e.path, &e.origin);
        }
        if let Some(fallback) = &env.env_fallback {
            let file_set_env = file_entries.iter().any(|e| e.path == "env");
            if !file_set_env && !env.vars.iter().any(|(k, _)| k == "FAPILOG_ENV") {
                s.env = fallback.clone();
                record("env", &Origin::Env("ENV".to_owned()));
            }
        }
        if let Some(spec) = &env.rust_log {
            super::Directives::parse(spec)?.apply(&mut s, &mut record);
        }
        for e in env.entries() {
            let Origin::Env(name) = &e.origin else {
                continue;
            };
            if EnvVars::is_unknown(name) {
                if strict {
                    return Err(unknown_error(name, &e.raw.to_string()));
                }
                notes.push(Note::Unknown {
                    name: name.clone(),
                    suggestion: keys::suggest(name),
                });
                continue;
            }
            apply_one(&mut s, &e.path, &e.raw, &e.origin)?;
            notes.extend(effect_note(&e.path, name));
            record(&e.path, &e.origin);
        }
        if let Some((b, touched)) = builder {
            for k in keys::all() {
                if k.unavailable.is_some() {
                    continue;
                }
                if touched.contains(&"*") || touched.contains(&k.path) {
                    k.copy_into(b, &mut s);
                    record(k.path, &Origin::Code);
                }
            }
        }
        if preset.is_some() {
            s.preset = preset;
        }
        s.validate()?;
        Ok(LoadReport {
            settings: s,
            origins,
            notes,
        })
    }
}

fn parse_preset(key: &str, name: &str, origin: &Origin) -> Result<Preset, Error> {
    name.trim().parse::<Preset>().map_err(|_| {
        name_error(
            invalid(key, name, &format!("one of {}", Preset::NAMES.join(", "))),
            origin,
        )
    })
}

fn read_toml(path: &Path) -> Result<Vec<Entry>, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Open {
        path: path.display().to_string(),
        source,
    })?;
    parse_toml(&path.display().to_string(), &text)
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

#[cfg(feature = "config-file")]
fn parse_toml(name: &str, text: &str) -> Result<Vec<Entry>, Error> {
    use toml_edit::{Document, Item, Table, Value};

    let doc = Document::parse(text).map_err(|e| Error::ConfigSyntax {
        path: name.to_owned(),
        line: e.span().map_or(1, |s| line_of(text, s.start)),
        message: e.message().trim().to_owned(),
    })?;

    fn value(v: &Value, path: &str, at: &Origin) -> Result<Raw, Error> {
        Ok(match v {
            Value::String(s) => Raw::Str(s.value().clone()),
            Value::Integer(i) => Raw::Int(*i.value()),
            Value::Float(f) => Raw::Float(*f.value()),
            Value::Boolean(b) => Raw::Bool(*b.value()),
            Value::Array(a) => Raw::List(
                a.iter()
                    .map(|v| value(v, path, at))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Datetime(d) => Raw::Str(d.value().to_string()),
            Value::InlineTable(_) => {
                return Err(name_error(invalid(path, "{…}", "a value, not a table"), at))
            }
        })
    }

    struct Walk<'t> {
        name: &'t str,
        text: &'t str,
        out: Vec<Entry>,
    }

    impl Walk<'_> {
        fn origin(&self, span: Option<std::ops::Range<usize>>) -> Origin {
            Origin::File {
                path: self.name.to_owned(),
                line: span.map_or(1, |s| line_of(self.text, s.start)),
            }
        }

        fn leaf(
            &mut self,
            path: String,
            v: &Value,
            span: Option<std::ops::Range<usize>>,
        ) -> Result<(), Error> {
            let origin = self.origin(span);
            if let Value::InlineTable(t) = v {
                for (k, v) in t.iter() {
                    let span = t.key(k).and_then(|key| key.span()).or_else(|| v.span());
                    self.leaf(format!("{path}.{k}"), v, span)?;
                }
                return Ok(());
            }
            let raw = value(v, &path, &origin)?;
            self.out.push(Entry { path, raw, origin });
            Ok(())
        }

        fn table(&mut self, prefix: &str, t: &Table) -> Result<(), Error> {
            for (k, item) in t.iter() {
                let path = if prefix.is_empty() {
                    k.to_owned()
                } else {
                    format!("{prefix}.{k}")
                };
                let span = t.key(k).and_then(|key| key.span()).or_else(|| item.span());
                match item {
                    Item::None => {}
                    Item::Value(v) => self.leaf(path, v, span)?,
                    Item::Table(inner) => self.table(&path, inner)?,
                    Item::ArrayOfTables(_) => {
                        return Err(name_error(
                            invalid(&path, "[[…]]", "a value or a table, not an array of tables"),
                            &self.origin(span),
                        ))
                    }
                }
            }
            Ok(())
        }
    }

    let mut w = Walk {
        name,
        text,
        out: Vec::new(),
    };
    w.table("", doc.as_table())?;
    Ok(w.out)
}

#[cfg(not(feature = "config-file"))]
fn parse_toml(name: &str, _text: &str) -> Result<Vec<Entry>, Error> {
    let _ = line_of;
    Err(Error::UnavailableSetting {
        key: format!("FAPILOG_CONFIG ({name})"),
        reason: "TOML files need the `config-file` cargo feature of fapilog".to_owned(),
    })
}

/// The documentation of every setting as Markdown: the content of
/// `docs/settings.md`, generated from the registry the parsers use.
pub fn markdown_table() -> String {
    let mut out = String::new();
    out.push_str("# Settings\n\n");
    out.push_str("<!-- Generated from `fapilog::settings::keys` by `fapilog::settings::markdown_table()`; do not edit.\n");
    out.push_str("     Regenerate with: FAPILOG_WRITE_DOCS=1 cargo test -p fapilog --test settings_docs -->\n\n");
    out.push_str(
        "Every setting has one dotted path. In a TOML file it is a key in a table \
(`[core]` / `max_queue_size = 512`); as an environment variable it is `FAPILOG_` followed by \
the path upper-cased, with `.` written `__` (`FAPILOG_CORE__MAX_QUEUE_SIZE=512`), as in fapilog.\n\n\
Precedence, lowest first: **default < preset < TOML file < environment < builder**. \
The preset is chosen by the builder (`PipelineBuilder::preset`), else `FAPILOG_PRESET`, else the \
file's top-level `preset` key. The file is the one passed in (`PipelineBuilder::config_file`, \
`Loader::file`, `fapilog check FILE`), else the one `FAPILOG_CONFIG` names.\n\n\
Values: booleans accept `true/false`, `1/0`, `yes/no`, `on/off`; lists are TOML arrays, JSON lists \
(`[\"ERROR\",\"CRITICAL\"]`) or comma-separated; sizes are bytes or `512 KB`, `10 MB`, `10MiB` \
(1024-based); durations are seconds or `250ms`, `5s`, `2m`, `1h`. Every variable fapilog 0.18.1 reads is \
accepted with fapilog's type; those that mean nothing here say why below (\"no effect here\"), and \
`fapilog check` lists the ones set. An unknown `FAPILOG_*` variable is a warning with a \"did you \
mean\" suggestion (an error with `FAPILOG_STRICT=true` or `Loader::strict`); an unknown TOML key \
is an error, as is a value out of range; errors name the variable (or file, line and key), the \
value (secrets masked) and what is allowed.\n\n",
    );
    out.push_str("| Variable | TOML key | Type | Default | Description |\n|---|---|---|---|---|\n");
    out.push_str("| `FAPILOG_CONFIG` | — | path | | The TOML file to read. |\n");
    out.push_str("| `FAPILOG_STRICT` | — | boolean | `false` | Unknown `FAPILOG_*` variables are errors instead of warnings. |\n");
    out.push_str("| `ENV` | — | string | | Used as `env` when neither `FAPILOG_ENV` nor the file sets it. |\n");
    for k in keys::all().iter().filter(|k| k.unavailable.is_none()) {
        out.push_str(&format!(
            "| `{}` | `{}` | {} | {} | {} |\n",
            k.env_name(),
            k.path,
            k.ty,
            if k.default.is_empty() {
                String::new()
            } else {
                format!("`{}`", k.default)
            },
            k.doc.replace('|', "\\|")
        ));
    }
    out.push_str(BESIDE_PYTHON);
    out.push_str("\n## Rejected: fapilog settings this version does not have\n\n");
    out.push_str(
        "These are recognised so that the error says why; setting any of them fails \
rather than being silently ignored.\n\n| Variable | TOML key | Why | fapilog's use |\n|---|---|---|---|\n",
    );
    for k in keys::all().iter().filter(|k| k.unavailable.is_some()) {
        out.push_str(&format!(
            "| `{}` | `{}` | {} | {} |\n",
            k.env_name(),
            k.path,
            k.unavailable.unwrap_or_default(),
            k.doc
        ));
    }
    out.push_str("\n## Presets\n\n");
    out.push_str(
        "A preset is a full `Settings` value (`Preset::settings()`); the table lists what each \
changes from the defaults. Any key can still be overridden by the file, the environment or \
the builder.\n\n",
    );
    for p in Preset::ALL {
        out.push_str(&format!("### `{}`\n\n{}\n\n", p.name(), p.description()));
        let diff = p.overrides();
        if diff.is_empty() {
            out.push_str("No changes from the defaults.\n\n");
        } else {
            out.push_str("| Key | Value |\n|---|---|\n");
            for (k, v) in diff {
                let v = if v.is_empty() {
                    "*(empty)*".to_owned()
                } else {
                    format!("`{}`", v.replace('|', "\\|"))
                };
                out.push_str(&format!("| `{k}` | {v} |\n"));
            }
            out.push('\n');
        }
    }
    out
}

/// The docs' section on sharing a configuration with Python services.
const BESIDE_PYTHON: &str = "
## Running beside Python fapilog

One set of `FAPILOG_*` variables configures Python fapilog 0.18.1 and this library alike: every
name fapilog reads is accepted with its type and default (the test `fleet_parity` sweeps all of
them with values recorded from fapilog itself). A name that means nothing here is kept and
reported: `fapilog check` lists it under `# notes:` with the reason, and with
`FAPILOG_CORE__INTERNAL_LOGGING_ENABLED=true` it is written once at debug level on stderr. A
`FAPILOG_*` variable no version of fapilog has (a typo, a sibling's own integration such as
`FAPILOG_FASTAPI__ENABLED`) is a warning with a \"did you mean\" suggestion; set
`FAPILOG_STRICT=true` to make it an error. Differences kept on purpose: `core.drop_on_full`
defaults to `false` (no line is lost by default) and `core.redaction_fail_mode` to `closed`.

The envelope is fapilog's, key for key (the test `envelope_golden` compares it with lines written
by fapilog 0.18.1): `diagnostics.origin`, `diagnostics.exception` with `error.type`,
`error.message`, `error.stack`, `error.frames` (when a backtrace was captured) and `error.cause`
(the first `source()`'s message, where fapilog writes the cause's class name), the error not
repeated in `data`, a `data` map field flattened into `data`, and `context.correlation_id` set
only by a request scope (a bound or logged `correlation_id`, which the axum layer binds), not by
a bound `request_id`. What differs is what describes the runtime: `diagnostics.python` there,
`rust`, `os`, `arch` and `fapilog` here; type names and stack text.
";

/// The builder's view of the sources: which keys it set itself, and which
/// other sources to read at `build`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Layers {
    touched: Vec<&'static str>,
    pub(crate) preset: Option<Preset>,
    pub(crate) file: Option<PathBuf>,
    pub(crate) env: bool,
}

impl Layers {
    /// The builder set `path`.
    pub(crate) fn touch(&mut self, path: &'static str) {
        if !self.touched.contains(&path) {
            self.touched.push(path);
        }
    }

    /// The builder set every key (`PipelineBuilder::settings`).
    pub(crate) fn touch_all(&mut self) {
        self.touch("*");
    }

    /// The settings to build from: the builder's own when it reads no other
    /// source, else every source stacked with the builder's keys on top.
    pub(crate) fn resolve(&self, builder: &Settings) -> Result<Settings, Error> {
        if !self.env && self.preset.is_none() && self.file.is_none() {
            builder.validate()?;
            return Ok(builder.clone());
        }
        let mut l = Loader::new();
        if let Some(p) = self.preset {
            l = l.preset(p);
        }
        if let Some(f) = &self.file {
            l = l.file(f);
        }
        if self.env {
            l = l.process_env();
        }
        l.resolve(Some((builder, &self.touched))).map(|(s, _)| s)
    }
}
