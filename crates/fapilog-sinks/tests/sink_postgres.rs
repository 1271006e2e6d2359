//! The PostgreSQL sink against the machine's PostgreSQL 15 (127.0.0.1:5432,
//! trust auth, database `test`; `./scripts/test` starts it and sets
//! `FAPILOG_TEST_POSTGRES`). Each test writes its own table, dropped at the
//! end, and reads the rows back with SQL. A server going down is modelled
//! by a TCP proxy the test cuts and restores (see `common/postgres.rs`).
#![cfg(feature = "postgres")]

mod common;
#[path = "common/postgres.rs"]
mod pg;

use std::time::{Duration, SystemTime};

use common::{patient, sink_metrics, wait_until};
use fapilog::sinks::{BreakerPolicy, RetryPolicy, SinkOptions, WhenFull};
use fapilog::testing::CaptureSink;
use fapilog::{Backpressure, Batch, Event, Format, Level, Pipeline, Settings, Sink};
use fapilog_sinks::{EventIndex, InsertMethod, PostgresSink, SslMode};
use pg::{Db, Proxy};

const LONG: Duration = Duration::from_secs(60);

/// A table name unique to this test and process.
fn table(test: &str) -> String {
    format!("fapilog_{test}_{}", std::process::id())
}

/// The `data.i` of every row, in insertion (id) order.
fn ids(db: &Db) -> Vec<i64> {
    db.query(&format!(
        "SELECT (event->'data'->>'i')::bigint FROM public.\"{}\" ORDER BY id",
        db.table
    ))
    .iter()
    .map(|r| r.get(0))
    .collect()
}

/// Distinct `message_id`s stored.
fn distinct_ids(db: &Db) -> i64 {
    db.query(&format!(
        "SELECT count(DISTINCT event->'context'->>'message_id') FROM public.\"{}\"",
        db.table
    ))[0]
        .get(0)
}

fn stores_thousands_of_events(method: InsertMethod, name: &str) {
    let db = Db::new(&table(name));
    let sink = PostgresSink::builder(pg::dsn())
        .table(&db.table)
        .insert_method(method)
        .build()
        .unwrap();
    let p = Pipeline::builder()
        .backpressure(Backpressure::Block)
        .sink_with(sink, patient())
        .build()
        .unwrap();
    let start = SystemTime::now();
    let n = 5000i64;
    for i in 0..n {
        let log = p.logger(&format!("app.{}", i % 3));
        match i % 3 {
            0 => fapilog::info!(log, "event", i = i),
            1 => fapilog::warning!(log, "event", i = i, correlation_id = "corr-1"),
            _ => fapilog::error!(log, "event", i = i, text = "é ü \" \\ 😀"),
        }
    }
    let report = p.shutdown(LONG);
    let end = SystemTime::now();
    assert_eq!((report.written, report.failed), (n as u64, 0), "{report:?}");

    assert_eq!(db.count(), n);
    assert_eq!(
        ids(&db),
        (0..n).collect::<Vec<_>>(),
        "stored in the logged order"
    );
    assert_eq!(distinct_ids(&db), n, "no duplicate");
    let rows = db.query(&format!(
        "SELECT level, logger, message, correlation_id, \"timestamp\", \
                level = event->>'level' AND logger = event->>'logger' \
                AND message = event->>'message', \
                event ? 'schema_version', event->'data'->>'text' \
         FROM public.\"{}\" ORDER BY id",
        db.table
    ));
    let mut last = SystemTime::UNIX_EPOCH;
    for (i, r) in rows.iter().enumerate() {
        let level: &str = r.get(0);
        let logger: String = r.get(1);
        let message: &str = r.get(2);
        let corr: Option<&str> = r.get(3);
        let ts: SystemTime = r.get(4);
        let same: bool = r.get(5);
        let enveloped: bool = r.get(6);
        let text: Option<&str> = r.get(7);
        assert_eq!(level, ["INFO", "WARNING", "ERROR"][i % 3], "row {i}");
        assert_eq!(logger, format!("app.{}", i % 3));
        assert_eq!(message, "event");
        assert_eq!(corr, (i % 3 == 1).then_some("corr-1"), "row {i}");
        assert!(same, "the columns are the entry's fields (row {i})");
        assert!(!enveloped, "event is the entry, without the envelope");
        assert_eq!(text, (i % 3 == 2).then_some("é ü \" \\ 😀"));
        // The event's own time, not the insert's.
        assert!(ts >= last && ts >= start - Duration::from_millis(1) && ts <= end);
        last = ts;
    }
}

