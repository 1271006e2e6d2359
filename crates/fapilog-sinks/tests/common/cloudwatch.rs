//! moto in server mode, the CloudWatch Logs stand-in of the tests: one
//! server per test on its own loopback port, killed on drop, and a reader
//! that pages through `GetLogEvents` with boto3 (moto's own dependency).
//! `./scripts/test` installs moto into a virtual environment and exports
//! `FAPILOG_TEST_PYTHON`.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Python that has moto, or a failure that says how to get it.
pub fn python() -> String {
    let py = std::env::var("FAPILOG_TEST_PYTHON").unwrap_or_else(|_| {
        panic!("FAPILOG_TEST_PYTHON is not set: run ./scripts/test (it installs moto and sets it)")
    });
    let ok = Command::new(&py)
        .args(["-c", "import moto.server, boto3"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "moto is not installed for {py}: run ./scripts/test (scripts/test-services/20-cloudwatch.sh installs it)"
    );
    py
}

/// A moto server on `127.0.0.1:port`.
pub struct Moto {
    pub port: u16,
    child: Child,
}

impl Moto {
    /// Starts moto on a free port and waits until it answers.
    pub fn start() -> Moto {
        Moto::start_at(crate::common::free_port())
    }

    /// Starts moto on `port` (a restart comes back on the same one) and
    /// waits until it answers.
    pub fn start_at(port: u16) -> Moto {
        let child = Command::new(python())
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto");
        let moto = Moto { port, child };
        assert!(
            crate::common::wait_until(Duration::from_secs(90), || moto.answers()),
            "moto did not answer on 127.0.0.1:{port} within 90 s"
        );
        moto
    }

    /// `http://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// moto answers HTTP.
    fn answers(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let req = format!(
            "GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            self.port
        );
        if s.write_all(req.as_bytes()).is_err() {
            return false;
        }
        let mut buf = [0u8; 12];
        s.read_exact(&mut buf).is_ok() && buf.starts_with(b"HTTP/1.")
    }

    /// Kills the server (its state goes with it) and waits until the port is free.
    pub fn kill(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let port = self.port;
        let end = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_ok() && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every event of `group`/`stream`, oldest first: (timestamp ms, message).
    pub fn events(&self, group: &str, stream: &str) -> Vec<(i64, String)> {
        read_events(&self.url(), group, stream)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}

const READER: &str = r#"
import json, sys
import boto3
c = boto3.client("logs", endpoint_url=sys.argv[1], region_name="us-east-1",
                 aws_access_key_id="AKIDTEST", aws_secret_access_key="test-secret")
kw = dict(logGroupName=sys.argv[2], logStreamName=sys.argv[3], startFromHead=True)
out = []
while True:
    r = c.get_log_events(**kw)
    out += [[e["timestamp"], e["message"]] for e in r["events"]]
    if not r["events"] or r.get("nextForwardToken") == kw.get("nextToken"):
        break
    kw["nextToken"] = r["nextForwardToken"]
json.dump(out, sys.stdout)
"#;

/// `GetLogEvents` from the start, every page.
pub fn read_events(url: &str, group: &str, stream: &str) -> Vec<(i64, String)> {
    let out = Command::new(python())
        .args(["-c", READER, url, group, stream])
        .output()
        .expect("run the GetLogEvents reader");
    assert!(
        out.status.success(),
        "GetLogEvents failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the reader's JSON")
}
