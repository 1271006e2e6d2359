//! A private rsyslogd per test: listens on a free loopback port (UDP, TCP
//! with octet counting, or TLS through the `ossl` driver with a certificate
//! made by the `openssl` CLI) and writes what it parses into files the
//! test reads. `./scripts/test` installs rsyslog (scripts/test-services/
//! 20-syslog.sh); without it these tests fail and say so.

use std::net::{TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::common::{free_port, wait_until};

/// How the test rsyslogd listens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listen {
    Udp,
    Tcp,
    Tls,
}

/// One message as rsyslog parsed it (the `fields` template).
#[derive(Clone, Debug)]
pub struct Parsed {
    pub pri: u16,
    pub timestamp: String,
    pub hostname: String,
    pub app_name: String,
    pub procid: String,
    pub msgid: String,
    pub structured_data: String,
    pub msg: String,
}

/// A running (or stopped) rsyslogd owned by one test.
pub struct Rsyslog {
    child: Option<Child>,
    pub dir: PathBuf,
    pub port: u16,
    pub listen: Listen,
}

/// `$FAPILOG_TEST_RSYSLOGD`, else `/usr/sbin/rsyslogd`; fails the test
/// (never skips) when neither exists.
pub fn rsyslogd() -> PathBuf {
    let path = std::env::var_os("FAPILOG_TEST_RSYSLOGD")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/rsyslogd"));
    assert!(
        path.exists(),
        "rsyslogd not found at {}: run ./scripts/test (it installs rsyslog and rsyslog-openssl), \
         or set FAPILOG_TEST_RSYSLOGD",
        path.display()
    );
    path
}

fn temp_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "fapilog-syslog-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the test's temp dir");
    dir
}

impl Rsyslog {
    /// Starts one on a free port and waits until it listens.
    pub fn start(listen: Listen) -> Rsyslog {
        let mut r = Rsyslog::prepare(listen);
        r.restart();
        r
    }

    /// Picks a port and writes the configuration (and the certificates for
    /// TLS) without starting: for "receiver down at start".
    pub fn prepare(listen: Listen) -> Rsyslog {
        let r = Rsyslog {
            child: None,
            dir: temp_dir(),
            port: free_port(),
            listen,
        };
        if listen == Listen::Tls {
            crate::common::certs::make(&r.dir);
        }
        std::fs::write(r.dir.join("rsyslog.conf"), r.config()).expect("write rsyslog.conf");
        r
    }

