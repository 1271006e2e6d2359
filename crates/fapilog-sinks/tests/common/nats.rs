//! The NATS tests' helpers: the machine's JetStream server (one stream per
//! test, deleted at the end), reading a stream back, and a TCP forwarder
//! between the sink and the server that a test cuts and restores (the
//! machine's server is shared by every test: it is never stopped).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::jetstream::{self, stream};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::wait_until;

/// Where the tests' NATS runs (`FAPILOG_TEST_NATS`, default the machine's).
pub fn nats_url() -> String {
    std::env::var("FAPILOG_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned())
}

/// The server's `host:port`.
pub fn nats_addr() -> SocketAddr {
    let url = nats_url();
    let hostport = url.trim_start_matches("nats://");
    hostport
        .parse()
        .unwrap_or_else(|_| panic!("FAPILOG_TEST_NATS = {url:?}: expected nats://IP:PORT"))
}

/// A JetStream admin connection on its own runtime.
pub struct Admin {
    pub rt: Arc<Runtime>,
    pub js: jetstream::Context,
}

/// A stream of one test: unique name and subjects, a short duplicate
/// window; deleted when dropped.
pub struct TestStream {
    pub name: String,
    /// The subjects prefix the stream binds (`<prefix>.>`).
    pub prefix: String,
    rt: Arc<Runtime>,
    js: jetstream::Context,
}

impl Admin {
    /// Connects, or fails the test telling how to start the server.
    pub fn connect() -> Admin {
        Admin::connect_to(&nats_url(), async_nats::ConnectOptions::new())
    }

    /// Connects to `url` with `options`.
    pub fn connect_to(url: &str, options: async_nats::ConnectOptions) -> Admin {
        let rt = Arc::new(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("a runtime"),
        );
        let client = rt
            .block_on(async {
                tokio::time::timeout(Duration::from_secs(5), options.connect(url)).await
            })
            .ok()
            .and_then(Result::ok)
            .unwrap_or_else(|| {
                panic!(
                    "NATS JetStream does not answer at {url} (FAPILOG_TEST_NATS): \
                     run ./scripts/test, which starts it"
                )
            });
        // The context spawns its acker: build it inside the runtime.
        let js = rt.block_on(async { jetstream::new(client) });
        Admin { rt, js }
    }

    /// A new stream for `tag`, binding `<prefix>.>`.
    pub fn stream(&self, tag: &str) -> TestStream {
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let unique = format!(
            "{}_{}_{}",
            std::process::id(),
            nanos % 1_000_000_000,
            N.fetch_add(1, Ordering::Relaxed)
        );
        let name = format!("FAPILOG_T_{tag}_{unique}");
        let prefix = format!("fapilog_t.{tag}.{unique}");
        let config = stream::Config {
            name: name.clone(),
            subjects: vec![format!("{prefix}.>")],
            duplicate_window: Duration::from_secs(60),
            ..Default::default()
        };
        self.rt
            .block_on(self.js.create_stream(config))
            .unwrap_or_else(|e| panic!("create stream {name}: {e}"));
        TestStream {
            name,
            prefix,
            rt: Arc::clone(&self.rt),
            js: self.js.clone(),
        }
    }

    /// A stream name and subject prefix that no stream binds.
    pub fn unbound(&self, tag: &str) -> String {
        format!("fapilog_t_unbound.{tag}.{}", std::process::id())
    }
}

/// One stored message.
#[derive(Debug)]
pub struct Stored {
    pub subject: String,
    pub msg_id: Option<String>,
    pub payload: String,
}

impl Stored {
    /// The payload as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.payload).unwrap_or_else(|e| panic!("{e}: {}", self.payload))
    }
}

impl TestStream {
    /// The subject `<prefix>.<tail>`.
    pub fn subject(&self, tail: &str) -> String {
        format!("{}.{tail}", self.prefix)
    }

    /// Messages in the stream now.
    pub fn count(&self) -> u64 {
        self.rt.block_on(async {
            let mut s = self.js.get_stream(&self.name).await.expect("get stream");
            s.info().await.expect("stream info").state.messages
        })
    }

    /// Waits (bounded) until the stream holds at least `n` messages.
    pub fn wait_for(&self, n: u64, within: Duration) -> bool {
        wait_until(within, || self.count() >= n)
    }

    /// Every message, in stream order.
    pub fn read_all(&self) -> Vec<Stored> {
        self.rt.block_on(async {
            let mut s = self.js.get_stream(&self.name).await.expect("get stream");
            let state = s.info().await.expect("stream info").state.clone();
            let mut out = Vec::with_capacity(state.messages as usize);
            if state.messages == 0 {
                return out;
            }
            for seq in state.first_sequence..=state.last_sequence {
                let m = s.get_raw_message(seq).await.expect("get message");
                out.push(Stored {
                    subject: m.subject.to_string(),
                    msg_id: m
                        .headers
                        .get(async_nats::header::NATS_MESSAGE_ID)
                        .map(|v| v.to_string()),
                    payload: String::from_utf8(m.payload.to_vec()).expect("UTF-8 payload"),
                });
            }
            out
        })
    }
}

impl Drop for TestStream {
    fn drop(&mut self) {
        let _ = self.rt.block_on(self.js.delete_stream(&self.name));
    }
}

/// A TCP forwarder on a loopback port to a target; `cut` closes the port
/// and every connection through it, `restore` opens it again.
pub struct Forwarder {
    pub port: u16,
    target: SocketAddr,
    rt: Runtime,
    accept: Mutex<Option<JoinHandle<()>>>,
    /// Bumped by each cut: the connections of an earlier generation close.
    cuts: watch::Sender<u64>,
    /// While set, what the server sends is read and thrown away.
    swallow: Arc<AtomicBool>,
}

