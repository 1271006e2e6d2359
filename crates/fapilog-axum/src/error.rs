//! Errors of this crate.

/// A configuration value that could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A trusted-proxy entry is neither an IP address nor `address/prefix`.
    #[error("trusted proxy {value:?} is not an IP address or CIDR block (expected e.g. `10.0.0.0/8` or `::1`)")]
    InvalidProxy {
        /// The value given.
        value: String,
    },
    /// A header name is not a valid HTTP header name.
    #[error("header name {value:?} is not a valid HTTP header name")]
    InvalidHeaderName {
        /// The value given.
        value: String,
    },
    /// A sample rate outside `0.0..=1.0`.
    #[error("sample rate {value} is outside 0.0..=1.0")]
    InvalidSampleRate {
        /// The value given.
        value: f64,
    },
}
