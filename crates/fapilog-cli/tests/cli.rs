//! The `fapilog` binary on real files (plain and gzip), stdin, and
//! configurations, through `std::process::Command`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use fapilog::testing::CaptureSink;
use fapilog::{FileSink, Format, Pipeline};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fapilog"));
    c.env_clear();
    c
}

fn run(mut c: Command) -> Output {
    c.output().expect("run fapilog")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Writes envelopes through a real pipeline into `dir/app.jsonl`, with a
/// pretty capture of the same events, and adds a non-envelope line.
fn fixture(dir: &Path) -> (PathBuf, Vec<String>) {
    let path = dir.join("app.jsonl");
    let (pretty_sink, pretty) = CaptureSink::named("pretty", Format::Pretty { color: false });
    let p = Pipeline::builder()
        .level(fapilog::Level::DEBUG)
        .sink(FileSink::create(&path).expect("file sink"))
        .sink(pretty_sink)
        .build()
        .expect("pipeline");
    let _ctx = fapilog::context::bind(&[("request_id", fapilog::FieldValue::Str("req-1"))]);
    fapilog::debug!(p.logger("app.db"), "query", rows = 3);
    fapilog::info!(p.logger("app"), "user login", user_id = "u-7", ok = true);
    fapilog::warning!(
        p.logger("app.http"),
        "slow request",
        path = "/a b",
        ms = 1200
    );
    fapilog::error!(p.logger("other"), "failed", code = 500);
    p.shutdown(Duration::from_secs(10));
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .expect("append");
    writeln!(f, "plain text from another program").expect("write");
    (path, pretty.lines())
}

fn gzip(src: &Path, dst: &Path) {
    let data = std::fs::read(src).expect("read");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(dst).expect("create"),
        flate2::Compression::fast(),
    );
    enc.write_all(&data).expect("gzip");
    enc.finish().expect("finish");
}

#[test]
fn pretty_renders_files_like_the_console_sink() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, pretty) = fixture(dir.path());
    let mut c = bin();
    c.args(["pretty", "--color", "never"]).arg(&path);
    let o = run(c);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    // The same bytes as the pipeline's own pretty sink.
    for (got, want) in lines.iter().zip(&pretty) {
        assert_eq!(*got, want.trim_end_matches('\n'));
    }
    assert!(
        lines[1].contains("| INFO     | app | user login | request_id=req-1 user_id=u-7 ok=true"),
        "{}",
        lines[1]
    );
    assert!(lines[2].contains("path=\"/a b\""), "{}", lines[2]);
    assert_eq!(lines[4], "plain text from another program");
}

#[test]
fn pretty_reads_gzip_and_stdin_the_same() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, _) = fixture(dir.path());
    let gz = dir.path().join("app.jsonl.1.gz");
    gzip(&path, &gz);
    let mut c = bin();
    c.args(["pretty", "--color", "never"]).arg(&path);
    let plain = stdout(&run(c));
    let mut c = bin();
    c.args(["pretty", "--color", "never"]).arg(&gz);
    let o = run(c);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), plain);

    // stdin, plain and gzip.
    for input in [&path, &gz] {
        let mut child = bin()
            .args(["pretty", "--color", "never"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn");
        let data = std::fs::read(input).expect("read");
        let mut stdin = child.stdin.take().expect("stdin");
        let writer = std::thread::spawn(move || stdin.write_all(&data));
        let o = child.wait_with_output().expect("wait");
        writer.join().expect("join").expect("write stdin");
        assert!(o.status.success());
        assert_eq!(stdout(&o), plain);
    }

    // Several files in order, rotated gzip first.
    let mut c = bin();
    c.args(["pretty", "--color", "never"]).arg(&gz).arg(&path);
    assert_eq!(stdout(&run(c)), format!("{plain}{plain}"));
}

#[test]
fn pretty_filters() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, _) = fixture(dir.path());
    let messages = |args: &[&str]| -> Vec<String> {
        let mut c = bin();
        c.args(["pretty", "--color", "never"]).args(args).arg(&path);
        let o = run(c);
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o).lines().map(str::to_owned).collect()
    };
    let has = |lines: &[String], m: &str| lines.iter().any(|l| l.contains(m));
    let l = messages(&["--level", "WARNING"]);
    assert_eq!(l.len(), 3, "{l:?}"); // WARNING, ERROR and the plain line
    assert!(has(&l, "slow request") && has(&l, "failed") && has(&l, "plain text"));
    let l = messages(&["--logger", "app"]);
    assert!(has(&l, "query") && has(&l, "user login") && has(&l, "slow request"));
    assert!(!has(&l, "| failed"));
    let l = messages(&["--where", "user_id=u-7"]);
    assert!(has(&l, "user login") && !has(&l, "query"));
    let l = messages(&["--where", "data.ms=1200", "--where", "request_id=req-1"]);
    assert!(has(&l, "slow request") && !has(&l, "user login"));
    let l = messages(&["--grep", "login"]);
    assert_eq!(l.len(), 1, "{l:?}");
    let l = messages(&["--since", "2000-01-01", "--until", "2000-01-02"]);
    assert_eq!(l, vec!["plain text from another program"]);
    let l = messages(&["--since", "1h"]);
    assert_eq!(l.len(), 5);
}

