//! `fapilog check`, `fapilog emit` and `fapilog bench`. Each returns the
//! process exit code ([`crate::exit`]); what it prints goes to the writers
//! it is given.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fapilog::settings::{keys, LoadReport, Loader, Note, Origin, Origins};
use fapilog::{Level, Pipeline, Settings};

use crate::exit;

fn loader(config: Option<&Path>) -> Loader {
    let l = Loader::new().process_env();
    match config {
        Some(p) => l.file(p),
        None => l,
    }
}

/// Loads the settings as a service would (the file, else `FAPILOG_CONFIG`;
/// the preset; the `FAPILOG_*` variables), printing the error on `err`.
fn load(config: Option<&Path>, err: &mut dyn Write) -> Result<(Settings, Origins), i32> {
    loader(config).load_explained().map_err(|e| {
        let _ = writeln!(err, "fapilog: invalid configuration: {e}");
        exit::CONFIG
    })
}

/// `fapilog check [CONFIG]`: validates and prints the effective settings,
/// one `VARIABLE=value` per line with where the value came from (fapilog's
/// other settings only when set); secrets are masked. Then the notes, each
/// once: unknown `FAPILOG_*` variables with a "did you mean", settings that
/// are accepted and not applicable here, settings of network sinks (opened by fapilog-sinks).
pub fn check(config: Option<&Path>, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let LoadReport {
        settings,
        origins,
        notes,
        ..
    } = match loader(config).load_report() {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(err, "fapilog: invalid configuration: {e}");
            return exit::CONFIG;
        }
    };
    let mut text = String::new();
    text.push_str("# fapilog check: the configuration is valid\n");
    text.push_str(&format!(
        "# file: {}\n",
        config
            .map(|p| p.display().to_string())
            .or_else(|| std::env::var("FAPILOG_CONFIG").ok())
            .unwrap_or_else(|| "(none)".to_owned())
    ));
    text.push_str("# effective settings (secrets masked), with where each value came from:\n");
    let width = keys::all()
        .iter()
        .map(|k| k.env_name().len())
        .max()
        .unwrap_or(0)
        + 1;
    for (path, origin) in &origins {
        let Some(k) = keys::lookup(path) else {
            continue;
        };
        // fapilog's other names (hundreds) only when something set them.
        if k.kept_as_text() && *origin == Origin::Default {
            continue;
        }
        let var = k.env_name();
        let value = k.display(&settings);
        let lhs = format!("{var}={value}");
        text.push_str(&format!("{lhs:<w$}  # {origin}\n", w = width + 24));
    }
    if !notes.is_empty() {
        text.push_str("# notes:\n");
    }
    for n in &notes {
        let tag = match n {
            Note::Unknown { .. } => "warning",
            Note::SinkNotBuilt { .. } => "network sink",
            _ => "not applicable",
        };
        text.push_str(&format!("# {tag}: {n}\n"));
    }
    let rust_log = std::env::var("RUST_LOG").ok();
    for note in crate::effect::no_effect(&settings, &origins, rust_log.as_deref()) {
        text.push_str(&format!("# no effect: {note}\n"));
    }
    if out.write_all(text.as_bytes()).is_err() {
        return exit::FAILED;
    }
    exit::OK
}

/// `fapilog emit [CONFIG]`: sends one test event through the configured
/// sinks and reports, per sink, whether it was written (on `report`,
/// since a stdout sink writes the event itself to stdout).
pub fn emit(
    config: Option<&Path>,
    message: &str,
    timeout: Duration,
    report: &mut dyn Write,
) -> i32 {
    let (settings, _) = match load(config, report) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let level = settings.core.log_level.max(Level::INFO);
    let pipeline = match Pipeline::builder().settings(settings).build() {
        Ok(p) => p,
        Err(e) => {
            let _ = writeln!(report, "fapilog: cannot start the pipeline: {e}");
            return exit::FAILED;
        }
    };
    let id = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let emit_id = format!("{:x}-{id:x}", std::process::id());
    let log = pipeline.logger("fapilog.emit");
    fapilog::log!(
        log,
        level,
        "fapilog emit test event",
        emit_id = emit_id.as_str(),
        note = message
    );
    let flushed = pipeline.flush(timeout);
    let report_drain = pipeline.shutdown(timeout);
    let m = pipeline.metrics();
    let mut ok = flushed.is_ok() && !report_drain.timed_out;
    let _ = writeln!(
        report,
        "fapilog emit: test event {emit_id} at {}",
        level.name()
    );
    if m.filtered > 0 {
        ok = false;
        let _ = writeln!(
            report,
            "  the event was removed by a filter (core.filters / filter_config)"
        );
    }
    if m.dropped_total > 0 {
        ok = false;
        let _ = writeln!(
            report,
            "  the event was dropped ({} drops)",
            m.dropped_total
        );
    }
    for s in &m.sinks {
        let arrived = s.written >= 1 && s.errors == 0;
        ok &= arrived;
        let _ = writeln!(
            report,
            "  {:<16} {}",
            s.name,
            if arrived {
                "ok: written".to_owned()
            } else if s.errors > 0 {
                format!(
                    "FAILED: {} write error(s), see the diagnostics above",
                    s.errors
                )
            } else {
                "FAILED: nothing written".to_owned()
            }
        );
    }
    if let Err(e) = flushed {
        let _ = writeln!(report, "  {e}");
    }
    if ok {
        exit::OK
    } else {
        exit::FAILED
    }
}

/// `fapilog bench`: runs fapilog's rows of the built-in benchmark
/// (`fapilog-bench` without its peers) and prints the table.
pub fn bench(quick: bool, threads: Vec<usize>, out: &mut dyn Write) -> i32 {
    let mut opts = if quick {
        fapilog_bench::Options::quick()
    } else {
        fapilog_bench::Options::default()
    }
    .fapilog_only();
    if !threads.is_empty() {
        opts.threads = threads;
    }
    opts.progress = true;
    let report = fapilog_bench::run(&opts);
    match writeln!(out, "{}", report.to_table()) {
        Ok(()) => exit::OK,
        Err(_) => exit::FAILED,
    }
}
