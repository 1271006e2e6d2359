//! # fapilog-bench
//!
//! The side-by-side comparison of fapilog against the peers a Rust service
//! would otherwise use, on one workload and in one run:
//!
//! - **workload**: the message `request handled` plus five fields
//!   (`request_id` string, `user_id` integer, `path` string, `status`
//!   integer, `latency_ms` float), JSON lines to a file in a temporary
//!   directory, from 1 and 2 producer threads, as a **burst** (1 M events as
//!   fast as the producers can) and **sustained** (100 k events/s in total,
//!   released in 1 ms ticks, for a few seconds);
//! - **contenders**: fapilog with `Backpressure::Wait` (the default, 50 ms)
//!   and with `Drop`; and with the `peers` feature (on by default)
//!   `tracing-subscriber`'s JSON formatter through `tracing-appender`'s
//!   non-blocking writer (lossy default and lossless), and `slog-json`
//!   behind `slog-async` (default drop-and-report, and block); and
//!   `tracing::info!` through `fapilog-tracing`'s layer into fapilog;
//! - **figures**: caller latency p50/p99/p99.9 above the timer's own floor
//!   (per-call samples of `quanta`'s raw counter in preallocated buffers;
//!   the median of back-to-back reads is subtracted), end-to-end events/s
//!   (from the release of the producers to the last line synced to the file
//!   after the logger's shutdown), events lost (the file's lines carrying
//!   the workload message, counted without parsing, against the events
//!   sent), and peak RSS (`VmHWM`) of the process that ran the case.
//!
//! Each case runs in a fresh child process (the same executable, re-run
//! with arguments), so peak RSS is the case's own and no logger's global
//! state leaks into the next. A binary that calls [`run`] with
//! [`Isolation::ChildProcess`] must therefore call [`child_main`] first
//! thing in `main`:
//!
//! ```no_run
//! // First thing in `main`:
//! if let Some(code) = fapilog_bench::child_main() {
//!     std::process::exit(code);
//! }
//! let report = fapilog_bench::run(&fapilog_bench::Options::quick());
//! println!("{report}");
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod contenders;
mod measure;
mod report;
mod workload;

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

pub use measure::Latency;
pub use report::{FieldCheck, Machine, Report, Row};
pub use workload::{Event, FIELDS, MESSAGE};

/// A logger set-up under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum Contender {
    /// fapilog, `Backpressure::Wait` (default 50 ms timeout), default queue.
    FapilogWait,
    /// fapilog, `Backpressure::Drop`, default queue.
    FapilogDrop,
    /// `tracing-subscriber` JSON + `tracing-appender` non-blocking, lossy (its default).
    TracingLossy,
    /// `tracing-subscriber` JSON + `tracing-appender` non-blocking, `lossy(false)`.
    TracingLossless,
    /// `slog-json` behind `slog-async` with its defaults (drop and report).
    SlogAsync,
    /// `slog-json` behind `slog-async` with `OverflowStrategy::Block`.
    SlogAsyncBlock,
    /// `tracing::info!` through `fapilog_tracing::FapilogLayer` (on a
    /// `tracing-subscriber` registry) into fapilog with `Wait`.
    TracingFapilog,
    /// fapilog with `Wait`, the file sink beside a sink that takes 1 s per
    /// batch (its default `DropNewest` driver): the file's throughput and
    /// the callers' latency must not notice it.
    FapilogSlowSink,
    /// fapilog with `Wait`, the file sink and two more JSON sinks (each
    /// copies every batch into memory): the cost of fan-out.
    FapilogThreeSinks,
    /// [`Contender::FapilogWait`] plus the `CREDENTIALS` redaction preset.
    FapilogCredentials,
    /// [`Contender::FapilogWait`] with the `production` preset's stages
    /// (`CREDENTIALS`, card numbers, URL credentials).
    FapilogProduction,
    /// [`Contender::FapilogWait`] with the `hardened` preset's stages
    /// (`CREDENTIALS`, `HIPAA_PHI`, `PCI_DSS`, IBANs, the field blocker).
    FapilogHardened,
}

