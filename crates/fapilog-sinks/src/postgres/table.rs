//! fapilog's table: its columns, the DDL that creates it and its indexes,
//! and the statements that insert into it.

use std::fmt::Write as _;

use crate::config::ConfigError;

/// PostgreSQL's identifier limit (`NAMEDATALEN - 1`): longer names are
/// silently truncated by the server, so they are refused up front.
const MAX_IDENT: usize = 63;

/// Where an extracted column's value comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// The event's own time (batch metadata), `TIMESTAMPTZ`.
    Timestamp,
    /// The envelope's `level` (`INFO` when missing), `VARCHAR(10)`.
    Level,
    /// The envelope's `logger` (`root` when missing), `VARCHAR(255)`.
    Logger,
    /// The envelope's `message` (`""` when missing), `TEXT`.
    Message,
    /// `context.correlation_id`, `VARCHAR(64)`.
    CorrelationId,
    /// `context.message_id`: the batch metadata's id, `TEXT`.
    MessageId,
    /// Another `context.*` key, `TEXT`.
    Context(String),
    /// A `diagnostics.*` key, `TEXT`.
    Diagnostics(String),
    /// A key of the entry's root (fapilog's fallback for unknown names), `TEXT`.
    Root(String),
}

/// One extracted column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Column {
    /// The column's name (the field's name, as fapilog names it).
    pub(crate) name: String,
    pub(crate) source: Source,
}

impl Column {
    /// The column for fapilog's field name `name`.
    pub(crate) fn for_field(name: &str) -> Column {
        let source = match name {
            "timestamp" => Source::Timestamp,
            "level" => Source::Level,
            "logger" => Source::Logger,
            "message" => Source::Message,
            "correlation_id" => Source::CorrelationId,
            "message_id" => Source::MessageId,
            "request_id" | "user_id" | "tenant_id" | "trace_id" | "span_id" => {
                Source::Context(name.to_owned())
            }
            "origin" | "service" | "env" | "host" | "pid" => Source::Diagnostics(name.to_owned()),
            other => Source::Root(other.to_owned()),
        };
        Column {
            name: name.to_owned(),
            source,
        }
    }

    /// The SQL type of the column (fapilog's).
    pub(crate) fn sql_type(&self) -> &'static str {
        match self.source {
            Source::Timestamp => "TIMESTAMPTZ",
            Source::Level => "VARCHAR(10)",
            Source::Logger => "VARCHAR(255)",
            Source::CorrelationId => "VARCHAR(64)",
            _ => "TEXT",
        }
    }

    /// The array type of an `UNNEST` parameter for this column.
    fn array_type(&self) -> &'static str {
        match self.source {
            Source::Timestamp => "timestamptz[]",
            Source::Level | Source::Logger | Source::CorrelationId => "varchar[]",
            _ => "text[]",
        }
    }
}

/// The table a sink writes: its name, its extracted columns and the `event`
/// column's type.
#[derive(Clone, Debug)]
pub(crate) struct Table {
    pub(crate) schema: String,
    pub(crate) name: String,
    pub(crate) columns: Vec<Column>,
    /// `JSONB` (fapilog's default) or `JSON`.
    pub(crate) jsonb: bool,
    /// A unique index on `message_id` and `ON CONFLICT DO NOTHING`.
    pub(crate) dedupe: bool,
    /// The index on `event` (a `jsonb` column only).
    pub(crate) event_index: EventIndex,
}

/// The index on the `event` column that the sink creates with the table.
///
/// Index maintenance is most of what an insert costs the server: on
/// PostgreSQL 15 here, 50,000 typical entries took 2.3 s with fapilog's
/// GIN index, 1.3 s with `jsonb_path_ops`, 0.16 s with none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum EventIndex {
    /// fapilog's `USING GIN (event)`: every key and value, for `?`, `?|`,
    /// `?&`, `@>` and JSON-path queries.
    #[default]
    Gin,
    /// `USING GIN (event jsonb_path_ops)`: smaller and cheaper to keep up;
    /// serves `@>` containment and JSON-path queries, not the key-exists
    /// operators.
    GinPathOps,
    /// No index on `event`.
    None,
}

impl Table {
    /// `"schema"."table"`.
    pub(crate) fn qualified(&self) -> String {
        format!("{}.{}", quote(&self.schema), quote(&self.name))
    }

    /// The column list of an insert, `event` last.
    fn column_list(&self) -> String {
        let mut out = String::new();
        for c in &self.columns {
            out.push_str(&quote(&c.name));
            out.push_str(", ");
        }
        out.push_str("\"event\"");
        out
    }

