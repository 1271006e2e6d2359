//! Hand-written scanners for what secrets and personal data look like
//! inside a string. Each one is called only when the one-pass pre-scan
//! ([`super::patterns::Triggers`]) saw its trigger byte, runs in linear
//! time, allocates nothing and reports byte ranges to mask (always cut at
//! ASCII bytes, so at `char` boundaries).
//!
//! The rules are documented in `docs/redaction.md`; the fuzz targets
//! `redact_url` and `redact_assignments` run them on arbitrary input.

use smallvec::SmallVec;

/// Byte ranges to mask, in the order found.
pub(crate) type Ranges = SmallVec<[(usize, usize); 4]>;

#[inline]
fn alnum(c: u8) -> bool {
    c.is_ascii_alphanumeric()
}

/// `true` when no letter or digit precedes `i`.
#[inline]
fn starts_word(b: &[u8], i: usize) -> bool {
    i == 0 || !alnum(b[i - 1])
}

/// `true` when no letter or digit follows (at) `j`.
#[inline]
fn ends_word(b: &[u8], j: usize) -> bool {
    j >= b.len() || !alnum(b[j])
}

/// The end of the run of bytes from `i` that satisfy `f`.
#[inline]
fn run(b: &[u8], i: usize, f: impl Fn(u8) -> bool) -> usize {
    let mut j = i;
    while j < b.len() && f(b[j]) {
        j += 1;
    }
    j
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from >= hay.len() || needle.is_empty() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

fn b64url(c: u8) -> bool {
    alnum(c) || c == b'-' || c == b'_'
}

// ---------------------------------------------------------------- PEM

/// `-----BEGIN … PRIVATE KEY-----` through its `-----END …-----` line (or
/// the end of the string when the block is cut off).
pub(crate) fn private_keys(b: &[u8], out: &mut Ranges) {
    let mut from = 0;
    while let Some(p) = find(b, b"-----BEGIN", from) {
        let head = p + 10;
        let Some(close) = find(&b[..b.len().min(head + 120)], b"-----", head) else {
            from = head;
            continue;
        };
        if find(&b[head..close], b"PRIVATE KEY", 0).is_none() {
            from = head;
            continue;
        }
        let end = match find(b, b"-----END", close + 5) {
            Some(e) => find(b, b"-----", e + 8).map_or(b.len(), |c| c + 5),
            None => b.len(),
        };
        out.push((p, end));
        from = end;
    }
}

// ---------------------------------------------------------------- tokens

/// JSON Web Tokens: `eyJ…` `.` `ey…` `.` signature (each part base64url,
/// the first two at least 10 bytes).
pub(crate) fn jwts(b: &[u8], out: &mut Ranges) {
    let mut from = 0;
    while let Some(p) = find(b, b"eyJ", from) {
        from = p + 3;
        if p > 0 && b64url(b[p - 1]) {
            continue;
        }
        let e1 = run(b, p, b64url);
        if e1 - p < 10 || b.get(e1) != Some(&b'.') || !b[e1 + 1..].starts_with(b"ey") {
            continue;
        }
        let e2 = run(b, e1 + 1, b64url);
        if e2 - e1 - 1 < 10 {
            continue;
        }
        let mut end = e2;
        if b.get(e2) == Some(&b'.') {
            end = run(b, e2 + 1, b64url);
            end = run(b, end, |c| c == b'=');
        }
        out.push((p, end));
        from = end;
    }
}

const AWS_PREFIXES: [&[u8; 4]; 10] = [
    b"AKIA", b"ASIA", b"ABIA", b"ACCA", b"AGPA", b"AIDA", b"AROA", b"AIPA", b"ANPA", b"ANVA",
];

/// AWS access key ids: a known 4-letter prefix (or `A3T` + one) and 16
/// upper-case letters or digits, as a whole word.
pub(crate) fn aws_key_ids(b: &[u8], out: &mut Ranges) {
    let mut i = 0;
    while i + 20 <= b.len() {
        if b[i] == b'A' && starts_word(b, i) {
            let pre = &b[i..i + 4];
            let known = AWS_PREFIXES.iter().any(|p| &p[..] == pre)
                || (pre.starts_with(b"A3T")
                    && (pre[3].is_ascii_uppercase() || pre[3].is_ascii_digit()));
            if known {
                let end = run(b, i + 4, |c| c.is_ascii_uppercase() || c.is_ascii_digit());
                if end - i == 20 && ends_word(b, end) {
                    out.push((i, end));
                    i = end;
                    continue;
                }
            }
        }
        i += 1;
    }
}

const GITHUB: [(&[u8], usize); 6] = [
    (b"ghp_", 30),
    (b"gho_", 30),
    (b"ghu_", 30),
    (b"ghs_", 30),
    (b"ghr_", 30),
    (b"github_pat_", 22),
];

const GITLAB: [&[u8]; 8] = [
    b"glpat-", b"glptt-", b"gldt-", b"glrt-", b"glcbt-", b"gloas-", b"glsoat-", b"glimt-",
];

/// GitHub (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`, `github_pat_`) and
/// GitLab (`glpat-`, `gldt-`, `glrt-`, …) tokens, wherever they start
/// (the prefixes are distinctive enough).
pub(crate) fn git_tokens(b: &[u8], out: &mut Ranges) {
    let mut i = 0;
    while i + 4 < b.len() {
        if b[i] == b'g' {
            let rest = &b[i..];
            let mut hit = None;
            for (p, min) in GITHUB {
                if rest.starts_with(p) {
                    let end = run(b, i + p.len(), |c| alnum(c) || c == b'_');
                    if end - i - p.len() >= min {
                        hit = Some(end);
                    }
                }
            }
            for p in GITLAB {
                if rest.starts_with(p) {
                    let end = run(b, i + p.len(), b64url);
                    if end - i - p.len() >= 20 {
                        hit = Some(end);
                    }
                }
            }
            if let Some(end) = hit {
                out.push((i, end));
                i = end;
                continue;
            }
        }
        i += 1;
    }
}

/// Slack tokens (`xoxb-`, `xoxp-`, `xoxa-`, `xoxe-`, `xoxo-`, `xoxr-`,
/// `xoxs-`, `xapp-`) with at least 10 more bytes.
pub(crate) fn slack_tokens(b: &[u8], out: &mut Ranges) {
    let mut from = 0;
    while let Some(p) = find(b, b"x", from) {
        from = p + 1;
        let rest = &b[p..];
        let slack = (rest.len() > 5
            && rest.starts_with(b"xox")
            && b"abposre".contains(&rest[3])
            && rest[4] == b'-')
            || rest.starts_with(b"xapp-");
        if !slack {
            continue;
        }
        let start = p + 5;
        let end = run(b, start, |c| alnum(c) || c == b'-');
        if end - start >= 10 {
            out.push((p, end));
            from = end;
        }
    }
}

fn token_char(c: u8) -> bool {
    alnum(c) || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
}

/// `Bearer <token>` and `Basic <base64 of user:password>` (either case):
/// the credential is masked, the scheme word kept. A bearer token needs 8
/// bytes and a digit or punctuation (so `Bearer authentication` stays); a
/// basic credential must decode to `user:password`.
pub(crate) fn auth_schemes(b: &[u8], out: &mut Ranges) {
    let mut i = 0;
    while i + 7 < b.len() {
        let c = b[i] | 0x20;
        if c == b'b' && starts_word(b, i) {
            let bearer = b[i..i + 6].eq_ignore_ascii_case(b"bearer");
            let basic = !bearer && b[i..i + 5].eq_ignore_ascii_case(b"basic");
            if bearer || basic {
                let w = i + if bearer { 6 } else { 5 };
                let t = run(b, w, |c| c == b' ' || c == b'\t');
                if t > w {
                    let mut end = run(b, t, token_char);
                    end = run(b, end, |c| c == b'=');
                    let tok = &b[t..end];
                    let ok = if bearer {
                        tok.len() >= 8
                            && tok
                                .iter()
                                .any(|c| c.is_ascii_digit() || !c.is_ascii_alphabetic())
                    } else {
                        basic_credential(tok)
                    };
                    if ok {
                        out.push((t, end));
                        i = end;
                        continue;
                    }
                }
            }
        }
        i += 1;
    }
}

/// `true` when `tok` is base64 whose decoding holds a `:` (user:password).
fn basic_credential(tok: &[u8]) -> bool {
    if tok.len() < 4 {
        return false;
    }
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &c in tok {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => return false,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            if (acc >> bits) & 0xff == u32::from(b':') {
                return true;
            }
        }
    }
    false
}