#[test]
fn thousands_of_events_are_stored_in_order_with_their_columns_by_unnest() {
    stores_thousands_of_events(InsertMethod::Unnest, "unnest");
}

#[test]
fn thousands_of_events_are_stored_in_order_with_their_columns_by_copy() {
    stores_thousands_of_events(InsertMethod::Copy, "copy");
}

#[test]
fn the_table_has_fapilogs_columns_and_indexes_even_with_a_name_that_needs_quotes() {
    let name = format!("fapilog-ddl-{}", std::process::id());
    let db = Db::new(&name);
    let sink = PostgresSink::builder(pg::dsn())
        .table(&name)
        .build()
        .unwrap();
    let p = Pipeline::builder()
        .sink_with(sink, patient())
        .build()
        .unwrap();
    fapilog::info!(p.logger("app"), "creates the table");
    let report = p.shutdown(LONG);
    assert_eq!(report.written, 1);

    let cols: Vec<(String, String, Option<i32>, String)> = db
        .query(&format!(
            "SELECT column_name::text, data_type::text, character_maximum_length, is_nullable::text \
             FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '{name}' \
             ORDER BY ordinal_position"
        ))
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    let want = [
        ("id", "bigint", None, "NO"),
        ("created_at", "timestamp with time zone", None, "NO"),
        ("timestamp", "timestamp with time zone", None, "YES"),
        ("level", "character varying", Some(10), "YES"),
        ("logger", "character varying", Some(255), "YES"),
        ("correlation_id", "character varying", Some(64), "YES"),
        ("message", "text", None, "YES"),
        ("event", "jsonb", None, "NO"),
    ];
    let want: Vec<_> = want
        .iter()
        .map(|(a, b, c, d)| (a.to_string(), b.to_string(), *c, d.to_string()))
        .collect();
    assert_eq!(cols, want);

    let mut indexes: Vec<String> = db
        .query(&format!(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = '{name}'"
        ))
        .iter()
        .map(|r| r.get::<_, String>(0).replace(&format!("\"{name}\""), "T"))
        .collect();
    indexes.sort();
    let q = |s: &str| format!("\"idx_{name}_{s}\"");
    let mut want = vec![
        format!("CREATE INDEX {} ON public.T USING btree (\"timestamp\" DESC)", q("timestamp")),
        format!("CREATE INDEX {} ON public.T USING btree (level)", q("level")),
        format!(
            "CREATE INDEX {} ON public.T USING btree (correlation_id) WHERE (correlation_id IS NOT NULL)",
            q("correlation_id")
        ),
        format!("CREATE INDEX {} ON public.T USING gin (event)", q("event_gin")),
        format!("CREATE UNIQUE INDEX \"{name}_pkey\" ON public.T USING btree (id)"),
    ];
    want.sort();
    assert_eq!(indexes, want);
}

#[test]
fn the_event_index_can_be_jsonb_path_ops_or_none() {
    for (index, want) in [
        (
            EventIndex::GinPathOps,
            Some("USING gin (event jsonb_path_ops)"),
        ),
        (EventIndex::None, None),
    ] {
        let db = Db::new(&table(&format!("index_{index:?}").to_lowercase()));
        let sink = PostgresSink::builder(pg::dsn())
            .table(&db.table)
            .event_index(index)
            .build()
            .unwrap();
        let p = Pipeline::builder()
            .sink_with(sink, patient())
            .build()
            .unwrap();
        fapilog::info!(p.logger("app"), "creates the table", i = 0i64);
        assert_eq!(p.shutdown(LONG).written, 1);
        let gin: Vec<String> = db
            .query(&format!(
                "SELECT indexdef FROM pg_indexes WHERE tablename = '{}' AND indexdef LIKE '%USING gin%'",
                db.table
            ))
            .iter()
            .map(|r| r.get(0))
            .collect();
        match want {
            Some(w) => assert!(gin.len() == 1 && gin[0].ends_with(w), "{gin:?}"),
            None => assert!(gin.is_empty(), "{gin:?}"),
        }
        assert_eq!(ids(&db), [0]);
    }
}

