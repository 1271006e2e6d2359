//! `WriterSink` over any `io::Write`, and `StderrSink` (checked in a child
//! process whose stderr the test reads).

use std::io::Write;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fapilog::{Batch, Event, Format, Level, Pipeline, Sink, StderrSink, WriterSink};

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Shared {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).expect("utf-8")
    }
}

#[test]
fn a_writer_sink_gets_every_line_in_its_format() {
    let json = Shared::default();
    let pretty = Shared::default();
    let p = Pipeline::builder()
        .sink(WriterSink::new(json.clone()).named("json"))
        .sink(
            WriterSink::with_format(pretty.clone(), Format::Pretty { color: false })
                .named("pretty"),
        )
        .build()
        .expect("build");
    let log = p.logger("app");
    for i in 0..100 {
        fapilog::info!(log, "event", i = i);
    }
    p.shutdown(Duration::from_secs(5));
    let lines: Vec<serde_json::Value> = json
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 100);
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["log"]["data"]["i"], i as u64);
    }
    let text = pretty.text();
    assert_eq!(text.lines().count(), 100);
    assert!(
        text.lines()
            .all(|l| l.contains("INFO") && l.contains("event")),
        "{text}"
    );
    assert!(!text.contains('{'), "human lines, not JSON: {text}");
}

#[test]
fn a_failing_writer_returns_the_error_and_into_inner_gives_the_writer_back() {
    struct Broken;
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("pipe closed"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut b = Batch::new(Format::Json);
    b.push(&Event::new(Level::INFO, "x"));
    let mut sink = WriterSink::new(Broken);
    let e = sink.write_batch(&b).expect_err("broken writer");
    assert!(e.to_string().contains("pipe closed"), "{e}");

    let mut sink = WriterSink::new(Vec::new());
    sink.write_batch(&b).expect("write");
    let out = sink.into_inner();
    assert!(String::from_utf8_lossy(&out).contains("\"message\":\"x\""));
}

const CHILD: &str = "FAPILOG_TEST_STDERR_CHILD";

/// In the child: log through `StderrSink` with the format the parent names.
fn child(format: &str) {
    let sink = match format {
        "json" => StderrSink::json(),
        "flat" => StderrSink::flat(),
        _ => StderrSink::pretty(),
    };
    let p = Pipeline::builder().sink(sink).build().expect("build");
    fapilog::warning!(p.logger("child"), "to stderr", n = 7);
    p.shutdown(Duration::from_secs(5));
}

#[test]
fn the_stderr_sink_writes_to_stderr_and_nothing_to_stdout() {
    if let Ok(format) = std::env::var(CHILD) {
        child(&format);
        return;
    }
    for format in ["json", "flat", "pretty"] {
        let out = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "the_stderr_sink_writes_to_stderr_and_nothing_to_stdout",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, format)
            .output()
            .expect("run child");
        assert!(out.status.success(), "{out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        let line = err
            .lines()
            .find(|l| l.contains("to stderr"))
            .unwrap_or_else(|| panic!("{format}: {err}"));
        match format {
            "json" => {
                let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
                assert_eq!(v["log"]["level"], "WARNING");
                assert_eq!(v["log"]["data"]["n"], 7);
            }
            "flat" => {
                let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
                assert_eq!(v["level"], "WARNING");
                assert!(v.get("schema_version").is_none());
            }
            _ => assert!(line.contains("WARNING") && !line.starts_with('{'), "{line}"),
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!stdout.contains("to stderr"), "{stdout}");
    }
}
