//! The direct path: an ordinary record written as its JSON envelope straight
//! from the queue, without building an [`Event`](crate::Event).
//!
//! It applies when every stage of the pipeline promises what the path relies
//! on ([`Enricher::is_constant`](crate::Enricher::is_constant),
//! [`Redactor::leaves_unchanged`](crate::Redactor::leaves_unchanged),
//! [`Processor::only_exceptions`](crate::Processor::only_exceptions), no
//! filters) and every sink reads JSON. Redaction presets keep it: the field
//! mask decides from a record's keys
//! ([`Redactor::leaves_key`](crate::Redactor::leaves_key)), the value
//! scanners from one pre-scan of each string's bytes. The default stages
//! (`runtime_info`, `context_vars`, `url_credentials`, `exceptions`) do. A
//! record then goes the direct way when it is ordinary: no error or serde
//! field, no nested bound value, no key given twice, and every string passes
//! the redactors' pre-check. Any other record takes the event path.
//!
//! The constant part of `diagnostics` (the pipeline's own entries plus what
//! the constant enrichers add) is computed once, by running the real stages
//! on an empty event, and copied into each line. The output is byte for byte
//! the event path's: a test compares the two over generated records.

use std::time::SystemTime;

use smallvec::SmallVec;

use crate::encode::json::{
    write_as_string, write_close, write_context_string, write_entries, write_head, write_str,
    write_value,
};
use crate::encode::{level_name, Format, TraceName};
use crate::envelope::{
    is_context_key, location_value, scalar_value, EventBuilder, Info, MessageId,
};
use crate::level::Level;
use crate::metrics::Metrics;
use crate::record::{Location, Record};
use crate::stages::redactors::walk;
use crate::stages::{Outcome, Stages};
use crate::value::{Map, Text, Value};

/// Keys a record may carry before it takes the event path (the duplicate
/// check is quadratic).
const MAX_ITEMS: usize = 24;

/// A record's fields, bound context first, as the envelope sees them.
pub(crate) type Items<'r> = SmallVec<[(&'r str, Value<'r>); 12]>;

/// What the direct path writes the same way for every event of a pipeline.
#[derive(Debug)]
pub(crate) struct DirectPlan {
    /// `diagnostics` of an event without a location, braces included.
    diagnostics: Vec<u8>,
    /// With a location: the bytes before its entry and after it.
    around_location: Option<(Vec<u8>, Vec<u8>)>,
}

const PROBE_LOCATION: Location = Location {
    file: "f",
    line: 1,
    module: "m",
};

impl DirectPlan {
    /// The plan for a pipeline, or `None` when its stages or formats rule
    /// the direct path out.
    pub(crate) fn new(
        stages: &Stages,
        info: &Info,
        formats: &[Format],
        metrics: &Metrics,
    ) -> Option<DirectPlan> {
        let json_only = formats
            .iter()
            .all(|f| matches!(f, Format::Json | Format::Flat));
        let promised = stages.filters.is_empty()
            && stages.enrichers.iter().all(|e| e.is_constant())
            && redactors(stages).all(|r| r.leaves_unchanged(""))
            && stages.processors.iter().all(|p| p.only_exceptions());
        if !json_only || !promised {
            return None;
        }
        let mut builder = EventBuilder::new();
        let diagnostics = Self::probe(&mut builder, stages, info, metrics, None)?;
        let mut plan = DirectPlan {
            diagnostics: encode_entries(diagnostics.iter()),
            around_location: None,
        };
        if info.include_location {
            let with = Self::probe(&mut builder, stages, info, metrics, Some(&PROBE_LOCATION))?;
            let at = with.iter().position(|(k, _)| k == "location")?;
            let mut before = encode_entries(with.iter().take(at));
            before.pop(); // the closing brace
            if at > 0 {
                before.push(b',');
            }
            let mut after = encode_entries(with.iter().skip(at + 1));
            if after.len() > 2 {
                after[0] = b',';
            } else {
                after.remove(0);
            }
            plan.around_location = Some((before, after));
        }
        Some(plan)
    }

