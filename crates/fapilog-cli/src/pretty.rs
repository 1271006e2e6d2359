//! `fapilog pretty`: JSON envelope lines in, human lines out.
//!
//! Each line is parsed once into a borrowed [`fapilog::Value`] and written
//! by the core's own pretty encoder ([`fapilog::encode::write_pretty_value`]),
//! so the output is the console sink's format. Lines that are not envelopes
//! (not JSON, or JSON without `timestamp`, `level` and `message`) pass
//! through as text, with every control character (ESC, a bare CR, C1, the
//! bidi controls) shown as a visible escape, never sent to the terminal
//! raw; invalid UTF-8 is shown as U+FFFD. The structured filters (`--level`, `--logger`,
//! `--since`, `--until`, `--where`) apply to envelopes only, `--grep` to
//! every line.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;
use std::time::Duration;

use fapilog::{Level, Map, Value};

/// Which envelopes to keep. Every condition set must hold.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Filter {
    /// Lowest level kept (by priority: `WARNING` keeps WARNING, ERROR, CRITICAL).
    pub min_level: Option<Level>,
    /// Loggers kept: the name or a dotted parent (`app` keeps `app.db`).
    pub loggers: Vec<String>,
    /// Keep timestamps at or after this (envelope form, UTC).
    pub since: Option<String>,
    /// Keep timestamps before this (envelope form, UTC).
    pub until: Option<String>,
    /// `field=value` conditions: a dotted path in the `log` object
    /// (`data.user_id`, `context.request_id`), or a bare key looked up in
    /// `context`, then `data`, then `diagnostics`.
    pub wheres: Vec<(String, String)>,
    /// A fixed string the raw line must contain.
    pub grep: Option<String>,
}

impl Filter {
    /// `true` when no condition is set.
    pub fn is_empty(&self) -> bool {
        self.min_level.is_none()
            && self.loggers.is_empty()
            && self.since.is_none()
            && self.until.is_none()
            && self.wheres.is_empty()
            && self.grep.is_none()
    }

    fn keeps(&self, log: &Map<'_>) -> bool {
        if let Some(min) = self.min_level {
            let level = log.get("level").and_then(Value::as_str).unwrap_or("");
            if let Ok(l) = level.parse::<Level>() {
                if l < min {
                    return false;
                }
            }
        }
        if !self.loggers.is_empty() {
            let name = log.get("logger").and_then(Value::as_str).unwrap_or("");
            let hit = self.loggers.iter().any(|l| {
                name == l
                    || (name.starts_with(l.as_str()) && name.as_bytes().get(l.len()) == Some(&b'.'))
            });
            if !hit {
                return false;
            }
        }
        if self.since.is_some() || self.until.is_some() {
            let ts = log.get("timestamp").and_then(Value::as_str).unwrap_or("");
            if let Some(s) = &self.since {
                if ts < s.as_str() {
                    return false;
                }
            }
            if let Some(u) = &self.until {
                if ts >= u.as_str() {
                    return false;
                }
            }
        }
        self.wheres.iter().all(|(path, want)| {
            lookup(log, path).is_some_and(|v| match v {
                Value::Str(s) => s.as_str() == want,
                other => json_text(other) == *want,
            })
        })
    }
}

fn json_text(v: &Value<'_>) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

const SECTIONS: [&str; 3] = ["context", "data", "diagnostics"];

fn lookup<'v, 'a>(log: &'v Map<'a>, path: &str) -> Option<&'v Value<'a>> {
    if let Some(v) = log.get_path(path) {
        return Some(v);
    }
    SECTIONS.iter().find_map(|s| match log.get(s) {
        Some(Value::Map(m)) => m.get_path(path),
        _ => None,
    })
}

/// Renders lines one at a time into a caller's buffer.
#[derive(Debug)]
pub struct Renderer {
    filter: Filter,
    color: bool,
    needle: Option<Vec<u8>>,
}

impl Renderer {
    /// A renderer applying `filter`; ANSI colours when `color`.
    pub fn new(filter: Filter, color: bool) -> Renderer {
        let needle = filter.grep.as_ref().map(|g| g.as_bytes().to_vec());
        Renderer {
            filter,
            color,
            needle,
        }
    }

    /// Handles one line (with or without its newline); appends what to
    /// print to `out` and says whether anything was appended.
    pub fn line(&mut self, raw: &[u8], out: &mut Vec<u8>) -> bool {
        let raw = trim_newline(raw);
        if let Some(n) = &self.needle {
            if !n.is_empty() && memchr::memmem::find(raw, n).is_none() {
                return false;
            }
        }
        let first = raw.iter().position(|b| !b.is_ascii_whitespace());
        if first.map(|i| raw[i]) == Some(b'{') {
            if let Ok(text) = std::str::from_utf8(raw) {
                if let Ok(v) = Value::from_json(text) {
                    if let Some(log) = envelope(&v) {
                        if !self.filter.keeps(log) {
                            return false;
                        }
                        if fapilog::encode::write_pretty_value(out, &v, self.color) {
                            return true;
                        }
                    }
                }
            }
        }
        fapilog::encode::write_terminal_safe(out, &String::from_utf8_lossy(raw));
        out.push(b'\n');
        true
    }
}

/// The `log` object of an envelope (or the flat form), when `v` is one.
fn envelope<'v, 'a>(v: &'v Value<'a>) -> Option<&'v Map<'a>> {
    let top = v.as_map()?;
    let log = match top.get("log") {
        Some(Value::Map(m)) => m,
        _ => top,
    };
    let is_str = |k: &str| matches!(log.get(k), Some(Value::Str(_)));
    (is_str("timestamp") && is_str("level") && is_str("message")).then_some(log)
}

fn trim_newline(raw: &[u8]) -> &[u8] {
    let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
    raw.strip_suffix(b"\r").unwrap_or(raw)
}

const BUF: usize = 256 * 1024;

/// Opens an input: `-` is stdin; gzip (by its magic bytes, whatever the
/// name) is decompressed, multi-member files (`cat a.gz b.gz`) included.
pub fn open(path: &str) -> io::Result<Box<dyn BufRead>> {
    let inner: Box<dyn Read> = if path == "-" {
        Box::new(io::stdin())
    } else {
        Box::new(File::open(path)?)
    };
    let mut r = BufReader::with_capacity(BUF, inner);
    let gz = r.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    Ok(if gz {
        Box::new(BufReader::with_capacity(
            BUF,
            flate2::bufread::MultiGzDecoder::new(r),
        ))
    } else {
        Box::new(r)
    })
}

/// Renders every line of `input` into `output`.
pub fn copy(input: &mut dyn BufRead, r: &mut Renderer, output: &mut dyn Write) -> io::Result<()> {
    let mut line = Vec::with_capacity(4096);
    let mut out = Vec::with_capacity(BUF);
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        r.line(&line, &mut out);
        if out.len() >= BUF - 8192 {
            output.write_all(&out)?;
            out.clear();
        }
    }
    output.write_all(&out)?;
    output.flush()
}

