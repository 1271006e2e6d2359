//! Keeping secrets out of errors and printouts: values of keys whose name
//! says secret are replaced whole, and passwords inside URLs and DSNs are
//! replaced wherever they appear.

/// Parts of a key name that mark its value as a secret.
const SECRET_WORDS: [&str; 10] = [
    "password",
    "passwd",
    "secret",
    "token",
    "dsn",
    "api_key",
    "apikey",
    "private_key",
    "credential",
    "auth",
];

/// `true` when a key (path or variable name) names a secret.
pub(crate) fn is_secret_name(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| k.contains(w))
}

/// The value as it may be printed: `***` for a secret key, else with any
/// URL password (`scheme://user:***@host`) and `password=***` masked.
pub(crate) fn mask_value(key: &str, value: &str) -> String {
    if is_secret_name(key) {
        return "***".to_owned();
    }
    mask_inline(value)
}

/// Masks passwords embedded in free text.
pub(crate) fn mask_inline(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail.find(['/', ' ', '?', '#']).unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                match userinfo.find(':') {
                    Some(colon) => {
                        out.push_str(&userinfo[..colon]);
                        out.push_str(":***");
                    }
                    None => out.push_str(userinfo),
                }
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    mask_pairs(&out)
}

/// `password=…` (libpq key/value DSNs, query strings) → `password=***`.
fn mask_pairs(value: &str) -> String {
    let lower = value.to_ascii_lowercase();
    let mut out = String::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        let hit = ["password=", "pwd=", "token=", "secret="]
            .iter()
            .filter_map(|w| lower[i..].find(w).map(|p| (p + i, w.len())))
            .min();
        match hit {
            Some((p, len)) => {
                out.push_str(&value[i..p + len]);
                out.push_str("***");
                let after = p + len;
                let end = value[after..]
                    .find([' ', '&', ';', '\n'])
                    .map_or(value.len(), |e| after + e);
                i = end;
            }
            None => {
                out.push_str(&value[i..]);
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_urls_pairs_and_secret_keys() {
        assert_eq!(
            mask_inline("postgres://app:hunter2@db:5432/logs"),
            "postgres://app:***@db:5432/logs"
        );
        assert_eq!(
            mask_inline("host=db user=app password=hunter2 dbname=x"),
            "host=db user=app password=*** dbname=x"
        );
        assert_eq!(
            mask_inline("https://x/y?token=abc&z=1"),
            "https://x/y?token=***&z=1"
        );
        assert_eq!(mask_value("FAPILOG_LOKI__AUTH_TOKEN", "abc"), "***");
        assert_eq!(mask_value("core.sinks", "stdout"), "stdout");
        assert_eq!(mask_inline("http://user@host/"), "http://user@host/");
    }
}
