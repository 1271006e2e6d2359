//! The OTLP sink tests' receivers: `tests/otlp_receiver.py` (OTLP/HTTP)
//! and `tests/otlp_grpc_receiver.py` (OTLP/gRPC, PyPI `grpcio`), run by the test
//! virtual environment's Python as a child process on a loopback port,
//! decoding each request with the official generated classes (PyPI
//! `opentelemetry-proto`). No OpenTelemetry Collector can be installed on
//! this machine (no Debian, PyPI or npm package ships one with an OTLP
//! receiver). A missing interpreter or module fails the test, saying to
//! run `./scripts/test`, which installs them.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;

use crate::common::{free_port, wait_until};

/// How long a receiver may take to start.
const START: Duration = Duration::from_secs(30);

/// The test Python: `$FAPILOG_TEST_PYTHON`, else the venv `./scripts/test` makes.
fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("FAPILOG_TEST_PYTHON") {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("HOME").unwrap_or_default();
    PathBuf::from(home).join(".cache/fapilog-venv/bin/python")
}

/// One answer of the receiver's script.
pub fn status(code: u16) -> Value {
    serde_json::json!({ "status": code })
}

/// 429 (or another status) with `Retry-After: after`.
pub fn retry_after(code: u16, after: &str) -> Value {
    serde_json::json!({ "status": code, "retry_after": after })
}

/// 200 with `partial_success.rejected_log_records = rejected`.
pub fn partial(rejected: u64, message: &str) -> Value {
    serde_json::json!({ "partial": rejected, "message": message })
}

/// gRPC `code` (its name, e.g. `"UNAVAILABLE"`) from the gRPC receiver.
pub fn grpc_status(code: &str) -> Value {
    serde_json::json!({ "code": code })
}

/// `RESOURCE_EXHAUSTED` carrying `google.rpc.RetryInfo` with `seconds`.
pub fn grpc_retry_info(seconds: u64) -> Value {
    serde_json::json!({ "code": "RESOURCE_EXHAUSTED", "retry_delay": seconds })
}

/// Which receiver runs.
#[derive(Clone, Copy)]
enum Kind {
    Http,
    Grpc,
}

/// A running receiver, killed on drop.
pub struct Receiver {
    child: Option<Child>,
    kind: Kind,
    /// Its loopback port.
    pub port: u16,
    out: PathBuf,
}

impl Receiver {
    /// A receiver on a free port answering 200 after `script`.
    pub fn start(script: &[Value]) -> Receiver {
        Receiver::start_kind(Kind::Http, script)
    }

    /// An OTLP/gRPC receiver on a free port answering OK after `script`
    /// ([`grpc_status`], [`grpc_retry_info`], [`partial`]); requests are
    /// recorded as the HTTP receiver's, `status` 200 for OK, else the code's name.
    pub fn start_grpc(script: &[Value]) -> Receiver {
        Receiver::start_kind(Kind::Grpc, script)
    }

    fn start_kind(kind: Kind, script: &[Value]) -> Receiver {
        let port = free_port();
        let out = out_file();
        let child = spawn(kind, port, &out, script);
        Receiver {
            child: Some(child),
            kind,
            port,
            out,
        }
    }

    /// A port for a receiver that is not running yet (a collector down at
    /// start); [`restart`](Receiver::restart) starts it there.
    pub fn reserve() -> Receiver {
        Receiver {
            child: None,
            kind: Kind::Http,
            port: free_port(),
            out: out_file(),
        }
    }

    /// [`reserve`](Receiver::reserve) for a gRPC receiver.
    pub fn reserve_grpc() -> Receiver {
        let mut r = Receiver::reserve();
        r.kind = Kind::Grpc;
        r
    }

    /// The base endpoint (`/v1/logs` is appended by the sink).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills it; the port refuses connections afterwards.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port, appending to the same record file.
    pub fn restart(&mut self, script: &[Value]) {
        self.stop();
        self.child = Some(spawn(self.kind, self.port, &self.out, script));
    }

    /// Every request received, in order (one JSON object each).
    pub fn requests(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.out).unwrap_or_default();
        // Only whole lines: the receiver may be writing the last one.
        let whole = match text.rfind('\n') {
            Some(i) => &text[..=i],
            None => "",
        };
        whole
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line from the receiver"))
            .collect()
    }

    /// The records of the requests answered 200, in order.
    pub fn records(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r["status"] == 200)
            .flat_map(|r| r["records"].as_array().cloned().unwrap_or_default())
            .collect()
    }

    /// Waits until `n` records were accepted (at most `within`).
    pub fn wait_records(&self, n: usize, within: Duration) -> bool {
        wait_until(within, || self.records().len() >= n)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_file(&self.out);
    }
}