// ---------------------------------------------------------------- key = value

/// `true` when a key names a credential: one of the words `password`,
/// `passwd`, `passphrase`, `secret`, `credential`, `apikey`, `api_key`,
/// `privatekey`, `private_key`, `accesstoken`, `refreshtoken`, `authtoken`,
/// `sessionid`, `authorization` or `bearer` anywhere in it, or a last word
/// `token`, `pwd`, `pass`, `jwt`, `otp`, `totp`, `cookie`, `session`,
/// `sig`, `signature`, `auth`, `credentials`, or `key` after `api`,
/// `private`, `secret`, `access`, `signing`, `encryption`, `session`,
/// `master`, `client`, `license`, `app`, `account`, `subscription`,
/// `shared`, or `id` after `session`. Words are separated by `_`, `-`,
/// `.`, spaces or a lower-to-upper case change (`accessToken`). Counts such
/// as `max_tokens` or `token_count` are not credentials.
pub fn is_credential_key(key: &str) -> bool {
    is_credential_key_bytes(key.as_bytes())
}

const KEY_FRAGMENTS: [&[u8]; 15] = [
    b"password",
    b"passwd",
    b"passphrase",
    b"secret",
    b"credential",
    b"apikey",
    b"api_key",
    b"privatekey",
    b"private_key",
    b"accesstoken",
    b"refreshtoken",
    b"authtoken",
    b"sessionid",
    b"authorization",
    b"bearer",
];

