//! The report: one row per contender and case, the machine it ran on, the
//! check that every contender wrote the same fields, and the markdown table.

use std::fmt::{self, Write as _};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::workload::{FIELDS, MESSAGE};
use crate::{CaseResult, CaseSpec, Contender, Latency, Options, Pace};

/// One contender in one case.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Row {
    /// Who ran.
    pub contender: Contender,
    /// Burst or sustained.
    pub pace: Pace,
    /// Producer threads.
    pub threads: usize,
    /// Events sent.
    pub sent: u64,
    /// Caller latency above the timer floor, ns.
    pub latency: Latency,
    /// From the producers' release to the last line synced after shutdown, s.
    pub elapsed_secs: f64,
    /// Lines in the file that carry the workload message.
    pub lines: u64,
    /// Other lines (a logger's own notices, such as fapilog's `logs dropped`).
    pub other_lines: u64,
    /// Bytes in the file.
    pub file_bytes: u64,
    /// Drops the logger counted itself, where it counts them.
    pub self_dropped: Option<u64>,
    /// Peak RSS before the logger was built (the harness: samples, values), bytes.
    pub rss_before: Option<u64>,
    /// Peak RSS at the end of the case, bytes.
    pub rss_peak: Option<u64>,
    /// What the logger reported, if anything.
    pub note: Option<String>,
    /// Why the case failed, if it did.
    pub error: Option<String>,
}

impl Row {
    pub(crate) fn from_case(
        spec: &CaseSpec,
        result: Result<CaseResult, String>,
        path: &Path,
    ) -> Row {
        let mut row = Row {
            contender: spec.contender,
            pace: spec.pace,
            threads: spec.threads,
            sent: spec.events,
            latency: Latency::default(),
            elapsed_secs: 0.0,
            lines: 0,
            other_lines: 0,
            file_bytes: 0,
            self_dropped: None,
            rss_before: None,
            rss_peak: None,
            note: None,
            error: None,
        };
        match result {
            Ok(r) => {
                row.sent = r.sent;
                row.latency = r.latency;
                row.elapsed_secs = r.elapsed_secs;
                row.self_dropped = r.self_dropped;
                row.rss_before = r.rss_before;
                row.rss_peak = r.rss_peak;
                row.note = r.note;
                match count_lines(path) {
                    Ok((lines, other, bytes)) => {
                        row.lines = lines;
                        row.other_lines = other;
                        row.file_bytes = bytes;
                    }
                    Err(e) => row.error = Some(format!("count {}: {e}", path.display())),
                }
            }
            Err(e) => row.error = Some(e),
        }
        row
    }

    /// Events sent that are not in the file.
    pub fn lost(&self) -> u64 {
        self.sent.saturating_sub(self.lines)
    }

    /// End-to-end events per second (lines written / elapsed).
    pub fn events_per_sec(&self) -> f64 {
        if self.elapsed_secs > 0.0 {
            self.lines as f64 / self.elapsed_secs
        } else {
            0.0
        }
    }

    /// Bytes written to the file per second (lines differ in size between loggers).
    pub fn bytes_per_sec(&self) -> f64 {
        if self.elapsed_secs > 0.0 {
            self.file_bytes as f64 / self.elapsed_secs
        } else {
            0.0
        }
    }

    /// One line for progress output.
    pub fn summary(&self) -> String {
        match &self.error {
            Some(e) => format!(
                "{} {} {}t: FAILED {e}",
                self.contender.name(),
                pace_label(self.pace),
                self.threads
            ),
            None => format!(
                "{} {} {}t: p50 {:.0} ns p99 {:.0} ns p99.9 {:.0} ns, {:.0} ev/s, lost {}, peak {}",
                self.contender.name(),
                pace_label(self.pace),
                self.threads,
                self.latency.p50,
                self.latency.p99,
                self.latency.p999,
                self.events_per_sec(),
                self.lost(),
                mib(self.rss_peak)
            ),
        }
    }
}