#[test]
fn pretty_reports_missing_files_and_bad_usage() {
    let mut c = bin();
    c.args(["pretty", "/nonexistent/x.log"]);
    let o = run(c);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("cannot open /nonexistent/x.log"),
        "{}",
        stderr(&o)
    );
    let mut c = bin();
    c.args(["pretty", "--level", "LOUD"]);
    assert_eq!(run(c).status.code(), Some(2));
    let mut c = bin();
    c.args(["pretty", "--since", "yesterday"]);
    assert_eq!(run(c).status.code(), Some(2));
    let mut c = bin();
    c.args(["frobnicate"]);
    assert_eq!(run(c).status.code(), Some(2));
    let mut c = bin();
    c.arg("--help");
    let o = run(c);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("Exit codes:"));
    for sub in ["pretty", "check", "emit", "bench"] {
        let mut c = bin();
        c.args([sub, "--help"]);
        let o = run(c);
        assert_eq!(o.status.code(), Some(0), "{sub}");
        assert!(stdout(&o).contains("Exit codes:"), "{sub}");
    }
}

#[test]
fn pretty_follows_a_growing_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (path, _) = fixture(dir.path());
    let mut child = bin()
        .args(["pretty", "--color", "never", "--follow"])
        .arg(&path)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let out = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(out).lines() {
            match line {
                Ok(l) => {
                    if tx.send(l).is_err() {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
    });
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .expect("append");
    writeln!(f, "appended later").expect("write");
    drop(f);
    let mut seen = false;
    while let Ok(l) = rx.recv_timeout(Duration::from_secs(30)) {
        if l == "appended later" {
            seen = true;
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(seen, "the appended line was not printed");
}

#[test]
fn check_prints_the_effective_configuration_or_the_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "preset = \"production\"\n[core]\nmax_queue_size = 500\n",
    )
    .expect("write");
    let mut c = bin();
    c.args(["check"])
        .arg(&good)
        .env("FAPILOG_CORE__WORKER_COUNT", "3");
    let o = run(c);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("FAPILOG_PRESET=production"), "{out}");
    assert!(out.contains("FAPILOG_CORE__MAX_QUEUE_SIZE=500"), "{out}");
    assert!(out.contains(&format!("# {}:3", good.display())), "{out}");
    assert!(out.contains("FAPILOG_CORE__WORKER_COUNT=3"), "{out}");
    assert!(out.contains("# env FAPILOG_CORE__WORKER_COUNT"), "{out}");
    assert!(out.contains("# preset production"), "{out}");

    // FAPILOG_CONFIG names the file when none is given.
    let mut c = bin();
    c.arg("check").env("FAPILOG_CONFIG", &good);
    assert!(stdout(&run(c)).contains("FAPILOG_CORE__MAX_QUEUE_SIZE=500"));

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[core]\nmax_queue_size = 500\nworker_count = 0\n").expect("write");
    let mut c = bin();
    c.args(["check"]).arg(&bad);
    let o = run(c);
    assert_eq!(o.status.code(), Some(3));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "{}:3: invalid setting core.worker_count",
            bad.display()
        )),
        "{err}"
    );

    let mut c = bin();
    c.arg("check")
        .env("FAPILOG_POSTGRES__PORT", "hunter2")
        .env("FAPILOG_CORE__MAX_QUEUE_SIZE", "9");
    let o = run(c);
    assert_eq!(o.status.code(), Some(3));
    let err = stderr(&o);
    assert!(err.contains("FAPILOG_POSTGRES__PORT"), "{err}");

    let mut c = bin();
    c.arg("check")
        .env("FAPILOG_CORE__NOPE", "1")
        .env("FAPILOG_STRICT", "true");
    let o = run(c);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("unknown setting FAPILOG_CORE__NOPE"));
}

