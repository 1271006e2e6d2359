//! Request ids: take the caller's when it is well-formed, otherwise make one.

use http::HeaderValue;

/// The longest request id accepted from a client.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// The request's id, in the request's extensions for handlers to read.
///
/// ```
/// # use fapilog_axum::RequestId;
/// async fn handler(id: axum::Extension<RequestId>) -> String {
///     id.as_str().to_owned()
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(pub(crate) String);

impl RequestId {
    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where the request id came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The client's header, well-formed.
    Client,
    /// No header: generated.
    Generated,
    /// The client's header was malformed or too long: replaced (and never logged).
    Replaced,
}

/// `true` for ids made of 1 to [`MAX_REQUEST_ID_LEN`] characters from
/// `A-Z a-z 0-9 - _ . : / + =` (UUIDs, ULIDs, base64, `svc:123`).
pub fn is_valid_request_id(value: &[u8]) -> bool {
    !value.is_empty()
        && value.len() <= MAX_REQUEST_ID_LEN
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=".contains(b))
}

/// A new id: a UUID version 7 (time-ordered), hyphenated.
pub fn new_request_id() -> String {
    uuid::Uuid::now_v7().hyphenated().to_string()
}

pub(crate) fn resolve(header: Option<&HeaderValue>) -> (String, Origin) {
    match header {
        Some(v) if is_valid_request_id(v.as_bytes()) => match v.to_str() {
            Ok(s) => (s.to_owned(), Origin::Client),
            Err(_) => (new_request_id(), Origin::Replaced),
        },
        Some(_) => (new_request_id(), Origin::Replaced),
        None => (new_request_id(), Origin::Generated),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        assert!(is_valid_request_id(b"req-123"));
        assert!(is_valid_request_id(b"0192f0c1-7b7e-7000-8000-000000000000"));
        assert!(!is_valid_request_id(b""));
        assert!(!is_valid_request_id(b"has space"));
        assert!(!is_valid_request_id(b"quote\"injection"));
        assert!(!is_valid_request_id(b"new\nline"));
        assert!(!is_valid_request_id(&[b'a'; MAX_REQUEST_ID_LEN + 1]));
        assert!(is_valid_request_id(&[b'a'; MAX_REQUEST_ID_LEN]));
    }

    #[test]
    fn generated_ids_are_uuid_v7() {
        let id = new_request_id();
        let parsed = uuid::Uuid::parse_str(&id).unwrap();
        assert_eq!(parsed.get_version_num(), 7);
        let (kept, origin) = resolve(Some(&HeaderValue::from_static("abc")));
        assert_eq!((kept.as_str(), origin), ("abc", Origin::Client));
        let (_, origin) = resolve(Some(&HeaderValue::from_static("a b")));
        assert_eq!(origin, Origin::Replaced);
    }
}
