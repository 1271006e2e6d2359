//! Internal diagnostics: the pipeline's own problems (a sink failing, a
//! plugin panicking), as JSON lines on stderr, rate-limited per component,
//! never into the user's stream.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// At most this many lines per component per second.
const PER_SECOND: u32 = 5;

static LIMITER: Mutex<Option<HashMap<String, (Instant, u32)>>> = Mutex::new(None);

fn allow(component: &str) -> bool {
    let mut g = match LIMITER.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    let map = g.get_or_insert_with(HashMap::new);
    let now = Instant::now();
    let entry = map.entry(component.to_owned()).or_insert((now, 0));
    if now.duration_since(entry.0).as_secs() >= 1 {
        *entry = (now, 0);
    }
    entry.1 += 1;
    entry.1 <= PER_SECOND
}

/// Writes a warning about the pipeline itself to stderr (rate-limited).
pub(crate) fn warn(component: &str, message: &str, fields: &[(&str, &str)]) {
    write("WARN", component, message, fields);
}

/// Writes one line of a report made once at start (the settings' notes),
/// not rate-limited: the caller writes it once per process. `level` is
/// `WARN` or `DEBUG` (the caller decides whether debug diagnostics are on:
/// `core.internal_logging_enabled`).
pub(crate) fn startup(level: &str, component: &str, message: &str) {
    line(level, component, message, &[]);
}

fn write(level: &str, component: &str, message: &str, fields: &[(&str, &str)]) {
    if !allow(component) {
        return;
    }
    line(level, component, message, fields);
}

fn line(level: &str, component: &str, message: &str, fields: &[(&str, &str)]) {
    let ts = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let mut line = Vec::with_capacity(128);
    line.extend_from_slice(b"{\"ts\":");
    line.extend_from_slice(ryu::Buffer::new().format(ts).as_bytes());
    line.extend_from_slice(b",\"level\":");
    crate::encode::json::write_str(&mut line, level);
    line.extend_from_slice(b",\"component\":");
    crate::encode::json::write_str(&mut line, component);
    line.extend_from_slice(b",\"message\":");
    crate::encode::json::write_str(&mut line, message);
    for (k, v) in fields {
        line.push(b',');
        crate::encode::json::write_str(&mut line, k);
        line.push(b':');
        crate::encode::json::write_str(&mut line, v);
    }
    line.extend_from_slice(b"}\n");
    let _ = std::io::stderr().lock().write_all(&line);
}