/// Counts lines without parsing: those that carry the workload message
/// (a substring search per line), the others, and the bytes.
fn count_lines(path: &Path) -> std::io::Result<(u64, u64, u64)> {
    let mut r = BufReader::with_capacity(1 << 20, File::open(path)?);
    let finder = memchr::memmem::Finder::new(MESSAGE.as_bytes());
    let mut line = Vec::with_capacity(1024);
    let (mut hits, mut other, mut bytes) = (0u64, 0u64, 0u64);
    loop {
        line.clear();
        let n = r.read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        if finder.find(&line).is_some() {
            hits += 1;
        } else {
            other += 1;
        }
    }
    Ok((hits, other, bytes))
}

/// Which of the workload's fields one contender's first line carries.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct FieldCheck {
    /// Whose line.
    pub contender: Contender,
    /// Keys looked for and not found anywhere in the line.
    pub missing: Vec<&'static str>,
    /// JSON type of `user_id` as written (`number` or `string`).
    pub user_id_type: &'static str,
    /// The first workload line, verbatim.
    pub sample: String,
}

/// Reads the first workload line of `path` and checks it for the message,
/// a level, a timestamp and the five fields (at any depth).
pub(crate) fn check_fields(contender: Contender, path: &Path) -> Option<FieldCheck> {
    let r = BufReader::new(File::open(path).ok()?);
    let line = r
        .lines()
        .map_while(Result::ok)
        .find(|l| l.contains(MESSAGE))?;
    let value: serde_json::Value = serde_json::from_str(&line).ok()?;
    let mut missing = Vec::new();
    let groups: [(&'static str, &[&str]); 3] = [
        ("message", &["message", "msg"]),
        ("level", &["level"]),
        ("timestamp", &["timestamp", "ts"]),
    ];
    for (name, keys) in groups {
        if !keys.iter().any(|k| find_key(&value, k).is_some()) {
            missing.push(name);
        }
    }
    for f in FIELDS {
        if find_key(&value, f).is_none() {
            missing.push(f);
        }
    }
    let user_id_type = match find_key(&value, "user_id") {
        Some(serde_json::Value::Number(_)) => "number",
        Some(serde_json::Value::String(_)) => "string",
        Some(_) => "other",
        None => "absent",
    };
    Some(FieldCheck {
        contender,
        missing,
        user_id_type,
        sample: line,
    })
}

fn find_key<'a>(v: &'a serde_json::Value, key: &str) -> Option<&'a serde_json::Value> {
    match v {
        serde_json::Value::Object(m) => m
            .get(key)
            .or_else(|| m.values().find_map(|x| find_key(x, key))),
        serde_json::Value::Array(a) => a.iter().find_map(|x| find_key(x, key)),
        _ => None,
    }
}

/// Where the run happened.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Machine {
    /// UTC date and time of the run (`YYYY-MM-DD HH:MM UTC`).
    pub date: String,
    /// CPU model from `/proc/cpuinfo`.
    pub cpu: String,
    /// Logical CPUs available.
    pub cpus: usize,
    /// Median of back-to-back timer reads in the parent process, ns.
    pub timer_floor_ns: f64,
    /// `/proc/loadavg`'s 1/5/15-minute load when the run started.
    pub load_before: String,
    /// The same when it ended.
    pub load_after: String,
}

/// The 1, 5 and 15-minute load averages, where `/proc` has them.
pub(crate) fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "n/a".to_owned())
}

impl Machine {
    fn here() -> Machine {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|m| m.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".to_owned());
        Machine {
            date: utc_now(),
            cpu,
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            timer_floor_ns: 0.0,
            load_before: loadavg(),
            load_after: String::new(),
        }
    }
}

/// Everything one run measured.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Report {
    /// One per contender and case.
    pub rows: Vec<Row>,
    /// Where it ran.
    pub machine: Machine,
    /// One per contender: the fields its lines carry.
    pub checks: Vec<FieldCheck>,
    /// Where the log files were written.
    pub dir: PathBuf,
    /// How long the whole run took, s.
    pub wall_secs: f64,
    /// A failure that stopped the run before any case.
    pub error: Option<String>,
}

impl Report {
    pub(crate) fn new(_opts: &Options, dir: &Path) -> Report {
        Report {
            rows: Vec::new(),
            machine: Machine::here(),
            checks: Vec::new(),
            dir: dir.to_path_buf(),
            wall_secs: 0.0,
            error: None,
        }
    }

