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

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
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
    hang: Arc<AtomicBool>,
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
        let hang = Arc::new(AtomicBool::new(false));
        let links: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let target = server_addr();
        let (up2, hang2, links2) = (Arc::clone(&up), Arc::clone(&hang), Arc::clone(&links));
        rt.spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if hang2.load(Ordering::SeqCst) {
                    // Accepted, never answered: held open until restored.
                    let task = tokio::spawn(async move {
                        let _held = client;
                        std::future::pending::<()>().await;
                    });
                    links2.lock().unwrap().push(task.abort_handle());
                    continue;
                }
                if !up2.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let hang3 = Arc::clone(&hang2);
                let task = tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(target).await {
                        let (cr, cw) = client.into_split();
                        let (sr, sw) = server.into_split();
                        tokio::join!(pump(cr, sw, Arc::clone(&hang3)), pump(sr, cw, hang3));
                    }
                });
                links2.lock().unwrap().push(task.abort_handle());
            }
        });
        Proxy {
            _rt: rt,
            port,
            up,
            hang,
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

    /// Freezes every forwarded connection (open, nothing passes either
    /// way); new ones are accepted and never answered: a server that hangs.
    pub fn hang(&self) {
        self.hang.store(true, Ordering::SeqCst);
    }

    /// Forwards again (and lets go of hung connections).
    pub fn restore(&self) {
        self.hang.store(false, Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
        self.up.store(true, Ordering::SeqCst);
    }
}

/// Forwards `from` to `to`, holding what it read while `hang` is set (the
/// link is closed when the proxy is restored, so held bytes never pass).
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, hang: Arc<AtomicBool>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        while hang.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
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
