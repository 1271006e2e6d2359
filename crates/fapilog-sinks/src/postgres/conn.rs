//! The sink's one connection and how rows go through it: one statement per
//! request, and on a data error a bisection inside one transaction, so the
//! good rows are committed together and only the bad ones are refused.

use std::time::SystemTime;

use fapilog::SinkError;
use tokio::task::JoinHandle;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Config, Statement};

use super::rows::{RawJson, Rows};
use super::table::{Source, Table};
use super::tls::MakeRustls;
use super::InsertMethod;

/// The statements of a table, built once.
#[derive(Clone, Debug)]
pub(crate) struct Sql {
    pub(crate) ddl: Option<String>,
    pub(crate) unnest: String,
    pub(crate) copy: String,
    /// The COPY column types, in the table's order, `event` last.
    pub(crate) copy_types: Vec<Type>,
}

impl Sql {
    pub(crate) fn new(table: &Table, create_table: bool) -> Sql {
        let mut copy_types: Vec<Type> = table
            .columns
            .iter()
            .map(|c| match c.source {
                Source::Timestamp => Type::TIMESTAMPTZ,
                Source::Level | Source::Logger | Source::CorrelationId => Type::VARCHAR,
                _ => Type::TEXT,
            })
            .collect();
        copy_types.push(if table.jsonb { Type::JSONB } else { Type::JSON });
        Sql {
            ddl: create_table.then(|| table.ddl()),
            unnest: table.unnest_insert(),
            copy: table.copy_in(),
            copy_types,
        }
    }
}

/// Why a write failed.
pub(crate) enum Failure {
    /// The rows themselves were refused (SQLSTATE class 22 data exception
    /// or 23 integrity constraint): nothing was stored.
    Data(String),
    /// Anything else: the connection, the server, the table. Nothing was
    /// stored, unless the connection died during the commit.
    Other(String),
}

fn classify(e: &tokio_postgres::Error) -> Failure {
    let text = match e.as_db_error() {
        Some(db) => format!(
            "{}: {} (SQLSTATE {})",
            db.severity(),
            db.message(),
            db.code().code()
        ),
        None => chain(e),
    };
    match e.code().map(|c| c.code()) {
        Some(code) if code.starts_with("22") || code.starts_with("23") => Failure::Data(text),
        _ => Failure::Other(text),
    }
}

