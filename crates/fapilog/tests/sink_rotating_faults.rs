//! A write the file system cuts short leaves no torn line: the rotating
//! file sink cuts the file back to the last whole batch and returns the
//! error, and the retry writes the batch once, whole.
//!
//! The fault is real: in a child process, `RLIMIT_FSIZE` makes the kernel
//! write part of a batch and then refuse the rest (`EFBIG`).
#![cfg(target_os = "linux")]

use std::path::Path;
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use fapilog::sinks::{FsyncPolicy, RotatingFileSink};
use fapilog::{Batch, Event, Format, Level, Sink};
use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

const CHILD: &str = "FAPILOG_TEST_FSIZE_CHILD";
const NAME: &str = "a_short_write_is_cut_back_to_the_last_whole_batch";

fn batch(range: std::ops::Range<u32>) -> Batch {
    let mut b = Batch::new(Format::Json);
    for i in range {
        b.push(&Event::new(Level::INFO, format!("line {i:06}")));
    }
    b
}

fn messages(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("read")
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("whole JSON line");
            v["log"]["message"].as_str().expect("message").to_owned()
        })
        .collect()
}

fn child(dir: &Path) {
    // Without a handler, SIGXFSZ would end the process instead of failing the write.
    signal_hook::flag::register(
        signal_hook::consts::SIGXFSZ,
        Arc::new(AtomicBool::new(false)),
    )
    .expect("SIGXFSZ handler");
    let mut sink = RotatingFileSink::builder(dir)
        .no_size_limit()
        .fsync(FsyncPolicy::Never)
        .build()
        .expect("build");
    let path = sink.current_path().to_path_buf();
    let line = batch(0..1).byte_len() as u64;
    let old = getrlimit(Resource::Fsize);
    let limit = Rlimit {
        current: Some(2 * line + line / 2),
        maximum: old.maximum,
    };
    setrlimit(Resource::Fsize, limit).expect("setrlimit");

    sink.write_batch(&batch(0..2)).expect("fits");
    let e = sink
        .write_batch(&batch(2..4))
        .expect_err("passes the limit");
    assert!(e.to_string().contains("I/O"), "{e}");
    assert_eq!(std::fs::metadata(&path).expect("meta").len(), 2 * line);
    assert_eq!(messages(&path), ["line 000000", "line 000001"]);

    setrlimit(Resource::Fsize, old).expect("restore");
    sink.write_batch(&batch(2..4)).expect("the retry");
}

#[test]
fn a_short_write_is_cut_back_to_the_last_whole_batch() {
    if let Some(dir) = std::env::var_os(CHILD) {
        child(Path::new(&dir));
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", NAME, "--nocapture", "--test-threads=1"])
        .env(CHILD, dir.path())
        .output()
        .expect("run child");
    assert!(
        out.status.success(),
        "child: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(
        messages(&files[0]),
        ["line 000000", "line 000001", "line 000002", "line 000003"]
    );
}
