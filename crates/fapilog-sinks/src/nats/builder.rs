//! [`NatsSinkBuilder`]: the sink's typed options, checked by `build()`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use async_nats::ServerAddr;

use super::counters::NatsCounters;
use super::sink::{Auth, NatsSink, Settings as SinkSettings};
use super::subject::SubjectTemplate;
use crate::adapter::Adapter;
use crate::config::ConfigError;

/// Default subject of [`NatsSinkBuilder::subject`].
pub const DEFAULT_SUBJECT: &str = "fapilog.logs";

/// Options of a [`NatsSink`]; made by [`NatsSink::builder`], checked by
/// [`build`](NatsSinkBuilder::build).
///
/// ```no_run
/// use std::time::Duration;
/// use fapilog::sinks::{SinkOptions, WhenFull};
/// use fapilog_sinks::NatsSink;
///
/// let sink = NatsSink::builder("nats://127.0.0.1:4222")
///     .subject("app.logs.{level}")
///     .user_password("app", "s3cret")
///     .ack_timeout(Duration::from_secs(5))
///     .build()?;
/// let pipeline = fapilog::Pipeline::builder()
///     .sink_with(sink, SinkOptions::new().when_full(WhenFull::Block))
///     .build()?;
/// # drop(pipeline);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub struct NatsSinkBuilder {
    url: String,
    name: String,
    subject: String,
    auth: AuthOption,
    require_tls: bool,
    root_certificates: Vec<PathBuf>,
    client_certificate: Option<(PathBuf, PathBuf)>,
    connect_timeout: Duration,
    ack_timeout: Duration,
    max_in_flight: usize,
    max_reconnect_delay: Duration,
    create_stream: Option<String>,
}

/// The credentials as given, checked by `build()`.
enum AuthOption {
    None,
    UserPassword(String, String),
    Token(String),
    NKey(String),
    CredsFile(PathBuf),
}

impl NatsSinkBuilder {
    pub(crate) fn new(url: String) -> NatsSinkBuilder {
        NatsSinkBuilder {
            url,
            name: "nats".to_owned(),
            subject: DEFAULT_SUBJECT.to_owned(),
            auth: AuthOption::None,
            require_tls: false,
            root_certificates: Vec::new(),
            client_certificate: None,
            connect_timeout: Duration::from_secs(5),
            ack_timeout: Duration::from_secs(5),
            max_in_flight: 256,
            max_reconnect_delay: Duration::from_secs(2),
            create_stream: None,
        }
    }