/// An open connection, its driving task and its prepared insert.
pub(crate) struct Conn {
    client: Client,
    task: JoinHandle<()>,
    unnest: Option<Statement>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Conn {
    /// Connects, creates the table when asked, and prepares the insert.
    /// Must run on the shared runtime.
    pub(crate) async fn open(
        config: &Config,
        tls: &MakeRustls,
        sql: &Sql,
        method: InsertMethod,
    ) -> Result<Conn, SinkError> {
        let (client, connection) = config.connect(tls.clone()).await.map_err(|e| {
            SinkError::transient(format!("cannot connect to PostgreSQL: {}", chain(&e)))
        })?;
        let task = tokio::spawn(async move {
            // The connection ends with an error when the server goes away;
            // the next query then fails and the sink reconnects.
            let _ = connection.await;
        });
        let mut conn = Conn {
            client,
            task,
            unnest: None,
        };
        if let Some(ddl) = &sql.ddl {
            conn.create_table(ddl).await?;
        }
        if method == InsertMethod::Unnest {
            let st = conn.client.prepare(&sql.unnest).await.map_err(|e| {
                SinkError::transient(format!("cannot prepare the insert: {}", message(&e)))
            })?;
            conn.unnest = Some(st);
        }
        Ok(conn)
    }

    /// Runs fapilog's DDL. Concurrent `IF NOT EXISTS` creations by other
    /// processes can collide on the catalog's unique index: tried again once.
    async fn create_table(&self, ddl: &str) -> Result<(), SinkError> {
        let mut last = None;
        for _ in 0..2 {
            match self.client.batch_execute(ddl).await {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(message(&e)),
            }
        }
        Err(SinkError::transient(format!(
            "cannot create the table: {}",
            last.unwrap_or_default()
        )))
    }

    /// `true` once the server or the network closed the connection.
    pub(crate) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Writes all rows. On a data error, bisects inside one transaction:
    /// returns the rows refused (indices into `rows`) with the reason, the
    /// others committed.
    pub(crate) async fn write(
        &self,
        rows: &Rows,
        sql: &Sql,
        method: InsertMethod,
    ) -> Result<Vec<(usize, String)>, Failure> {
        let n = rows.len();
        match self.insert(rows, 0, n, sql, method).await {
            Ok(()) => return Ok(Vec::new()),
            Err(Failure::Data(reason)) if n == 1 => return Ok(vec![(0, reason)]),
            Err(Failure::Data(_)) => {}
            Err(other) => return Err(other),
        }
        self.exec("BEGIN").await?;
        let refused = match self.bisect(rows, n, sql, method).await {
            Ok(refused) => refused,
            Err(e) => {
                let _ = self.exec("ROLLBACK").await;
                return Err(e);
            }
        };
        // If the connection dies here, whether the commit happened is
        // unknown: the retry may store the good rows twice (documented).
        self.exec("COMMIT").await?;
        Ok(refused)
    }

    /// Inserts the halves of `0..n` (known to fail as a whole), each under
    /// a savepoint, splitting those that fail down to single rows.
    async fn bisect(
        &self,
        rows: &Rows,
        n: usize,
        sql: &Sql,
        method: InsertMethod,
    ) -> Result<Vec<(usize, String)>, Failure> {
        let mut refused = Vec::new();
        let mid = n / 2;
        let mut todo = vec![(mid, n), (0, mid)];
        while let Some((lo, hi)) = todo.pop() {
            self.exec("SAVEPOINT fapilog_bisect").await?;
            match self.insert(rows, lo, hi, sql, method).await {
                Ok(()) => self.exec("RELEASE SAVEPOINT fapilog_bisect").await?,
                Err(Failure::Data(reason)) => {
                    self.exec("ROLLBACK TO SAVEPOINT fapilog_bisect").await?;
                    self.exec("RELEASE SAVEPOINT fapilog_bisect").await?;
                    if hi - lo == 1 {
                        refused.push((lo, reason));
                    } else {
                        let mid = lo + (hi - lo) / 2;
                        todo.push((mid, hi));
                        todo.push((lo, mid));
                    }
                }
                Err(other) => return Err(other),
            }
        }
        Ok(refused)
    }

    async fn exec(&self, statement: &str) -> Result<(), Failure> {
        self.client
            .batch_execute(statement)
            .await
            .map_err(|e| classify(&e))
    }

    /// Inserts rows `lo..hi` in one statement.
    async fn insert(
        &self,
        rows: &Rows,
        lo: usize,
        hi: usize,
        sql: &Sql,
        method: InsertMethod,
    ) -> Result<(), Failure> {
        match (method, &self.unnest) {
            (InsertMethod::Unnest, Some(st)) => self.insert_unnest(st, rows, lo, hi).await,
            _ => self.insert_copy(rows, lo, hi, sql).await,
        }
    }

    async fn insert_unnest(
        &self,
        st: &Statement,
        rows: &Rows,
        lo: usize,
        hi: usize,
    ) -> Result<(), Failure> {
        let times: &[SystemTime] = if rows.times.is_empty() {
            &[]
        } else {
            &rows.times[lo..hi]
        };
        let texts: Vec<&[Option<String>]> = rows.texts.iter().map(|c| &c[lo..hi]).collect();
        let events = rows.events(lo, hi);
        let events: &[RawJson<'_>] = &events;
        let mut params: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(texts.len() + 2);
        let mut text = texts.iter();
        for ty in st.params().iter().take(st.params().len().saturating_sub(1)) {
            if *ty == Type::TIMESTAMPTZ_ARRAY {
                params.push(&times);
            } else if let Some(col) = text.next() {
                params.push(col);
            }
        }
        params.push(&events);
        self.client
            .execute(st, &params)
            .await
            .map(|_| ())
            .map_err(|e| classify(&e))
    }

    async fn insert_copy(
        &self,
        rows: &Rows,
        lo: usize,
        hi: usize,
        sql: &Sql,
    ) -> Result<(), Failure> {
        let sink = self
            .client
            .copy_in(&sql.copy)
            .await
            .map_err(|e| classify(&e))?;
        let writer = BinaryCopyInWriter::new(sink, &sql.copy_types);
        let mut writer = std::pin::pin!(writer);
        let events = rows.events(lo, hi);
        let mut row: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(sql.copy_types.len());
        for (i, event) in (lo..hi).zip(&events) {
            row.clear();
            let mut text = rows.texts.iter();
            for ty in &sql.copy_types[..sql.copy_types.len() - 1] {
                if *ty == Type::TIMESTAMPTZ {
                    row.push(&rows.times[i]);
                } else if let Some(col) = text.next() {
                    row.push(&col[i]);
                }
            }
            row.push(event);
            writer
                .as_mut()
                .write(&row)
                .await
                .map_err(|e| classify(&e))?;
        }
        writer.finish().await.map(|_| ()).map_err(|e| classify(&e))
    }
}

/// An error's text without internals: the server's message when it sent one.
fn message(e: &tokio_postgres::Error) -> String {
    match classify(e) {
        Failure::Data(m) | Failure::Other(m) => m,
    }
}

/// An error and its causes, `: `-separated (tokio-postgres keeps the TLS or
/// I/O reason in the source).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}
