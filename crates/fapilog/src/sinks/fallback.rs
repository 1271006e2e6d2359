//! The last resort for a batch a sink failed to write: standard error.

use std::io::Write;

use crate::batch::Batch;

/// Writes a failed batch to stderr so that it is not lost silently. The
/// events have already been through the redactors.
pub(crate) fn write_to_stderr(batch: &Batch) -> bool {
    let mut err = std::io::stderr().lock();
    err.write_all(batch.as_bytes())
        .and_then(|()| err.flush())
        .is_ok()
}