fn isolates_poison_rows(method: InsertMethod, name: &str) {
    let db = Db::new(&table(name));
    let sink = PostgresSink::builder(pg::dsn())
        .table(&db.table)
        .insert_method(method)
        .build()
        .unwrap();
    let (capture, _) = CaptureSink::named("other", Format::Json);
    let p = Pipeline::builder()
        .backpressure(Backpressure::Block)
        .batch_max_events(500)
        .sink_with(sink, patient())
        .sink(capture)
        .build()
        .unwrap();
    let log = p.logger("app");
    let long = "x".repeat(65);
    let poison = [17i64, 99, 150];
    for i in 0..200i64 {
        match i {
            // Longer than correlation_id's VARCHAR(64).
            17 => fapilog::info!(log, "event", i = i, correlation_id = long.as_str()),
            // A NUL: jsonb refuses `\u0000`, text refuses the byte.
            99 => fapilog::info!(log, "nul \0 here", i = i),
            150 => fapilog::info!(log, "event", i = i, correlation_id = long.as_str()),
            _ => fapilog::info!(log, "event", i = i),
        }
    }
    p.flush(LONG).unwrap();
    let m = sink_metrics(&p, "postgres");
    assert_eq!(m.written, 197, "{m:?}");
    assert_eq!(
        m.diverted_total(),
        3,
        "only the bad rows are refused: {m:?}"
    );
    let want: Vec<i64> = (0..200).filter(|i| !poison.contains(i)).collect();
    assert_eq!(ids(&db), want, "the rest committed, in order, once");
    assert_eq!(distinct_ids(&db), 197);
    p.shutdown(LONG);
}

#[test]
fn a_poison_row_is_isolated_and_the_rest_of_its_batch_committed_by_unnest() {
    isolates_poison_rows(InsertMethod::Unnest, "poison_unnest");
}

#[test]
fn a_poison_row_is_isolated_and_the_rest_of_its_batch_committed_by_copy() {
    isolates_poison_rows(InsertMethod::Copy, "poison_copy");
}

#[test]
fn a_server_down_at_start_fails_nothing_and_loses_nothing_with_block() {
    let db = Db::new(&table("down_at_start"));
    let proxy = Proxy::start(false);
    let sink = PostgresSink::builder(proxy.dsn())
        .table(&db.table)
        .build()
        .expect("build() connects nothing");
    let p = Pipeline::builder()
        .backpressure(Backpressure::Block)
        .sink_with(sink, patient())
        .build()
        .expect("a server that is down fails nothing at start");
    let log = p.logger("app");
    for i in 0..1000i64 {
        fapilog::info!(log, "event", i = i);
    }
    assert!(
        wait_until(LONG, || sink_metrics(&p, "postgres").retries >= 3),
        "the sink retries while the server is down"
    );
    assert_eq!(db.count(), 0);
    proxy.restore();
    p.flush(LONG).unwrap();
    let m = sink_metrics(&p, "postgres");
    assert_eq!(
        (m.written, m.diverted_total(), m.dropped_total()),
        (1000, 0, 0),
        "{m:?}"
    );
    assert!(m.errors > 0, "the failed attempts are counted: {m:?}");
    assert_eq!(ids(&db), (0..1000).collect::<Vec<_>>());
    p.shutdown(LONG);
}

