//! The library behind the `fapilog` command: the line filter and renderer
//! of `fapilog pretty` (shared with the fuzz targets), and the commands.
//!
//! ```
//! use fapilog_cli::pretty::{Filter, Renderer};
//!
//! let mut r = Renderer::new(Filter::default(), false);
//! let mut out = Vec::new();
//! r.line(br#"{"log":{"context":{},"data":{"n":1},"diagnostics":{},"level":"INFO","logger":"app","message":"hi","timestamp":"2026-11-25T10:30:00.123Z"},"schema_version":"1.1"}"#, &mut out);
//! r.line(b"not json", &mut out);
//! assert_eq!(out, b"2026-11-25T10:30:00.123Z | INFO     | app | hi | n=1\nnot json\n");
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod commands;
pub mod effect;
pub mod pretty;
pub mod time;

/// Exit codes of the `fapilog` command.
pub mod exit {
    /// Success.
    pub const OK: i32 = 0;
    /// The command ran and failed: an input could not be read, a sink did
    /// not take the test event, the benchmark could not run.
    pub const FAILED: i32 = 1;
    /// Bad command-line usage (unknown option, missing value).
    pub const USAGE: i32 = 2;
    /// The configuration (file or `FAPILOG_*` variables) is invalid.
    pub const CONFIG: i32 = 3;
}
