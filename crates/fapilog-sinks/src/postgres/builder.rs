//! [`PostgresSinkBuilder`]: the sink's typed options, checked at build.

use std::fmt;
use std::time::Duration;

use fapilog::WhenFull;

use super::conn::Sql;
use super::rows::RowEncoder;
use super::table::{check_ident, Column, Table};
use super::{dsn, tls, EventIndex, InsertMethod, PostgresSink, SslMode};
use crate::adapter::Adapter;
use crate::config::ConfigError;

/// fapilog's default extracted columns.
const DEFAULT_FIELDS: [&str; 5] = ["timestamp", "level", "logger", "correlation_id", "message"];

/// Builds a [`PostgresSink`]; see [`PostgresSink::builder`].
#[must_use]
pub struct PostgresSinkBuilder {
    dsn: String,
    dsn_key: String,
    config: Option<tokio_postgres::Config>,
    password: Option<String>,
    name: String,
    schema: String,
    table: String,
    fields: Vec<String>,
    create_table: bool,
    use_jsonb: bool,
    include_raw_json: bool,
    dedupe: bool,
    event_index: EventIndex,
    method: InsertMethod,
    max_rows: usize,
    max_bytes: usize,
    ssl: Option<SslMode>,
    root_pem: Vec<Vec<u8>>,
    connect_timeout: Duration,
    timeout: Duration,
    when_full: WhenFull,
}

impl fmt::Debug for PostgresSinkBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresSinkBuilder")
            .field("dsn", &dsn::masked(&self.dsn))
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("name", &self.name)
            .field("schema", &self.schema)
            .field("table", &self.table)
            .field("fields", &self.fields)
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

