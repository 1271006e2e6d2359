//! [`SyslogSinkBuilder`]: the sink's options, validated by `build`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;

use super::format::{is_printable, sanitize, Formatter};
use super::options::{Facility, Framing, MessageBody, SyslogTransport};
use super::SyslogSink;
use crate::adapter::Adapter;
use crate::config::ConfigError;

/// The IANA private enterprise number fapilog's structured data uses by
/// default (the one RFC 5424's examples use), in `fapilog@32473`.
pub const DEFAULT_SD_ID: &str = "fapilog@32473";

/// The largest UDP payload over IPv4.
const MAX_DATAGRAM: usize = 65_507;
/// The largest message on a stream (what a receiver can be set to take).
const MAX_STREAM_MESSAGE: usize = 1 << 20;

/// Options of a [`SyslogSink`]; [`build`](SyslogSinkBuilder::build)
/// validates them. Start from [`SyslogSink::builder`].
#[must_use]
pub struct SyslogSinkBuilder {
    transport: SyslogTransport,
    address: String,
    name: String,
    facility: Facility,
    framing: Framing,
    hostname: Option<String>,
    app_name: Option<String>,
    msg_id: Option<String>,
    sd_id: Option<String>,
    body: MessageBody,
    max_message_bytes: Option<usize>,
    max_request_bytes: usize,
    timeout: Duration,
    ca_file: Option<PathBuf>,
    server_name: Option<String>,
}

impl std::fmt::Debug for SyslogSinkBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyslogSinkBuilder")
            .field("transport", &self.transport)
            .field("address", &mask_userinfo(&self.address))
            .field("name", &self.name)
            .field("facility", &self.facility)
            .field("framing", &self.framing)
            .field("hostname", &self.hostname)
            .field("app_name", &self.app_name)
            .field("msg_id", &self.msg_id)
            .field("sd_id", &self.sd_id)
            .field("body", &self.body)
            .field("max_message_bytes", &self.max_message_bytes)
            .field("max_request_bytes", &self.max_request_bytes)
            .field("timeout", &self.timeout)
            .field("ca_file", &self.ca_file)
            .field("tls_server_name", &self.server_name)
            .finish()
    }
}

/// `***@host:port` for an address with credentials (which syslog has no
/// place for, so they are refused, but never echoed).
fn mask_userinfo(address: &str) -> String {
    match address.rfind('@') {
        Some(at) => format!("***{}", &address[at..]),
        None => address.to_owned(),
    }
}

impl SyslogSinkBuilder {
    pub(crate) fn new(transport: SyslogTransport, address: String) -> SyslogSinkBuilder {
        SyslogSinkBuilder {
            transport,
            address,
            name: "syslog".to_owned(),
            facility: Facility::default(),
            framing: Framing::default(),
            hostname: None,
            app_name: None,
            msg_id: None,
            sd_id: Some(DEFAULT_SD_ID.to_owned()),
            body: MessageBody::default(),
            max_message_bytes: None,
            max_request_bytes: 256 * 1024,
            timeout: Duration::from_secs(10),
            ca_file: None,
            server_name: None,
        }
    }

    /// The sink's name in metrics and diagnostics (default `"syslog"`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The facility of every message (default [`Facility::User`]).
    pub fn facility(mut self, facility: Facility) -> Self {
        self.facility = facility;
        self
    }

    /// The framing on TCP and TLS (default [`Framing::OctetCounting`]);
    /// ignored on UDP.
    pub fn framing(mut self, framing: Framing) -> Self {
        self.framing = framing;
        self
    }

    /// HOSTNAME: up to 255 printable ASCII characters (default the
    /// machine's host name, `-` when unknown).
    pub fn hostname(mut self, hostname: impl Into<String>) -> Self {
        self.hostname = Some(hostname.into());
        self
    }

    /// APP-NAME: up to 48 printable ASCII characters (default the
    /// executable's file name).
    pub fn app_name(mut self, app_name: impl Into<String>) -> Self {
        self.app_name = Some(app_name.into());
        self
    }

    /// MSGID: up to 32 printable ASCII characters (default `-`, nil).
    pub fn msg_id(mut self, msg_id: impl Into<String>) -> Self {
        self.msg_id = Some(msg_id.into());
        self
    }

    /// The SD-ID of the structured data element carrying `message_id`,
    /// `logger`, `level` and the context's `correlation_id`,
    /// `request_id`, `trace_id`, `span_id` when set (default
    /// [`DEFAULT_SD_ID`]). Up to 32 printable ASCII characters, none of
    /// `=`, `]`, `"`; a name without `@` must be registered with IANA.
    pub fn sd_id(mut self, sd_id: impl Into<String>) -> Self {
        self.sd_id = Some(sd_id.into());
        self
    }

    /// No structured data (`-`).
    pub fn without_structured_data(mut self) -> Self {
        self.sd_id = None;
        self
    }

    /// What MSG carries (default [`MessageBody::Envelope`]).
    pub fn message_body(mut self, body: MessageBody) -> Self {
        self.body = body;
        self
    }

    /// Largest message in bytes, framing excluded (default 2048 on UDP,
    /// 8192 on TCP and TLS; at least 480, at most 65,507 on UDP and 1 MiB
    /// on streams). A longer message is cut at a UTF-8 character boundary.
    pub fn max_message_bytes(mut self, bytes: usize) -> Self {
        self.max_message_bytes = Some(bytes);
        self
    }