    /// The sink's name in metrics, diagnostics and `fallback` (default `"nats"`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The subject each line is published to (default `fapilog.logs`).
    /// `{level}` is replaced by the line's level in lower case
    /// (`app.{level}` → `app.error`). A JetStream stream must bind it.
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = subject.into();
        self
    }

    /// Authenticates with a user name and password.
    pub fn user_password(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.auth = AuthOption::UserPassword(user.into(), password.into());
        self
    }

    /// Authenticates with a token.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.auth = AuthOption::Token(token.into());
        self
    }

    /// Authenticates with an NKey seed (`SU…`).
    pub fn nkey_seed(mut self, seed: impl Into<String>) -> Self {
        self.auth = AuthOption::NKey(seed.into());
        self
    }

    /// Authenticates with a `.creds` file (JWT and NKey seed), read and
    /// checked by `build()`.
    pub fn credentials_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.auth = AuthOption::CredsFile(path.into());
        self
    }

    /// Refuses to talk to a server without TLS (a `tls://` URL implies it).
    /// TLS is rustls with the ring provider.
    pub fn require_tls(mut self) -> Self {
        self.require_tls = true;
        self
    }

    /// Trusts the CA certificates in this PEM file (besides the system's).
    pub fn root_certificates(mut self, pem: impl Into<PathBuf>) -> Self {
        self.root_certificates.push(pem.into());
        self
    }

    /// Presents this client certificate and key (PEM files) for mutual TLS.
    pub fn client_certificate(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.client_certificate = Some((cert.into(), key.into()));
        self
    }

    /// Longest wait for a connection (default 5 s); a failed connect is a
    /// transient error the driver retries.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Longest wait for a publish acknowledgement (default 5 s); past it the
    /// request is retried, resending the lines not acknowledged with the
    /// same `Nats-Msg-Id`.
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.ack_timeout = timeout;
        self
    }

    /// Publishes sent before their acknowledgements are awaited, in order
    /// (default 256): the lines of one request.
    pub fn max_in_flight(mut self, publishes: usize) -> Self {
        self.max_in_flight = publishes;
        self
    }

    /// Longest pause between async-nats's reconnect attempts after a lost
    /// connection (default 2 s).
    pub fn max_reconnect_delay(mut self, delay: Duration) -> Self {
        self.max_reconnect_delay = delay;
        self
    }

    /// Creates a stream named `name` binding the subject (`{level}` as `*`)
    /// on the first connection when none exists (default: never; a stream
    /// is infrastructure, and a missing one is a clear error).
    pub fn create_stream(mut self, name: impl Into<String>) -> Self {
        self.create_stream = Some(name.into());
        self
    }

    /// Checks every option and makes the sink. Nothing connects here: a
    /// server that is down makes the first sends fail transiently, not
    /// the build.
    ///
    /// ```
    /// use fapilog_sinks::NatsSink;
    ///
    /// // Nothing listens on port 1: the build still succeeds.
    /// assert!(NatsSink::builder("nats://127.0.0.1:1").build().is_ok());
    /// // A bad option fails, naming the key and the value.
    /// let err = NatsSink::builder("http://127.0.0.1:4222").build().err().unwrap();
    /// assert!(err.to_string().starts_with("invalid url = \"http://127.0.0.1:4222\""));
    /// ```
    pub fn build(self) -> Result<Adapter<NatsSink>, ConfigError> {
        self.build_sink().map(Adapter::new)
    }

    /// The checked sink, without its adapter.
    pub(crate) fn build_sink(self) -> Result<NatsSink, ConfigError> {
        let servers = parse_servers(&self.url)?;
        if self.name.trim().is_empty() {
            return Err(ConfigError::invalid("name", &self.name, "a non-empty name"));
        }
        let subject = SubjectTemplate::parse(&self.subject)?;
        for (key, d) in [
            ("connect_timeout", self.connect_timeout),
            ("ack_timeout", self.ack_timeout),
            ("max_reconnect_delay", self.max_reconnect_delay),
        ] {
            if d.is_zero() {
                return Err(ConfigError::invalid(key, "0s", "a duration above zero"));
            }
        }
        if self.max_in_flight == 0 {
            return Err(ConfigError::invalid("max_in_flight", "0", "at least 1"));
        }
        let auth = match self.auth {
            // async-nats ignores credentials in the URL: take them here.
            AuthOption::None => url_auth(&servers),
            given => given,
        };
        let auth = check_auth(auth)?;
        for path in &self.root_certificates {
            check_file("root_certificates", path)?;
        }
        if let Some((cert, key)) = &self.client_certificate {
            check_file("client_certificate", cert)?;
            check_file("client_certificate_key_file", key)?;
        }
        if let Some(stream) = &self.create_stream {
            if stream.is_empty()
                || stream
                    .chars()
                    .any(|c| c.is_whitespace() || matches!(c, '.' | '*' | '>' | '/' | '\\'))
            {
                return Err(ConfigError::invalid(
                    "create_stream",
                    stream,
                    "a stream name without whitespace, '.', '*', '>', '/' or '\\'",
                ));
            }
        }
        Ok(NatsSink::new(SinkSettings {
            name: self.name,
            shown_url: mask_nats_url(&self.url),
            servers,
            subject,
            auth,
            require_tls: self.require_tls,
            root_certificates: self.root_certificates,
            client_certificate: self.client_certificate,
            connect_timeout: self.connect_timeout,
            ack_timeout: self.ack_timeout,
            max_in_flight: self.max_in_flight,
            max_reconnect_delay: self.max_reconnect_delay,
            create_stream: self.create_stream,
            counters: NatsCounters::default(),
        }))
    }
}

impl fmt::Debug for NatsSinkBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let auth = match &self.auth {
            AuthOption::None => "none".to_owned(),
            AuthOption::UserPassword(user, _) => format!("user {user:?}, password ***"),
            AuthOption::Token(_) => "token ***".to_owned(),
            AuthOption::NKey(_) => "nkey seed ***".to_owned(),
            AuthOption::CredsFile(p) => format!("creds file {}", p.display()),
        };
        f.debug_struct("NatsSinkBuilder")
            .field("url", &mask_nats_url(&self.url))
            .field("name", &self.name)
            .field("subject", &self.subject)
            .field("auth", &auth)
            .field("require_tls", &self.require_tls)
            .field("connect_timeout", &self.connect_timeout)
            .field("ack_timeout", &self.ack_timeout)
            .field("max_in_flight", &self.max_in_flight)
            .field("create_stream", &self.create_stream)
            .finish_non_exhaustive()
    }
}

/// `url`: one NATS URL or several separated by commas.
fn parse_servers(url: &str) -> Result<Vec<ServerAddr>, ConfigError> {
    let expected = "a NATS URL such as nats://127.0.0.1:4222 (nats:// or tls://; \
                    several separated by commas)";
    let mut servers = Vec::new();
    for part in url.split(',').map(str::trim) {
        let scheme_ok = match part.split_once("://") {
            Some((scheme, _)) => matches!(scheme, "nats" | "tls"),
            None => true,
        };
        let parsed = ServerAddr::from_str(part).ok().filter(|_| scheme_ok);
        match parsed {
            Some(addr) if !part.is_empty() && !addr.host().is_empty() => servers.push(addr),
            _ => return Err(ConfigError::invalid("url", &mask_nats_url(url), expected)),
        }
    }
    Ok(servers)
}

