//! URL credentials: strips `user:password@` and masks secret query
//! parameters in URLs anywhere in the event's strings.

use crate::config_serde::settings_serde;

use super::keys::normalize;
use super::walk;
use crate::envelope::Event;
use crate::stages::runtime::{self, Counter};
use crate::stages::{Redactor, StageError};
use crate::value::Text;

/// Query parameters masked by default (compared case-insensitively, `-` = `_`).
pub const DEFAULT_SECRET_PARAMS: [&str; 22] = [
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "auth",
    "auth_token",
    "authorization",
    "api_key",
    "apikey",
    "key",
    "secret",
    "client_secret",
    "password",
    "passwd",
    "pwd",
    "signature",
    "sig",
    "x_amz_signature",
    "x_amz_credential",
    "x_amz_security_token",
    "session_id",
    "sessionid",
];

/// Settings of the `url_credentials` redactor (`redactor_config.url_credentials`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct UrlCredentialsConfig {
    /// Longest string scanned; a longer string that may hold a URL (it has
    /// a `//`) is masked whole, since it was not inspected (fail closed;
    /// unset: every string is scanned, unlike fapilog's 4096).
    pub max_string_length: Option<usize>,
    /// Query parameters whose values are masked.
    pub secret_params: Vec<String>,
    /// The replacement for a parameter's value (`***`).
    pub mask_string: String,
}

settings_serde!(UrlCredentialsConfig {
    max_string_length,
    secret_params,
    mask_string
});

impl Default for UrlCredentialsConfig {
    fn default() -> Self {
        UrlCredentialsConfig {
            max_string_length: None,
            secret_params: DEFAULT_SECRET_PARAMS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            mask_string: "***".to_owned(),
        }
    }
}

/// Removes the userinfo of every `scheme://user:pass@host` URL (as fapilog
/// does: removed, not masked) and masks the values of secret parameters in
/// the query and the fragment, in URLs anywhere inside any string, the
/// message included.
pub struct UrlCredentials {
    max_len: usize,
    params: Vec<String>,
    mask: String,
}

impl Default for UrlCredentials {
    fn default() -> Self {
        UrlCredentials::from_config(&UrlCredentialsConfig::default())
    }
}

fn url_char(b: u8) -> bool {
    !(b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'<' | b'>' | b'`' | b'\\'))
}

fn scheme_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-')
}

/// The next `//` at or after `from` (a plain loop: strings are short, and
/// most have no `/` at all).
#[inline]
fn find_slashes(b: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i + 1 < b.len() {
        if b[i] == b'/' {
            if b[i + 1] == b'/' {
                return Some(i);
            }
            i += 2;
            continue;
        }
        i += 1;
    }
    None
}

impl UrlCredentials {
    /// From its settings.
    pub fn from_config(c: &UrlCredentialsConfig) -> UrlCredentials {
        UrlCredentials {
            max_len: c.max_string_length.unwrap_or(usize::MAX),
            params: c.secret_params.iter().map(|p| normalize(p)).collect(),
            mask: c.mask_string.clone(),
        }
    }

    fn secret_param(&self, name: &str) -> bool {
        self.params.iter().any(|p| {
            p.len() == name.len()
                && p.bytes().zip(name.bytes()).all(|(a, b)| {
                    let b = if b == b'-' {
                        b'_'
                    } else {
                        b.to_ascii_lowercase()
                    };
                    a == b
                })
        })
    }

    /// Cleans `s`; `None` when it held no credentials (no allocation).
    pub fn clean(&self, s: &str) -> Option<String> {
        let mut n = 0;
        self.clean_counted(s, &mut n)
    }