    /// Runs the stages on an empty event; its `diagnostics` when the stages
    /// kept their promises (they added diagnostics and changed nothing else).
    fn probe(
        builder: &mut EventBuilder,
        stages: &Stages,
        info: &Info,
        metrics: &Metrics,
        location: Option<&'static Location>,
    ) -> Option<Map<'static>> {
        let message = Text::Borrowed("");
        let id = builder.next_id();
        let mut ev = builder.blank(SystemTime::UNIX_EPOCH, Level::INFO, "", message, info, id);
        if let Some(loc) = location {
            ev.diagnostics.insert("location", location_value(loc));
        }
        let kept = stages.run(&mut ev, metrics) == Outcome::Keep;
        let untouched = ev.message.is_empty()
            && ev.logger.is_empty()
            && ev.level == Level::INFO
            && ev.context.len() == 1
            && ev.data.is_empty()
            && ev.tags.is_empty();
        // The strings the redactors would see on every event are the
        // constant diagnostics' (the rest of this event is empty).
        let mut strings_clean = true;
        walk::each_string(&mut ev, &mut |t| {
            strings_clean &= redactors(stages).all(|r| r.leaves_unchanged(t.as_str()));
            0
        });
        let out = (kept && untouched && strings_clean).then(|| ev.diagnostics.clone().into_owned());
        builder.recycle(ev);
        out
    }

    /// The record's fields when it can go the direct way.
    pub(crate) fn items<'r>(&self, r: &'r Record, stages: &Stages) -> Option<Items<'r>> {
        let clean = |s: &str| redactors(stages).all(|x| x.leaves_unchanged(s));
        let key_ok = |k: &str| redactors(stages).all(|x| x.leaves_key(k));
        if !clean(r.message()) {
            return None;
        }
        if let (Some(loc), Some(_)) = (r.location, &self.around_location) {
            if !clean(loc.file) || !clean(loc.module) {
                return None;
            }
        }
        let mut items: Items<'r> = SmallVec::new();
        for frame in [&r.context, &r.bound].into_iter().flatten() {
            for (k, v) in &frame.entries {
                let v = match v {
                    Value::Str(t) => Value::Str(Text::Borrowed(t.as_str())),
                    Value::Null => Value::Null,
                    Value::Bool(b) => Value::Bool(*b),
                    Value::I64(i) => Value::I64(*i),
                    Value::U64(u) => Value::U64(*u),
                    Value::F64(f) => Value::F64(*f),
                    Value::Array(_) | Value::Map(_) => return None,
                };
                push_item(&mut items, k.as_str(), v, &clean, &key_ok)?;
            }
        }
        for &(key, raw) in r.fields.iter() {
            let v = scalar_value(r, raw)?;
            push_item(&mut items, r.key(key), v, &clean, &key_ok)?;
        }
        Some(items)
    }

    /// Writes the envelope of `r` (whose fields are `items`) and a newline.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn write(
        &self,
        out: &mut Vec<u8>,
        r: &Record,
        items: &Items<'_>,
        timestamp: SystemTime,
        id: MessageId,
        flat: bool,
        trace_name: TraceName,
    ) {
        write_head(
            out,
            flat,
            timestamp,
            level_name(r.level, trace_name),
            r.message(),
            r.logger,
            id,
        );
        // fapilog's rule: the request scope's correlation id (a bound or
        // logged `correlation_id`), else null; a `request_id` is not one.
        match items.iter().rev().find(|(k, _)| *k == "correlation_id") {
            Some((_, v)) if !v.is_null() => write_as_string(out, v),
            _ => out.extend_from_slice(b"null"),
        }
        for (k, v) in items {
            // Every context key but `correlation_id` is typed as a string.
            if is_context_key(k) && *k != "correlation_id" {
                write_context_string(out, k, v);
            }
        }
        out.extend_from_slice(br#"},"diagnostics":"#);
        match (r.location, &self.around_location) {
            (Some(loc), Some((before, after))) => {
                out.extend_from_slice(before);
                out.extend_from_slice(br#""location":{"file":"#);
                write_str(out, loc.file);
                out.extend_from_slice(br#","line":"#);
                out.extend_from_slice(itoa::Buffer::new().format(loc.line).as_bytes());
                out.extend_from_slice(br#","module":"#);
                write_str(out, loc.module);
                out.push(b'}');
                out.extend_from_slice(after);
            }
            _ => out.extend_from_slice(&self.diagnostics),
        }
        out.extend_from_slice(br#","data":{"#);
        let mut first = true;
        for (k, v) in items {
            if is_context_key(k) {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            write_str(out, k);
            out.push(b':');
            write_value(out, v, 1);
        }
        out.push(b'}');
        write_close(out, flat);
        out.push(b'\n');
    }
}

/// Adds one field; `None` (event path) when the key repeats (the event
/// path keeps the first position and the last value), there are too many,
/// or a redactor might change the value.
#[inline]
fn push_item<'r>(
    items: &mut Items<'r>,
    key: &'r str,
    value: Value<'r>,
    clean: &impl Fn(&str) -> bool,
    key_ok: &impl Fn(&str) -> bool,
) -> Option<()> {
    if items.len() == MAX_ITEMS || items.iter().any(|(k, _)| *k == key) || !key_ok(key) {
        return None;
    }
    if let Value::Str(t) = &value {
        if !clean(t.as_str()) {
            return None;
        }
    }
    items.push((key, value));
    Some(())
}

/// Every redactor of the pipeline: the presets' first, as they run.
fn redactors(stages: &Stages) -> impl Iterator<Item = &dyn crate::stages::Redactor> {
    stages
        .preset_redactors
        .iter()
        .chain(&stages.redactors)
        .map(|r| &**r)
}

/// Entries as a JSON object, in a buffer of their own.
fn encode_entries<'a, 'b: 'a>(entries: impl Iterator<Item = (&'a str, &'a Value<'b>)>) -> Vec<u8> {
    let mut out = Vec::new();
    write_entries(&mut out, entries, 0);
    out
}