#[test]
fn a_server_going_down_mid_run_and_back_loses_nothing_with_block() {
    let db = Db::new(&table("down_mid_run"));
    let proxy = Proxy::start(true);
    let sink = PostgresSink::builder(proxy.dsn())
        .table(&db.table)
        .build()
        .unwrap();
    let p = Pipeline::builder()
        .backpressure(Backpressure::Block)
        .sink_with(sink, patient())
        .build()
        .unwrap();
    let log = p.logger("app");
    for i in 0..1000i64 {
        fapilog::info!(log, "event", i = i);
    }
    p.flush(LONG).unwrap();
    assert_eq!(db.count(), 1000);
    proxy.cut();
    for i in 1000..3000i64 {
        fapilog::info!(log, "event", i = i);
    }
    assert!(
        wait_until(LONG, || sink_metrics(&p, "postgres").retries >= 3),
        "backoff is visible while the server is away"
    );
    proxy.restore();
    p.flush(LONG).unwrap();
    let m = sink_metrics(&p, "postgres");
    assert_eq!(
        (m.written, m.diverted_total(), m.dropped_total()),
        (3000, 0, 0),
        "{m:?}"
    );
    assert_eq!(
        ids(&db),
        (0..3000).collect::<Vec<_>>(),
        "nothing lost, nothing twice"
    );
    p.shutdown(LONG);
}

#[test]
fn a_server_that_stops_answering_mid_run_times_out_reconnects_and_loses_nothing() {
    let db = Db::new(&table("hang"));
    let proxy = Proxy::start(true);
    let sink = PostgresSink::builder(proxy.dsn())
        .table(&db.table)
        .connect_timeout(Duration::from_millis(300))
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let p = Pipeline::builder()
        .backpressure(Backpressure::Block)
        .sink_with(sink, patient())
        .build()
        .unwrap();
    let log = p.logger("app");
    for i in 0..500i64 {
        fapilog::info!(log, "event", i = i);
    }
    p.flush(LONG).unwrap();
    proxy.hang();
    for i in 500..1000i64 {
        fapilog::info!(log, "event", i = i);
    }
    // The insert sent into the frozen connection gets no answer: it times
    // out, and the retries (on new connections, which hang too) as well.
    assert!(
        wait_until(LONG, || sink_metrics(&p, "postgres").retries >= 2),
        "timed-out attempts are retried"
    );
    assert_eq!(db.count(), 500);
    proxy.restore();
    p.flush(LONG).unwrap();
    let m = sink_metrics(&p, "postgres");
    assert_eq!((m.written, m.diverted_total()), (1000, 0), "{m:?}");
    assert_eq!(ids(&db), (0..1000).collect::<Vec<_>>());
    p.shutdown(LONG);
}

#[test]
fn with_drop_newest_every_loss_is_counted_and_the_breaker_is_visible() {
    let db = Db::new(&table("drop_newest"));
    let proxy = Proxy::start(true);
    let sink = PostgresSink::builder(proxy.dsn())
        .table(&db.table)
        .build()
        .unwrap();
    let (capture, captured) = CaptureSink::named("other", Format::Json);
    let options = SinkOptions::new()
        .when_full(WhenFull::DropNewest)
        .buffer_batches(2)
        .retry(
            RetryPolicy::default()
                .max_attempts(3)
                .initial(Duration::from_millis(10))
                .max_delay(Duration::from_millis(20)),
        )
        .breaker(
            BreakerPolicy::default()
                .failure_threshold(2)
                .cooldown(Duration::from_millis(100))
                .max_cooldown(Duration::from_millis(200)),
        );
    let p = Pipeline::builder()
        .backpressure(Backpressure::Block)
        .batch_max_events(50)
        .sink_with(sink, options)
        .sink(capture)
        .build()
        .unwrap();
    let log = p.logger("app");
    for i in 0..500i64 {
        fapilog::info!(log, "event", i = i);
    }
    p.flush(LONG).unwrap();
    // A two-batch buffer drops even while the server is up, when the
    // other sink runs ahead: counted, like everything below.
    let before = db.count();
    assert!(before > 0);
    proxy.cut();
    for i in 500..3000i64 {
        fapilog::info!(log, "event", i = i);
    }
    p.flush(LONG).unwrap();
    let m = sink_metrics(&p, "postgres");
    assert!(m.retries > 0, "backoff visible: {m:?}");
    assert!(m.breaker_opened > 0, "breaker visible: {m:?}");
    let events = |c: &fapilog::testing::Captured| {
        c.messages().iter().filter(|m| *m == "event").count() as u64
    };
    assert_eq!(events(&captured), 3000, "the other sink got everything");
    proxy.restore();
    // After the cooldown a probe succeeds and the breaker closes.
    let mut i = 3000i64;
    assert!(
        wait_until(LONG, || {
            fapilog::info!(log, "event", i = i);
            i += 1;
            p.flush(LONG).is_ok() && db.count() > before
        }),
        "the sink recovers once the server is back"
    );
    p.flush(LONG).unwrap();
    let m = sink_metrics(&p, "postgres");
    // Every event, ours and the in-band `logs dropped` summaries, reached
    // the other sink; each is stored here or counted lost.
    let routed = captured.len() as u64;
    assert_eq!(events(&captured), i as u64);
    let stored = db.count();
    assert_eq!(stored as u64, m.written);
    // Lines diverted to stderr and refused there over its budget are in
    // both `diverted` and `dropped`: count what the divert chain took.
    assert_eq!(
        m.written + m.dropped_total() + m.diverted_to_fallback + m.diverted_to_stderr,
        routed,
        "every event is stored or counted lost: {m:?}"
    );
    assert_eq!(distinct_ids(&db), stored, "no duplicate");
    p.shutdown(LONG);
}