impl Contender {
    /// Every contender, fapilog first.
    pub const ALL: [Contender; 9] = [
        Contender::FapilogWait,
        Contender::FapilogDrop,
        Contender::FapilogSlowSink,
        Contender::FapilogThreeSinks,
        Contender::TracingFapilog,
        Contender::TracingLossy,
        Contender::TracingLossless,
        Contender::SlogAsync,
        Contender::SlogAsyncBlock,
    ];

    /// The redaction rows, side by side with the default pipeline (run them
    /// with `--contenders fapilog-wait,fapilog-credentials,fapilog-production,fapilog-hardened`).
    pub const REDACTION: [Contender; 4] = [
        Contender::FapilogWait,
        Contender::FapilogCredentials,
        Contender::FapilogProduction,
        Contender::FapilogHardened,
    ];

    /// The row label.
    pub fn name(self) -> &'static str {
        match self {
            Contender::FapilogWait => "fapilog (Wait)",
            Contender::FapilogDrop => "fapilog (Drop)",
            Contender::TracingLossy => "tracing-appender (lossy)",
            Contender::TracingLossless => "tracing-appender (lossless)",
            Contender::SlogAsync => "slog-async (drop)",
            Contender::SlogAsyncBlock => "slog-async (block)",
            Contender::TracingFapilog => "tracing → fapilog layer (Wait)",
            Contender::FapilogSlowSink => "fapilog + 1 s/batch sink (Wait)",
            Contender::FapilogThreeSinks => "fapilog, 3 JSON sinks (Wait)",
            Contender::FapilogCredentials => "fapilog (Wait) + CREDENTIALS",
            Contender::FapilogProduction => "fapilog (Wait) + production redaction",
            Contender::FapilogHardened => "fapilog (Wait) + hardened redaction",
        }
    }

    /// A short name for files and the command line.
    pub fn key(self) -> &'static str {
        match self {
            Contender::FapilogWait => "fapilog-wait",
            Contender::FapilogDrop => "fapilog-drop",
            Contender::TracingLossy => "tracing-lossy",
            Contender::TracingLossless => "tracing-lossless",
            Contender::SlogAsync => "slog-async",
            Contender::SlogAsyncBlock => "slog-async-block",
            Contender::TracingFapilog => "tracing-fapilog",
            Contender::FapilogSlowSink => "fapilog-slow-sink",
            Contender::FapilogThreeSinks => "fapilog-three-sinks",
            Contender::FapilogCredentials => "fapilog-credentials",
            Contender::FapilogProduction => "fapilog-production",
            Contender::FapilogHardened => "fapilog-hardened",
        }
    }

    /// Parses [`Contender::key`].
    pub fn from_key(key: &str) -> Option<Contender> {
        Contender::ALL
            .into_iter()
            .chain(Contender::REDACTION)
            .find(|c| c.key() == key)
    }

    /// `true` for fapilog's own rows (the redaction rows included).
    pub fn is_fapilog(self) -> bool {
        matches!(
            self,
            Contender::FapilogWait
                | Contender::FapilogDrop
                | Contender::FapilogSlowSink
                | Contender::FapilogThreeSinks
                | Contender::FapilogCredentials
                | Contender::FapilogProduction
                | Contender::FapilogHardened
        )
    }

    /// `true` when this build can run it (peers need the `peers` feature).
    pub fn available(self) -> bool {
        self.is_fapilog() || cfg!(feature = "peers")
    }

    /// `true` when the set-up promises not to lose events.
    pub fn lossless(self) -> bool {
        matches!(
            self,
            Contender::FapilogWait
                | Contender::FapilogSlowSink
                | Contender::FapilogThreeSinks
                | Contender::FapilogCredentials
                | Contender::FapilogProduction
                | Contender::FapilogHardened
                | Contender::TracingFapilog
                | Contender::TracingLossless
                | Contender::SlogAsyncBlock
        )
    }
}

