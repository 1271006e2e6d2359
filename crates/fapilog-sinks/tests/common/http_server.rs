//! A loopback HTTP server for the HTTP, webhook, Loki and OTLP sink tests:
//! it records each request's raw bytes and headers and answers from a
//! script (429 with `Retry-After`, 5xx, 400, a hang) or from a responder
//! that decodes the body with the destination's real format.
//!
//! No Loki server or OpenTelemetry Collector binary can be installed on
//! this machine (no Debian, PyPI or npm package ships one), so the tests of
//! those wire formats decode with the format's reference definitions
//! against this server instead.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// One request as the server received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// `POST`, `GET`…
    pub method: String,
    /// The path and query.
    pub path: String,
    /// Header names (lower case) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body's bytes exactly as received (still compressed).
    pub body: Vec<u8>,
}

impl Recorded {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body, gunzipped when `Content-Encoding: gzip`.
    pub fn body_decoded(&self) -> Vec<u8> {
        if self.header("content-encoding") == Some("gzip") {
            use std::io::Read;
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&self.body[..])
                .read_to_end(&mut out)
                .expect("a valid gzip body");
            out
        } else {
            self.body.clone()
        }
    }

    /// The decoded body as UTF-8 text.
    pub fn text(&self) -> String {
        String::from_utf8(self.body_decoded()).expect("a UTF-8 body")
    }
}

/// The events of every request, decoded as JSON arrays, in order.
pub fn events(requests: &[Recorded]) -> Vec<serde_json::Value> {
    requests
        .iter()
        .flat_map(|r| {
            let v: serde_json::Value =
                serde_json::from_slice(&r.body_decoded()).expect("a JSON body");
            v.as_array().expect("a JSON array").clone()
        })
        .collect()
}

/// An answer.
#[derive(Clone, Debug)]
pub enum Reply {
    /// This status, empty body.
    Status(u16),
    /// This status, these headers and body.
    With {
        /// The status.
        status: u16,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// The body.
        body: Vec<u8>,
    },
    /// Never answers (the client's timeout fires).
    Hang,
}

impl Reply {
    /// `429` with `Retry-After: value`.
    pub fn retry_after(status: u16, value: &str) -> Reply {
        Reply::With {
            status,
            headers: vec![("retry-after".into(), value.into())],
            body: Vec::new(),
        }
    }
}

type Responder = Box<dyn Fn(&Recorded) -> Reply + Send + Sync>;

struct State {
    /// TLS handshakes that failed (the client refused the certificate…).
    tls_failures: std::sync::atomic::AtomicUsize,
    requests: Mutex<Vec<Recorded>>,
    script: Mutex<VecDeque<Reply>>,
    responder: Mutex<Option<Responder>>,
    default: Mutex<Reply>,
}

/// A running server; stops when dropped.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    state: Arc<State>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Starts on a free loopback port, answering `default` to everything.
    pub fn start(default: Reply) -> Server {
        Server::start_at(0, default)
    }

    /// Starts on `port` (0: any free one).
    pub fn start_at(port: u16, default: Reply) -> Server {
        Server::start_with(port, default, None)
    }

    /// Starts with TLS on a free loopback port, presenting the PEM server
    /// certificate `cert` with its key `key` (`common/certs.rs` makes a
    /// pair signed by a private CA); see [`Server::https_url`].
    pub fn start_tls(default: Reply, cert: &std::path::Path, key: &std::path::Path) -> Server {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .expect("the server certificate")
            .collect::<Result<_, _>>()
            .expect("a PEM certificate");
        let key = PrivateKeyDer::from_pem_file(key).expect("the server key");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("the server's TLS configuration");
        Server::start_with(
            0,
            default,
            Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))),
        )
    }

    fn start_with(port: u16, default: Reply, tls: Option<tokio_rustls::TlsAcceptor>) -> Server {
        let state = Arc::new(State {
            tls_failures: Default::default(),
            requests: Mutex::new(Vec::new()),
            script: Mutex::new(VecDeque::new()),
            responder: Mutex::new(None),
            default: Mutex::new(default),
        });
        let listener =
            std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind the test server");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("local address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let st = Arc::clone(&state);
        let tls_state = Arc::clone(&state);
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("the test server's runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                let app = axum::Router::new().fallback(
                    move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                        let st = Arc::clone(&st);
                        async move { handle(st, method, uri, headers, body).await }
                    },
                );
                let stopped = async move {
                    let _ = stopped.await;
                };
                match tls {
                    None => {
                        let _ = axum::serve(listener, app)
                            .with_graceful_shutdown(stopped)
                            .await;
                    }
                    Some(acceptor) => {
                        let listener = TlsListener {
                            tcp: listener,
                            acceptor,
                            state: tls_state,
                        };
                        let _ = axum::serve(listener, app)
                            .with_graceful_shutdown(stopped)
                            .await;
                    }
                }
            });
            rt.shutdown_timeout(Duration::from_millis(100));
        });
        Server {
            addr,
            state,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port>` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `https://localhost:<port>` + `path` (a server of `start_tls`).
    pub fn https_url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.addr.port())
    }

    /// TLS handshakes that failed so far.
    pub fn tls_failures(&self) -> usize {
        self.state
            .tls_failures
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Answers these, in order, before the default.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.script.lock().unwrap().extend(replies);
    }

    /// Answers with `f` (after the script) instead of the default.
    pub fn respond_with(&self, f: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) {
        *self.state.responder.lock().unwrap() = Some(Box::new(f));
    }

    /// The default answer from now on.
    pub fn set_default(&self, reply: Reply) {
        *self.state.default.lock().unwrap() = reply;
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    /// How many requests so far.
    pub fn count(&self) -> usize {
        self.state.requests.lock().unwrap().len()
    }

    /// Stops listening (the port refuses connections afterwards).
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop_now();
    }
}

async fn handle(
    st: Arc<State>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let rec = Recorded {
        method: method.to_string(),
        path: uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), |p| p.to_string()),
        headers: headers
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect(),
        body: body.to_vec(),
    };
    let reply = {
        let scripted = st.script.lock().unwrap().pop_front();
        match scripted {
            Some(r) => r,
            None => match &*st.responder.lock().unwrap() {
                Some(f) => f(&rec),
                None => st.default.lock().unwrap().clone(),
            },
        }
    };
    st.requests.lock().unwrap().push(rec);
    match reply {
        Reply::Status(s) => StatusCode::from_u16(s).unwrap().into_response(),
        Reply::With {
            status,
            headers,
            body,
        } => {
            let mut r = (StatusCode::from_u16(status).unwrap(), body).into_response();
            for (n, v) in headers {
                r.headers_mut().insert(
                    axum::http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                    v.parse().unwrap(),
                );
            }
            r
        }
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
    }
}

/// A TLS listener for `axum::serve`: the handshake runs in `accept`, and a
/// failed one is counted and skipped.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    state: Arc<State>,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            match self.acceptor.accept(tcp).await {
                Ok(tls) => return (tls, addr),
                Err(_) => {
                    self.state
                        .tls_failures
                        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}
