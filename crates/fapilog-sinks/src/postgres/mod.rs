//! The PostgreSQL sink: fapilog's table, one batched insert per batch;
//! see [`PostgresSink`].

mod conn;
mod dsn;
mod rows;
mod settings;
mod table;
mod tls;

use std::fmt;
use std::time::Duration;

use fapilog::{Batch, Format, SinkError, WhenFull};

use crate::adapter::{Adapter, AsyncSink, Encoded, Request};
use crate::config::ConfigError;
use conn::{Conn, Failure, Sql};
use rows::RowEncoder;
use table::{check_ident, Column, Table};

pub use table::EventIndex;

pub(crate) use settings::from_settings;
pub use tls::SslMode;

/// The rows of one insert (the body of a [`Request`] of this sink).
pub use rows::Rows;

/// How rows are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum InsertMethod {
    /// `INSERT … SELECT * FROM UNNEST($1::timestamptz[], …, $n::jsonb[])`:
    /// one prepared statement, one array parameter per column, any number
    /// of rows. Works with [`dedupe_by_message_id`](PostgresSinkBuilder::dedupe_by_message_id).
    #[default]
    Unnest,
    /// `COPY … FROM STDIN (FORMAT binary)`.
    Copy,
}

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
    fn dsn_key(mut self, key: String) -> Self {
        self.dsn_key = key;
        self
    }

    /// Checks every option and builds the sink; nothing is connected yet.
    pub fn build(self) -> Result<Adapter<PostgresSink>, ConfigError> {
        self.build_sink().map(Adapter::new)
    }

    fn build_sink(self) -> Result<PostgresSink, ConfigError> {
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

/// Writes batches into fapilog's PostgreSQL table (`id BIGSERIAL`, `created_at`, the
/// extracted columns, `event JSONB`), one batched insert per batch.
///
/// Each batch becomes one statement, `INSERT … SELECT * FROM UNNEST($1::timestamptz[], …)`
/// ([`InsertMethod::Unnest`], the default) or a binary `COPY`
/// ([`InsertMethod::Copy`]): all of it is stored or none of it. When the
/// server refuses the rows themselves (a data exception or a constraint,
/// SQLSTATE class 22 or 23: a `correlation_id` over 64 characters, a
/// `\u0000` that `jsonb` refuses), the batch is bisected
/// inside one transaction: the good rows are committed together and only
/// the bad ones are refused, to the driver's divert chain.
///
/// One connection per sink, opened on the first batch (a server that is
/// down at start fails nothing: the batch is retried), and opened again
/// after any error that is not about the rows.
///
/// ```no_run
/// use fapilog::Pipeline;
/// use fapilog_sinks::PostgresSink;
///
/// let sink = PostgresSink::builder("host=127.0.0.1 user=postgres dbname=app")
///     .table("logs")
///     .build()?;
/// let pipeline = Pipeline::builder().sink(sink).build()?;
/// let log = pipeline.logger("app");
/// fapilog::info!(log, "stored in PostgreSQL");
/// pipeline.shutdown(std::time::Duration::from_secs(5));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Options: [`PostgresSink::builder`]; fapilog's `FAPILOG_POSTGRES__*`
/// settings open it through [`factory`](crate::factory).
pub struct PostgresSink {
    name: String,
    config: tokio_postgres::Config,
    ssl: SslMode,
    tls: tls::MakeRustls,
    table: Table,
    sql: Sql,
    encoder: RowEncoder,
    method: InsertMethod,
    max_rows: usize,
    max_bytes: usize,
    timeout: Duration,
    when_full: WhenFull,
    conn: Option<Conn>,
    /// Set while a send runs: still set at the next send means the last
    /// one was cancelled (timed out) mid-statement, so its connection is
    /// in an unknown state and is replaced.
    in_flight: bool,
}

impl fmt::Debug for PostgresSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // tokio-postgres's own `Debug` of the config redacts the password.
        f.debug_struct("PostgresSink")
            .field("name", &self.name)
            .field("config", &self.config)
            .field("ssl", &self.ssl)
            .field("table", &self.table.qualified())
            .field("method", &self.method)
            .field("connected", &self.conn.is_some())
            .finish_non_exhaustive()
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
    fn builder_from_config(config: tokio_postgres::Config) -> PostgresSinkBuilder {
        let mut b = PostgresSink::builder(String::new());
        b.config = Some(config);
        b
    }

    /// `"schema"."table"`, quoted.
    pub fn table(&self) -> String {
        self.table.qualified()
    }

    /// The connection, opened when there is none (or it broke).
    async fn connection(&mut self) -> Result<&Conn, SinkError> {
        if self.conn.as_ref().is_some_and(Conn::is_closed) {
            self.conn = None;
        }
        if self.conn.is_none() {
            let conn = Conn::open(&self.config, &self.tls, &self.sql, self.method).await?;
            self.conn = Some(conn);
        }
        self.conn
            .as_ref()
            .ok_or_else(|| SinkError::transient("no connection"))
    }

    async fn send_rows(&mut self, request: &Request<Rows>) -> Result<(), SinkError> {
        let (sql, method) = (self.sql.clone(), self.method);
        let conn = self.connection().await?;
        match conn.write(&request.body, &sql, method).await {
            Ok(refused) if refused.is_empty() => Ok(()),
            Ok(refused) => {
                let mut reasons: Vec<&str> = Vec::new();
                for (_, r) in &refused {
                    if !reasons.contains(&r.as_str()) {
                        reasons.push(r);
                    }
                }
                let message = format!(
                    "{} of {} rows refused by PostgreSQL (the rest was committed): {}",
                    refused.len(),
                    request.body.len(),
                    reasons.join("; ")
                );
                let rejected = refused
                    .iter()
                    .filter_map(|(row, _)| request.lines.get(*row).copied())
                    .collect();
                Err(SinkError::Partial { rejected, message })
            }
            Err(Failure::Data(m) | Failure::Other(m)) => {
                // Whatever broke, start the next attempt on a new connection.
                self.conn = None;
                Err(SinkError::transient(format!(
                    "PostgreSQL insert failed: {m}"
                )))
            }
        }
    }
}