/// How the producers send.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum Pace {
    /// As fast as they can.
    Burst,
    /// `rate` events per second in total across the producers, released in
    /// 1 ms ticks (a late tick sends its backlog at once).
    Sustained {
        /// Events per second, all producers together.
        rate: u64,
    },
}

impl From<Pace> for workload::Pace {
    fn from(p: Pace) -> Self {
        match p {
            Pace::Burst => workload::Pace::Burst,
            Pace::Sustained { rate } => workload::Pace::Sustained { rate },
        }
    }
}

/// Where each case runs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Isolation {
    /// A fresh child process per case: this executable re-run with
    /// arguments that [`child_main`] recognises. Peak RSS is per case.
    ChildProcess,
    /// In this process, one case after another (peak RSS is then the
    /// process's, cumulative; `tracing` uses scoped dispatchers).
    InProcess,
}

/// What to run. Start from [`Options::default`] (the full run) or
/// [`Options::quick`] and change fields.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Options {
    /// The contenders, in row order.
    pub contenders: Vec<Contender>,
    /// Producer thread counts.
    pub threads: Vec<usize>,
    /// Events of the burst scenario, all producers together (0 skips it).
    pub burst_events: u64,
    /// Rate of the sustained scenario, events/s, all producers together (0 skips it).
    pub sustained_rate: u64,
    /// Length of the sustained scenario, seconds.
    pub sustained_secs: f64,
    /// Child processes (default) or in-process.
    pub isolation: Isolation,
    /// Where the log files go (default: a new directory under the system's temp dir).
    pub dir: Option<PathBuf>,
    /// Print a line per case to stderr as it finishes.
    pub progress: bool,
}

impl Default for Options {
    /// The full run: every contender this build has, 1 and 2 threads, a
    /// burst of 1 M events and 100 k events/s for 3 s.
    fn default() -> Self {
        Options {
            contenders: Contender::ALL
                .into_iter()
                .filter(|c| c.available())
                .collect(),
            threads: vec![1, 2],
            burst_events: 1_000_000,
            sustained_rate: 100_000,
            sustained_secs: 3.0,
            isolation: Isolation::ChildProcess,
            dir: None,
            progress: false,
        }
    }
}

impl Options {
    /// A run of seconds (for tests and smoke checks): 20 k events burst,
    /// 20 k events/s for half a second.
    pub fn quick() -> Options {
        Options {
            burst_events: 20_000,
            sustained_rate: 20_000,
            sustained_secs: 0.5,
            ..Options::default()
        }
    }

    /// Keeps fapilog's own rows only.
    #[must_use]
    pub fn fapilog_only(mut self) -> Options {
        self.contenders.retain(|c| c.is_fapilog());
        self
    }

    /// The cases, in run order: burst, then sustained; by threads; by contender.
    pub fn cases(&self) -> Vec<(Pace, usize, u64)> {
        let mut out = Vec::new();
        if self.burst_events > 0 {
            for &t in &self.threads {
                out.push((Pace::Burst, t, self.burst_events));
            }
        }
        if self.sustained_rate > 0 && self.sustained_secs > 0.0 {
            let events = (self.sustained_rate as f64 * self.sustained_secs).round() as u64;
            for &t in &self.threads {
                out.push((
                    Pace::Sustained {
                        rate: self.sustained_rate,
                    },
                    t,
                    events,
                ));
            }
        }
        out
    }
}

/// One case, as handed to a child process.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct CaseSpec {
    pub(crate) contender: Contender,
    pub(crate) pace: Pace,
    pub(crate) threads: usize,
    pub(crate) events: u64,
    pub(crate) dir: PathBuf,
    pub(crate) file: String,
}

