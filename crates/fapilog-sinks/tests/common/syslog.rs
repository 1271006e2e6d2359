//! A private rsyslogd per test: listens on a free loopback port (UDP, TCP
//! with octet counting, or TLS through the `ossl` driver with a certificate
//! made by the `openssl` CLI) and writes what it parses into files the
//! test reads. `./scripts/test` installs rsyslog (scripts/test-services/
//! 20-syslog.sh); without it these tests fail and say so.

use std::net::UdpSocket;
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
    /// Starts one on a free port and waits until it listens. A port taken
    /// between picking it and rsyslog's bind (another test's socket) is
    /// traded for a new one, up to three times.
    pub fn start(listen: Listen) -> Rsyslog {
        let mut r = Rsyslog::prepare(listen);
        for _ in 0..3 {
            if r.launch() {
                return r;
            }
            r.kill();
            r.port = pick_port(listen);
            r.write_config();
        }
        r.restart();
        r
    }

    /// Picks a port and writes the configuration (and the certificates for
    /// TLS) without starting: for "receiver down at start".
    pub fn prepare(listen: Listen) -> Rsyslog {
        let r = Rsyslog {
            child: None,
            dir: temp_dir(),
            port: pick_port(listen),
            listen,
        };
        if listen == Listen::Tls {
            crate::common::certs::make(&r.dir);
        }
        r.write_config();
        r
    }

    fn write_config(&self) {
        std::fs::write(self.dir.join("rsyslog.conf"), self.config()).expect("write rsyslog.conf");
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
        let up = self.launch();
        assert!(
            up,
            "rsyslogd did not listen on {}; {}",
            self.address(),
            self.diagnosis()
        );
    }

    /// Starts rsyslogd and waits until it listens (`true`) or says it
    /// cannot (`false`).
    fn launch(&mut self) -> bool {
        assert!(self.child.is_none(), "rsyslogd is already running");
        let stderr = self.dir.join("rsyslogd.stderr");
        let log = std::fs::File::create(&stderr).expect("stderr file");
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
        let (port, listen) = (self.port, self.listen);
        // rsyslog says so when its port is taken, and goes on without it.
        let refused = || {
            std::fs::read_to_string(&stderr)
                .unwrap_or_default()
                .to_ascii_lowercase()
                .contains("could not create")
        };
        let mut up = false;
        wait_until(Duration::from_secs(20), || {
            // Read from the kernel's tables rather than probed: a probe
            // that connects and leaves without a handshake is one more
            // session for rsyslog's TLS driver to juggle beside the sink's.
            up = listening(listen, port);
            up || refused()
        });
        up && !refused()
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
                .map(|f| count_lines(&self.dir.join(f)))
                .min()
                .unwrap_or(0);
            seen >= n
        });
        assert!(
            ok,
            "rsyslog wrote {seen} of {n} messages within {within:?}; {}",
            self.diagnosis()
        );
        self.parsed()
    }

    /// What a failed wait prints: each file's count, the first and last
    /// event indices (`"i":N`) it holds and where they jump, and the tail
    /// of rsyslog's own messages.
    fn diagnosis(&self) -> String {
        let mut out = String::new();
        for name in ["out.log", "raw.log"] {
            let lines = read_lines(&self.dir.join(name));
            let ids: Vec<u64> = lines.iter().flat_map(|l| event_indices(l)).collect();
            let gaps: Vec<String> = ids
                .windows(2)
                .filter(|w| w[1] != w[0] + 1)
                .map(|w| format!("{}->{}", w[0], w[1]))
                .take(10)
                .collect();
            out.push_str(&format!(
                "{name}: {} lines, i from {:?} to {:?}, jumps {gaps:?}; ",
                lines.len(),
                ids.first(),
                ids.last()
            ));
        }
        for name in ["internal.log", "rsyslogd.stderr"] {
            let text = std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(15).collect();
            out.push_str(&format!("{name} (last lines, newest first): {tail:?}; "));
        }
        out
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

/// A loopback port nothing uses right now, for the protocol rsyslog will
/// bind.
fn pick_port(listen: Listen) -> u16 {
    match listen {
        Listen::Udp => UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .expect("bind a loopback UDP port")
            .port(),
        Listen::Tcp | Listen::Tls => free_port(),
    }
}

/// `true` when a socket listens on 127.0.0.1:`port`: in `/proc/net/tcp`
/// in state `0A` (LISTEN), in `/proc/net/udp` unconnected (remote
/// `00000000:0000`; a connected client socket shows its peer there).
fn listening(listen: Listen, port: u16) -> bool {
    let (table, state) = match listen {
        Listen::Udp => ("/proc/net/udp", None),
        Listen::Tcp | Listen::Tls => ("/proc/net/tcp", Some("0A")),
    };
    let rows = std::fs::read_to_string(table).unwrap_or_else(|e| panic!("read {table}: {e}"));
    let local = format!("0100007F:{port:04X}");
    rows.lines().skip(1).any(|row| {
        let cols: Vec<&str> = row.split_whitespace().collect();
        cols.get(1) == Some(&local.as_str())
            && match state {
                Some(st) => cols.get(3) == Some(&st),
                None => cols.get(2) == Some(&"00000000:0000"),
            }
    })
}

/// The `"i":N` fields of the events in `text`, in order.
pub fn event_indices(text: &str) -> Vec<u64> {
    text.match_indices("\"i\":")
        .filter_map(|(at, key)| {
            let digits = &text[at + key.len()..];
            let end = digits
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(digits.len());
            digits[..end].parse().ok()
        })
        .collect()
}

/// How many complete lines the file holds (a partly written last line is
/// not a message yet).
fn count_lines(path: &Path) -> usize {
    let bytes = std::fs::read(path).unwrap_or_default();
    bytes.iter().filter(|&&b| b == b'\n').count()
}

fn read_lines(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap_or_default();
    // A partly written last line is not a message yet. It is cut off
    // before decoding: rsyslog writes through a 4 KiB buffer, so a file
    // read mid-write can end inside a multi-byte character.
    let complete = bytes
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(&[][..], |i| &bytes[..i]);
    if complete.is_empty() {
        return Vec::new();
    }
    std::str::from_utf8(complete)
        .unwrap_or_else(|e| panic!("{}: complete lines are UTF-8: {e}", path.display()))
        .split('\n')
        .map(str::to_owned)
        .collect()
}