/// A record file of its own for each receiver of the process.
fn out_file() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "fapilog-otlp-{}-{}.jsonl",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Starts the receiver on `port` and waits until it listens.
fn spawn(kind: Kind, port: u16, out: &std::path::Path, script: &[Value]) -> Child {
    let python = python();
    let (imports, receiver) = match kind {
        Kind::Http => (
            "import opentelemetry.proto.collector.logs.v1.logs_service_pb2",
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/otlp_receiver.py"),
        ),
        Kind::Grpc => (
            "import grpc, google.rpc.error_details_pb2, opentelemetry.proto.collector.logs.v1.logs_service_pb2_grpc",
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/otlp_grpc_receiver.py"),
        ),
    };
    let ok = Command::new(&python)
        .args(["-c", imports])
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
            ok,
            "the OTLP test receiver needs Python with opentelemetry-proto, protobuf, grpcio and googleapis-common-protos at {}: run ./scripts/test (it installs them)",
            python.display()
        );
    let script = serde_json::to_string(script).expect("a JSON script");
    let mut child = Command::new(&python)
        .arg(receiver)
        .arg(port.to_string())
        .arg(out)
        .arg(script)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the OTLP receiver: run ./scripts/test");
    let up = wait_until(START, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            || matches!(child.try_wait(), Ok(Some(_)))
    });
    if let Ok(Some(status)) = child.try_wait() {
        panic!("the OTLP receiver exited ({status}) on port {port}: run ./scripts/test");
    }
    assert!(
        up,
        "the OTLP receiver did not listen on {port} within {START:?}"
    );
    child
}

/// A record's attribute.
pub fn attr<'a>(record: &'a Value, key: &str) -> &'a Value {
    &record["attributes"][key]
}

/// How long the shared scenarios below wait for anything.
const WAIT: Duration = Duration::from_secs(60);

/// The sink `b` describes; a bad option fails the test, saying why.
pub fn build(b: fapilog_sinks::OtlpSinkBuilder) -> fapilog_sinks::Adapter<fapilog_sinks::OtlpSink> {
    b.build().unwrap_or_else(|e| panic!("{e}"))
}

/// The `seq` attribute of each record, in order.
pub fn seqs(records: &[Value]) -> Vec<i64> {
    records
        .iter()
        .filter_map(|r| attr(r, "seq").as_i64())
        .collect()
}

/// Logs one `event` per `seq` in `range`.
pub fn log_seq(p: &fapilog::Pipeline, range: std::ops::Range<i64>) {
    let log = p.logger("load");
    for i in range {
        log.info("event", &[("seq", fapilog::FieldValue::I64(i))]);
    }
}

/// `p`'s OTLP sink sends to `rx`, which is down: 2,000 events wait in
/// retries and arrive once, in order, when it starts.
pub fn down_at_start_loses_nothing(rx: &mut Receiver, p: &fapilog::Pipeline) {
    log_seq(p, 0..2000);
    assert!(
        wait_until(WAIT, || crate::common::sink_metrics(p, "otlp").retries >= 2),
        "the driver retries while the collector is down"
    );
    assert!(rx.records().is_empty());
    rx.restart(&[]);
    p.flush(WAIT).unwrap();
    assert_eq!(seqs(&rx.records()), (0..2000).collect::<Vec<_>>());
    let m = crate::common::sink_metrics(p, "otlp");
    assert!(m.errors >= 2 && m.retries >= 2, "{m:?}");
    assert_eq!(m.dropped_total(), 0);
    let report = p.shutdown(WAIT);
    assert!(report.is_complete(), "{report:?}");
}

/// `p`'s OTLP sink sends to `rx`, which stops after 1,000 records and
/// comes back: all 2,000 arrive once, in order, over a new connection.
pub fn down_mid_run_loses_nothing(rx: &mut Receiver, p: &fapilog::Pipeline) {
    log_seq(p, 0..1000);
    p.flush(WAIT).unwrap();
    assert!(rx.wait_records(1000, WAIT));
    rx.stop();
    let before = crate::common::sink_metrics(p, "otlp").retries;
    log_seq(p, 1000..2000);
    assert!(wait_until(WAIT, || {
        crate::common::sink_metrics(p, "otlp").retries >= before + 2
    }));
    rx.restart(&[]);
    p.flush(WAIT).unwrap();
    assert_eq!(seqs(&rx.records()), (0..2000).collect::<Vec<_>>());
    let report = p.shutdown(WAIT);
    assert!(report.is_complete(), "{report:?}");
}
