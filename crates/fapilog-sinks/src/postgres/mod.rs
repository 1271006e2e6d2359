//! The PostgreSQL sink: fapilog's table, one batched insert per batch;
//! see [`PostgresSink`].

mod builder;
mod conn;
mod dsn;
mod rows;
mod settings;
mod table;
mod tls;

use std::fmt;
use std::time::Duration;

use fapilog::{Batch, Format, SinkError, WhenFull};

use crate::adapter::{AsyncSink, Encoded, Request};
use conn::{Conn, Failure, Sql};
use rows::RowEncoder;
use table::Table;

pub use builder::PostgresSinkBuilder;

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
    /// `"schema"."table"`, quoted.
    pub fn table(&self) -> String {
        self.table.qualified()
    }

    /// Opens the connection when there is none (or it broke).
    async fn connect(&mut self) -> Result<(), SinkError> {
        if self.conn.as_ref().is_some_and(Conn::is_closed) {
            self.conn = None;
        }
        if self.conn.is_none() {
            let conn = Conn::open(&self.config, &self.tls, &self.sql, self.method).await?;
            self.conn = Some(conn);
        }
        Ok(())
    }

    async fn send_rows(&mut self, request: &Request<Rows>) -> Result<(), SinkError> {
        self.connect().await?;
        let conn = self
            .conn
            .as_ref()
            .ok_or_else(|| SinkError::transient("no connection"))?;
        match conn.write(&request.body, &self.sql, self.method).await {
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
