//! Runs the comparison binary's `--quick` mode for fapilog's rows and checks
//! what it reports (rows, no lost events under `Wait`), never its timings.

use std::process::Command;
use std::sync::Mutex;

/// One benchmark at a time: two running side by side on a 2-core machine
/// would starve each other's workers and turn `Wait` into timeouts.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

#[test]
fn quick_run_reports_rows_and_loses_nothing_under_wait() {
    let _one_at_a_time = serial();
    let out = Command::new(env!("CARGO_BIN_EXE_fapilog-bench"))
        .args(["--quick", "--fapilog-only", "--quiet"])
        .output()
        .expect("the bench binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {}\n{stdout}\n{stderr}",
        out.status
    );

    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .filter(|l| l.starts_with("| fapilog ("))
        .filter(|l| l.contains(" burst ") || l.contains("/s |"))
        .map(|l| l.split('|').map(str::trim).collect())
        .collect();
    // 2 contenders × (burst, sustained) × (1, 2 threads).
    assert_eq!(rows.len(), 8, "{stdout}");
    for r in &rows {
        // | contender | scenario | thr | events | p50 | p99 | p99.9 | max | e2e | MB/s | lost | rss |
        assert!(!r[5].starts_with("failed"), "{stdout}");
        let events: u64 = r[4].parse().expect("events column");
        assert!(events > 0);
        if r[1] == "fapilog (Wait)" {
            assert_eq!(r[11], "0", "events lost under Wait: {}", r.join(" | "));
        }
    }
    assert!(
        stdout.contains("all (message, level, timestamp, 5 fields)"),
        "{stdout}"
    );
}

#[test]
fn the_library_runs_in_process_too() {
    let _one_at_a_time = serial();
    let mut opts = fapilog_bench::Options::quick().fapilog_only();
    opts.isolation = fapilog_bench::Isolation::InProcess;
    opts.threads = vec![2];
    opts.sustained_rate = 0;
    opts.burst_events = 5_000;
    let report = fapilog_bench::run(&opts);
    // fapilog (Wait), (Drop), beside a slow sink, with three sinks.
    assert_eq!(report.rows.len(), 4, "{report}");
    for row in &report.rows {
        assert!(row.error.is_none(), "{report}");
        assert_eq!(row.sent, 5_000);
        assert_eq!(row.lines + row.lost(), row.sent);
        if row.contender == fapilog_bench::Contender::FapilogWait {
            assert_eq!(row.lost(), 0, "{report}");
        }
    }
    assert!(report
        .to_table()
        .contains("| fapilog (Wait) | burst | 2 | 5000 |"));
}