const LAST_WORDS: [&[u8]; 13] = [
    b"token",
    b"tokens",
    b"pwd",
    b"pass",
    b"jwt",
    b"otp",
    b"totp",
    b"cookie",
    b"session",
    b"sig",
    b"signature",
    b"auth",
    b"sid",
];

const KEY_QUALIFIERS: [&[u8]; 14] = [
    b"api",
    b"private",
    b"secret",
    b"access",
    b"signing",
    b"encryption",
    b"session",
    b"master",
    b"client",
    b"license",
    b"app",
    b"account",
    b"subscription",
    b"shared",
];

const NOT_SECRET_BEFORE_TOKEN: [&[u8]; 10] = [
    b"max",
    b"min",
    b"input",
    b"output",
    b"total",
    b"num",
    b"prompt",
    b"completion",
    b"used",
    b"next_page",
];

pub(crate) fn is_credential_key_bytes(key: &[u8]) -> bool {
    let mut buf = [0u8; 96];
    let mut n = 0;
    let key = &key[key.len().saturating_sub(64)..];
    for (i, &c) in key.iter().enumerate() {
        if n + 2 > buf.len() {
            break;
        }
        if c.is_ascii_uppercase() && i > 0 && key[i - 1].is_ascii_lowercase() {
            buf[n] = b'_';
            n += 1;
        }
        buf[n] = match c {
            b'-' | b'.' | b' ' => b'_',
            c => c.to_ascii_lowercase(),
        };
        n += 1;
    }
    let k = &buf[..n];
    if KEY_FRAGMENTS.iter().any(|f| find(k, f, 0).is_some()) {
        return true;
    }
    let mut words = k.rsplit(|&c| c == b'_').filter(|w| !w.is_empty());
    let Some(last) = words.next() else {
        return false;
    };
    let prev = words.next();
    if LAST_WORDS.contains(&last) {
        if last.starts_with(b"token") {
            if let Some(p) = prev {
                return !NOT_SECRET_BEFORE_TOKEN.contains(&p);
            }
        }
        return true;
    }
    match (last, prev) {
        (b"key" | b"keys", Some(p)) => KEY_QUALIFIERS.contains(&p),
        (b"id", Some(b"session")) => true,
        (b"credentials", _) => true,
        _ => false,
    }
}

/// Keys whose unquoted value is a whole header line (`Cookie: a=1; b=2`).
fn header_key(k: &[u8]) -> bool {
    [
        &b"cookie"[..],
        b"set-cookie",
        b"authorization",
        b"proxy-authorization",
    ]
    .iter()
    .any(|h| h.eq_ignore_ascii_case(k))
}

fn key_char(c: u8) -> bool {
    alnum(c) || matches!(c, b'_' | b'-' | b'.')
}

/// `true` when a new `key=` or `key:` pair starts at or after `i` (past
/// separators).
fn pair_starts(b: &[u8], i: usize) -> bool {
    let s = run(b, i, |c| matches!(c, b' ' | b'\t' | b',' | b';' | b'&'));
    let mut k = s;
    if b.get(k) == Some(&b'"') || b.get(k) == Some(&b'\'') {
        k += 1;
    }
    let e = run(b, k, key_char);
    if e == k {
        return false;
    }
    let mut j = e;
    if b.get(j) == Some(&b'"') || b.get(j) == Some(&b'\'') {
        j += 1;
    }
    j = run(b, j, |c| c == b' ');
    match b.get(j) {
        Some(b'=') => true,
        Some(b':') => !b[j + 1..].starts_with(b"//"),
        _ => false,
    }
}

/// The end of an unquoted value starting at `v`: the end of the line, the
/// start of the next pair, or a closing bracket the value did not open.
fn unquoted_end(b: &[u8], v: usize) -> usize {
    let mut depth = 0u32;
    let mut j = v;
    while j < b.len() {
        match b[j] {
            b'\n' | b'\r' => return j,
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                if depth == 0 {
                    return j;
                }
                depth -= 1;
            }
            b' ' | b'\t' | b',' | b';' | b'&' if depth == 0 && pair_starts(b, j) => return j,
            _ => {}
        }
        j += 1;
    }
    j
}