    /// Most bytes of framed messages written in one request on TCP and TLS
    /// (default 256 KiB; a single larger message gets a request of its
    /// own). A request is the unit resent after a connection error.
    pub fn max_request_bytes(mut self, bytes: usize) -> Self {
        self.max_request_bytes = bytes;
        self
    }

    /// Longest one request (connecting included) may take before it
    /// counts as a transient failure (default 10 s). At shutdown it also
    /// bounds the close: the sink ends its side of a TCP or TLS connection
    /// and waits for the receiver to close its own, which tells that the
    /// receiver has read every request.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// A PEM file of the CA certificates that sign the receiver's
    /// certificate (a private CA); instead of the Mozilla roots of
    /// `webpki-roots`. TLS only.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// The name the receiver's certificate must carry (and sent as SNI;
    /// default the address's host). TLS only.
    pub fn tls_server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// Validates the options; the receiver is not contacted (the first
    /// send connects, so a receiver that is down at start delays delivery
    /// and never fails the build).
    pub fn build(self) -> Result<Adapter<SyslogSink>, ConfigError> {
        let host = split_host_port(&self.address)?;
        let header = |key: &str, value: Option<String>, max: usize, default: String| match value {
            None => Ok(default),
            Some(v) if is_printable(&v, max) => Ok(v),
            Some(v) => Err(ConfigError::invalid(
                key,
                &v,
                &format!("1 to {max} printable ASCII characters (33-126), no space"),
            )),
        };
        let hostname = header("hostname", self.hostname, 255, default_hostname())?;
        let app_name = header("app_name", self.app_name, 48, default_app_name())?;
        let msg_id = header("msg_id", self.msg_id, 32, "-".to_owned())?;
        let sd_id = match self.sd_id {
            Some(id) if !is_printable(&id, 32) || id.contains(['=', ']', '"']) => {
                return Err(ConfigError::invalid(
                    "sd_id",
                    &id,
                    "1 to 32 printable ASCII characters without space, '=', ']' or '\"' (e.g. name@32473)",
                ))
            }
            other => other,
        };
        let max_cap = match self.transport {
            SyslogTransport::Udp => MAX_DATAGRAM,
            _ => MAX_STREAM_MESSAGE,
        };
        let max_message = self
            .max_message_bytes
            .unwrap_or_else(|| self.transport.default_max_message());
        if !(480..=max_cap).contains(&max_message) {
            return Err(ConfigError::invalid(
                "max_message_bytes",
                &max_message.to_string(),
                &format!("480 to {max_cap} bytes on {:?}", self.transport),
            ));
        }
        if self.max_request_bytes == 0 {
            return Err(ConfigError::invalid(
                "max_request_bytes",
                "0",
                "a positive number of bytes",
            ));
        }
        if self.timeout.is_zero() {
            return Err(ConfigError::invalid("timeout", "0s", "a positive duration"));
        }
        let tls = match self.transport {
            SyslogTransport::Tls => {
                let name_text = self.server_name.as_deref().unwrap_or(host);
                let name = ServerName::try_from(name_text.to_owned()).map_err(|_| {
                    ConfigError::invalid(
                        "tls_server_name",
                        name_text,
                        "a DNS name or an IP address",
                    )
                })?;
                let config = crate::tls::client_config(self.ca_file.as_deref())?;
                Some((Arc::new(config), name))
            }
            _ => None,
        };
        let formatter = Formatter {
            facility: self.facility,
            hostname,
            app_name,
            procid: std::process::id().to_string(),
            msg_id,
            sd_id,
            body: self.body,
            max_message,
            framing: match self.transport {
                SyslogTransport::Udp => None,
                _ => Some(self.framing),
            },
        };
        Ok(Adapter::new(SyslogSink::new(
            self.name,
            self.transport,
            self.address,
            formatter,
            self.max_request_bytes,
            self.timeout,
            tls,
        )))
    }
}

/// The host of `host:port` (`[v6]:port` too); the port must be 1–65535.
fn split_host_port(address: &str) -> Result<&str, ConfigError> {
    let bad = || {
        ConfigError::invalid(
            "address",
            &mask_userinfo(address),
            "host:port (e.g. 127.0.0.1:514, logs.example.com:6514, [::1]:514)",
        )
    };
    let (host, port) = address.rsplit_once(':').ok_or_else(bad)?;
    let host = match host.strip_prefix('[') {
        Some(h) => h.strip_suffix(']').ok_or_else(bad)?,
        None if host.contains(':') => return Err(bad()),
        None => host,
    };
    if host.is_empty() || host.contains(['/', ' ', '@']) {
        return Err(bad());
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(host),
        _ => Err(bad()),
    }
}

/// The machine's host name, as a header field.
fn default_hostname() -> String {
    crate::civil::host_name()
        .map(|h| sanitize(&h, 255))
        .unwrap_or_else(|| "-".to_owned())
}

/// The executable's file name, as a header field.
fn default_app_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map(|s| sanitize(&s, 48))
        .unwrap_or_else(|| "-".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_need_a_host_and_a_port() {
        assert_eq!(split_host_port("127.0.0.1:514").unwrap(), "127.0.0.1");
        assert_eq!(split_host_port("[::1]:6514").unwrap(), "::1");
        assert_eq!(
            split_host_port("logs.example.com:1").unwrap(),
            "logs.example.com"
        );
        for bad in [
            "",
            "host",
            "host:",
            ":514",
            "host:0",
            "host:70000",
            "::1:514",
            "tcp://h:514",
        ] {
            let err = split_host_port(bad).unwrap_err().to_string();
            assert!(err.contains("address") && err.contains(bad), "{bad}: {err}");
        }
    }
}
