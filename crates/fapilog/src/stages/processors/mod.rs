//! Built-in processors: shape the final event.
//!
//! | name | type | what it does |
//! |---|---|---|
//! | `size_guard` | [`SizeGuard`] | caps the serialized size: truncates the largest fields first, or drops |
//! | `exceptions` | [`Exceptions`] | bounds backtrace frames and characters |
//! | `zero_copy` | — | accepted for fapilog compatibility; does nothing |

mod exceptions;
mod size_guard;

pub use exceptions::{Exceptions, ExceptionsConfig};
pub use size_guard::{SizeAction, SizeGuard, SizeGuardConfig};