/// The end of a quoted value whose opening quote (`q` after `escapes`
/// backslashes: JSON text inside a string, maybe escaped again) ends at
/// `v`; the end of the string when it is never closed.
fn quoted_end(b: &[u8], v: usize, q: u8, escapes: usize) -> usize {
    let mut j = v;
    while j < b.len() {
        if escapes > 0 {
            if b[j] == q {
                let mut n = 0;
                while n < j - v && b[j - 1 - n] == b'\\' {
                    n += 1;
                }
                if n == escapes {
                    return j - n;
                }
            }
        } else {
            if b[j] == b'\\' {
                j += 2;
                continue;
            }
            if b[j] == q {
                return j;
            }
        }
        j += 1;
    }
    b.len()
}

/// The end of a bracketed value (`{…}` or `[…]`) starting at `v`, quotes
/// respected; the end of the string when it is never closed.
fn bracket_end(b: &[u8], v: usize) -> usize {
    let mut depth = 0u32;
    let mut j = v;
    let mut in_str = false;
    while j < b.len() {
        let c = b[j];
        if in_str {
            if c == b'\\' {
                j += 1;
            } else if c == b'"' {
                in_str = false;
            }
        } else {
            match c {
                b'"' => in_str = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return j + 1;
                    }
                }
                _ => {}
            }
        }
        j += 1;
    }
    b.len()
}

/// `key=value`, `key: value` and `"key":"value"` pairs whose key names a
/// credential ([`is_credential_key`]): the value is masked to its end. A
/// quoted value ends at its closing quote (`\"` inside JSON text carried
/// as a string too), a `{…}`/`[…]` value at its closing bracket, and an
/// unquoted value at the end of the line, at a bracket it did not open, or
/// where the next `key=`/`key:` pair starts after a space, `,`, `;` or
/// `&` (so `password=a b;c&d` is masked whole, and `token=x&page=2` keeps
/// `page`). `Cookie`, `Set-Cookie` and `Authorization` values run to the
/// end of the line. Values `***`, `null`, `true` and `false` are left.
pub(crate) fn assignments(b: &[u8], mask: &[u8], out: &mut Ranges) {
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c != b'=' && c != b':' {
            i += 1;
            continue;
        }
        if let Some((v, end)) = assignment_at(b, i, mask) {
            out.push((v, end));
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
}

/// The value range of a credential pair whose separator is at `i`.
fn assignment_at(b: &[u8], i: usize, mask: &[u8]) -> Option<(usize, usize)> {
    let sep = b[i];
    if sep == b':' && b[i + 1..].starts_with(b"//") {
        return None;
    }
    if sep == b'=' && (b.get(i + 1) == Some(&b'=') || (i > 0 && b"=!<>".contains(&b[i - 1]))) {
        return None;
    }
    // The key, backwards: spaces, a closing quote (maybe escaped), the name.
    let mut k = i;
    while k > 0 && b[k - 1] == b' ' {
        k -= 1;
    }
    if k > 0 && (b[k - 1] == b'"' || b[k - 1] == b'\'') {
        k -= 1;
        while k > 0 && b[k - 1] == b'\\' {
            k -= 1;
        }
    }
    let key_end = k;
    while k > 0 && key_char(b[k - 1]) && key_end - k < 64 {
        k -= 1;
    }
    if k == key_end || !is_credential_key_bytes(&b[k..key_end]) {
        return None;
    }
    // The value, forwards.
    let mut v = run(b, i + 1, |c| c == b' ' || c == b'\t');
    let (start, end) = match b.get(v) {
        None => return None,
        Some(&q @ (b'"' | b'\'')) => {
            v += 1;
            (v, quoted_end(b, v, q, 0))
        }
        Some(b'\\') => {
            let n = run(b, v, |c| c == b'\\') - v;
            match b.get(v + n) {
                Some(&q @ (b'"' | b'\'')) => {
                    v += n + 1;
                    (v, quoted_end(b, v, q, n))
                }
                _ => (v, unquoted_end(b, v)),
            }
        }
        // The bracketed part, and whatever sticks to it up to the usual end.
        Some(b'{' | b'[') => (v, unquoted_end(b, bracket_end(b, v))),
        Some(_) if header_key(&b[k..key_end]) => (v, run(b, v, |c| c != b'\n' && c != b'\r')),
        Some(_) => (v, unquoted_end(b, v)),
    };
    let value = &b[start..end];
    let already = value.starts_with(mask)
        && value
            .get(mask.len())
            .is_none_or(|c| !token_char(*c) && *c != b'*');
    if value.is_empty() || already || matches!(value, b"null" | b"true" | b"false" | b"None") {
        return None;
    }
    Some((start, end))
}

// ---------------------------------------------------------------- numbers

/// The digit run from `i`: single spaces or dashes allowed between digits.
/// Returns (end, digit count).
fn digit_run(b: &[u8], i: usize) -> (usize, usize) {
    let mut j = i;
    let mut n = 0;
    while j < b.len() {
        if b[j].is_ascii_digit() {
            n += 1;
            j += 1;
        } else if matches!(b[j], b' ' | b'-')
            && j > i
            && b.get(j + 1).is_some_and(u8::is_ascii_digit)
        {
            j += 1;
        } else {
            break;
        }
    }
    (j, n)
}

/// Payment card numbers: 13 to 19 digits with single spaces or dashes, an
/// issuer's first digit (2 to 6), Luhn-valid, as a whole word.
pub(crate) fn cards(b: &[u8], out: &mut Ranges) {
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() || !starts_word(b, i) {
            i += 1;
            continue;
        }
        let (end, n) = digit_run(b, i);
        if (13..=19).contains(&n)
            && (b'2'..=b'6').contains(&b[i])
            && ends_word(b, end)
            && luhn(&b[i..end])
        {
            out.push((i, end));
        }
        i = end.max(i + 1);
    }
}

