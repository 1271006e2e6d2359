//! The PostgreSQL sink's test helpers: the machine's server (its own table
//! per test, dropped at the end) and a TCP proxy the tests cut and restore.
//!
//! Tests run in parallel with other engineers' and CI's tests against the
//! one PostgreSQL of the machine, so "the server goes down" is modelled by a
//! small tokio TCP forwarder between the sink and 127.0.0.1:5432: cutting it
//! closes every forwarded connection and refuses new ones (they are
//! accepted and closed at once), restoring it forwards again. Restarting
//! the real server would break everyone else's tests.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::task::AbortHandle;
use tokio_postgres::{Client, NoTls, Row};

/// Where the test server is (set by `./scripts/test`).
pub fn dsn() -> String {
    std::env::var("FAPILOG_TEST_POSTGRES")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".to_owned())
}

/// The server's `host:port` from the test DSN (for the proxy).
pub fn server_addr() -> SocketAddr {
    let config: tokio_postgres::Config = dsn().parse().expect("FAPILOG_TEST_POSTGRES parses");
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "127.0.0.1".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let host = if host == "localhost" {
        "127.0.0.1".to_owned()
    } else {
        host
    };
    format!("{host}:{port}").parse().expect("a host:port")
}

/// A connection of the test to the server, for one table.
pub struct Db {
    rt: Runtime,
    client: Client,
    /// The test's own table (in `public`).
    pub table: String,
}

impl Db {
    /// Connects and drops any leftover of `table` (a unique name per test).
    pub fn new(table: &str) -> Db {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let client = rt.block_on(async {
            let (client, conn) = match tokio::time::timeout(
                Duration::from_secs(10),
                tokio_postgres::connect(&dsn(), NoTls),
            )
            .await
            {
                Ok(Ok(c)) => c,
                other => panic!(
                    "PostgreSQL is not reachable at {:?} ({:?}): run ./scripts/test, which \
                     starts it and sets FAPILOG_TEST_POSTGRES",
                    dsn(),
                    other.map(|r| r.err())
                ),
            };
            tokio::spawn(async move {
                let _ = conn.await;
            });
            client
        });
        let db = Db {
            rt,
            client,
            table: table.to_owned(),
        };
        db.execute(&format!("DROP TABLE IF EXISTS public.\"{table}\""));
        db
    }

    /// Runs a statement.
    pub fn execute(&self, sql: &str) {
        self.rt
            .block_on(self.client.batch_execute(sql))
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    }

    /// Runs a query.
    pub fn query(&self, sql: &str) -> Vec<Row> {
        self.rt
            .block_on(self.client.query(sql, &[]))
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
    }

    /// Rows in the table (0 when it does not exist yet).
    pub fn count(&self) -> i64 {
        let exists: bool = self.query(&format!(
            "SELECT to_regclass('public.\"{}\"') IS NOT NULL",
            self.table
        ))[0]
            .get(0);
        if !exists {
            return 0;
        }
        self.query(&format!("SELECT count(*) FROM public.\"{}\"", self.table))[0].get(0)
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let sql = format!("DROP TABLE IF EXISTS public.\"{}\"", self.table);
        let _ = self.rt.block_on(self.client.batch_execute(&sql));
    }
}

/// A TCP forwarder to the server that a test can cut and restore.
pub struct Proxy {
    /// Runs the forwarder; dropping it stops it.
    _rt: Runtime,
    /// The port the sink connects to.
    pub port: u16,
    up: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Proxy {
    /// A forwarder to the server, up when `up`.
    pub fn start(up: bool) -> Proxy {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let listener = rt
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind a loopback port");
        let port = listener.local_addr().expect("its address").port();
        let up = Arc::new(AtomicBool::new(up));
        let links: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let target = server_addr();
        let (up2, links2) = (Arc::clone(&up), Arc::clone(&links));
        rt.spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !up2.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                links2.lock().unwrap().push(task.abort_handle());
            }
        });
        Proxy {
            _rt: rt,
            port,
            up,
            links,
        }
    }

    /// A DSN through the proxy.
    pub fn dsn(&self) -> String {
        format!(
            "host=127.0.0.1 port={} {} sslmode=disable",
            self.port,
            user_and_db()
        )
    }

    /// Closes every forwarded connection and refuses new ones.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    /// Forwards again.
    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// `user=… dbname=…` of the test DSN.
fn user_and_db() -> String {
    let config: tokio_postgres::Config = dsn().parse().expect("FAPILOG_TEST_POSTGRES parses");
    format!(
        "user={} dbname={}",
        config.get_user().unwrap_or("postgres"),
        config.get_dbname().unwrap_or("test")
    )
}