/// Copies the server's bytes to the client, throwing them away while
/// `swallow` is set (the server keeps storing; its acks never arrive).
async fn replies(
    from: &mut (impl AsyncRead + Unpin),
    to: &mut (impl AsyncWrite + Unpin),
    swallow: &AtomicBool,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        if !swallow.load(Ordering::SeqCst) {
            to.write_all(&buf[..n]).await?;
        }
    }
}

impl Forwarder {
    /// Forwards `127.0.0.1:port` to `target`.
    pub fn start_at(port: u16, target: SocketAddr) -> Forwarder {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let f = Forwarder {
            port,
            target,
            rt,
            accept: Mutex::new(None),
            cuts: watch::channel(0).0,
            swallow: Arc::new(AtomicBool::new(false)),
        };
        f.restore();
        f
    }

    /// Forwards a free loopback port to `target`.
    pub fn start(target: SocketAddr) -> Forwarder {
        Forwarder::start_at(super::free_port(), target)
    }

    /// The URL to give the sink.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Opens the port again (bounded wait for the OS to free it).
    pub fn restore(&self) {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let mut listener = None;
        let bound = wait_until(Duration::from_secs(10), || {
            listener = self.rt.block_on(TcpListener::bind(addr)).ok();
            listener.is_some()
        });
        assert!(bound, "cannot bind the forwarder's port {}", self.port);
        let listener = listener.expect("bound above");
        let target = self.target;
        let cuts = self.cuts.clone();
        let swallow = Arc::clone(&self.swallow);
        let accept = self.rt.spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let swallow = Arc::clone(&swallow);
                let mut cut = cuts.subscribe();
                let generation = *cut.borrow_and_update();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    if *cut.borrow() != generation {
                        return;
                    }
                    let (mut from_client, mut to_client) = inbound.split();
                    let (mut from_server, mut to_server) = outbound.split();
                    let up = tokio::io::copy(&mut from_client, &mut to_server);
                    let down = replies(&mut from_server, &mut to_client, &swallow);
                    tokio::select! {
                        _ = up => {}
                        _ = down => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        *self.accept.lock().expect("accept") = Some(accept);
    }

    /// Throws the server's replies away (`true`) or forwards them again.
    pub fn swallow_replies(&self, on: bool) {
        self.swallow.store(on, Ordering::SeqCst);
    }

    /// Closes the port and every connection through it.
    pub fn cut(&self) {
        if let Some(accept) = self.accept.lock().expect("accept").take() {
            accept.abort();
        }
        self.cuts.send_modify(|g| *g += 1);
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let closed = wait_until(Duration::from_secs(10), || {
            std::net::TcpStream::connect(addr).is_err()
        });
        assert!(closed, "the forwarder's port {} still accepts", self.port);
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        if let Some(accept) = self.accept.lock().expect("accept").take() {
            accept.abort();
        }
        self.cuts.send_modify(|g| *g += 1);
    }
}

/// A nats-server of the test's own, with TLS (a CA and a certificate made
/// by `openssl`), a user and password, and JetStream in a temporary
/// directory; killed (by its pid) and cleaned up when dropped.
pub struct TlsServer {
    pub port: u16,
    pub dir: std::path::PathBuf,
    child: std::process::Child,
    token: bool,
}

impl TlsServer {
    pub const USER: &'static str = "alice";
    pub const PASSWORD: &'static str = "hunter2-tls";
    pub const TOKEN: &'static str = "tok-s3cret-tls";

    /// Starts it with a user and password, or fails the test naming the
    /// missing tool.
    pub fn start() -> TlsServer {
        TlsServer::start_with(false)
    }

    /// Starts it with a token instead.
    pub fn start_with_token() -> TlsServer {
        TlsServer::start_with(true)
    }

    fn start_with(token: bool) -> TlsServer {
        let port = super::free_port();
        let dir =
            std::env::temp_dir().join(format!("fapilog-nats-tls-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let certs = crate::common::certs::make(&dir);
        let auth: &[&str] = if token {
            &["--auth", Self::TOKEN]
        } else {
            &["--user", Self::USER, "--pass", Self::PASSWORD]
        };
        let child = std::process::Command::new("/usr/sbin/nats-server")
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(dir.join("js"))
            .args(["--tls", "--tlscert"])
            .arg(&certs.cert)
            .arg("--tlskey")
            .arg(&certs.key)
            .args(auth)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("nats-server is needed (run ./scripts/test): {e}"));
        let server = TlsServer {
            port,
            dir,
            child,
            token,
        };
        let up = wait_until(Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(up, "the test's nats-server did not start on port {port}");
        server
    }

    /// `tls://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("tls://127.0.0.1:{}", self.port)
    }

    /// The CA certificate the server's certificate is signed by.
    pub fn ca(&self) -> std::path::PathBuf {
        self.dir.join("ca.pem")
    }

    /// An admin connection with the right credentials.
    pub fn admin(&self) -> Admin {
        let options = if self.token {
            async_nats::ConnectOptions::with_token(Self::TOKEN.to_owned())
        } else {
            async_nats::ConnectOptions::with_user_and_password(
                Self::USER.to_owned(),
                Self::PASSWORD.to_owned(),
            )
        };
        let options = options.add_root_certificates(self.ca()).require_tls(true);
        Admin::connect_to(&self.url(), options)
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