/// The Luhn checksum over the digits of `s`.
pub(crate) fn luhn(s: &[u8]) -> bool {
    let mut sum = 0u32;
    let mut n = 0;
    for &c in s.iter().rev() {
        if !c.is_ascii_digit() {
            continue;
        }
        let d = u32::from(c - b'0');
        sum += if n % 2 == 1 {
            if d * 2 > 9 {
                d * 2 - 9
            } else {
                d * 2
            }
        } else {
            d
        };
        n += 1;
    }
    n > 0 && sum % 10 == 0
}

/// US social security numbers `ddd-dd-dddd` (area 001–899 except 666,
/// group 01–99, serial 0001–9999), as a whole word.
pub(crate) fn ssns(b: &[u8], out: &mut Ranges) {
    let mut i = 0;
    while i + 11 <= b.len() {
        let s = &b[i..i + 11];
        let shape = s.iter().enumerate().all(|(k, &c)| match k {
            3 | 6 => c == b'-',
            _ => c.is_ascii_digit(),
        });
        if shape
            && starts_word(b, i)
            && (i == 0 || b[i - 1] != b'-')
            && ends_word(b, i + 11)
            && !(b.get(i + 11) == Some(&b'-') && b.get(i + 12).is_some_and(u8::is_ascii_digit))
        {
            let area = &s[..3];
            if area != b"000"
                && area != b"666"
                && area[0] != b'9'
                && &s[4..6] != b"00"
                && &s[7..] != b"0000"
            {
                out.push((i, i + 11));
                i += 11;
                continue;
            }
        }
        i += 1;
    }
}

fn upper_alnum(c: u8) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit()
}

/// IBANs: country letters, two check digits, 11 to 30 letters or digits,
/// compact or in groups of four, mod-97-valid, as a whole word.
pub(crate) fn ibans(b: &[u8], out: &mut Ranges) {
    let mut i = 0;
    while i + 15 <= b.len() {
        if !(b[i].is_ascii_uppercase()
            && b[i + 1].is_ascii_uppercase()
            && b[i + 2].is_ascii_digit()
            && b[i + 3].is_ascii_digit()
            && starts_word(b, i))
        {
            i += 1;
            continue;
        }
        let first = run(b, i, upper_alnum);
        let end = if first - i >= 15 {
            first
        } else if first - i == 4 {
            let mut e = first;
            loop {
                if b.get(e) != Some(&b' ') {
                    break;
                }
                let g = run(b, e + 1, upper_alnum);
                match g - e - 1 {
                    4 => e = g,
                    1..=3 => {
                        e = g;
                        break;
                    }
                    _ => break,
                }
            }
            e
        } else {
            first
        };
        if ends_word(b, end) && iban_ok(&b[i..end]) {
            out.push((i, end));
            i = end;
            continue;
        }
        i += 1;
    }
}

/// The ISO 7064 mod-97 check of an IBAN (spaces ignored).
pub(crate) fn iban_ok(s: &[u8]) -> bool {
    let len = s.iter().filter(|&&c| c != b' ').count();
    if !(15..=34).contains(&len) {
        return false;
    }
    let compact: SmallVec<[u8; 34]> = s.iter().copied().filter(|&c| c != b' ').collect();
    let mut rem: u32 = 0;
    for &c in compact[4..].iter().chain(&compact[..4]) {
        rem = match c {
            b'0'..=b'9' => (rem * 10 + u32::from(c - b'0')) % 97,
            b'A'..=b'Z' => (rem * 100 + u32::from(c - b'A') + 10) % 97,
            _ => return false,
        };
    }
    rem == 1
}

