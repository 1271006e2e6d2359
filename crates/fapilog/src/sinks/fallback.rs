//! The last resort for lines a sink gave up on: standard error, bounded in
//! bytes per second so that a dead sink cannot flood it. Redaction has
//! already run on every line.

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::batch::Batch;

/// Bytes of diverted lines stderr takes per second, all sinks together.
pub(crate) const STDERR_BYTES_PER_SECOND: usize = 256 * 1024;

/// The shared byte budget of the stderr fallback.
pub(crate) struct StderrBudget {
    per_second: usize,
    state: Mutex<Window>,
}

struct Window {
    start: Option<Instant>,
    used: usize,
    /// Lines refused since the last summary line.
    suppressed_lines: u64,
}

impl Default for StderrBudget {
    fn default() -> Self {
        StderrBudget::new(STDERR_BYTES_PER_SECOND)
    }
}

impl StderrBudget {
    pub(crate) fn new(per_second: usize) -> StderrBudget {
        StderrBudget {
            per_second,
            state: Mutex::new(Window {
                start: None,
                used: 0,
                suppressed_lines: 0,
            }),
        }
    }

    /// Writes the batch to stderr when the budget allows it; `false` (the
    /// lines are counted as suppressed) when it does not.
    pub(crate) fn write(&self, batch: &Batch) -> bool {
        let mut w = match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let now = Instant::now();
        let fresh = w
            .start
            .is_none_or(|s| now.duration_since(s) >= Duration::from_secs(1));
        let mut err = std::io::stderr().lock();
        if fresh {
            if w.suppressed_lines > 0 {
                let _ = writeln!(
                    err,
                    "{{\"level\":\"WARN\",\"component\":\"sink\",\"message\":\"stderr fallback over its budget: lines suppressed\",\"lines\":{},\"budget_bytes_per_second\":{}}}",
                    w.suppressed_lines, self.per_second
                );
            }
            w.start = Some(now);
            w.used = 0;
            w.suppressed_lines = 0;
        }
        if w.used + batch.byte_len() > self.per_second {
            w.suppressed_lines += batch.len() as u64;
            return false;
        }
        w.used += batch.byte_len();
        err.write_all(batch.as_bytes())
            .and_then(|()| err.flush())
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::Event;
    use crate::level::Level;
    use crate::Format;

    #[test]
    fn the_budget_refuses_what_passes_it_and_counts_it() {
        let mut batch = Batch::new(Format::Json);
        batch.push(&Event::new(Level::INFO, "x"));
        let size = batch.byte_len();
        let budget = StderrBudget::new(size * 2);
        assert!(budget.write(&batch));
        assert!(budget.write(&batch));
        assert!(!budget.write(&batch), "past the budget");
        assert!(!budget.write(&batch));
        let w = budget.state.lock().unwrap();
        assert_eq!(w.suppressed_lines, 2);
    }
}
