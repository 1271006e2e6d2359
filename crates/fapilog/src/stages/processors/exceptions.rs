//! Exception bounding: caps the frames and characters of a backtrace.

use crate::config_serde::settings_serde;

use crate::envelope::{Event, CAUSED_BY};
use crate::error::Error;
use crate::stages::redactors::cut;
use crate::stages::runtime::{self, Counter};
use crate::stages::{Processor, StageError, Verdict};
use crate::value::{Text, Value};

/// Settings of the `exceptions` processor (`processor_config.exceptions`),
/// fapilog's `core.exceptions_max_frames` / `exceptions_max_stack_chars`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ExceptionsConfig {
    /// Most frames kept in `error.frames` and in `error.stack`'s backtrace
    /// (10; fapilog's `core.exceptions_max_frames`).
    pub max_frames: usize,
    /// Most characters kept in `error.stack`, at least 1000 (20000).
    pub max_stack_chars: usize,
    /// Most causes (`Caused by:` lines) kept in `error.stack` (10).
    pub max_chain: usize,
}

settings_serde!(ExceptionsConfig {
    max_frames,
    max_stack_chars,
    max_chain
});

impl Default for ExceptionsConfig {
    fn default() -> Self {
        ExceptionsConfig {
            max_frames: 10,
            max_stack_chars: 20_000,
            max_chain: 10,
        }
    }
}

/// Bounds `diagnostics.exception`: `error.frames` to `max_frames` entries;
/// `error.stack` to `max_chain` causes (`Caused by:` lines), `max_frames`
/// backtrace frames (a frame starts at a line `N: …`, as `std::backtrace`
/// writes them; the `at file:line` lines stay with their frame) and
/// `max_stack_chars` bytes. What was cut is said in place (`... 3 more
/// causes`, `... 37 more frames`, `...`).
pub struct Exceptions {
    max_frames: usize,
    max_chars: usize,
    max_chain: usize,
}

impl Default for Exceptions {
    fn default() -> Self {
        Exceptions {
            max_frames: 10,
            max_chars: 20_000,
            max_chain: 10,
        }
    }
}

fn is_frame_start(line: &str) -> bool {
    let t = line.trim_start();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && t.as_bytes().get(digits) == Some(&b':')
}

impl Exceptions {
    /// From its settings.
    pub fn from_config(c: &ExceptionsConfig) -> Result<Exceptions, Error> {
        if c.max_stack_chars < 1000 {
            return Err(Error::InvalidSetting {
                key: "processor_config.exceptions.max_stack_chars".to_owned(),
                value: c.max_stack_chars.to_string(),
                expected: "at least 1000".to_owned(),
            });
        }
        Ok(Exceptions {
            max_frames: c.max_frames,
            max_chars: c.max_stack_chars,
            max_chain: c.max_chain,
        })
    }

    /// `stack` with at most `max_chain` causes; `None` when within bounds.
    fn bound_causes(&self, stack: &str) -> Option<String> {
        let is_cause = |l: &str| l.starts_with(CAUSED_BY);
        let total = stack.lines().filter(|l| is_cause(l)).count();
        if total <= self.max_chain {
            return None;
        }
        let mut out = String::with_capacity(stack.len());
        let mut seen = 0;
        for line in stack.split_inclusive('\n') {
            if is_cause(line) {
                seen += 1;
                if seen > self.max_chain {
                    if seen == self.max_chain + 1 {
                        let more = total - self.max_chain;
                        out.push_str(&format!("{CAUSED_BY}... {more} more causes\n"));
                    }
                    continue;
                }
            }
            out.push_str(line);
        }
        Some(out)
    }

    /// The bounded form of `stack`; `None` when it is within bounds.
    pub fn bound(&self, stack: &str) -> Option<String> {
        let causes = self.bound_causes(stack);
        let stack = causes.as_deref().unwrap_or(stack);
        let mut out: Option<String> = None;
        let mut frames = 0;
        let mut offset = 0;
        for line in stack.split_inclusive('\n') {
            if is_frame_start(line) {
                frames += 1;
                if frames > self.max_frames {
                    let total = stack[offset..]
                        .lines()
                        .filter(|l| is_frame_start(l))
                        .count();
                    let mut s = stack[..offset].to_owned();
                    s.push_str(&format!("   ... {total} more frames\n"));
                    out = Some(s);
                    break;
                }
            }
            offset += line.len();
        }
        let cur = out.as_deref().unwrap_or(stack);
        if cur.len() > self.max_chars {
            let mut s = cut(cur, self.max_chars.saturating_sub(3)).to_owned();
            s.push_str("...");
            out = Some(s);
        }
        out.or(causes)
    }
}

impl Processor for Exceptions {
    fn name(&self) -> &str {
        "exceptions"
    }

    fn only_exceptions(&self) -> bool {
        true
    }

    fn process(&self, event: &mut Event<'_>) -> Result<Verdict, StageError> {
        let Some(Value::Map(ex)) = event.diagnostics.get_mut("exception") else {
            return Ok(Verdict::Keep);
        };
        let mut changed = false;
        if let Some(Value::Str(stack)) = ex.get_mut("error.stack") {
            if let Some(b) = self.bound(stack) {
                *stack = Text::Owned(b);
                changed = true;
            }
        }
        if let Some(Value::Array(frames)) = ex.get_mut("error.frames") {
            if frames.len() > self.max_frames {
                frames.truncate(self.max_frames);
                changed = true;
            }
        }
        if changed {
            runtime::count(Counter::ExceptionsBounded, 1);
        }
        Ok(Verdict::Keep)
    }
}