#[test]
fn a_terminated_backend_is_replaced_without_loss_or_duplicate() {
    let db = Db::new(&table("terminated"));
    let app = db.table.clone();
    let dsn = format!("{} application_name={app}", pg::dsn());
    let sink = PostgresSink::builder(dsn).table(&db.table).build().unwrap();
    let p = Pipeline::builder()
        .backpressure(Backpressure::Block)
        .sink_with(sink, patient())
        .build()
        .unwrap();
    let log = p.logger("app");
    let backend = || -> Vec<i32> {
        db.query(&format!(
            "SELECT pid FROM pg_stat_activity WHERE application_name = '{app}'"
        ))
        .iter()
        .map(|r| r.get(0))
        .collect()
    };
    for round in 0..3i64 {
        for i in round * 1000..(round + 1) * 1000 {
            fapilog::info!(log, "event", i = i);
        }
        p.flush(LONG).unwrap();
        let before = backend();
        assert_eq!(before.len(), 1, "one connection per sink");
        let killed = db.query(&format!("SELECT pg_terminate_backend({}) ", before[0]));
        assert!(killed[0].get::<_, bool>(0));
    }
    for i in 3000..4000i64 {
        fapilog::info!(log, "event", i = i);
    }
    p.flush(LONG).unwrap();
    assert_eq!(
        ids(&db),
        (0..4000).collect::<Vec<_>>(),
        "nothing lost, nothing twice"
    );
    assert_eq!(distinct_ids(&db), 4000);
    p.shutdown(LONG);
}

#[test]
fn fapilogs_settings_select_and_configure_the_sink() {
    let db = Db::new(&table("settings"));
    let s = Settings::from_env_vars([
        ("FAPILOG_CORE__SINKS", "postgres"),
        ("FAPILOG_POSTGRES__DSN", pg::dsn().as_str()),
        ("FAPILOG_POSTGRES__TABLE_NAME", db.table.as_str()),
        (
            "FAPILOG_POSTGRES__EXTRACT_FIELDS",
            "timestamp,level,message,message_id,request_id,pid",
        ),
        ("FAPILOG_POSTGRES__MAX_RETRIES", "4"),
        ("FAPILOG_POSTGRES__BATCH_SIZE", "7"),
    ])
    .unwrap();
    let p = Pipeline::builder()
        .settings(s)
        .sink_factory(fapilog_sinks::factory())
        .build()
        .unwrap();
    let log = p.logger("app");
    for i in 0..100i64 {
        fapilog::info!(log, "from settings", i = i, request_id = "r-1");
    }
    let report = p.shutdown(LONG);
    assert_eq!(report.written, 100, "{report:?}");
    assert_eq!(ids(&db), (0..100).collect::<Vec<_>>());
    let cols: Vec<String> = db
        .query(&format!(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = '{}' ORDER BY ordinal_position",
            db.table
        ))
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        cols,
        [
            "id",
            "created_at",
            "timestamp",
            "level",
            "message",
            "message_id",
            "request_id",
            "pid",
            "event"
        ]
    );
    let agree: i64 = db.query(&format!(
        "SELECT count(*) FROM public.\"{}\" WHERE message_id = event->'context'->>'message_id' \
         AND request_id = 'r-1' AND request_id = event->'context'->>'request_id' \
         AND pid IS NOT DISTINCT FROM event->'diagnostics'->>'pid'",
        db.table
    ))[0]
        .get(0);
    assert_eq!(agree, 100);
}

