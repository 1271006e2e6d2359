//! Throughput of the CloudWatch Logs sink: a pipeline with the sink, N
//! events logged from one thread, and the wall time until every one is
//! delivered (`shutdown` returns once the sink's driver has drained).
//!
//! Two targets, one run each:
//! - a minimal loopback PutLogEvents endpoint in this process (answers
//!   `200 {}` at once), so the number is the sink's own cost: encoding,
//!   SigV4 signing and HTTP on loopback;
//! - moto in server mode (when `FAPILOG_TEST_PYTHON` names a Python with
//!   moto, as `./scripts/test` sets it), the stand-in the tests use, whose
//!   Python request handling is the bottleneck there.
//!
//! `cargo bench -p fapilog-sinks --features cloudwatch --bench throughput_cloudwatch`
//! (`CW_BENCH_EVENTS`, `CW_BENCH_MOTO_EVENTS` change N.)

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fapilog::sinks::{SinkOptions, WhenFull};
use fapilog::{Backpressure, Pipeline};
use fapilog_sinks::{AwsCredentials, CloudWatchSink};

fn main() {
    let n = env_usize("CW_BENCH_EVENTS", 200_000);
    let fake = FakeCloudWatch::start();
    run(
        "loopback PutLogEvents endpoint",
        &fake.url,
        n,
        Some(&fake.body_bytes),
    );

    let m = env_usize("CW_BENCH_MOTO_EVENTS", 20_000);
    match std::env::var("FAPILOG_TEST_PYTHON") {
        Ok(py) => {
            let moto = Moto::start(&py);
            run("moto server", &moto.url, m, None);
        }
        Err(_) => println!("moto: skipped (FAPILOG_TEST_PYTHON unset: run ./scripts/test first)"),
    }
}

fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn run(target: &str, url: &str, n: usize, body_bytes: Option<&AtomicU64>) {
    let sink = CloudWatchSink::builder("/bench/throughput")
        .log_stream("bench")
        .region("us-east-1")
        .endpoint_url(url)
        .credentials(AwsCredentials::new("AKIDBENCH", "bench-secret"))
        .build()
        .expect("build the sink");
    let pipeline = Pipeline::builder()
        .backpressure(Backpressure::Block)
        .batch_max_events(4_096)
        .batch_max_bytes(1 << 20)
        .sink_with(sink, SinkOptions::new().when_full(WhenFull::Block))
        .build()
        .expect("build the pipeline");
    let log = pipeline.logger("bench");
    let start = Instant::now();
    for i in 0..n as u64 {
        fapilog::info!(
            log,
            "request handled",
            seq = i,
            path = "/api/orders",
            status = 200u16
        );
    }
    let report = pipeline.shutdown(Duration::from_secs(600));
    let secs = start.elapsed().as_secs_f64();
    let sink = pipeline
        .metrics()
        .sinks
        .into_iter()
        .find(|s| s.name == "cloudwatch")
        .expect("the sink's metrics");
    assert_eq!(sink.written, n as u64, "every event delivered: {report:?}");
    println!(
        "cloudwatch → {target}: {n} events in {secs:.3} s = {:.0} events/s, {:.1} MB/s of envelope lines{}",
        n as f64 / secs,
        sink.bytes as f64 / secs / 1e6,
        body_bytes
            .map(|b| format!(
                ", {:.1} MB/s of request bodies",
                b.load(Ordering::Relaxed) as f64 / secs / 1e6
            ))
            .unwrap_or_default()
    );
}

/// A loopback endpoint that reads each request and answers `200 {}`.
struct FakeCloudWatch {
    url: String,
    body_bytes: Arc<AtomicU64>,
}

impl FakeCloudWatch {
    fn start() -> FakeCloudWatch {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let body_bytes = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&body_bytes);
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let counted = Arc::clone(&counted);
                std::thread::spawn(move || serve(conn, &counted));
            }
        });
        FakeCloudWatch { url, body_bytes }
    }
}

fn serve(conn: TcpStream, counted: &AtomicU64) {
    let mut writer = match conn.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(conn);
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        counted.fetch_add(length as u64, Ordering::Relaxed);
        let reply = b"HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: 2\r\n\r\n{}";
        if writer.write_all(reply).is_err() {
            return;
        }
    }
}

/// moto on a free loopback port, killed on drop.
struct Moto {
    url: String,
    child: Child,
}

impl Moto {
    fn start(python: &str) -> Moto {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(python)
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto");
        let end = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < end, "moto did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Moto {
            url: format!("http://127.0.0.1:{port}"),
            child,
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
