//! Value detectors for the regex mask: what secrets and personal data look
//! like inside strings, each with a cheap trigger (found in one byte pass
//! over the string) and, where the format has one, a checksum.

use regex::Regex;
use serde::{Deserialize, Serialize};

/// A kind of secret or identifier found inside string values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ValueKind {
    /// `-----BEGIN … PRIVATE KEY-----` blocks (to the END line, or the end of the string).
    PrivateKey,
    /// JSON Web Tokens (`eyJ….eyJ….…`).
    Jwt,
    /// `Bearer <token>`: the token is masked, the word kept.
    BearerToken,
    /// AWS access key ids (`AKIA…`, `ASIA…`, and the other 4-letter prefixes).
    AwsAccessKey,
    /// `password=…`, `secret: …`, `api_key=…`, `token=…` in free text: the value is masked.
    SecretAssignment,
    /// E-mail addresses.
    Email,
    /// IBANs (checked with the ISO 7064 mod-97 checksum).
    Iban,
    /// Payment card numbers, 13 to 19 digits with optional spaces or dashes (Luhn-checked).
    CreditCard,
    /// US social security numbers (`123-45-6789`, invalid areas excluded).
    UsSsn,
    /// UK national insurance numbers (`QQ 12 34 56 C`).
    UkNino,
    /// Phone numbers: international (`+44 20 7946 0958`) and North American (`(555) 123-4567`).
    Phone,
    /// IPv4 addresses.
    Ipv4,
}

impl ValueKind {
    /// Every kind, in the order they are applied.
    pub const ALL: [ValueKind; 12] = [
        ValueKind::PrivateKey,
        ValueKind::Jwt,
        ValueKind::BearerToken,
        ValueKind::AwsAccessKey,
        ValueKind::SecretAssignment,
        ValueKind::Email,
        ValueKind::Iban,
        ValueKind::CreditCard,
        ValueKind::UsSsn,
        ValueKind::UkNino,
        ValueKind::Phone,
        ValueKind::Ipv4,
    ];

    /// The snake_case name used in settings.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueKind::PrivateKey => "private_key",
            ValueKind::Jwt => "jwt",
            ValueKind::BearerToken => "bearer_token",
            ValueKind::AwsAccessKey => "aws_access_key",
            ValueKind::SecretAssignment => "secret_assignment",
            ValueKind::Email => "email",
            ValueKind::Iban => "iban",
            ValueKind::CreditCard => "credit_card",
            ValueKind::UsSsn => "us_ssn",
            ValueKind::UkNino => "uk_nino",
            ValueKind::Phone => "phone",
            ValueKind::Ipv4 => "ipv4",
        }
    }

    /// The regex, and which group is masked (0 = the whole match).
    fn pattern(self) -> (&'static str, usize) {
        match self {
            ValueKind::PrivateKey => (
                r"(?s)-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\z)",
                0,
            ),
            ValueKind::Jwt => (
                r"eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*",
                0,
            ),
            ValueKind::BearerToken => (r"(?i)\bbearer\s+([A-Za-z0-9\-._~+/]+=*)", 1),
            ValueKind::AwsAccessKey => (
                r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16}\b",
                0,
            ),
            ValueKind::SecretAssignment => (
                r#"(?i)\b(?:password|passwd|pwd|secret|client_secret|api[_-]?key|access[_-]?token|token)\s*[=:]\s*"?([^\s"&,;]+)"#,
                1,
            ),
            ValueKind::Email => (
                r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}",
                0,
            ),
            ValueKind::Iban => (
                r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b",
                0,
            ),
            ValueKind::CreditCard => (r"\b\d(?:[ -]?\d){12,18}\b", 0),
            ValueKind::UsSsn => (r"\b\d{3}-\d{2}-\d{4}\b", 0),
            ValueKind::UkNino => (
                r"\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b",
                0,
            ),
            ValueKind::Phone => (
                r"(?:\+\d{1,3}[ .\-]?(?:\(\d{1,4}\)[ .\-]?)?\d{2,4}(?:[ .\-]?\d{2,4}){1,4}|(?:\(\d{3}\)|\b\d{3})[ .\-]\d{3}[ .\-]\d{4})\b",
                0,
            ),
            ValueKind::Ipv4 => (
                r"\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\b",
                0,
            ),
        }
    }

    /// Fewest ASCII digits a string needs before this kind can match.
    fn min_digits(self) -> u32 {
        match self {
            ValueKind::CreditCard => 13,
            ValueKind::UsSsn => 9,
            ValueKind::Phone => 7,
            ValueKind::UkNino | ValueKind::Iban => 6,
            ValueKind::Ipv4 => 4,
            _ => 0,
        }
    }

    fn validate(self, m: &str) -> bool {
        match self {
            ValueKind::CreditCard => luhn(m),
            ValueKind::Iban => iban_ok(m),
            ValueKind::UsSsn => ssn_ok(m),
            _ => true,
        }
    }
}