impl PostgresSinkBuilder {
    /// The sink's name in metrics and diagnostics (default `"postgres"`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The password, when it is not in the connection string (never shown
    /// in errors or `Debug`).
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// The table (default `logs`, fapilog's `table_name`).
    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.table = table.into();
        self
    }

    /// The table's schema (default `public`, fapilog's `schema_name`).
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// Creates the schema, the table and its indexes when missing, on each
    /// (re)connection (default `true`, fapilog's `create_table`).
    pub fn create_table(mut self, create: bool) -> Self {
        self.create_table = create;
        self
    }

    /// The columns extracted from each event besides `event` (default
    /// `timestamp, level, logger, correlation_id, message`, fapilog's
    /// `extract_fields`). Also: `message_id`, `request_id`, `user_id`,
    /// `tenant_id`, `trace_id`, `span_id` (from `context`), `origin`,
    /// `service`, `env`, `host`, `pid` (from `diagnostics`); any other name
    /// is read from the entry's root. All but the first five are `TEXT`.
    pub fn extract_fields<I, S>(mut self, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.fields = fields.into_iter().map(Into::into).collect();
        self
    }

    /// `event` as `JSONB` (default `true`) or `JSON` (fapilog's `use_jsonb`).
    pub fn use_jsonb(mut self, jsonb: bool) -> Self {
        self.use_jsonb = jsonb;
        self
    }

    /// `event` holds the whole entry (default `true`), or only the
    /// extracted fields (fapilog's `include_raw_json`).
    pub fn include_raw_json(mut self, include: bool) -> Self {
        self.include_raw_json = include;
        self
    }

    /// Adds a `message_id` column with a unique index and inserts with
    /// `ON CONFLICT ("message_id") DO NOTHING`, so a batch resent after a
    /// commit whose outcome was unknown stores nothing twice (default
    /// `false`: fapilog's table as is). Needs [`InsertMethod::Unnest`].
    pub fn dedupe_by_message_id(mut self, dedupe: bool) -> Self {
        self.dedupe = dedupe;
        self
    }

    /// The index created on `event` with the table (default
    /// [`EventIndex::Gin`], fapilog's). It is most of an insert's cost to
    /// the server; an existing index is left as it is.
    pub fn event_index(mut self, index: EventIndex) -> Self {
        self.event_index = index;
        self
    }

    /// How rows are written (default [`InsertMethod::Unnest`]).
    pub fn insert_method(mut self, method: InsertMethod) -> Self {
        self.method = method;
        self
    }

    /// Most rows per statement; larger batches are split (default 10,000).
    pub fn max_rows_per_statement(mut self, rows: usize) -> Self {
        self.max_rows = rows;
        self
    }

    /// A statement is cut once its rows' `event` JSON reaches this many
    /// bytes (default 16 MiB; PostgreSQL takes up to 1 GB per parameter).
    pub fn max_bytes_per_statement(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// TLS, overriding the connection string's `sslmode` (default there:
    /// [`SslMode::Prefer`], as libpq).
    pub fn ssl_mode(mut self, mode: SslMode) -> Self {
        self.ssl = Some(mode);
        self
    }

    /// PEM certificates to trust as roots besides the web PKI's (for
    /// [`SslMode::VerifyCa`] and [`SslMode::VerifyFull`]); also read from
    /// the connection string's `sslrootcert` file.
    pub fn tls_root_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_pem.push(pem.into());
        self
    }

    /// Longest a connection attempt may take (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Longest one insert may take, connecting included, before it counts
    /// as a transient failure (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The driver's policy when the sink's buffer is full (default
    /// [`WhenFull::DropNewest`]).
    pub fn when_full(mut self, policy: WhenFull) -> Self {
        self.when_full = policy;
        self
    }

    /// The key that names the connection string in errors.
    pub(super) fn dsn_key(mut self, key: String) -> Self {
        self.dsn_key = key;
        self
    }

    /// Checks every option and builds the sink; nothing is connected yet.
    pub fn build(self) -> Result<Adapter<PostgresSink>, ConfigError> {
        self.build_sink().map(Adapter::new)
    }

    pub(super) fn build_sink(self) -> Result<PostgresSink, ConfigError> {
        let (mut config, dsn_ssl, root_cert) = match self.config {
            Some(c) => (c, None, None),
            None => {
                let d = dsn::parse(&self.dsn_key, &self.dsn)?;
                (d.config, d.ssl, d.root_cert)
            }
        };
        if let Some(p) = &self.password {
            config.password(p.as_bytes());
        }
        check_ident("schema_name", &self.schema)?;
        check_ident("table_name", &self.table)?;
        if self.name.is_empty() {
            return Err(ConfigError::invalid("name", "", "a non-empty sink name"));
        }
        let mut fields = self.fields.clone();
        if self.dedupe && !fields.iter().any(|f| f == "message_id") {
            fields.push("message_id".to_owned());
        }
        let mut columns: Vec<Column> = Vec::with_capacity(fields.len());
        for f in &fields {
            check_ident("extract_fields", f)?;
            if ["id", "created_at", "event"].contains(&f.as_str())
                || columns.iter().any(|c| &c.name == f)
            {
                return Err(ConfigError::invalid(
                    "extract_fields",
                    f,
                    "distinct field names other than id, created_at and event",
                ));
            }
            columns.push(Column::for_field(f));
        }
        if self.dedupe && self.method != InsertMethod::Unnest {
            return Err(ConfigError::invalid(
                "insert_method",
                "Copy",
                "Unnest with dedupe_by_message_id (COPY has no ON CONFLICT)",
            ));
        }
        if self.max_rows == 0 {
            return Err(ConfigError::invalid(
                "max_rows_per_statement",
                "0",
                "at least 1",
            ));
        }
        if self.max_bytes == 0 || self.max_bytes > 1 << 30 {
            return Err(ConfigError::invalid(
                "max_bytes_per_statement",
                &self.max_bytes.to_string(),
                "1 to 1073741824 bytes",
            ));
        }
        for (key, d) in [
            ("timeout", self.timeout),
            ("connect_timeout", self.connect_timeout),
        ] {
            if d.is_zero() {
                return Err(ConfigError::invalid(key, "0s", "a positive duration"));
            }
        }
        let ssl = self.ssl.or(dsn_ssl).unwrap_or_default();
        let mut roots = Vec::new();
        for pem in &self.root_pem {
            roots.extend(tls::parse_pem("tls_root_pem", pem)?);
        }
        if let Some(path) = root_cert {
            let pem = std::fs::read(&path).map_err(|e| {
                ConfigError::invalid("sslrootcert", &path, &format!("a readable PEM file ({e})"))
            })?;
            roots.extend(tls::parse_pem("sslrootcert", &pem)?);
        }
        config.ssl_mode(ssl.negotiation());
        config.connect_timeout(self.connect_timeout);
        if config.get_application_name().is_none() {
            config.application_name("fapilog");
        }
        let tls = tls::MakeRustls::new(ssl, &roots)?;
        let table = Table {
            schema: self.schema,
            name: self.table,
            columns: columns.clone(),
            jsonb: self.use_jsonb,
            dedupe: self.dedupe,
            event_index: self.event_index,
        };
        Ok(PostgresSink {
            name: self.name,
            sql: Sql::new(&table, self.create_table),
            encoder: RowEncoder::new(columns, self.include_raw_json),
            table,
            config,
            ssl,
            tls,
            method: self.method,
            max_rows: self.max_rows,
            max_bytes: self.max_bytes,
            timeout: self.timeout,
            when_full: self.when_full,
            conn: None,
            in_flight: false,
        })
    }
}

impl PostgresSink {
    /// A sink writing to the database of `dsn`: a URL
    /// (`postgres://user:pass@host:5432/db?sslmode=require`) or libpq's
    /// `key=value` form (`host=… port=… dbname=… user=… sslmode=…`).
    pub fn builder(dsn: impl Into<String>) -> PostgresSinkBuilder {
        PostgresSinkBuilder {
            dsn: dsn.into(),
            dsn_key: "dsn".to_owned(),
            config: None,
            password: None,
            name: "postgres".to_owned(),
            schema: "public".to_owned(),
            table: "logs".to_owned(),
            fields: DEFAULT_FIELDS.iter().map(|s| (*s).to_owned()).collect(),
            create_table: true,
            use_jsonb: true,
            include_raw_json: true,
            dedupe: false,
            event_index: EventIndex::Gin,
            method: InsertMethod::Unnest,
            max_rows: 10_000,
            max_bytes: 16 << 20,
            ssl: None,
            root_pem: Vec::new(),
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            when_full: WhenFull::DropNewest,
        }
    }

    /// A builder from an already-made tokio-postgres config.
    pub(super) fn builder_from_config(config: tokio_postgres::Config) -> PostgresSinkBuilder {
        let mut b = PostgresSink::builder(String::new());
        b.config = Some(config);
        b
    }
}
