//! `fapilog-bench`: runs the side-by-side comparison and prints the table.
//!
//! ```text
//! fapilog-bench [--quick] [--fapilog-only] [--contenders k1,k2] [--threads 1,2]
//!               [--events N] [--rate N] [--secs S] [--in-process] [--dir PATH] [--quiet]
//! ```
#![forbid(unsafe_code)]

use std::process::ExitCode;

use fapilog_bench::{Contender, Isolation, Options};

const USAGE: &str = "usage: fapilog-bench [--quick] [--fapilog-only] [--contenders k1,k2] \
[--threads 1,2] [--events N] [--rate N] [--secs S] [--in-process] [--dir PATH] [--quiet]
  --quick          20 k events burst, 20 k/s for 0.5 s (seconds in all)
  --fapilog-only   fapilog's rows only
  --contenders     keys: fapilog-wait, fapilog-drop, fapilog-slow-sink, fapilog-three-sinks,
                   tracing-fapilog, tracing-lossy, tracing-lossless, slog-async, slog-async-block;
                   redaction rows: fapilog-credentials, fapilog-production, fapilog-hardened
  --threads        producer thread counts (default 1,2)
  --events         burst size, all producers together (default 1000000; 0 skips)
  --rate, --secs   sustained rate in events/s (default 100000; 0 skips) and length (default 3)
  --in-process     run the cases in this process (no per-case peak RSS)
  --dir            where the log files go (default: a temp dir, removed after)
  --quiet          no progress lines on stderr";

fn main() -> ExitCode {
    if let Some(code) = fapilog_bench::child_main() {
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    let opts = match parse(std::env::args().skip(1).collect()) {
        Ok(Some(o)) => o,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("fapilog-bench: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let report = fapilog_bench::run(&opts);
    print!("{report}");
    if report.error.is_some() || report.rows.iter().any(|r| r.error.is_some()) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn parse(args: Vec<String>) -> Result<Option<Options>, String> {
    let quick = args.iter().any(|a| a == "--quick");
    let mut opts = if quick {
        Options::quick()
    } else {
        Options::default()
    };
    opts.progress = true;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--quick" => {}
            "-h" | "--help" => return Ok(None),
            "--fapilog-only" => opts = opts.fapilog_only(),
            "--in-process" => opts.isolation = Isolation::InProcess,
            "--quiet" => opts.progress = false,
            "--dir" => opts.dir = Some(value("--dir")?.into()),
            "--contenders" => {
                opts.contenders = value("--contenders")?
                    .split(',')
                    .map(|k| Contender::from_key(k).ok_or(format!("unknown contender {k}")))
                    .collect::<Result<_, _>>()?;
            }
            "--threads" => {
                opts.threads = value("--threads")?
                    .split(',')
                    .map(|t| match t.parse::<usize>() {
                        Ok(n) if n > 0 => Ok(n),
                        _ => Err(format!("bad thread count {t}")),
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--events" => opts.burst_events = number(&value("--events")?)?,
            "--rate" => opts.sustained_rate = number(&value("--rate")?)?,
            "--secs" => {
                let v = value("--secs")?;
                opts.sustained_secs = v.parse().map_err(|_| format!("bad seconds {v}"))?;
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if let Some(c) = opts.contenders.iter().find(|c| !c.available()) {
        return Err(format!(
            "{} needs the `peers` feature in this build",
            c.key()
        ));
    }
    Ok(Some(opts))
}

fn number(s: &str) -> Result<u64, String> {
    s.replace('_', "")
        .parse()
        .map_err(|_| format!("bad number {s}"))
}