// ---------------------------------------------------------------- contact

fn local_char(c: u8) -> bool {
    alnum(c) || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-')
}

/// E-mail addresses: `local@domain.tld` (a dotted domain, a TLD of two or
/// more letters).
pub(crate) fn emails(b: &[u8], out: &mut Ranges) {
    let mut from = 0;
    while let Some(at) = find(b, b"@", from) {
        from = at + 1;
        let mut s = at;
        while s > 0 && local_char(b[s - 1]) && at - s < 64 {
            s -= 1;
        }
        while s < at && b[s] == b'.' {
            s += 1;
        }
        if s == at {
            continue;
        }
        let mut e = run(b, at + 1, |c| alnum(c) || c == b'-' || c == b'.');
        while e > at + 1 && matches!(b[e - 1], b'.' | b'-') {
            e -= 1;
        }
        let domain = &b[at + 1..e];
        let Some(dot) = domain.iter().rposition(|&c| c == b'.') else {
            continue;
        };
        let tld = &domain[dot + 1..];
        if dot == 0 || tld.len() < 2 || !tld.iter().all(u8::is_ascii_alphabetic) {
            continue;
        }
        out.push((s, e));
        from = e;
    }
}

/// Phone numbers: international (`+` and 7 to 15 digits, with spaces,
/// dots, dashes and one bracketed area code) and North American
/// (`(555) 123-4567`, `555-123-4567`, `555.123.4567`).
pub(crate) fn phones(b: &[u8], out: &mut Ranges) {
    let sep = |c: u8| matches!(c, b' ' | b'.' | b'-');
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'+' && b.get(i + 1).is_some_and(u8::is_ascii_digit) && (i == 0 || !alnum(b[i - 1]))
        {
            let mut j = i + 1;
            let mut n = 0;
            let mut last_digit = j;
            while j < b.len() {
                let d = b[j];
                if d.is_ascii_digit() {
                    n += 1;
                    j += 1;
                    last_digit = j;
                } else if d == b')'
                    || ((sep(d) || d == b'(')
                        && b.get(j + 1)
                            .is_some_and(|x| x.is_ascii_digit() || *x == b'('))
                {
                    j += 1;
                } else {
                    break;
                }
            }
            if (7..=15).contains(&n) && ends_word(b, last_digit) {
                out.push((i, last_digit));
                i = last_digit;
                continue;
            }
            i += 1;
            continue;
        }
        // North American: `(ddd) ddd-dddd` or `ddd-ddd-dddd`.
        let start = i;
        let rest = &b[i..];
        let area_end = if rest.len() >= 14
            && c == b'('
            && rest[1..4].iter().all(u8::is_ascii_digit)
            && rest[4] == b')'
        {
            Some(i + 5)
        } else if rest.len() >= 12
            && starts_word(b, i)
            && rest[..3].iter().all(u8::is_ascii_digit)
            && sep(rest[3])
        {
            Some(i + 4)
        } else {
            None
        };
        if let Some(mut j) = area_end {
            if c == b'(' && b.get(j).is_some_and(|&x| sep(x)) {
                j += 1;
            }
            let ok = j + 8 <= b.len()
                && b[j..j + 3].iter().all(u8::is_ascii_digit)
                && sep(b[j + 3])
                && b[j + 4..j + 8].iter().all(u8::is_ascii_digit)
                && ends_word(b, j + 8)
                && !(b.get(j + 8).is_some_and(|&x| sep(x))
                    && b.get(j + 9).is_some_and(u8::is_ascii_digit));
            if ok {
                out.push((start, j + 8));
                i = j + 8;
                continue;
            }
        }
        i += 1;
    }
}

/// UK national insurance numbers (`QQ 12 34 56 C`, spaces optional).
pub(crate) fn ninos(b: &[u8], out: &mut Ranges) {
    const FIRST: &[u8] = b"ABCEGHJKLMNOPRSTWXYZ";
    const SECOND: &[u8] = b"ABCEGHJKLMNPRSTWXYZ";
    let mut i = 0;
    while i + 9 <= b.len() {
        if FIRST.contains(&b[i]) && SECOND.contains(&b[i + 1]) && starts_word(b, i) {
            let mut j = i + 2;
            let mut ok = true;
            for _ in 0..3 {
                if b.get(j) == Some(&b' ') {
                    j += 1;
                }
                if j + 2 <= b.len() && b[j].is_ascii_digit() && b[j + 1].is_ascii_digit() {
                    j += 2;
                } else {
                    ok = false;
                    break;
                }
            }
            if ok && b.get(j) == Some(&b' ') {
                j += 1;
            }
            if ok && b.get(j).is_some_and(|c| (b'A'..=b'D').contains(c)) && ends_word(b, j + 1) {
                out.push((i, j + 1));
                i = j + 1;
                continue;
            }
        }
        i += 1;
    }
}