#[test]
fn check_reports_fapilog_settings_that_do_not_apply_once_each() {
    let mut c = bin();
    c.arg("check")
        .env("FAPILOG_FASTAPI__ENABLED", "true")
        .env("FAPILOG_CORE__LOG_LEVL", "DEBUG")
        .env("FAPILOG_CORE__SIGNAL_HANDLER_ENABLED", "true")
        .env("FAPILOG_FASTAPI__SKIP_PATHS", "/health")
        .env("FAPILOG_POSTGRES__DSN", "postgres://app:hunter2@db/logs")
        .env("FAPILOG_CORE__ENABLE_METRICS", "false");
    let o = run(c);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let notes: Vec<&str> = out
        .lines()
        .filter(|l| {
            l.starts_with("# warning:")
                || l.starts_with("# not ")
                || l.starts_with("# network sink:")
        })
        .collect();
    assert_eq!(notes.len(), 6, "{out}");
    assert!(out.contains("# warning: unknown variable FAPILOG_CORE__LOG_LEVL, ignored: did you mean FAPILOG_CORE__LOG_LEVEL?"), "{out}");
    assert!(
        out.contains("# warning: unknown variable FAPILOG_FASTAPI__ENABLED"),
        "{out}"
    );
    assert!(
        out.contains(
            "# not applicable: FAPILOG_CORE__SIGNAL_HANDLER_ENABLED: accepted, not applicable here"
        ),
        "{out}"
    );
    assert!(
        out.contains("# not applicable: FAPILOG_FASTAPI__SKIP_PATHS"),
        "{out}"
    );
    assert!(
        out.contains("# not applicable: FAPILOG_CORE__ENABLE_METRICS"),
        "{out}"
    );
    assert!(out.contains("# network sink: FAPILOG_POSTGRES__DSN: kept for the postgres sink, which the fapilog-sinks crate opens"), "{out}");
    // Set, so listed, and masked.
    assert!(
        out.contains("FAPILOG_SINK_CONFIG__POSTGRES__DSN=***")
            || out.contains("FAPILOG_POSTGRES__DSN=***"),
        "{out}"
    );
    assert!(!out.contains("hunter2") && !stderr(&o).contains("hunter2"));
    // check prints the notes itself: nothing more on stderr.
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
    // Unset fapilog-only settings are not listed.
    assert!(!out.contains("FAPILOG_ADAPTIVE__ENABLED="), "{out}");
}

#[test]
fn emit_reports_per_sink() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    let mut c = bin();
    c.args(["emit", "--message", "hello from the test"])
        .env("FAPILOG_CORE__SINKS", "file")
        .env("FAPILOG_FILE__DIRECTORY", &logs);
    let o = run(c);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("rotating_file"), "{err}");
    assert!(err.contains("ok: written"), "{err}");
    // fapilog's name: fapilog-<UTC time>.jsonl, the only file there.
    let file = std::fs::read_dir(&logs)
        .expect("log directory")
        .next()
        .expect("one log file")
        .expect("entry")
        .path();
    let written = std::fs::read_to_string(file).expect("log file");
    assert!(written.contains("hello from the test"), "{written}");

    // A sink that cannot start: the directory is a file.
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, "x").expect("write");
    let mut c = bin();
    c.arg("emit").env("FAPILOG_FILE__DIRECTORY", &blocker);
    let o = run(c);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot start the pipeline"),
        "{}",
        stderr(&o)
    );

    // A filter that removes the event is reported.
    let mut c = bin();
    c.arg("emit")
        .env("FAPILOG_CORE__FILTERS", "sampling")
        .env("FAPILOG_FILTER_CONFIG__SAMPLING__SAMPLE_RATE", "0")
        .env("FAPILOG_FILTER_CONFIG__SAMPLING__ALWAYS_PASS_LEVELS", "[]")
        .env("FAPILOG_CORE__SINKS", "file")
        .env("FAPILOG_FILE__DIRECTORY", &logs);
    let o = run(c);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("removed by a filter"), "{}", stderr(&o));
}