/// `user:password@` (a user and password) or `token@` (a token) in the
/// first URL that has them.
fn url_auth(servers: &[ServerAddr]) -> AuthOption {
    let Some(addr) = servers.iter().find(|a| a.has_user_pass()) else {
        return AuthOption::None;
    };
    let user = percent_decode(addr.username().unwrap_or_default());
    match addr.password() {
        Some(password) => AuthOption::UserPassword(user, percent_decode(password)),
        None => AuthOption::Token(user),
    }
}

/// `%XX` escapes decoded (URL user info is kept encoded).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                let v = hex(h).unwrap_or_default() * 16 + hex(l).unwrap_or_default();
                out.push(v as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Checks the credentials; a creds file is read and parsed here.
fn check_auth(auth: AuthOption) -> Result<Auth, ConfigError> {
    Ok(match auth {
        AuthOption::None => Auth::None,
        AuthOption::UserPassword(user, password) => {
            if user.is_empty() {
                return Err(ConfigError::invalid("user", "", "a non-empty user name"));
            }
            if password.is_empty() {
                return Err(ConfigError::invalid("password", "", "a non-empty password"));
            }
            Auth::UserPassword(user, password)
        }
        AuthOption::Token(token) => {
            if token.is_empty() {
                return Err(ConfigError::invalid("token", "", "a non-empty token"));
            }
            Auth::Token(token)
        }
        AuthOption::NKey(seed) => {
            let base32 = |c: char| c.is_ascii_uppercase() || ('2'..='7').contains(&c);
            if !(seed.starts_with("SU") && seed.len() == 58 && seed.chars().all(base32)) {
                return Err(ConfigError::invalid(
                    "nkey_seed",
                    &seed,
                    "a user NKey seed (58 base32 characters starting with SU)",
                ));
            }
            Auth::NKey(seed)
        }
        AuthOption::CredsFile(path) => {
            let shown = path.display().to_string();
            let expected = "a readable NATS .creds file (a user JWT and its NKey seed)";
            let text = std::fs::read_to_string(&path)
                .map_err(|_| ConfigError::invalid("credentials_file", &shown, expected))?;
            // Parse now so a bad file fails the build, not every send.
            if async_nats::ConnectOptions::with_credentials(&text).is_err() {
                return Err(ConfigError::invalid("credentials_file", &shown, expected));
            }
            Auth::Creds(text, shown)
        }
    })
}

fn check_file(key: &str, path: &std::path::Path) -> Result<(), ConfigError> {
    if path.is_file() {
        Ok(())
    } else {
        Err(ConfigError::invalid(
            key,
            &path.display().to_string(),
            "an existing PEM file",
        ))
    }
}

/// A NATS URL with its user info masked: `nats://user:***@host` for a
/// password, `nats://***@host` for a token.
pub(crate) fn mask_nats_url(url: &str) -> String {
    url.split(',')
        .map(|part| {
            let Some((scheme, rest)) = part.split_once("://") else {
                return match part.rfind('@') {
                    Some(at) => format!("***{}", &part[at..]),
                    None => part.to_owned(),
                };
            };
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            let Some(at) = rest[..end].rfind('@') else {
                return part.to_owned();
            };
            let shown = match rest[..at].split_once(':') {
                Some((user, _)) => format!("{user}:***"),
                None => "***".to_owned(),
            };
            format!("{scheme}://{shown}{}", &rest[at..])
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_masked() {
        assert_eq!(mask_nats_url("nats://a:pw@h:4222"), "nats://a:***@h:4222");
        assert_eq!(mask_nats_url("nats://tok@h"), "nats://***@h");
        assert_eq!(mask_nats_url("tok@h:4222"), "***@h:4222");
        assert_eq!(
            mask_nats_url("nats://h1,tls://u:p@h2"),
            "nats://h1,tls://u:***@h2"
        );
    }

    #[test]
    fn credentials_in_the_url_are_taken_and_decoded() {
        let servers = parse_servers("nats://al%40ce:p%3Aw@h:4222").unwrap();
        match url_auth(&servers) {
            AuthOption::UserPassword(u, p) => {
                assert_eq!((u.as_str(), p.as_str()), ("al@ce", "p:w"))
            }
            _ => panic!("expected a user and password"),
        }
        let servers = parse_servers("h1:4222,tls://tok@h2").unwrap();
        assert!(matches!(url_auth(&servers), AuthOption::Token(t) if t == "tok"));
        assert!(matches!(
            url_auth(&parse_servers("h").unwrap()),
            AuthOption::None
        ));
    }

    #[test]
    fn urls_parse_or_fail_naming_the_key() {
        assert_eq!(parse_servers("nats://127.0.0.1:4222").unwrap().len(), 1);
        assert_eq!(parse_servers("127.0.0.1:4222, tls://h:1").unwrap().len(), 2);
        for bad in ["", "http://h:4222", "nats://", "nats://h:99999", "ws://h"] {
            let err = parse_servers(bad).unwrap_err().to_string();
            assert!(err.starts_with("invalid url"), "{bad:?}: {err}");
        }
    }
}