    fn event_type(&self) -> &'static str {
        if self.jsonb {
            "JSONB"
        } else {
            "JSON"
        }
    }

    /// The `INSERT … SELECT * FROM UNNEST(…)` statement: one array
    /// parameter per column, so a batch of any size is one statement.
    pub(crate) fn unnest_insert(&self) -> String {
        let mut sql = format!(
            "INSERT INTO {} ({}) SELECT * FROM UNNEST(",
            self.qualified(),
            self.column_list()
        );
        for (i, c) in self.columns.iter().enumerate() {
            let _ = write!(sql, "${}::{}, ", i + 1, c.array_type());
        }
        let _ = write!(
            sql,
            "${}::{}[])",
            self.columns.len() + 1,
            self.event_type().to_ascii_lowercase()
        );
        if self.dedupe {
            sql.push_str(" ON CONFLICT (\"message_id\") DO NOTHING");
        }
        sql
    }

    /// The `COPY … FROM STDIN (FORMAT binary)` statement.
    pub(crate) fn copy_in(&self) -> String {
        format!(
            "COPY {} ({}) FROM STDIN (FORMAT binary)",
            self.qualified(),
            self.column_list()
        )
    }

    /// fapilog's DDL: the schema, the table, its indexes (and the unique
    /// `message_id` index when de-duplicating), in one script.
    pub(crate) fn ddl(&self) -> String {
        let t = self.qualified();
        let mut sql = format!("CREATE SCHEMA IF NOT EXISTS {};\n", quote(&self.schema));
        let _ = write!(
            sql,
            "CREATE TABLE IF NOT EXISTS {t} (id BIGSERIAL PRIMARY KEY, \
             created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()"
        );
        for c in &self.columns {
            let _ = write!(sql, ", {} {}", quote(&c.name), c.sql_type());
        }
        let _ = writeln!(sql, ", \"event\" {} NOT NULL);", self.event_type());
        let has = |s: Source| self.columns.iter().any(|c| c.source == s);
        if has(Source::Timestamp) {
            let idx = quote(&self.index_name("timestamp"));
            let _ = writeln!(
                sql,
                "CREATE INDEX IF NOT EXISTS {idx} ON {t} (\"timestamp\" DESC);"
            );
        }
        if has(Source::Level) {
            let idx = quote(&self.index_name("level"));
            let _ = writeln!(sql, "CREATE INDEX IF NOT EXISTS {idx} ON {t} (\"level\");");
        }
        if has(Source::CorrelationId) {
            let idx = quote(&self.index_name("correlation_id"));
            let _ = writeln!(
                sql,
                "CREATE INDEX IF NOT EXISTS {idx} ON {t} (\"correlation_id\") \
                 WHERE \"correlation_id\" IS NOT NULL;"
            );
        }
        // GIN has no operator class for `json`, only `jsonb`.
        let ops = match self.event_index {
            EventIndex::Gin => Some(""),
            EventIndex::GinPathOps => Some(" jsonb_path_ops"),
            EventIndex::None => None,
        };
        if let (true, Some(ops)) = (self.jsonb, ops) {
            let idx = quote(&self.index_name("event_gin"));
            let _ = writeln!(
                sql,
                "CREATE INDEX IF NOT EXISTS {idx} ON {t} USING GIN (\"event\"{ops});"
            );
        }
        if self.dedupe {
            let idx = quote(&self.index_name("message_id"));
            let _ = writeln!(
                sql,
                "CREATE UNIQUE INDEX IF NOT EXISTS {idx} ON {t} (\"message_id\");"
            );
        }
        sql
    }

    /// fapilog's index name `idx_{table}_{suffix}`, kept within 63 bytes:
    /// a long table name is cut and a hash of the whole name added, so two
    /// indexes never end up with the same truncated name.
    pub(crate) fn index_name(&self, suffix: &str) -> String {
        let plain = format!("idx_{}_{suffix}", self.name);
        if plain.len() <= MAX_IDENT {
            return plain;
        }
        let hash = format!("{:08x}", fnv1a(self.name.as_bytes()));
        let room = MAX_IDENT - "idx___".len() - hash.len() - suffix.len();
        let mut cut = room.min(self.name.len());
        while !self.name.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("idx_{}_{hash}_{suffix}", &self.name[..cut])
    }
}

/// `name` as a quoted SQL identifier (`"` doubled).
pub(crate) fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Checks a schema, table or column name: not empty, no NUL, at most 63
/// bytes (what PostgreSQL keeps).
pub(crate) fn check_ident(key: &str, name: &str) -> Result<(), ConfigError> {
    if name.is_empty() || name.contains('\0') || name.len() > MAX_IDENT {
        return Err(ConfigError::invalid(
            key,
            name,
            "a PostgreSQL identifier: 1 to 63 bytes, no NUL",
        ));
    }
    Ok(())
}

/// 32-bit FNV-1a, for short stable index-name suffixes.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str) -> Table {
        Table {
            schema: "public".into(),
            name: name.into(),
            columns: ["timestamp", "level", "logger", "correlation_id", "message"]
                .iter()
                .map(|f| Column::for_field(f))
                .collect(),
            jsonb: true,
            dedupe: false,
            event_index: EventIndex::Gin,
        }
    }

    #[test]
    fn identifiers_are_quoted_and_quotes_doubled() {
        assert_eq!(quote("my-logs"), "\"my-logs\"");
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
        assert_eq!(table("my-logs").qualified(), "\"public\".\"my-logs\"");
    }

    #[test]
    fn index_names_stay_distinct_within_63_bytes() {
        let long = "l".repeat(63);
        let t = table(&long);
        let a = t.index_name("timestamp");
        let b = t.index_name("correlation_id");
        assert!(a.len() <= 63 && b.len() <= 63, "{a} {b}");
        assert!(a.ends_with("_timestamp") && b.ends_with("_correlation_id"));
        assert_ne!(a, b);
        assert_eq!(table("logs").index_name("level"), "idx_logs_level");
        let multibyte = "é".repeat(31);
        assert!(table(&multibyte).index_name("event_gin").len() <= 63);
    }

    #[test]
    fn the_unnest_statement_casts_each_array() {
        let sql = table("logs").unnest_insert();
        assert_eq!(
            sql,
            "INSERT INTO \"public\".\"logs\" (\"timestamp\", \"level\", \"logger\", \
             \"correlation_id\", \"message\", \"event\") SELECT * FROM UNNEST($1::timestamptz[], \
             $2::varchar[], $3::varchar[], $4::varchar[], $5::text[], $6::jsonb[])"
        );
    }

    #[test]
    fn names_postgres_would_truncate_are_refused() {
        assert!(check_ident("table_name", &"x".repeat(64)).is_err());
        assert!(check_ident("table_name", "").is_err());
        assert!(check_ident("table_name", "my-logs").is_ok());
    }
}
