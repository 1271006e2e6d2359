//! The `fapilog` command. See `fapilog --help`.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};

use fapilog_cli::pretty::{self, Filter, Renderer};
use fapilog_cli::{commands, exit, time};

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the command failed (an input could not be read, a sink did not take the test event)
  2  bad usage (unknown option, missing or malformed value)
  3  invalid configuration (the file or the FAPILOG_* variables; the error names the file, line and key)";

/// Pretty-print and filter fapilog's JSON log lines, check a configuration,
/// send a test event, run the benchmark.
#[derive(Parser, Debug)]
#[command(name = "fapilog", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print JSON envelope lines for humans (the console sink's format).
    ///
    /// Reads the files in order (stdin when none, or `-`); gzip files
    /// (rotated logs) are recognised by their content. Lines that are not
    /// envelopes pass through unchanged. --level, --logger, --since,
    /// --until and --where apply to envelopes; --grep to every line.
    #[command(after_help = EXIT_CODES)]
    Pretty {
        /// Files to read (`-` for stdin; default stdin).
        files: Vec<String>,
        /// Keep reading the last file as it grows (reopens it when rotated).
        #[arg(short, long)]
        follow: bool,
        /// Lowest level shown (TRACE, DEBUG, INFO, WARNING, ERROR, CRITICAL).
        #[arg(short, long, value_parser = parse_level)]
        level: Option<fapilog::Level>,
        /// Only these loggers and their dotted children (repeatable).
        #[arg(long)]
        logger: Vec<String>,
        /// Only events at or after this time: 2026-11-25T10:30:00Z, 2026-11-25, or 15m / 2h / 1d ago (UTC).
        #[arg(long)]
        since: Option<String>,
        /// Only events before this time (same forms as --since).
        #[arg(long)]
        until: Option<String>,
        /// Only events whose field equals the value: data.user_id=7, request_id=r1 (repeatable, all must hold).
        #[arg(short, long = "where", value_name = "FIELD=VALUE", value_parser = parse_where)]
        wheres: Vec<(String, String)>,
        /// Only lines containing this text (fixed string, on the raw line).
        #[arg(short, long)]
        grep: Option<String>,
        /// Colours: auto (when stdout is a terminal), always, never.
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
    },
    /// Validate the configuration (file + FAPILOG_* variables) and print
    /// the effective settings, secrets masked.
    ///
    /// CONFIG is a TOML file; without it, the file FAPILOG_CONFIG names (if any).
    #[command(after_help = EXIT_CODES)]
    Check {
        /// The TOML file.
        config: Option<PathBuf>,
    },
    /// Send one test event through the configured sinks and report, per
    /// sink, whether it was written (the report goes to stderr).
    #[command(after_help = EXIT_CODES)]
    Emit {
        /// The TOML file (default: FAPILOG_CONFIG, if set).
        config: Option<PathBuf>,
        /// Text added to the event as `data.note`.
        #[arg(short, long, default_value = "deployment check")]
        message: String,
        /// Longest wait for the sinks, seconds.
        #[arg(long, default_value_t = 10.0)]
        timeout: f64,
    },
    /// Run fapilog's rows of the built-in benchmark on this machine and print the table.
    #[command(after_help = EXIT_CODES)]
    Bench {
        /// A run of seconds (20 k events) instead of the full one (1 M events, 3 s sustained).
        #[arg(long)]
        quick: bool,
        /// Producer thread counts (default 1 and 2).
        #[arg(long, value_delimiter = ',')]
        threads: Vec<usize>,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

fn parse_level(s: &str) -> Result<fapilog::Level, String> {
    s.parse().map_err(|_| {
        format!("unknown level {s:?}: expected TRACE, DEBUG, INFO, WARNING, ERROR or CRITICAL")
    })
}

fn parse_where(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!("expected FIELD=VALUE, got {s:?}")),
    }
}

fn main() -> ExitCode {
    // `fapilog bench` runs each case in a child process: this executable,
    // re-run with the case as its arguments.
    if let Some(code) = fapilog_bench::child_main() {
        return code_of(code);
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return code_of(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    let code = match cli.command {
        Command::Check { config } => commands::check(
            config.as_deref(),
            &mut io::stdout().lock(),
            &mut io::stderr().lock(),
        ),
        Command::Emit {
            config,
            message,
            timeout,
        } => commands::emit(
            config.as_deref(),
            &message,
            Duration::from_secs_f64(timeout.clamp(0.001, 3600.0)),
            &mut io::stderr().lock(),
        ),
        Command::Bench { quick, threads } => {
            commands::bench(quick, threads, &mut io::stdout().lock())
        }
        Command::Pretty {
            files,
            follow,
            level,
            logger,
            since,
            until,
            wheres,
            grep,
            color,
        } => {
            let now = SystemTime::now();
            let bound = |s: Option<String>| s.map(|t| time::parse_bound(&t, now)).transpose();
            let (since, until) = match (bound(since), bound(until)) {
                (Ok(s), Ok(u)) => (s, u),
                (Err(e), _) | (_, Err(e)) => {
                    eprintln!("fapilog: {e}");
                    return code_of(exit::USAGE);
                }
            };
            let mut filter = Filter::default();
            filter.min_level = level;
            filter.loggers = logger;
            filter.since = since;
            filter.until = until;
            filter.wheres = wheres;
            filter.grep = grep;
            let color = match color {
                Color::Always => true,
                Color::Never => false,
                // NO_COLOR, CLICOLOR(_FORCE), TERM=dumb and the terminal check, as anstream decides.
                Color::Auto => {
                    anstream::AutoStream::choice(&io::stdout()) != anstream::ColorChoice::Never
                }
            };
            run_pretty(files, follow, Renderer::new(filter, color))
        }
    };
    code_of(code)
}

fn run_pretty(mut files: Vec<String>, follow: bool, mut r: Renderer) -> i32 {
    if files.is_empty() {
        files.push("-".to_owned());
    }
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut code = exit::OK;
    let last = files.len() - 1;
    for (i, f) in files.iter().enumerate() {
        let result = if follow && i == last && f != "-" {
            pretty::follow(f.as_ref(), &mut r, &mut out, Duration::from_millis(250))
                .with_context(|| format!("cannot follow {f}"))
        } else {
            pretty::open(f)
                .with_context(|| format!("cannot open {f}"))
                .and_then(|mut input| {
                    pretty::copy(&mut input, &mut r, &mut out)
                        .with_context(|| format!("cannot read {f}"))
                })
        };
        if let Err(e) = result {
            if is_broken_pipe(&e) {
                return exit::OK;
            }
            let _ = out.flush();
            eprintln!("fapilog: {e:#}");
            code = exit::FAILED;
        }
    }
    code
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn code_of(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