    /// The rows of one contender.
    pub fn rows_of(&self, contender: Contender) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(move |r| r.contender == contender)
    }

    /// The markdown table, with the machine and the notes under it.
    pub fn to_table(&self) -> String {
        let mut s = String::new();
        let m = &self.machine;
        let _ = writeln!(
            s,
            "{}; {} × {}; timer floor {:.1} ns (subtracted from every latency); load average {} before, {} after.",
            m.date, m.cpus, m.cpu, m.timer_floor_ns, m.load_before, m.load_after
        );
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "| contender | scenario | thr | events | p50 ns | p99 ns | p99.9 ns | max µs | events/s e2e | MB/s | lost | peak RSS (harness) |"
        );
        let _ = writeln!(s, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        for r in &self.rows {
            if let Some(e) = &r.error {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | failed: {} | | | | | | | |",
                    r.contender.name(),
                    pace_label(r.pace),
                    r.threads,
                    r.sent,
                    e.replace('|', "/")
                );
                continue;
            }
            let l = &r.latency;
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {} | {:.0} | {} | {} ({}) |",
                r.contender.name(),
                pace_label(r.pace),
                r.threads,
                r.sent,
                l.p50,
                l.p99,
                l.p999,
                l.max / 1000.0,
                si(r.events_per_sec()),
                r.bytes_per_sec() / 1e6,
                r.lost(),
                mib(r.rss_peak),
                mib(r.rss_before),
            );
        }
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "Latency: per-call samples of quanta's raw counter, nearest-rank percentiles, minus the \
             median of back-to-back reads measured in each case's process. events/s e2e: lines \
             written / time from the producers' release to the file synced after the logger's \
             shutdown; MB/s: the file's bytes over the same time (line sizes differ). lost: events sent minus lines carrying the message (counted without parsing). \
             Peak RSS: VmHWM of the case's own process; in brackets, the harness alone before the \
             logger was built. Sustained: rate fixed by the producers, so e2e equals the rate when \
             the logger keeps up."
        );
        let notes: Vec<String> = self
            .rows
            .iter()
            .filter_map(|r| {
                let mut parts = Vec::new();
                if let Some(n) = &r.note {
                    parts.push(n.clone());
                }
                if r.other_lines > 0 {
                    parts.push(format!("{} other line(s) in the file", r.other_lines));
                }
                if let Some(d) = r.self_dropped.filter(|d| *d > 0) {
                    parts.push(format!("logger counted {d} dropped"));
                }
                (!parts.is_empty()).then(|| {
                    format!(
                        "- {} {} {}t: {}",
                        r.contender.name(),
                        pace_label(r.pace),
                        r.threads,
                        parts.join("; ")
                    )
                })
            })
            .collect();
        if !notes.is_empty() {
            let _ = writeln!(s);
            let _ = writeln!(s, "Notes:");
            for n in notes {
                let _ = writeln!(s, "{n}");
            }
        }
        if !self.checks.is_empty() {
            let _ = writeln!(s);
            let _ = writeln!(
                s,
                "| contender | fields present | user_id as | bytes/line | first line |"
            );
            let _ = writeln!(s, "|---|---|---|--:|---|");
            for c in &self.checks {
                let bytes_per_line = self
                    .rows_of(c.contender)
                    .find(|r| r.lines + r.other_lines > 0)
                    .map(|r| r.file_bytes / (r.lines + r.other_lines))
                    .unwrap_or(0);
                let present = if c.missing.is_empty() {
                    "all (message, level, timestamp, 5 fields)".to_owned()
                } else {
                    format!("missing: {}", c.missing.join(", "))
                };
                let mut sample = c.sample.clone();
                if sample.len() > 160 {
                    let mut cut = 160;
                    while !sample.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    sample.truncate(cut);
                    sample.push('…');
                }
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | `{}` |",
                    c.contender.name(),
                    present,
                    c.user_id_type,
                    bytes_per_line,
                    sample.replace('|', "\\|")
                );
            }
        }
        let targets = self.targets();
        if !targets.is_empty() {
            let _ = writeln!(s);
            let _ = writeln!(
                s,
                "DESIGN.md section 6, fapilog (Wait) in this run (worst case over its rows):"
            );
            let _ = writeln!(s);
            let _ = writeln!(s, "| target | measured | met |");
            let _ = writeln!(s, "|---|---|---|");
            for t in targets {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} |",
                    t.target,
                    t.measured,
                    if t.met { "yes" } else { "**no**" }
                );
            }
        }
        if let Some(e) = &self.error {
            let _ = writeln!(s, "\nRun failed: {e}");
        }
        let _ = writeln!(s, "\nWhole run: {:.0} s.", self.wall_secs);
        s
    }
}