/// Renders `path` to its end, then waits for more lines (as `tail -f`),
/// reopening the file when it is truncated or replaced (rotation). Runs
/// until the process is stopped or the output is closed.
pub fn follow(
    path: &Path,
    r: &mut Renderer,
    output: &mut dyn Write,
    poll: Duration,
) -> io::Result<()> {
    let mut file = BufReader::with_capacity(BUF, File::open(path)?);
    let mut pos: u64 = 0;
    let mut line = Vec::with_capacity(4096);
    let mut out = Vec::with_capacity(BUF);
    loop {
        let n = file.read_until(b'\n', &mut line)?;
        pos += n as u64;
        if n > 0 && line.ends_with(b"\n") {
            r.line(&line, &mut out);
            line.clear();
            if out.len() >= BUF - 8192 {
                output.write_all(&out)?;
                out.clear();
            }
            continue;
        }
        // At the end (a partial last line stays in `line` until its newline).
        output.write_all(&out)?;
        output.flush()?;
        out.clear();
        std::thread::sleep(poll);
        let replaced = match (std::fs::metadata(path), file.get_ref().metadata()) {
            (Ok(now), Ok(open)) => now.len() < pos || !same_file(&now, &open),
            _ => false,
        };
        if replaced {
            if let Ok(f) = File::open(path) {
                file = BufReader::with_capacity(BUF, f);
                pos = 0;
                line.clear();
            }
        }
    }
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.ino() == b.ino() && a.dev() == b.dev()
}

#[cfg(not(unix))]
fn same_file(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"log":{"context":{"correlation_id":null,"message_id":"m","request_id":"r1"},"data":{"n":3,"user":{"id":"u-7"}},"diagnostics":{"service":"api"},"level":"WARNING","logger":"app.db","message":"slow query","timestamp":"2026-11-25T10:30:00.123Z"},"schema_version":"1.1"}"#;

    fn run(f: Filter, line: &str) -> String {
        let mut out = Vec::new();
        Renderer::new(f, false).line(line.as_bytes(), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn filters() {
        let keep = |f: Filter| !run(f, LINE).is_empty();
        assert!(keep(Filter::default()));
        let f = |g: fn(&mut Filter)| {
            let mut x = Filter::default();
            g(&mut x);
            x
        };
        assert!(keep(f(|x| x.min_level = Some(Level::WARNING))));
        assert!(!keep(f(|x| x.min_level = Some(Level::ERROR))));
        assert!(keep(f(|x| x.loggers = vec!["app".into()])));
        assert!(keep(f(|x| x.loggers = vec!["app.db".into()])));
        assert!(!keep(f(|x| x.loggers = vec!["ap".into()])));
        assert!(keep(f(
            |x| x.since = Some("2026-11-25T10:30:00.123Z".into())
        )));
        assert!(!keep(f(
            |x| x.until = Some("2026-11-25T10:30:00.123Z".into())
        )));
        assert!(keep(f(
            |x| x.wheres = vec![("request_id".into(), "r1".into())]
        )));
        assert!(keep(f(|x| x.wheres = vec![("data.n".into(), "3".into())])));
        assert!(keep(f(
            |x| x.wheres = vec![("user.id".into(), "u-7".into())]
        )));
        assert!(keep(f(
            |x| x.wheres = vec![("service".into(), "api".into())]
        )));
        assert!(!keep(f(|x| x.wheres = vec![("n".into(), "4".into())])));
        assert!(keep(f(|x| x.grep = Some("slow".into()))));
        assert!(!keep(f(|x| x.grep = Some("fast".into()))));
    }

    #[test]
    fn passes_other_lines_through() {
        assert_eq!(run(Filter::default(), "plain text\r\n"), "plain text\n");
        assert_eq!(run(Filter::default(), "{\"a\":1}"), "{\"a\":1}\n");
        assert_eq!(run(Filter::default(), "{broken"), "{broken\n");
        let f = Filter {
            min_level: Some(Level::CRITICAL),
            ..Filter::default()
        };
        assert_eq!(run(f, "panic: at the disco"), "panic: at the disco\n");
    }
}
