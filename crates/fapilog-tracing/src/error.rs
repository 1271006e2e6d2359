//! Errors of this crate.

/// Why a bridge could not be installed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InstallError {
    /// Another `log::Log` (for example `tracing_log::LogTracer`) is already
    /// the process's logger.
    #[error("a `log` logger is already installed for this process; install the fapilog bridge or the other logger, not both")]
    AlreadySet,
}
