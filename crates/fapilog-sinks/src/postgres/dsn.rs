//! Connection strings: libpq's URL and `key=value` forms, read by
//! tokio-postgres, except `sslmode` (tokio-postgres lacks `verify-ca` and
//! `verify-full`) and `sslrootcert`, which the sink handles itself.

use tokio_postgres::Config;

use super::tls::SslMode;
use crate::config::{mask_url_password, ConfigError};

/// A parsed connection string.
pub(crate) struct Dsn {
    pub(crate) config: Config,
    pub(crate) ssl: Option<SslMode>,
    pub(crate) root_cert: Option<String>,
}

/// What a connection string looks like.
const EXPECTED: &str = "a PostgreSQL connection string: postgres://user@host:5432/db or \
                        host=… port=… dbname=… user=… (sslmode=disable|prefer|require|verify-ca|verify-full)";

/// Parses `dsn`; errors name `key` and show the string with its password
/// masked.
pub(crate) fn parse(key: &str, dsn: &str) -> Result<Dsn, ConfigError> {
    let bad = || ConfigError::Invalid {
        key: key.to_owned(),
        value: masked(dsn),
        expected: EXPECTED.to_owned(),
    };
    let is_url = dsn.starts_with("postgres://") || dsn.starts_with("postgresql://");
    let (rest, pairs) = if is_url {
        split_url(dsn)
    } else {
        split_kv(dsn)
    };
    let mut ssl = None;
    let mut root_cert = None;
    for (k, v) in pairs {
        match k.as_str() {
            "sslmode" => {
                ssl = Some(SslMode::parse(key, &v).map_err(|_| ConfigError::Invalid {
                    key: format!("{key} (sslmode)"),
                    value: v.clone(),
                    expected: "disable, prefer, require, verify-ca or verify-full".to_owned(),
                })?)
            }
            _ => root_cert = Some(v),
        }
    }
    let config: Config = rest.parse().map_err(|_| bad())?;
    if config.get_hosts().is_empty() {
        return Err(ConfigError::Invalid {
            key: key.to_owned(),
            value: masked(dsn),
            expected: format!("a host: {EXPECTED}"),
        });
    }
    Ok(Dsn {
        config,
        ssl,
        root_cert,
    })
}

/// The connection string with its password replaced by `***`.
pub(crate) fn masked(dsn: &str) -> String {
    if dsn.contains("://") {
        return mask_url_password(dsn);
    }
    // States: after `password` (wanting `=`), after `password =` (the
    // value is next).
    let (mut want_eq, mut hide) = (false, false);
    let mut out = Vec::new();
    for token in tokens(dsn) {
        if hide {
            out.push("***".to_owned());
            hide = false;
        } else if want_eq {
            want_eq = false;
            if token == "=" {
                out.push(token);
                hide = true;
            } else if token.starts_with('=') {
                out.push("=***".to_owned());
            } else {
                out.push(token);
            }
        } else if token == "password" {
            out.push(token);
            want_eq = true;
        } else if token == "password=" {
            out.push(token);
            hide = true;
        } else if token.starts_with("password=") {
            out.push("password=***".to_owned());
        } else {
            out.push(token);
        }
    }
    out.join(" ")
}

/// Whitespace-separated tokens, keeping single-quoted values whole.
fn tokens(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if quoted => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            '\'' => {
                quoted = !quoted;
                cur.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Takes `sslmode` and `sslrootcert` out of a `key=value` string.
fn split_kv(dsn: &str) -> (String, Vec<(String, String)>) {
    let mut kept = Vec::new();
    let mut taken = Vec::new();
    for token in tokens(dsn) {
        match token.split_once('=') {
            Some((k, v)) if k == "sslmode" || k == "sslrootcert" => {
                taken.push((k.to_owned(), v.trim_matches('\'').to_owned()))
            }
            _ => kept.push(token),
        }
    }
    (kept.join(" "), taken)
}

/// Takes `sslmode` and `sslrootcert` out of a URL's query.
fn split_url(dsn: &str) -> (String, Vec<(String, String)>) {
    let Some((base, query)) = dsn.split_once('?') else {
        return (dsn.to_owned(), Vec::new());
    };
    let mut kept = Vec::new();
    let mut taken = Vec::new();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some((k, v)) if k == "sslmode" || k == "sslrootcert" => {
                taken.push((k.to_owned(), v.to_owned()))
            }
            _ => kept.push(pair),
        }
    }
    if kept.is_empty() {
        (base.to_owned(), taken)
    } else {
        (format!("{base}?{}", kept.join("&")), taken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked_in_both_forms() {
        assert_eq!(
            masked("host=db user=app password=hunter2 dbname=logs"),
            "host=db user=app password=*** dbname=logs"
        );
        assert_eq!(
            masked("host=db password = 'hunter 2' dbname=logs"),
            "host=db password = *** dbname=logs"
        );
        assert_eq!(
            masked("postgres://app:hunter2@db:5432/logs"),
            "postgres://app:***@db:5432/logs"
        );
    }

    #[test]
    fn verify_modes_and_root_cert_are_read_here() {
        let d = parse(
            "dsn",
            "host=localhost user=postgres sslmode=verify-full sslrootcert=/tmp/ca.pem",
        )
        .unwrap();
        assert_eq!(d.ssl, Some(SslMode::VerifyFull));
        assert_eq!(d.root_cert.as_deref(), Some("/tmp/ca.pem"));
        let d = parse(
            "dsn",
            "postgresql://u@h:5433/db?sslmode=verify-ca&application_name=x",
        )
        .unwrap();
        assert_eq!(d.ssl, Some(SslMode::VerifyCa));
        assert_eq!(d.config.get_ports(), &[5433]);
    }

    #[test]
    fn a_bad_string_names_the_key_and_masks_the_password() {
        let e = parse("dsn", "postgres://u:hunter2@h:notaport/db")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("dsn") && e.contains("u:***@h"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        let e = parse("dsn", "host=h sslmode=sometimes")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("sometimes"), "{e}");
    }
}
