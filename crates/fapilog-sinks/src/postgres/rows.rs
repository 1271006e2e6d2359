//! A batch as rows of fapilog's table, column by column: encoded once per
//! batch, sent (and re-sent on a retry) as is.

use std::borrow::Cow;
use std::collections::HashMap;
use std::error::Error;
use std::time::SystemTime;

use fapilog::{BatchLine, SinkError};
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::Value;
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};

use super::table::{Column, Source};

/// The rows of one request: one vector per extracted column (in the
/// table's column order) and the `event` JSON of each row.
#[derive(Debug, Default)]
pub struct Rows {
    /// The `TIMESTAMPTZ` column (the events' own times), when extracted.
    pub(crate) times: Vec<SystemTime>,
    /// The text columns, in the table's order (timestamp excluded).
    pub(crate) texts: Vec<Vec<Option<String>>>,
    /// Every row's `event` JSON, back to back.
    pub(crate) events: Vec<u8>,
    /// Where each row's `event` ends in `events`.
    pub(crate) event_ends: Vec<usize>,
}

impl Rows {
    /// Number of rows.
    pub(crate) fn len(&self) -> usize {
        self.event_ends.len()
    }

    /// The `event` JSON of rows `lo..hi`.
    pub(crate) fn events(&self, lo: usize, hi: usize) -> Vec<RawJson<'_>> {
        (lo..hi).map(|i| RawJson(self.event(i))).collect()
    }

    /// The `event` JSON of row `i`.
    pub(crate) fn event(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.event_ends[i - 1] };
        &self.events[start..self.event_ends[i]]
    }
}

/// The part of an entry the extracted columns read; `D` is what is kept of
/// `diagnostics` (nothing unless a diagnostics column is extracted).
#[derive(Deserialize)]
struct Entry<'a, D> {
    #[serde(borrow, default)]
    level: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    logger: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    message: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    context: Option<HashMap<Cow<'a, str>, Value>>,
    #[serde(default = "Option::default")]
    diagnostics: Option<D>,
}

/// Builds the rows of a batch for a table's columns.
#[derive(Clone, Debug)]
pub(crate) struct RowEncoder {
    columns: Vec<Column>,
    include_raw_json: bool,
    wants_diagnostics: bool,
    wants_root: bool,
}

impl RowEncoder {
    pub(crate) fn new(columns: Vec<Column>, include_raw_json: bool) -> RowEncoder {
        let wants_diagnostics = columns
            .iter()
            .any(|c| matches!(c.source, Source::Diagnostics(_)));
        let wants_root = columns.iter().any(|c| matches!(c.source, Source::Root(_)));
        RowEncoder {
            columns,
            include_raw_json,
            wants_diagnostics,
            wants_root,
        }
    }

    /// Empty rows with room for `n`.
    pub(crate) fn rows(&self, n: usize) -> Rows {
        let texts = self
            .columns
            .iter()
            .filter(|c| c.source != Source::Timestamp)
            .map(|_| Vec::with_capacity(n))
            .collect();
        Rows {
            times: Vec::with_capacity(n),
            texts,
            events: Vec::new(),
            event_ends: Vec::with_capacity(n),
        }
    }

    /// Appends one line of a batch (fapilog's flat entry) as a row.
    pub(crate) fn push(&self, rows: &mut Rows, line: &BatchLine<'_>) -> Result<(), SinkError> {
        let bad = |e: serde_json::Error| {
            SinkError::Rejected(format!("a batch line is not a JSON entry: {e}"))
        };
        let values = if self.wants_diagnostics {
            let entry: Entry<'_, HashMap<Cow<'_, str>, Value>> =
                serde_json::from_slice(line.bytes).map_err(bad)?;
            self.values(line, &entry, entry.diagnostics.as_ref())
        } else {
            let entry: Entry<'_, IgnoredAny> = serde_json::from_slice(line.bytes).map_err(bad)?;
            self.values(line, &entry, None)
        };
        let mut values = values;
        if self.wants_root {
            let root: serde_json::Map<String, Value> =
                serde_json::from_slice(line.bytes).map_err(bad)?;
            for (v, c) in values.iter_mut().zip(&self.columns) {
                if let Source::Root(key) = &c.source {
                    *v = root.get(key).and_then(text);
                }
            }
        }
        if self.include_raw_json {
            rows.events.extend_from_slice(line.bytes);
        } else {
            let mut only = serde_json::Map::new();
            for (v, c) in values.iter().zip(&self.columns) {
                let value = match (&c.source, v) {
                    (Source::Timestamp, _) => Value::String(rfc3339(line.time)),
                    (_, Some(s)) => Value::String(s.clone()),
                    (_, None) => Value::Null,
                };
                only.insert(c.name.clone(), value);
            }
            serde_json::to_writer(&mut rows.events, &only).map_err(bad)?;
        }
        rows.event_ends.push(rows.events.len());
        let mut texts = rows.texts.iter_mut();
        for (v, c) in values.into_iter().zip(&self.columns) {
            if c.source == Source::Timestamp {
                rows.times.push(line.time);
            } else if let Some(col) = texts.next() {
                col.push(v);
            }
        }
        Ok(())
    }