/// IPv4 addresses (four octets 0–255), as a whole word.
pub(crate) fn ipv4s(b: &[u8], out: &mut Ranges) {
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() || !(starts_word(b, i) && (i == 0 || b[i - 1] != b'.')) {
            i += 1;
            continue;
        }
        let mut j = i;
        let mut octets = 0;
        loop {
            let e = run(b, j, |c| c.is_ascii_digit());
            let len = e - j;
            let val: u32 = b[j..e].iter().fold(0u32, |a, &c| {
                a.saturating_mul(10).saturating_add(u32::from(c - b'0'))
            });
            if len == 0 || len > 3 || val > 255 || (len > 1 && b[j] == b'0') {
                break;
            }
            octets += 1;
            j = e;
            if octets == 4
                || b.get(j) != Some(&b'.')
                || !b.get(j + 1).is_some_and(u8::is_ascii_digit)
            {
                break;
            }
            j += 1;
        }
        if octets == 4
            && ends_word(b, j)
            && !(b.get(j) == Some(&b'.') && b.get(j + 1).is_some_and(u8::is_ascii_digit))
        {
            out.push((i, j));
            i = j;
            continue;
        }
        i = run(b, i, |c| c.is_ascii_digit() || c == b'.').max(i + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(f: fn(&[u8], &mut Ranges), s: &str) -> String {
        let mut r = Ranges::new();
        f(s.as_bytes(), &mut r);
        let mut out = String::new();
        let mut last = 0;
        for (a, z) in r {
            out.push_str(&s[last..a]);
            out.push_str("***");
            last = z;
        }
        out.push_str(&s[last..]);
        out
    }

    fn assign(s: &str) -> String {
        apply(|b, r| assignments(b, b"***", r), s)
    }

    #[test]
    fn credential_keys_are_words() {
        for k in [
            "password",
            "db_password",
            "x_auth_token",
            "X-Auth-Token",
            "refresh_token",
            "accessToken",
            "aws_secret_access_key",
            "Cookie",
            "session",
            "session_id",
            "api_key",
            "apiKey",
            "client_secret",
            "Authorization",
            "jwt",
            "otp",
            "private_key",
            "stripe_api_key",
            "csrf_token",
            "auth",
        ] {
            assert!(is_credential_key(k), "{k}");
        }
        for k in [
            "author",
            "user",
            "max_tokens",
            "token_count",
            "path",
            "key",
            "cache_key",
            "passenger",
            "status",
            "tokenizer",
            "id",
            "order_id",
            "primary_key",
            "keyboard",
        ] {
            assert!(!is_credential_key(k), "{k}");
        }
    }

    #[test]
    fn assignments_mask_to_the_real_end() {
        assert_eq!(assign("refresh_token=abc123 next"), "refresh_token=***");
        assert_eq!(
            assign("user=bob db_password=a b;c&d ok=1"),
            "user=bob db_password=*** ok=1"
        );
        assert_eq!(assign("a=1&token=x&page=2"), "a=1&token=***&page=2");
        assert_eq!(
            assign(r#"{"password":"p w\"x","user":"bob"}"#),
            r#"{"password":"***","user":"bob"}"#
        );
        assert_eq!(
            assign(r#"{\"password\":\"hunter2\",\"u\":1}"#),
            r#"{\"password\":\"***\",\"u\":1}"#
        );
        assert_eq!(assign("Cookie: session=abc; theme=dark"), "Cookie: ***");
        assert_eq!(
            assign("Cookie: session=abc\nnext: 1"),
            "Cookie: ***\nnext: 1"
        );
        assert_eq!(
            assign(r#"Config { api_key: Some("k1"), n: 5 }"#),
            r#"Config { api_key: ***, n: 5 }"#
        );
        assert_eq!(
            assign("User{name=bob, password=abc}"),
            "User{name=bob, password=***}"
        );
        assert_eq!(
            assign(r#""secret": {"a": "b"}, "x": 1"#),
            r#""secret": ***, "x": 1"#
        );
        assert_eq!(assign("password=*** again"), "password=*** again");
        assert_eq!(
            assign("max_tokens=100 key=user:42 author=ann"),
            "max_tokens=100 key=user:42 author=ann"
        );
        assert_eq!(assign("see https://h/x"), "see https://h/x");
        assert_eq!(assign("if token == x"), "if token == x");
        assert_eq!(assign(r#"{"password":null}"#), r#"{"password":null}"#);
        assert_eq!(assign("password=\"unterminated"), "password=\"***");
        assert_eq!(
            assign(r#"{\\\"password\\\":\\\"p\\\\\\\"q\\\",\\\"u\\\":1}"#),
            r#"{\\\"password\\\":\\\"***\\\",\\\"u\\\":1}"#
        );
    }

    #[test]
    fn token_shapes() {
        assert_eq!(
            apply(
                jwts,
                "t eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sflKxwRJSMeKKF2QT4 x"
            ),
            "t *** x"
        );
        assert_eq!(apply(jwts, "eyJhbGciOi"), "eyJhbGciOi");
        assert_eq!(apply(aws_key_ids, "id=AKIAIOSFODNN7EXAMPLE."), "id=***.");
        assert_eq!(
            apply(aws_key_ids, "AKIAIOSFODNN7EXAMPLEX"),
            "AKIAIOSFODNN7EXAMPLEX"
        );
        let gh = format!("tok ghp_{} end", "a".repeat(36));
        assert_eq!(apply(git_tokens, &gh), "tok *** end");
        assert_eq!(apply(git_tokens, "glpat-abcdefghij0123456789 x"), "*** x");
        assert_eq!(apply(git_tokens, "ghp_short"), "ghp_short");
        assert_eq!(apply(slack_tokens, "xoxb-1234567890-abcdefghij z"), "*** z");
        assert_eq!(apply(slack_tokens, "xoxo box"), "xoxo box");
        assert_eq!(
            apply(auth_schemes, "Authorization: Bearer abc.def-123"),
            "Authorization: Bearer ***"
        );
        assert_eq!(
            apply(auth_schemes, "bearer authentication failed"),
            "bearer authentication failed"
        );
        assert_eq!(apply(auth_schemes, "Basic dXNlcjpwYXNz ok"), "Basic *** ok");
        assert_eq!(
            apply(auth_schemes, "basic authentication"),
            "basic authentication"
        );
        assert_eq!(
            apply(
                private_keys,
                "k -----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY----- tail"
            ),
            "k *** tail"
        );
        assert_eq!(
            apply(private_keys, "-----BEGIN PUBLIC KEY-----x"),
            "-----BEGIN PUBLIC KEY-----x"
        );
        assert_eq!(
            apply(private_keys, "-----BEGIN EC PRIVATE KEY-----\nabc"),
            "***"
        );
    }

    #[test]
    fn numbers_and_contacts() {
        assert_eq!(apply(cards, "card 4111 1111 1111 1111."), "card ***.");
        assert_eq!(apply(cards, "card 4111-1111-1111-1111"), "card ***");
        assert_eq!(
            apply(cards, "order 4111 1111 1111 1112"),
            "order 4111 1111 1111 1112"
        );
        assert_eq!(apply(cards, "ts 1700000000000"), "ts 1700000000000");
        assert_eq!(
            apply(cards, "id 12345678-1234-1234-1234-123456789012"),
            "id 12345678-1234-1234-1234-123456789012"
        );
        assert_eq!(apply(ssns, "ssn 123-45-6789"), "ssn ***");
        assert_eq!(
            apply(ssns, "ssn 666-45-6789 000-12-1234"),
            "ssn 666-45-6789 000-12-1234"
        );
        assert_eq!(apply(ibans, "GB82 WEST 1234 5698 7654 32 ok"), "*** ok");
        assert_eq!(apply(ibans, "DE89370400440532013000 EUR"), "*** EUR");
        assert_eq!(
            apply(ibans, "DE89370400440532013001"),
            "DE89370400440532013001"
        );
        assert_eq!(apply(emails, "mail ann.lee@example.co.uk."), "mail ***.");
        assert_eq!(apply(emails, "a@b x@localhost"), "a@b x@localhost");
        assert_eq!(apply(phones, "call +44 20 7946 0958 now"), "call *** now");
        assert_eq!(apply(phones, "call (555) 123-4567"), "call ***");
        assert_eq!(
            apply(phones, "2026-11-25T10:30:00.123Z"),
            "2026-11-25T10:30:00.123Z"
        );
        assert_eq!(apply(ninos, "AB 12 34 56 C"), "***");
        assert_eq!(
            apply(ipv4s, "from 10.1.2.3 and 1.2.3.4.5 and 300.1.1.1"),
            "from *** and 1.2.3.4.5 and 300.1.1.1"
        );
    }
}