    /// `127.0.0.1:port`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The CA certificate that signs the TLS listener's certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    fn config(&self) -> String {
        let dir = self.dir.display();
        let port = self.port;
        let input = match self.listen {
            Listen::Udp => format!(
                "module(load=\"imudp\")\ninput(type=\"imudp\" address=\"127.0.0.1\" port=\"{port}\" ruleset=\"test\" rcvbufSize=\"8m\")\n"
            ),
            Listen::Tcp => format!(
                "module(load=\"imtcp\")\ninput(type=\"imtcp\" address=\"127.0.0.1\" port=\"{port}\" ruleset=\"test\")\n"
            ),
            Listen::Tls => format!(
                "global(defaultNetstreamDriver=\"ossl\" defaultNetstreamDriverCAFile=\"{dir}/ca.pem\" \
                 defaultNetstreamDriverCertFile=\"{dir}/cert.pem\" defaultNetstreamDriverKeyFile=\"{dir}/key.pem\")\n\
                 module(load=\"imtcp\" streamDriver.name=\"ossl\" streamDriver.mode=\"1\" streamDriver.authMode=\"anon\")\n\
                 input(type=\"imtcp\" address=\"127.0.0.1\" port=\"{port}\" ruleset=\"test\")\n"
            ),
        };
        format!(
            "global(workDirectory=\"{dir}\" maxMessageSize=\"64k\")\n\
             {input}\
             template(name=\"fields\" type=\"string\" string=\"%pri%\\t%timereported:::date-rfc3339%\\t%hostname%\\t%app-name%\\t%procid%\\t%msgid%\\t%structured-data%\\t%msg%\\n\")\n\
             template(name=\"raw\" type=\"string\" string=\"%rawmsg%\\n\")\n\
             ruleset(name=\"test\") {{\n\
               action(type=\"omfile\" file=\"{dir}/out.log\" template=\"fields\")\n\
               action(type=\"omfile\" file=\"{dir}/raw.log\" template=\"raw\")\n\
             }}\n\
             *.* action(type=\"omfile\" file=\"{dir}/internal.log\")\n"
        )
    }

    /// (Re)starts rsyslogd on the same port, appending to the same files,
    /// and waits until it listens.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "rsyslogd is already running");
        let log = std::fs::File::create(self.dir.join("rsyslogd.stderr")).expect("stderr file");
        let child = Command::new(rsyslogd())
            .arg("-n")
            .arg("-f")
            .arg(self.dir.join("rsyslog.conf"))
            .arg("-i")
            .arg(self.dir.join("rsyslogd.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start rsyslogd");
        self.child = Some(child);
        let port = self.port;
        let listen = self.listen;
        let up = wait_until(Duration::from_secs(20), || match listen {
            // rsyslog holds the port: we cannot bind it.
            Listen::Udp => UdpSocket::bind(("127.0.0.1", port)).is_err(),
            Listen::Tcp | Listen::Tls => TcpStream::connect(("127.0.0.1", port)).is_ok(),
        });
        assert!(
            up,
            "rsyslogd did not listen on 127.0.0.1:{port}; its stderr: {}; internal log: {}",
            std::fs::read_to_string(self.dir.join("rsyslogd.stderr")).unwrap_or_default(),
            std::fs::read_to_string(self.dir.join("internal.log")).unwrap_or_default()
        );
    }

    /// Kills rsyslogd (SIGKILL) and waits until it is gone. A line it was
    /// writing when killed is cut off, so that the next start does not glue
    /// its first message to that partial one (that message counts as lost
    /// in rsyslog's buffers, as the kill tests allow).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(self.dir.join("rsyslogd.pid"));
        for name in ["out.log", "raw.log"] {
            let path = self.dir.join(name);
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            if whole < bytes.len() {
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .expect("open the output file");
                file.set_len(whole as u64).expect("cut the partial line");
            }
        }
    }

    /// The messages written so far, as rsyslog parsed them.
    pub fn parsed(&self) -> Vec<Parsed> {
        read_lines(&self.dir.join("out.log"))
            .iter()
            .map(|l| {
                let f: Vec<&str> = l.splitn(8, '\t').collect();
                assert_eq!(f.len(), 8, "an output line with 8 fields: {l}");
                Parsed {
                    pri: f[0].parse().expect("a numeric PRI"),
                    timestamp: f[1].to_owned(),
                    hostname: f[2].to_owned(),
                    app_name: f[3].to_owned(),
                    procid: f[4].to_owned(),
                    msgid: f[5].to_owned(),
                    structured_data: f[6].to_owned(),
                    msg: f[7].to_owned(),
                }
            })
            .collect()
    }

    /// The raw messages written so far (framing removed by rsyslog).
    pub fn raw(&self) -> Vec<String> {
        read_lines(&self.dir.join("raw.log"))
    }

    /// Waits until at least `n` messages are written to both files (the
    /// two actions write one after the other, so `raw.log` can lag); the
    /// parsed ones are returned.
    pub fn wait_for(&self, n: usize, within: Duration) -> Vec<Parsed> {
        let mut seen = 0;
        let ok = wait_until(within, || {
            seen = ["out.log", "raw.log"]
                .iter()
                .map(|f| read_lines(&self.dir.join(f)).len())
                .min()
                .unwrap_or(0);
            seen >= n
        });
        assert!(ok, "rsyslog wrote {seen} of {n} messages within {within:?}");
        self.parsed()
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        self.kill();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn read_lines(path: &Path) -> Vec<String> {
    let text = std::fs::read(path).unwrap_or_default();
    let text = String::from_utf8(text).expect("rsyslog's output is UTF-8");
    // A partly written last line is not a message yet.
    let complete = text.rfind('\n').map_or("", |i| &text[..i]);
    if complete.is_empty() {
        return Vec::new();
    }
    complete.split('\n').map(str::to_owned).collect()
}
