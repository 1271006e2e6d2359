//! Throughput of the PostgreSQL sink: a pipeline writing N events into a
//! fresh table on the machine's server (`FAPILOG_TEST_POSTGRES`, default
//! `host=127.0.0.1 port=5432 user=postgres dbname=test`): fapilog's table
//! (`event JSONB` with its GIN index) by `UNNEST` and by binary `COPY`,
//! then the same with `EventIndex::GinPathOps` and with no index on
//! `event`, which shows what the GIN index costs the server.
//!
//! Method: one thread logs N events (a message and two fields) into a
//! pipeline whose only sink is the PostgreSQL sink (`WhenFull::Block`,
//! callers blocked rather than dropped), then `flush` waits until every
//! event is committed. Wall time from the first log call to the end of the
//! flush; bytes are the JSON lines the sink encoded; the rows are counted
//! with SQL afterwards and the table dropped.
//!
//! ```text
//! cargo bench -p fapilog-sinks --features postgres --bench throughput_postgres
//! ```

use std::time::{Duration, Instant};

use fapilog::sinks::{SinkOptions, WhenFull};
use fapilog::{Backpressure, Pipeline};
use fapilog_sinks::{EventIndex, InsertMethod, PostgresSink};

const EVENTS: u64 = 200_000;

fn main() {
    let dsn = std::env::var("FAPILOG_TEST_POSTGRES")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".to_owned());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let client = rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(&dsn, tokio_postgres::NoTls)
            .await
            .expect("PostgreSQL reachable (run ./scripts/test's services first)");
        tokio::spawn(conn);
        client
    });
    println!("postgres sink, {EVENTS} events, one logging thread, batches of up to 1024 events");
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average before: {}", load.trim());
    }
    let runs = [
        (InsertMethod::Unnest, EventIndex::Gin, "unnest, GIN"),
        (InsertMethod::Copy, EventIndex::Gin, "copy, GIN"),
        (
            InsertMethod::Unnest,
            EventIndex::GinPathOps,
            "unnest, GIN path_ops",
        ),
        (
            InsertMethod::Copy,
            EventIndex::GinPathOps,
            "copy, GIN path_ops",
        ),
        (InsertMethod::Unnest, EventIndex::None, "unnest, no GIN"),
        (InsertMethod::Copy, EventIndex::None, "copy, no GIN"),
    ];
    for (i, (method, index, label)) in runs.into_iter().enumerate() {
        let table = format!("fapilog_bench_{i}_{}", std::process::id());
        let drop = format!("DROP TABLE IF EXISTS public.{table}");
        rt.block_on(client.batch_execute(&drop)).expect("drop");
        let sink = PostgresSink::builder(dsn.as_str())
            .table(&table)
            .insert_method(method)
            .event_index(index)
            .build()
            .expect("the sink");
        let p = Pipeline::builder()
            .backpressure(Backpressure::Block)
            .batch_max_events(1024)
            .sink_with(sink, SinkOptions::new().when_full(WhenFull::Block))
            .build()
            .expect("the pipeline");
        let log = p.logger("bench");
        let start = Instant::now();
        for i in 0..EVENTS {
            fapilog::info!(log, "request served", i = i, path = "/api/orders");
        }
        p.flush(Duration::from_secs(300)).expect("flushed");
        let secs = start.elapsed().as_secs_f64();
        let m = p
            .metrics()
            .sinks
            .into_iter()
            .find(|s| s.name == "postgres")
            .expect("metrics");
        p.shutdown(Duration::from_secs(10));
        let count: i64 = rt
            .block_on(client.query_one(&format!("SELECT count(*) FROM public.{table}"), &[]))
            .expect("count")
            .get(0);
        rt.block_on(client.batch_execute(&drop)).expect("drop");
        assert_eq!(count as u64, EVENTS, "every event stored");
        println!(
            "{label:>20}: {EVENTS} events in {secs:.2} s = {:.0} events/s, {:.1} MB/s ({} bytes of JSON lines), {} inserts",
            EVENTS as f64 / secs,
            m.bytes as f64 / secs / 1e6,
            m.bytes,
            m.writes
        );
    }
}