    fn clean_counted(&self, s: &str, n: &mut u64) -> Option<String> {
        if s.len() > self.max_len {
            if find_slashes(s.as_bytes(), 0).is_none() || s == self.mask {
                return None;
            }
            *n += 1;
            return Some(self.mask.clone());
        }
        let b = s.as_bytes();
        let mut out: Option<String> = None;
        let mut copied = 0;
        let mut from = 0;
        while let Some(sep) = find_slashes(b, from) {
            // `scheme://` or a string starting with `//`.
            if sep >= 1 && b[sep - 1] == b':' {
                if sep < 2 || !scheme_char(b[sep - 2]) {
                    from = sep + 2;
                    continue;
                }
            } else if sep != 0 {
                from = sep + 2;
                continue;
            }
            let auth_start = sep + 2;
            let mut end = auth_start;
            while end < b.len() && url_char(b[end]) {
                end += 1;
            }
            let url = &s[auth_start..end];
            let auth_len = url.find(['/', '?', '#']).unwrap_or(url.len());
            let authority = &url[..auth_len];
            let mut edits: Vec<(usize, usize, &str)> = Vec::new();
            if let Some(at) = authority.rfind('@') {
                edits.push((auth_start, auth_start + at + 1, ""));
            }
            // The query, and the fragment (OAuth's implicit flow puts
            // `access_token=…` there): `&`-separated `name=value` pairs.
            let hash = url.find('#').map_or(end, |h| auth_start + h);
            let query = url[..hash - auth_start]
                .find('?')
                .map(|q| (auth_start + q + 1, hash));
            let fragment = (hash < end).then_some((hash + 1, end));
            for (from_, to) in [query, fragment].into_iter().flatten() {
                let mut p = from_;
                for pair in s[from_..to].split('&') {
                    if let Some(eq) = pair.find('=') {
                        let v_start = p + eq + 1;
                        let v_end = p + pair.len();
                        if v_end > v_start
                            && &s[v_start..v_end] != self.mask.as_str()
                            && self.secret_param(&pair[..eq])
                        {
                            edits.push((v_start, v_end, self.mask.as_str()));
                        }
                    }
                    p += pair.len() + 1;
                }
            }
            for (a, z, with) in edits {
                let o = out.get_or_insert_with(|| String::with_capacity(s.len()));
                o.push_str(&s[copied..a]);
                o.push_str(with);
                copied = z;
                *n += 1;
            }
            from = end.max(sep + 2);
        }
        let mut o = out?;
        o.push_str(&s[copied..]);
        Some(o)
    }
}

impl Redactor for UrlCredentials {
    fn name(&self) -> &str {
        "url_credentials"
    }

    fn leaves_unchanged(&self, text: &str) -> bool {
        // Every URL it edits has a `//`.
        find_slashes(text.as_bytes(), 0).is_none()
    }

    fn redact(&self, event: &mut Event<'_>) -> Result<(), StageError> {
        let n = walk::each_string(event, &mut |t: &mut Text<'_>| {
            let mut n = 0;
            if let Some(new) = self.clean_counted(t.as_str(), &mut n) {
                *t = Text::Owned(new);
            }
            n
        });
        runtime::count(Counter::RedactedFields, n);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_userinfo_and_secret_params() {
        let u = UrlCredentials::default();
        assert_eq!(
            u.clean("see https://bob:pw@example.com/x?a=1&token=abc#f and more")
                .unwrap(),
            "see https://example.com/x?a=1&token=***#f and more"
        );
        assert_eq!(
            u.clean("postgres://u:p@db:5432/app").unwrap(),
            "postgres://db:5432/app"
        );
        assert_eq!(u.clean("//u:p@h/p").unwrap(), "//h/p");
        assert_eq!(
            u.clean("https://app/cb#access_token=XYZ&token_type=bearer")
                .unwrap(),
            "https://app/cb#access_token=***&token_type=bearer"
        );
        assert_eq!(
            u.clean("https://h/p?x=1#sig=S&k=v?key=K").unwrap(),
            "https://h/p?x=1#sig=***&k=v?key=K"
        );
        assert!(u.clean("https://example.com/a?b=c").is_none());
        assert!(u.clean("a // b").is_none());
        assert!(u.clean("plain").is_none());
    }
}
