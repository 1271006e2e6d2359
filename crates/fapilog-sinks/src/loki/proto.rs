//! Loki's push messages (`pkg/push/push.proto`), derived by hand for prost
//! so that no `protoc` or build script is needed.

/// `logproto.PushRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct PushRequest {
    /// One per label set.
    #[prost(message, repeated, tag = "1")]
    pub(crate) streams: Vec<StreamAdapter>,
}

/// `logproto.StreamAdapter`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct StreamAdapter {
    /// The label set, written `{a="b", c="d"}`.
    #[prost(string, tag = "1")]
    pub(crate) labels: String,
    /// The stream's lines, oldest first.
    #[prost(message, repeated, tag = "2")]
    pub(crate) entries: Vec<EntryAdapter>,
}

/// `logproto.EntryAdapter`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct EntryAdapter {
    /// The event's own time.
    #[prost(message, optional, tag = "1")]
    pub(crate) timestamp: Option<Timestamp>,
    /// The log line.
    #[prost(string, tag = "2")]
    pub(crate) line: String,
    /// Structured metadata (not indexed, any cardinality).
    #[prost(message, repeated, tag = "3")]
    pub(crate) structured_metadata: Vec<LabelPairAdapter>,
}

/// `logproto.LabelPairAdapter`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct LabelPairAdapter {
    /// The name.
    #[prost(string, tag = "1")]
    pub(crate) name: String,
    /// The value.
    #[prost(string, tag = "2")]
    pub(crate) value: String,
}

/// `google.protobuf.Timestamp`.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub(crate) struct Timestamp {
    /// Seconds since the Unix epoch.
    #[prost(int64, tag = "1")]
    pub(crate) seconds: i64,
    /// Nanoseconds within the second.
    #[prost(int32, tag = "2")]
    pub(crate) nanos: i32,
}

impl Timestamp {
    /// `ns` nanoseconds since the Unix epoch.
    pub(crate) fn from_nanos(ns: i64) -> Timestamp {
        Timestamp {
            seconds: ns.div_euclid(1_000_000_000),
            nanos: ns.rem_euclid(1_000_000_000) as i32,
        }
    }
}
