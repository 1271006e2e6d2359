//! The crate's error type.

/// What can go wrong setting up or running a pipeline.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting has a value outside what it allows.
    #[error("invalid setting {key} = {value:?}: expected {expected}")]
    InvalidSetting {
        /// The setting's full name (`core.max_queue_size`) or environment variable.
        key: String,
        /// The value given (masked when the setting is a secret).
        value: String,
        /// What is allowed.
        expected: String,
    },
    /// A key no version of these settings has.
    #[error("unknown setting {key} = {value:?}: expected {expected}")]
    UnknownSetting {
        /// The key as given (variable name or dotted path).
        key: String,
        /// The value given (masked when it may be a secret).
        value: String,
        /// The keys allowed there.
        expected: String,
    },
    /// A setting fapilog has that this version rejects rather than ignores.
    #[error("setting {key} is not accepted: {reason}")]
    UnavailableSetting {
        /// The key as given.
        key: String,
        /// Why (e.g. "sink loki is not available in this version").
        reason: String,
    },
    /// A setting in a configuration file is wrong.
    #[error("{path}:{line}: {source}")]
    ConfigFile {
        /// The file.
        path: String,
        /// The line of the key (1-based).
        line: usize,
        /// What is wrong with it.
        #[source]
        source: Box<Error>,
    },
    /// A configuration file is not valid TOML.
    #[error("{path}:{line}: invalid TOML: {message}")]
    ConfigSyntax {
        /// The file.
        path: String,
        /// The line (1-based).
        line: usize,
        /// The parser's message.
        message: String,
    },
    /// A file could not be opened.
    #[error("cannot open {path}: {source}")]
    Open {
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A sink failed to start.
    #[error("sink {sink} failed to start: {source}")]
    SinkStart {
        /// The sink's name.
        sink: String,
        /// The cause.
        #[source]
        source: crate::SinkError,
    },
    /// A sink's delivery option is invalid.
    #[error("invalid option {option} = {value:?} of sink {sink}: expected {expected}")]
    InvalidSinkOption {
        /// The sink's name.
        sink: String,
        /// The option (`buffer_batches`, `retry.max_attempts`, `fallback`, …).
        option: String,
        /// The value given.
        value: String,
        /// What is allowed.
        expected: String,
    },
    /// Another process (or another sink of this one) holds a spool
    /// directory: two writers would interleave their frames.
    #[error("the spool directory {directory} of sink {sink} is locked by another pipeline or process (each needs a spool directory of its own)")]
    SpoolLocked {
        /// The sink's name.
        sink: String,
        /// The sink's spool directory.
        directory: String,
    },
    /// A sink's spool could not be opened or recovered.
    #[error("the spool directory {directory} of sink {sink} could not be opened: {source}")]
    SpoolOpen {
        /// The sink's name.
        sink: String,
        /// The sink's spool directory.
        directory: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A routing rule or a fallback names a sink the pipeline does not have.
    #[error("{context} names sink {sink:?}, which the pipeline does not have (sinks: {known})")]
    UnknownSink {
        /// Where the name was given (`route 2`, `fallback of sink "http"`).
        context: String,
        /// The name given.
        sink: String,
        /// The pipeline's sinks, comma-separated.
        known: String,
    },
    /// `core.sinks` names a network sink that no registered
    /// [`SinkFactory`](crate::SinkFactory) opens.
    #[error("core.sinks names sink {sink:?}, which lives in the fapilog-sinks crate (cargo feature `{sink}`): add that crate and register it with `PipelineBuilder::sink_factory(fapilog_sinks::factory())`")]
    SinkNotRegistered {
        /// The sink's name.
        sink: String,
    },
    /// A sink's configuration is invalid (the message names the key and
    /// the value; secrets are masked).
    #[error("sink {sink}: {source}")]
    SinkConfig {
        /// The sink's name.
        sink: String,
        /// What is wrong.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Two sinks share a name.
    #[error("two sinks are named {0:?}: sink names must be unique")]
    DuplicateSink(String),
    /// `fapilog::init` was called twice.
    #[error("fapilog::init was already called: the global pipeline is set once per process")]
    AlreadyInitialized,
    /// A worker thread could not be started.
    #[error("cannot start a worker thread: {0}")]
    Spawn(#[source] std::io::Error),
    /// The SIGTERM/SIGINT handlers could not be installed.
    #[error("cannot handle SIGTERM and SIGINT: {0}")]
    Signals(#[source] std::io::Error),
    /// `flush` did not finish in time.
    #[error("flush did not finish within {0:?}")]
    FlushTimeout(std::time::Duration),
}
