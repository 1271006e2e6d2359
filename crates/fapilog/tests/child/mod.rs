//! Child processes for the exit-path tests: the test binary runs itself
//! again with `FAPILOG_TEST_CHILD` naming the role to play.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output, Stdio};

pub const ROLE: &str = "FAPILOG_TEST_CHILD";
pub const OUT: &str = "FAPILOG_TEST_OUT";

/// The role this process plays, when it is a child.
pub fn role() -> Option<String> {
    std::env::var(ROLE).ok()
}

/// A command that runs `entry` (a test of this binary) as role `role`,
/// writing its log file to `out`.
pub fn command(entry: &str, role: &str, out: &Path) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args([entry, "--exact", "--nocapture", "--test-threads=1"])
        .env(ROLE, role)
        .env(OUT, out)
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Runs the child to its end.
pub fn run(entry: &str, role: &str, out: &Path) -> Output {
    command(entry, role, out).output().unwrap()
}

/// The envelopes in the log file, each line checked to be whole JSON.
pub fn envelopes(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    assert!(text.is_empty() || text.ends_with('\n'), "torn last line");
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect()
}

/// The `seq` fields of the user events named `message`.
pub fn seqs(envelopes: &[serde_json::Value], message: &str) -> Vec<u64> {
    envelopes
        .iter()
        .filter(|e| e["log"]["message"] == message)
        .map(|e| e["log"]["data"]["seq"].as_u64().unwrap())
        .collect()
}

/// Asserts `seqs` is exactly `0..n`, each once (in any order).
pub fn assert_all(seqs: &[u64], n: u64) {
    let set: BTreeSet<u64> = seqs.iter().copied().collect();
    assert_eq!(set.len(), seqs.len(), "duplicated events");
    let missing: Vec<u64> = (0..n).filter(|i| !set.contains(i)).take(10).collect();
    assert!(
        missing.is_empty() && seqs.len() as u64 == n,
        "{} of {n} events written; first missing: {missing:?}",
        seqs.len()
    );
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