/// One of DESIGN.md's numbers, checked against this run's rows.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TargetCheck {
    /// What DESIGN.md asks.
    pub target: &'static str,
    /// What this run measured.
    pub measured: String,
    /// Whether the measurement meets it.
    pub met: bool,
}

impl Report {
    /// DESIGN.md's numbers for fapilog (Wait), against this run: each
    /// taken over all of its rows (the worst row decides), and the
    /// comparisons against the peers' rows of the same scenario.
    pub fn targets(&self) -> Vec<TargetCheck> {
        let ours: Vec<&Row> = self
            .rows_of(Contender::FapilogWait)
            .filter(|r| r.error.is_none())
            .collect();
        if ours.is_empty() {
            return Vec::new();
        }
        let max = |f: fn(&Row) -> f64| ours.iter().map(|r| f(r)).fold(0.0, f64::max);
        let mut out = Vec::new();
        let p50 = max(|r| r.latency.p50);
        out.push(TargetCheck {
            target: "caller p50 <= 30 ns above floor",
            measured: format!("{p50:.0} ns"),
            met: p50 <= 30.0,
        });
        let p99 = max(|r| r.latency.p99);
        out.push(TargetCheck {
            target: "caller p99 <= 200 ns",
            measured: format!("{p99:.0} ns"),
            met: p99 <= 200.0,
        });
        let p999 = max(|r| r.latency.p999);
        out.push(TargetCheck {
            target: "caller p99.9 <= 1 us",
            measured: format!("{:.1} us", p999 / 1000.0),
            met: p999 <= 1000.0,
        });
        let bursts: Vec<&&Row> = ours
            .iter()
            .filter(|r| matches!(r.pace, Pace::Burst))
            .collect();
        if !bursts.is_empty() {
            let worst = bursts
                .iter()
                .map(|r| r.events_per_sec())
                .fold(f64::INFINITY, f64::min);
            out.push(TargetCheck {
                target: ">= 3 M envelopes/s end to end into a file (burst)",
                measured: format!("{} /s", si(worst)),
                met: worst >= 3e6,
            });
        }
        let lost: u64 = ours.iter().map(|r| r.lost()).sum();
        out.push(TargetCheck {
            target: "0 lost under Wait",
            measured: lost.to_string(),
            met: lost == 0,
        });
        let rss = ours.iter().filter_map(|r| r.rss_peak).max();
        if let Some(rss) = rss {
            out.push(TargetCheck {
                target: "memory <= 64 MB at default settings (peak RSS)",
                measured: mib(Some(rss)),
                met: rss <= 64 * 1024 * 1024,
            });
        }
        // Ratios against the peers, scenario by scenario (same pace and threads).
        let peer = |r: &Row, c: Contender| {
            self.rows_of(c)
                .find(|p| p.error.is_none() && p.threads == r.threads && p.pace == r.pace)
                .cloned()
        };
        let ratios: Vec<f64> = ours
            .iter()
            .filter_map(|r| {
                let p = peer(r, Contender::TracingLossy)?;
                Some(p.latency.p50 / r.latency.p50.max(1.0))
            })
            .collect();
        if !ratios.is_empty() {
            let worst = ratios.iter().copied().fold(f64::INFINITY, f64::min);
            out.push(TargetCheck {
                target: ">= 10x lower caller p50 than tracing-appender (lossy)",
                measured: format!("{worst:.1}x (worst scenario)"),
                met: worst >= 10.0,
            });
        }
        let mut slowest: Option<(f64, &'static str)> = None;
        for r in bursts {
            let peers = Contender::ALL
                .into_iter()
                .filter(|c| !c.is_fapilog() && *c != Contender::TracingFapilog);
            for c in peers {
                if let Some(p) = peer(r, c) {
                    if p.events_per_sec() > 0.0 {
                        let ratio = r.events_per_sec() / p.events_per_sec();
                        if slowest.is_none_or(|(x, _)| ratio < x) {
                            slowest = Some((ratio, c.name()));
                        }
                    }
                }
            }
        }
        if let Some((ratio, name)) = slowest {
            out.push(TargetCheck {
                target: "faster end to end than every peer (burst)",
                measured: format!("{ratio:.2}x the closest ({name})"),
                met: ratio > 1.0,
            });
        }
        // The sink drivers: a slow sink beside the file, and fan-out to three.
        let against = |c: Contender, pace_burst: bool, f: &dyn Fn(&Row, &Row) -> f64| {
            ours.iter()
                .filter(|r| matches!(r.pace, Pace::Burst) == pace_burst)
                .filter_map(|plain| peer(plain, c).map(|row| f(&row, plain)))
                .fold(None, |worst: Option<f64>, x| {
                    Some(worst.map_or(x, |w| w.max(x)))
                })
        };
        let slower = |a: f64, b: f64| a / b.max(1.0);
        if let Some(x) = against(Contender::FapilogSlowSink, false, &|r, p| {
            slower(r.latency.p50, p.latency.p50).max(slower(r.latency.p99, p.latency.p99))
        }) {
            out.push(TargetCheck {
                target:
                    "a 1 s/batch sink beside the file: caller p50 and p99 within 1.2x (sustained)",
                measured: format!("{x:.2}x (worst)"),
                met: x <= 1.2,
            });
        }
        // Throughput: the worst share of the plain pipeline's events/s.
        let share = |c: Contender| {
            against(c, true, &|r, p| {
                -(r.events_per_sec() / p.events_per_sec().max(1.0))
            })
            .map(|x| -x)
        };
        if let Some(x) = share(Contender::FapilogSlowSink) {
            out.push(TargetCheck {
                target: "a 1 s/batch sink beside the file: file throughput >= 90% (burst)",
                measured: format!("{:.0}% (worst)", x * 100.0),
                met: x >= 0.9,
            });
        }
        if let Some(x) = share(Contender::FapilogThreeSinks) {
            out.push(TargetCheck {
                target: "three JSON sinks: throughput >= 80% of one (burst)",
                measured: format!("{:.0}% (worst)", x * 100.0),
                met: x >= 0.8,
            });
        }
        out
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_table())
    }
}