    /// The text of each column for one entry (`None` for the timestamp
    /// and root columns, filled elsewhere).
    fn values<D>(
        &self,
        line: &BatchLine<'_>,
        entry: &Entry<'_, D>,
        diagnostics: Option<&HashMap<Cow<'_, str>, Value>>,
    ) -> Vec<Option<String>> {
        let context = |key: &str| {
            entry
                .context
                .as_ref()
                .and_then(|c| c.get(key))
                .and_then(text)
        };
        self.columns
            .iter()
            .map(|c| match &c.source {
                Source::Timestamp | Source::Root(_) => None,
                Source::Level => Some(entry.level.as_deref().unwrap_or("INFO").to_owned()),
                Source::Logger => Some(entry.logger.as_deref().unwrap_or("root").to_owned()),
                Source::Message => Some(entry.message.as_deref().unwrap_or("").to_owned()),
                Source::CorrelationId => context("correlation_id"),
                Source::MessageId => Some(line.message_id.to_string()),
                Source::Context(key) => context(key),
                Source::Diagnostics(key) => {
                    diagnostics.and_then(|d| d.get(key.as_str())).and_then(text)
                }
            })
            .collect()
    }
}

/// A JSON value as column text: strings as they are, `null` as SQL NULL,
/// anything else as its JSON.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// `time` as RFC 3339 UTC with microseconds (for `include_raw_json = false`).
fn rfc3339(time: SystemTime) -> String {
    crate::civil::Rfc3339Micros(time).to_string()
}

/// JSON text sent as a `json` or `jsonb` value without parsing it again.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawJson<'a>(pub(crate) &'a [u8]);

impl ToSql for RawJson<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut tokio_postgres::types::private::BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        if *ty == Type::JSONB {
            // The binary form of jsonb: a version byte, then the text.
            out.extend_from_slice(&[1]);
        }
        out.extend_from_slice(self.0);
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSON || *ty == Type::JSONB
    }

    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use fapilog::{Batch, Event, Format, Level};
    use std::time::Duration;

    fn encoder(fields: &[&str], raw: bool) -> RowEncoder {
        RowEncoder::new(fields.iter().map(|f| Column::for_field(f)).collect(), raw)
    }

    #[test]
    fn columns_come_from_the_entry_and_the_batch_metadata() {
        let mut batch = Batch::new(Format::Flat);
        batch.push(&Event::new(Level::WARNING, "disk low"));
        let line = batch.lines().next().unwrap();
        let enc = encoder(
            &["timestamp", "level", "message", "message_id", "service"],
            true,
        );
        let mut rows = enc.rows(1);
        enc.push(&mut rows, &line).unwrap();
        assert_eq!(rows.times, [line.time]);
        assert_eq!(rows.texts[0], [Some("WARNING".to_owned())]);
        assert_eq!(rows.texts[1], [Some("disk low".to_owned())]);
        assert_eq!(rows.texts[2], [Some(line.message_id.to_string())]);
        assert_eq!(rows.event(0), line.bytes, "event is the entry as encoded");
    }

    #[test]
    fn without_raw_json_event_holds_only_the_extracted_fields() {
        let mut batch = Batch::new(Format::Flat);
        batch.push(&Event::new(Level::INFO, "hello"));
        let enc = encoder(&["timestamp", "level", "message", "request_id"], false);
        let mut rows = enc.rows(1);
        enc.push(&mut rows, &batch.lines().next().unwrap()).unwrap();
        let v: Value = serde_json::from_slice(rows.event(0)).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(keys.len(), 4, "{v}");
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["message"], "hello");
        assert!(v["request_id"].is_null());
        assert!(v["timestamp"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn rfc3339_renders_utc_with_microseconds() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_micros(1_795_000_000_123_456);
        assert_eq!(rfc3339(t), "2026-11-18T11:06:40.123456Z");
        assert_eq!(
            rfc3339(SystemTime::UNIX_EPOCH),
            "1970-01-01T00:00:00.000000Z"
        );
    }
}