impl AsyncSink for PostgresSink {
    type Body = Rows;

    fn name(&self) -> &str {
        &self.name
    }

    fn format(&self) -> Format {
        // fapilog's remote sinks store the entry without its envelope.
        Format::Flat
    }

    fn when_full(&self) -> WhenFull {
        self.when_full
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }

    fn encode(&mut self, batch: &Batch) -> Result<Encoded<Rows>, SinkError> {
        let mut out = Encoded::new();
        let mut rows = self.encoder.rows(batch.len().min(self.max_rows));
        let mut lines = Vec::with_capacity(rows.len());
        for (i, line) in batch.lines().enumerate() {
            if let Err(e) = self.encoder.push(&mut rows, &line) {
                out.reject(i, e.to_string());
                continue;
            }
            lines.push(i);
            // One statement per `max_rows` rows or `max_bytes` of JSON.
            if rows.len() >= self.max_rows || rows.events.len() >= self.max_bytes {
                let next = self
                    .encoder
                    .rows(batch.len().saturating_sub(i + 1).min(self.max_rows));
                out.push(Request::new(
                    std::mem::replace(&mut rows, next),
                    std::mem::take(&mut lines),
                ));
            }
        }
        if !lines.is_empty() {
            out.push(Request::new(rows, lines));
        }
        Ok(out)
    }

    async fn send(&mut self, request: &Request<Rows>) -> Result<(), SinkError> {
        if request.body.len() == 0 {
            return Ok(());
        }
        if self.in_flight {
            // The last send was cancelled mid-statement (timed out).
            self.conn = None;
        }
        self.in_flight = true;
        let result = self.send_rows(request).await;
        self.in_flight = false;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fapilog::{Event, Level};

    fn batch(n: usize) -> Batch {
        let mut b = Batch::new(Format::Flat);
        for _ in 0..n {
            b.push(&Event::new(Level::INFO, "x"));
        }
        b
    }

    #[test]
    fn a_batch_is_cut_into_statements_by_rows_and_bytes() {
        let mut sink = PostgresSink::builder("host=h")
            .max_rows_per_statement(3)
            .build_sink()
            .unwrap();
        let out = sink.encode(&batch(10)).unwrap();
        let lines: Vec<Vec<usize>> = out.requests.iter().map(|r| r.lines.clone()).collect();
        assert_eq!(
            lines,
            [vec![0, 1, 2], vec![3, 4, 5], vec![6, 7, 8], vec![9]]
        );
        assert!(out.requests.iter().all(|r| r.body.len() == r.lines.len()));

        let mut sink = PostgresSink::builder("host=h")
            .max_bytes_per_statement(1)
            .build_sink()
            .unwrap();
        let out = sink.encode(&batch(3)).unwrap();
        assert_eq!(out.requests.len(), 3);
        assert!(PostgresSink::builder("host=h")
            .max_bytes_per_statement(0)
            .build()
            .is_err());
    }
}
