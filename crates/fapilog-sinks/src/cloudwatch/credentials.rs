//! AWS credentials: an access key, its secret and an optional session
//! token, given to the builder or read from the standard variables.

use std::fmt;

/// The AWS credentials that sign each request. `Debug` shows the access
/// key id only: the secret and the session token are masked.
///
/// ```
/// use fapilog_sinks::AwsCredentials;
/// let c = AwsCredentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG").session_token("tok");
/// let shown = format!("{c:?}");
/// assert!(shown.contains("AKIDEXAMPLE"));
/// assert!(!shown.contains("wJalr") && !shown.contains("tok\""));
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AwsCredentials {
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: String,
    pub(crate) session_token: Option<String>,
}

impl AwsCredentials {
    /// Long-term credentials: an access key id and its secret.
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> AwsCredentials {
        AwsCredentials {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token: None,
        }
    }

    /// Adds the session token of temporary credentials (sent as
    /// `X-Amz-Security-Token` and signed).
    #[must_use]
    pub fn session_token(mut self, token: impl Into<String>) -> AwsCredentials {
        self.session_token = Some(token.into()).filter(|t| !t.is_empty());
        self
    }

    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and (when set)
    /// `AWS_SESSION_TOKEN`; `None` when the key or the secret is unset.
    pub fn from_env() -> Option<AwsCredentials> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let creds = AwsCredentials::new(var("AWS_ACCESS_KEY_ID")?, var("AWS_SECRET_ACCESS_KEY")?);
        Some(match var("AWS_SESSION_TOKEN") {
            Some(t) => creds.session_token(t),
            None => creds,
        })
    }

    /// The access key id (not a secret: it appears in every request's
    /// `Authorization` header).
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }
}

impl fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"***")
            .field("session_token", &self.session_token.as_ref().map(|_| "***"))
            .finish()
    }
}