#[test]
fn fapilogs_host_port_database_and_user_settings_work_without_a_dsn() {
    let db = Db::new(&table("settings_parts"));
    let config: tokio_postgres::Config = pg::dsn().parse().unwrap();
    let port = pg::server_addr().port().to_string();
    let s = Settings::from_env_vars([
        ("FAPILOG_CORE__SINKS", "postgres"),
        ("FAPILOG_POSTGRES__HOST", "127.0.0.1"),
        ("FAPILOG_POSTGRES__PORT", port.as_str()),
        (
            "FAPILOG_POSTGRES__DATABASE",
            config.get_dbname().unwrap_or("test"),
        ),
        (
            "FAPILOG_POSTGRES__USER",
            config.get_user().unwrap_or("postgres"),
        ),
        ("FAPILOG_POSTGRES__TABLE_NAME", db.table.as_str()),
        ("FAPILOG_POSTGRES__USE_JSONB", "false"),
        ("FAPILOG_POSTGRES__INCLUDE_RAW_JSON", "false"),
    ])
    .unwrap();
    let p = Pipeline::builder()
        .settings(s)
        .sink_factory(fapilog_sinks::factory())
        .build()
        .unwrap();
    for i in 0..10i64 {
        fapilog::info!(p.logger("app"), "parts", i = i);
    }
    assert_eq!(p.shutdown(LONG).written, 10);
    assert_eq!(db.count(), 10);
    // `event` is JSON holding only the extracted fields.
    let row = &db.query(&format!(
        "SELECT pg_typeof(event)::text, event::jsonb ? 'message', event::jsonb ? 'data' \
         FROM public.\"{}\" LIMIT 1",
        db.table
    ))[0];
    assert_eq!(row.get::<_, &str>(0), "json");
    assert!(row.get::<_, bool>(1));
    assert!(!row.get::<_, bool>(2));
}

#[test]
fn a_bad_dsn_or_port_fails_at_build_naming_the_key_with_the_password_masked() {
    let build = |vars: &[(&str, &str)]| {
        let mut all = vec![("FAPILOG_CORE__SINKS", "postgres")];
        all.extend_from_slice(vars);
        let s = Settings::from_env_vars(all).unwrap();
        match Pipeline::builder()
            .settings(s)
            .sink_factory(fapilog_sinks::factory())
            .build()
        {
            Ok(_) => panic!("the build fails"),
            Err(e) => e.to_string(),
        }
    };
    let e = build(&[(
        "FAPILOG_POSTGRES__DSN",
        "postgres://app:hunter2@db:notaport/logs",
    )]);
    assert!(e.contains("sink_config.postgres.dsn"), "{e}");
    assert!(e.contains("postgres://app:***@db:notaport/logs"), "{e}");
    assert!(!e.contains("hunter2"), "{e}");
    let e = build(&[
        ("FAPILOG_POSTGRES__PORT", "70000"),
        ("FAPILOG_POSTGRES__PASSWORD", "hunter2"),
    ]);
    assert!(
        e.contains("sink_config.postgres.port") && e.contains("70000"),
        "{e}"
    );
    assert!(!e.contains("hunter2"), "{e}");
    let e = build(&[(
        "FAPILOG_POSTGRES__DSN",
        "host=db password=hunter2 sslmode=maybe",
    )]);
    assert!(e.contains("sslmode") && e.contains("maybe"), "{e}");
    assert!(!e.contains("hunter2"), "{e}");

    let e = PostgresSink::builder("host=db")
        .table("t".repeat(64))
        .build()
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("table_name"), "{e}");

    // Nor do the builder or the sink show a password.
    for dsn in [
        "host=db user=app password=hunter2",
        "postgres://app:hunter2@db/logs",
    ] {
        let b = PostgresSink::builder(dsn).password("hunter3");
        let shown = format!("{b:?}");
        assert!(!shown.contains("hunter"), "{shown}");
        let sink = b.build().unwrap();
        let shown = format!("{:?}", sink.get_ref());
        assert!(!shown.contains("hunter"), "{shown}");
    }
}