/// What a case measured inside its process.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct CaseResult {
    pub(crate) sent: u64,
    pub(crate) elapsed_secs: f64,
    pub(crate) latency: Latency,
    pub(crate) floor_p99_ns: f64,
    pub(crate) self_dropped: Option<u64>,
    pub(crate) rss_before: Option<u64>,
    pub(crate) rss_peak: Option<u64>,
    pub(crate) note: Option<String>,
}

/// The first argument that marks a child process.
const CHILD_ARG: &str = "__fapilog-bench-case";
/// The prefix of the child's result line on stdout.
const RESULT_PREFIX: &str = "FAPILOG_BENCH_RESULT ";

/// Runs a case when this process was started as one by [`run`], and
/// returns the exit code; `None` otherwise. Call it first thing in `main`.
pub fn child_main() -> Option<i32> {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() != Some(CHILD_ARG) {
        return None;
    }
    let Some(spec) = args.next() else {
        eprintln!("fapilog-bench: child started without a case");
        return Some(2);
    };
    let spec: CaseSpec = match serde_json::from_str(&spec) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("fapilog-bench: bad case: {e}");
            return Some(2);
        }
    };
    match contenders::run_case(&spec) {
        Ok(r) => match serde_json::to_string(&r) {
            Ok(line) => {
                println!("{RESULT_PREFIX}{line}");
                Some(0)
            }
            Err(e) => {
                eprintln!("fapilog-bench: {e}");
                Some(1)
            }
        },
        Err(e) => {
            eprintln!("fapilog-bench: case failed: {e}");
            Some(1)
        }
    }
}

/// Runs every case of `opts` and returns the report. Failures of single
/// cases become rows with an error, so one broken contender does not hide
/// the others.
pub fn run(opts: &Options) -> Report {
    let started = Instant::now();
    let (dir, made_dir) = match &opts.dir {
        Some(d) => (d.clone(), false),
        None => (
            std::env::temp_dir().join(format!("fapilog-bench-{}", std::process::id())),
            true,
        ),
    };
    let mut report = Report::new(opts, &dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        report.error = Some(format!("cannot create {}: {e}", dir.display()));
        return report;
    }
    let floor = measure::Timer::new().floor(200_000);
    report.machine.timer_floor_ns = floor.0;
    for (pace, threads, events) in opts.cases() {
        for &contender in &opts.contenders {
            let file = format!(
                "{}-{}-{}t.jsonl",
                contender.key(),
                report::pace_key(pace),
                threads
            );
            let spec = CaseSpec {
                contender,
                pace,
                threads,
                events,
                dir: dir.clone(),
                file,
            };
            let path = dir.join(&spec.file);
            let _ = std::fs::remove_file(&path);
            let result = match opts.isolation {
                Isolation::ChildProcess => run_child(&spec),
                Isolation::InProcess => contenders::run_case(&spec),
            };
            let row = Row::from_case(&spec, result, &path);
            if !report.checks.iter().any(|c| c.contender == contender) {
                if let Some(check) = report::check_fields(contender, &path) {
                    report.checks.push(check);
                }
            }
            let _ = std::fs::remove_file(&path);
            if opts.progress {
                eprintln!("{}", row.summary());
            }
            report.rows.push(row);
        }
    }
    if made_dir {
        let _ = std::fs::remove_dir_all(&dir);
    }
    report.wall_secs = started.elapsed().as_secs_f64();
    report.machine.load_after = report::loadavg();
    report
}

fn run_child(spec: &CaseSpec) -> Result<CaseResult, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let arg = serde_json::to_string(spec).map_err(|e| e.to_string())?;
    let out = Command::new(exe)
        .arg(CHILD_ARG)
        .arg(arg)
        .output()
        .map_err(|e| format!("spawn: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().find_map(|l| l.strip_prefix(RESULT_PREFIX));
    match line {
        Some(l) => serde_json::from_str(l).map_err(|e| format!("bad result: {e}")),
        None => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let why = stderr.lines().last().unwrap_or("no output");
            Err(format!("child exited with {}: {why}", out.status))
        }
    }
}
