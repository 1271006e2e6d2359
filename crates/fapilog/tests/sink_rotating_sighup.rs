//! SIGHUP reopens the rotating file sink's file, for `create`-style
//! logrotate. Needs the `sighup` feature:
//! `cargo test -p fapilog --features sighup --test sink_rotating_sighup`.
#![cfg(all(unix, feature = "sighup"))]

use std::time::Duration;

use fapilog::sinks::RotatingFileSink;
use fapilog::{Batch, Event, Format, Level, Sink};

fn batch(range: std::ops::Range<u32>) -> Batch {
    let mut b = Batch::new(Format::Json);
    for i in range {
        b.push(&Event::new(Level::INFO, format!("line {i}")));
    }
    b
}

fn count(path: &std::path::Path) -> usize {
    std::fs::read_to_string(path).expect("read").lines().count()
}

#[test]
fn sighup_reopens_the_file_at_its_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut sink = RotatingFileSink::builder(dir.path())
        // Only the signal may reopen: the path is not compared on its own.
        .check_path_every(Duration::from_secs(1 << 30))
        .build()
        .expect("build");
    sink.reopen_handle().reopen_on_sighup().expect("register");
    let path = sink.current_path().to_path_buf();
    sink.write_batch(&batch(0..2)).expect("write");

    let rotated = dir.path().join("app.1");
    std::fs::rename(&path, &rotated).expect("mv");
    std::fs::write(&path, b"").expect("create");
    signal_hook::low_level::raise(signal_hook::consts::SIGHUP).expect("raise");
    // `raise` returns after the handler has run on this thread.
    sink.write_batch(&batch(2..5)).expect("write");
    assert_eq!(count(&rotated), 2);
    assert_eq!(count(&path), 3);
}