pub(crate) fn pace_key(p: Pace) -> &'static str {
    match p {
        Pace::Burst => "burst",
        Pace::Sustained { .. } => "sustained",
    }
}

fn pace_label(p: Pace) -> String {
    match p {
        Pace::Burst => "burst".to_owned(),
        Pace::Sustained { rate } => format!("{}/s", si(rate as f64)),
    }
}

fn si(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2} M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.0} k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

fn mib(b: Option<u64>) -> String {
    match b {
        Some(b) => format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
        None => "n/a".to_owned(),
    }
}

/// `YYYY-MM-DD HH:MM UTC` from the system clock.
fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_keys() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{"a":{"b":[{"user_id":3}]},"msg":"x"}"#).unwrap();
        assert_eq!(find_key(&v, "user_id"), Some(&serde_json::json!(3)));
        assert!(find_key(&v, "nope").is_none());
    }

    #[test]
    fn counts_message_lines_and_others() {
        let dir = std::env::temp_dir().join(format!("fapilog-bench-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("c.jsonl");
        std::fs::write(
            &p,
            "{\"m\":\"request handled\"}\n{\"m\":\"logs dropped\"}\n",
        )
        .unwrap();
        assert_eq!(count_lines(&p).unwrap(), (1, 1, 45));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn date_has_the_expected_shape() {
        let d = utc_now();
        assert_eq!(d.len(), "2026-11-25 12:00 UTC".len());
        assert!(d.starts_with("20"));
    }
}