impl std::str::FromStr for ValueKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        let n = super::keys::normalize(s);
        ValueKind::ALL
            .into_iter()
            .find(|k| k.as_str() == n)
            .ok_or(())
    }
}

fn luhn(m: &str) -> bool {
    let digits: Vec<u32> = m.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

fn iban_ok(m: &str) -> bool {
    let s: Vec<u8> = m.bytes().filter(|b| *b != b' ').collect();
    if !(15..=34).contains(&s.len()) {
        return false;
    }
    let mut rem: u32 = 0;
    for &b in s[4..].iter().chain(&s[..4]) {
        let v = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            _ => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

fn ssn_ok(m: &str) -> bool {
    let area = &m[..3];
    area != "000"
        && area != "666"
        && !area.starts_with('9')
        && &m[4..6] != "00"
        && &m[7..] != "0000"
}

/// Triggers found in one pass over a string.
#[derive(Clone, Copy, Default)]
pub(crate) struct Triggers {
    digits: u32,
    bits: u16,
}

const T_AT: u16 = 1;
const T_JWT: u16 = 2;
const T_AWS: u16 = 4;
const T_BEARER: u16 = 8;
const T_PEM: u16 = 16;
const T_ASSIGN: u16 = 32;
const T_DOT: u16 = 64;

const C_DIGIT: u8 = 1;
const C_AT: u8 = 2;
const C_J: u8 = 4;
const C_A: u8 = 8;
const C_B: u8 = 16;
const C_DASH: u8 = 32;
const C_ASSIGN: u8 = 64;
const C_DOT: u8 = 128;

static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = b'0';
    while i <= b'9' {
        t[i as usize] = C_DIGIT;
        i += 1;
    }
    t[b'@' as usize] = C_AT;
    t[b'J' as usize] = C_J;
    t[b'A' as usize] = C_A;
    t[b'B' as usize] = C_B;
    t[b'b' as usize] = C_B;
    t[b'-' as usize] = C_DASH;
    t[b'=' as usize] = C_ASSIGN;
    t[b':' as usize] = C_ASSIGN;
    t[b'.' as usize] = C_DOT;
    t
};

impl Triggers {
    /// One pass over `s`.
    #[inline]
    #[cfg(test)]
    pub(crate) fn scan(s: &str) -> Triggers {
        Triggers::scan_with(s, &CLASS)
    }

    /// One pass over `s`, looking only at the bytes `table` marks.
    #[inline]
    pub(crate) fn scan_with(s: &str, table: &[u8; 256]) -> Triggers {
        let b = s.as_bytes();
        let mut t = Triggers::default();
        let mut i = 0;
        loop {
            // A tight skip over the bytes no kind cares about (most of them).
            match b[i..].iter().position(|&c| table[c as usize] != 0) {
                Some(p) => i += p,
                None => return t,
            }
            let class = table[b[i] as usize];
            if class == C_DIGIT {
                t.digits += 1;
            } else {
                t.note(b, i, class);
            }
            i += 1;
        }
    }

    #[inline(never)]
    fn note(&mut self, b: &[u8], i: usize, class: u8) {
        match class {
            C_AT => self.bits |= T_AT,
            C_J if i >= 2 && &b[i - 2..i] == b"ey" => self.bits |= T_JWT,
            C_A if b.len() - i >= 20 && b[i + 1].is_ascii_uppercase() => self.bits |= T_AWS,
            C_B if b.len() - i >= 7 && b[i + 1..i + 7].eq_ignore_ascii_case(b"earer ") => {
                self.bits |= T_BEARER
            }
            C_DASH if b[i..].starts_with(b"-----BEGIN") => self.bits |= T_PEM,
            C_ASSIGN => self.bits |= T_ASSIGN,
            C_DOT => self.bits |= T_DOT,
            _ => {}
        }
    }

    /// `true` when `kind` can match.
    #[inline]
    fn may_match(self, kind: ValueKind) -> bool {
        if self.digits < kind.min_digits() {
            return false;
        }
        match kind {
            ValueKind::PrivateKey => self.bits & T_PEM != 0,
            ValueKind::Jwt => self.bits & T_JWT != 0,
            ValueKind::BearerToken => self.bits & T_BEARER != 0,
            ValueKind::AwsAccessKey => self.bits & T_AWS != 0,
            ValueKind::SecretAssignment => self.bits & T_ASSIGN != 0,
            ValueKind::Email => self.bits & T_AT != 0,
            ValueKind::Ipv4 => self.bits & T_DOT != 0,
            ValueKind::Iban
            | ValueKind::CreditCard
            | ValueKind::UsSsn
            | ValueKind::UkNino
            | ValueKind::Phone => true,
        }
    }
}

/// The byte classes the given kinds need (others read as 0 and cost one
/// table lookup per byte).
pub(crate) fn trigger_table(kinds: &[ValueKind]) -> [u8; 256] {
    let mut keep = 0u8;
    for k in kinds {
        keep |= match k {
            ValueKind::PrivateKey => C_DASH,
            ValueKind::Jwt => C_J,
            ValueKind::BearerToken => C_B,
            ValueKind::AwsAccessKey => C_A,
            ValueKind::SecretAssignment => C_ASSIGN,
            ValueKind::Email => C_AT,
            ValueKind::Ipv4 => C_DOT | C_DIGIT,
            ValueKind::Iban
            | ValueKind::CreditCard
            | ValueKind::UsSsn
            | ValueKind::UkNino
            | ValueKind::Phone => C_DIGIT,
        };
    }
    let mut t = [0u8; 256];
    for (i, c) in CLASS.iter().enumerate() {
        t[i] = c & keep;
    }
    t
}

/// A compiled detector.
pub(crate) struct Detector {
    kind: ValueKind,
    re: Regex,
    group: usize,
}

impl Detector {
    pub(crate) fn new(kind: ValueKind) -> Result<Detector, regex::Error> {
        let (p, group) = kind.pattern();
        Ok(Detector {
            kind,
            re: Regex::new(p)?,
            group,
        })
    }

    /// A detector for a user's pattern: every match is masked.
    pub(crate) fn custom(re: Regex) -> Detector {
        Detector {
            kind: ValueKind::SecretAssignment,
            re,
            group: usize::MAX,
        }
    }

    pub(crate) fn kind(&self) -> ValueKind {
        self.kind
    }

    /// `true` when the triggers allow a match.
    #[inline]
    pub(crate) fn may_match(&self, t: Triggers) -> bool {
        self.group == usize::MAX || t.may_match(self.kind)
    }

    /// Masks every (valid) match in `s`; `None` when nothing matched.
    pub(crate) fn apply(&self, s: &str, mask: &str, count: &mut u64) -> Option<String> {
        let mut out: Option<String> = None;
        let mut last = 0;
        for caps in self.re.captures_iter(s) {
            let Some(whole) = caps.get(0) else { continue };
            let m = if self.group == usize::MAX {
                whole
            } else {
                if !self.kind.validate(whole.as_str()) {
                    continue;
                }
                match caps.get(self.group) {
                    Some(m) => m,
                    None => continue,
                }
            };
            let o = out.get_or_insert_with(|| String::with_capacity(s.len()));
            o.push_str(&s[last..m.start()]);
            o.push_str(mask);
            last = m.end();
            *count += 1;
        }
        let mut o = out?;
        o.push_str(&s[last..]);
        Some(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masks(kind: ValueKind, s: &str) -> Option<String> {
        let d = Detector::new(kind).unwrap();
        let mut n = 0;
        assert!(
            d.may_match(Triggers::scan(s)),
            "trigger for {kind:?} in {s:?}"
        );
        d.apply(s, "***", &mut n)
    }

    #[test]
    fn every_pattern_compiles() {
        for k in ValueKind::ALL {
            Regex::new(k.pattern().0).unwrap();
        }
    }

    #[test]
    fn detectors_find_their_kind() {
        assert_eq!(
            masks(ValueKind::Email, "mail ann@example.co.uk now").unwrap(),
            "mail *** now"
        );
        assert_eq!(
            masks(ValueKind::CreditCard, "card 4111 1111 1111 1111.").unwrap(),
            "card ***."
        );
        assert!(masks(ValueKind::CreditCard, "order 4111 1111 1111 1112").is_none());
        assert_eq!(
            masks(ValueKind::UsSsn, "ssn 123-45-6789").unwrap(),
            "ssn ***"
        );
        assert!(masks(ValueKind::UsSsn, "ssn 000-45-6789").is_none());
        assert_eq!(
            masks(ValueKind::Iban, "GB82 WEST 1234 5698 7654 32").unwrap(),
            "***"
        );
        assert_eq!(
            masks(ValueKind::BearerToken, "Authorization: Bearer abc.def").unwrap(),
            "Authorization: Bearer ***"
        );
        assert_eq!(
            masks(ValueKind::AwsAccessKey, "key AKIAIOSFODNN7EXAMPLE").unwrap(),
            "key ***"
        );
        assert_eq!(masks(ValueKind::UkNino, "AB 12 34 56 C").unwrap(), "***");
        assert_eq!(
            masks(ValueKind::Phone, "call +44 20 7946 0958").unwrap(),
            "call ***"
        );
        assert_eq!(
            masks(ValueKind::Phone, "call (555) 123-4567").unwrap(),
            "call ***"
        );
        assert_eq!(masks(ValueKind::Ipv4, "from 10.1.2.3").unwrap(), "from ***");
        assert_eq!(
            masks(ValueKind::SecretAssignment, "password=hunter2 ok").unwrap(),
            "password=*** ok"
        );
        assert!(masks(ValueKind::Jwt, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig").is_some());
        assert_eq!(
            masks(
                ValueKind::PrivateKey,
                "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY----- tail"
            )
            .unwrap(),
            "*** tail"
        );
    }

    #[test]
    fn dates_are_not_phones() {
        let d = Detector::new(ValueKind::Phone).unwrap();
        let mut n = 0;
        assert!(d.apply("2026-11-25T10:30:00.123Z", "***", &mut n).is_none());
    }
}
