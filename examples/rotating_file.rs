//! Logs to a rotating JSON file and to the pretty console at once, and
//! routes ERROR and above to a second rotating file as well.
//!
//! ```text
//! cargo run --example rotating_file            # files under ./logs
//! cargo run --example rotating_file -- /tmp/x  # files under /tmp/x
//! ls logs/    # app-20261128-101500.jsonl, app-20261128-101500-1.jsonl.gz, ...
//! ```
//!
//! The same files come from settings alone, as in fapilog:
//! `FAPILOG_FILE__DIRECTORY=logs FAPILOG_FILE__MAX_BYTES="64 KB" FAPILOG_FILE__MAX_FILES=5`
//! (or the long form `FAPILOG_SINK_CONFIG__ROTATING_FILE__*` with
//! `FAPILOG_CORE__SINKS='["rotating_file","stdout_pretty"]'`).

use std::time::Duration;

use fapilog::sinks::{FsyncPolicy, RotatingFileSink, Route};
use fapilog::{Level, Pipeline, StdoutSink};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "logs".to_owned());

    // Small files so that a short run shows rotation, compression and
    // retention; a service would keep fapilog's 10 MiB default.
    let file = RotatingFileSink::builder(&dir)
        .filename_prefix("app")
        .max_bytes(64 << 10)
        .interval(Duration::from_secs(3600))
        .max_files(5)
        .compress(true)
        .fsync(FsyncPolicy::OnRotate)
        .build()?;
    let housekeeping = file.housekeeping();
    let errors = RotatingFileSink::builder(&dir)
        .filename_prefix("errors")
        .name("errors")
        .build()?;
    // For `create`-style logrotate: `file.reopen_handle().reopen_on_sighup()`
    // (cargo feature `sighup`), or call `reopen()` from your own handler.

    let pipeline = Pipeline::builder()
        .service("rotating-example")
        .level(Level::DEBUG)
        .sink(file)
        .sink(StdoutSink::pretty())
        .sink(errors)
        // Only ERROR and above reach the errors file; the sinks that no
        // route names (the main file, the console) take every line.
        .route(Route::to(&["errors"]).min_level(Level::ERROR))
        .build()?;

    let log = pipeline.logger("example");
    for i in 0..2_000u32 {
        if i % 500 == 0 {
            fapilog::info!(log, "progress", done = i);
        }
        fapilog::debug!(log, "work item", item = i, detail = "x".repeat(32).as_str());
        if i % 700 == 699 {
            fapilog::error!(log, "item failed", item = i);
        }
    }
    let report = pipeline.shutdown(Duration::from_secs(5));
    // Wait for the last rotated file's compression before listing.
    housekeeping.wait_idle(Duration::from_secs(10));
    eprintln!("drain: {report:?}");
    let mut names: Vec<_> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    eprintln!("files in {dir}: {names:#?}");
    Ok(())
}