#[test]
fn a_resent_batch_is_stored_once_with_dedupe_by_message_id() {
    let db = Db::new(&table("dedupe"));
    let mut sink = PostgresSink::builder(pg::dsn())
        .table(&db.table)
        .dedupe_by_message_id(true)
        .build()
        .unwrap();
    let mut batch = Batch::new(Format::Flat);
    for i in 0..100 {
        batch.push(&Event::new(
            Level::INFO,
            if i % 2 == 0 { "even" } else { "odd" },
        ));
    }
    sink.start().unwrap();
    sink.write_batch(&batch).unwrap();
    // The same bytes again, as after a commit whose answer was lost.
    sink.write_batch(&batch).unwrap();
    sink.stop().unwrap();
    assert_eq!(db.count(), 100);
    let unique: i64 = db.query(&format!(
        "SELECT count(*) FROM pg_indexes WHERE tablename = '{}' AND indexdef LIKE 'CREATE UNIQUE INDEX%(message_id)'",
        db.table
    ))[0]
        .get(0);
    assert_eq!(unique, 1);
    assert!(PostgresSink::builder("host=db")
        .dedupe_by_message_id(true)
        .insert_method(InsertMethod::Copy)
        .build()
        .is_err());
}

#[test]
fn tls_verify_full_checks_the_servers_certificate() {
    let pem = std::fs::read("/etc/ssl/certs/ssl-cert-snakeoil.pem").expect(
        "the server's certificate (Debian's snakeoil, CN=localhost): run ./scripts/test on the \
         machine whose PostgreSQL serves it",
    );
    let db = Db::new(&table("tls"));
    let app = db.table.clone();
    let dsn = format!(
        "host=localhost port={} user=postgres dbname=test application_name={app}",
        pg::server_addr().port()
    );
    let sink = PostgresSink::builder(&dsn)
        .table(&db.table)
        .ssl_mode(SslMode::VerifyFull)
        .tls_root_pem(pem)
        .build()
        .unwrap();
    let p = Pipeline::builder()
        .sink_with(sink, patient())
        .build()
        .unwrap();
    let log = p.logger("app");
    for i in 0..100i64 {
        fapilog::info!(log, "over TLS", i = i);
    }
    p.flush(LONG).unwrap();
    let ssl: bool = db.query(&format!(
        "SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
         WHERE a.application_name = '{app}'"
    ))[0]
        .get(0);
    assert!(ssl, "the sink's connection is encrypted");
    assert_eq!(ids(&db), (0..100).collect::<Vec<_>>());
    p.shutdown(LONG);

    // Without the server's root, verify-full refuses to connect.
    let sink = PostgresSink::builder(&dsn)
        .name("untrusted")
        .table(&db.table)
        .ssl_mode(SslMode::VerifyFull)
        .build()
        .unwrap();
    let p = Pipeline::builder()
        .sink_with(sink, SinkOptions::new().retry(RetryPolicy::none()))
        .build()
        .unwrap();
    fapilog::info!(p.logger("app"), "not sent", i = 100i64);
    let report = p.shutdown(LONG);
    assert_eq!(report.written, 0);
    assert_eq!(db.count(), 100);
}
