//! Every normal way out of a process drains the global pipeline: returning
//! from `main`, `std::process::exit`, `fapilog::exit`, with the guard kept
//! or dropped at once (`let _ = fapilog::init()`); a panic logged by the
//! panic hook is written before the process dies, even by an abort. Each
//! scenario runs in a child process (this test binary, run again).

mod child;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use fapilog::{Backpressure, FileSink, Guard, Pipeline, PipelineBuilder};

/// Events per burst: several times the queue, so a tail is always queued.
const BURST: u64 = 50_000;

fn builder(out: &Path) -> PipelineBuilder {
    Pipeline::builder()
        .queue_capacity(8192)
        .backpressure(Backpressure::Block)
        .batch_max_age(Duration::from_secs(60))
        .shutdown_timeout(Duration::from_secs(60))
        .sink(FileSink::create(out).unwrap())
}

fn burst() {
    for seq in 0..BURST {
        fapilog::info!("event", seq = seq);
    }
}

static KEPT: OnceLock<Guard> = OnceLock::new();

/// The child's side: does nothing unless this process is a child.
#[test]
fn child_entry() {
    let Some(role) = child::role() else { return };
    let out = std::path::PathBuf::from(std::env::var(child::OUT).unwrap());
    match role.as_str() {
        // The guard lives in a static, never dropped: the pipeline is alive
        // when `main` returns.
        "return_from_main" => {
            let _ = KEPT.set(fapilog::init_with(builder(&out)).unwrap());
            burst();
        }
        "process_exit" => {
            let _guard = fapilog::init_with(builder(&out)).unwrap();
            burst();
            std::process::exit(3);
        }
        "fapilog_exit" => {
            let _guard = fapilog::init_with(builder(&out)).unwrap();
            burst();
            fapilog::exit(4);
        }
        "guard_discarded" => {
            let _ = fapilog::init_with(builder(&out));
            burst();
        }
        "late_calls" => {
            let guard = fapilog::init_with(builder(&out)).unwrap();
            burst();
            let report = guard.pipeline().shutdown(Duration::from_secs(60));
            assert!(report.is_complete(), "{report:?}");
            for seq in 0..10u64 {
                fapilog::info!("late", seq = seq);
            }
        }
        "panic_then_abort" => {
            let _guard = fapilog::init_with(builder(&out)).unwrap();
            // What `panic = "abort"` does once the hooks have run.
            std::panic::set_hook(Box::new(|_| std::process::abort()));
            fapilog::install_panic_hook();
            burst();
            let v: Vec<u64> = Vec::new();
            let _ = v[BURST as usize];
        }
        "panic_on_another_thread" => {
            let _guard = fapilog::init_with(builder(&out)).unwrap();
            fapilog::install_panic_hook();
            burst();
            let t = std::thread::Builder::new()
                .name("doomed".into())
                .spawn(|| panic!("the other thread gives up"))
                .unwrap();
            assert!(t.join().is_err());
            // The process dies before anything else can drain.
            std::process::abort();
        }
        other => panic!("unknown role {other}"),
    }
}

fn scenario(role: &str) -> (std::process::Output, Vec<serde_json::Value>) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("log.jsonl");
    let output = child::run("child_entry", role, &out);
    let envelopes = child::envelopes(&out);
    (output, envelopes)
}

#[test]
fn returning_from_main_with_the_pipeline_alive_loses_nothing() {
    let (output, envelopes) = scenario("return_from_main");
    assert!(output.status.success(), "{}", child::text(&output.stderr));
    child::assert_all(&child::seqs(&envelopes, "event"), BURST);
    assert!(!child::text(&output.stderr).contains("fapilog:"));
}

#[test]
fn process_exit_loses_nothing() {
    exits_with_every_event("process_exit", 3);
}

#[test]
fn fapilog_exit_drains_then_exits_with_the_code() {
    exits_with_every_event("fapilog_exit", 4);
}

/// Runs `name`, which exits with `code`: every event of the burst is in its output.
fn exits_with_every_event(name: &str, code: i32) {
    let (output, envelopes) = scenario(name);
    assert_eq!(
        output.status.code(),
        Some(code),
        "{}",
        child::text(&output.stderr)
    );
    child::assert_all(&child::seqs(&envelopes, "event"), BURST);
}

#[test]
fn logging_goes_on_after_the_guard_is_discarded_and_the_exit_drains() {
    let (output, envelopes) = scenario("guard_discarded");
    assert!(output.status.success(), "{}", child::text(&output.stderr));
    child::assert_all(&child::seqs(&envelopes, "event"), BURST);
}

#[test]
fn calls_after_a_real_shutdown_are_counted_and_reported_once() {
    let (output, envelopes) = scenario("late_calls");
    assert!(output.status.success(), "{}", child::text(&output.stderr));
    child::assert_all(&child::seqs(&envelopes, "event"), BURST);
    assert!(child::seqs(&envelopes, "late").is_empty());
    let stderr = child::text(&output.stderr);
    assert_eq!(
        stderr
            .matches("logged after the pipeline shut down")
            .count(),
        1,
        "{stderr}"
    );
}

#[test]
fn a_panic_that_aborts_is_logged_as_critical_and_flushed_first() {
    let (output, envelopes) = scenario("panic_then_abort");
    assert_eq!(output.status.signal(), Some(6), "{:?}", output.status);
    child::assert_all(&child::seqs(&envelopes, "event"), BURST);
    let panic = envelopes
        .iter()
        .find(|e| e["log"]["message"] == "panic")
        .expect("the panic event");
    assert_eq!(panic["log"]["level"], "CRITICAL");
    let data = &panic["log"]["data"];
    assert!(data["panic"]
        .as_str()
        .unwrap()
        .contains("index out of bounds"));
    assert!(data["location"].as_str().unwrap().contains("exit_paths.rs"));
}

#[test]
fn a_panic_on_another_thread_is_logged_before_the_process_dies() {
    let (output, envelopes) = scenario("panic_on_another_thread");
    assert_eq!(output.status.signal(), Some(6), "{:?}", output.status);
    child::assert_all(&child::seqs(&envelopes, "event"), BURST);
    let panic = envelopes
        .iter()
        .find(|e| e["log"]["message"] == "panic")
        .expect("the panic event");
    assert_eq!(panic["log"]["level"], "CRITICAL");
    assert_eq!(panic["log"]["data"]["panic"], "the other thread gives up");
    assert_eq!(panic["log"]["data"]["thread"], "doomed");
    // The standard report still follows.
    assert!(child::text(&output.stderr).contains("the other thread gives up"));
}
