//! Value detectors for the regex mask: what secrets and personal data look
//! like inside strings. One pass over a string's bytes notes which kinds
//! could be there ([`Triggers`]); only those run their hand-written scanner
//! ([`super::scan`]), and the formats with a checksum (cards, IBANs) are
//! checked before anything is masked. No regex is involved.

use crate::config_serde::settings_enum_serde;

use super::scan::{self, Ranges};

/// A kind of secret or identifier found inside string values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ValueKind {
    /// `-----BEGIN … PRIVATE KEY-----` blocks (to the END line, or the end of the string).
    PrivateKey,
    /// JSON Web Tokens (`eyJ….ey….…`).
    Jwt,
    /// `Bearer <token>`: the token is masked, the word kept.
    BearerToken,
    /// AWS access key ids (`AKIA…`, `ASIA…`, and the other 4-letter prefixes).
    AwsAccessKey,
    /// `key=value`, `key: value` and `"key":"value"` pairs whose key names a
    /// credential (`password`, `db_password`, `x_auth_token`, `Cookie`,
    /// `aws_secret_access_key`, …): the value is masked to its end.
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
    /// GitHub tokens (`ghp_…`, `gho_…`, `ghu_…`, `ghs_…`, `ghr_…`, `github_pat_…`).
    GithubToken,
    /// GitLab tokens (`glpat-…`, `gldt-…`, `glrt-…`, …).
    GitlabToken,
    /// Slack tokens (`xoxb-…`, `xoxp-…`, `xapp-…`, …).
    SlackToken,
    /// `Basic <base64 of user:password>`: the credential is masked, the word kept.
    BasicAuth,
}

settings_enum_serde!(ValueKind { PrivateKey = "private_key", Jwt = "jwt", BearerToken = "bearer_token", AwsAccessKey = "aws_access_key", SecretAssignment = "secret_assignment", Email = "email", Iban = "iban", CreditCard = "credit_card", UsSsn = "us_ssn", UkNino = "uk_nino", Phone = "phone", Ipv4 = "ipv4", GithubToken = "github_token", GitlabToken = "gitlab_token", SlackToken = "slack_token", BasicAuth = "basic_auth" });

impl ValueKind {
    /// Every kind, in the order they are applied.
    pub const ALL: [ValueKind; 16] = [
        ValueKind::PrivateKey,
        ValueKind::Jwt,
        ValueKind::BearerToken,
        ValueKind::BasicAuth,
        ValueKind::AwsAccessKey,
        ValueKind::GithubToken,
        ValueKind::GitlabToken,
        ValueKind::SlackToken,
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
            ValueKind::GithubToken => "github_token",
            ValueKind::GitlabToken => "gitlab_token",
            ValueKind::SlackToken => "slack_token",
            ValueKind::BasicAuth => "basic_auth",
        }
    }

    /// Fewest ASCII digits a string needs before this kind can match.
    fn min_digits(self) -> u32 {
        match self {
            ValueKind::CreditCard => 13,
            ValueKind::Phone | ValueKind::UsSsn => 7,
            ValueKind::UkNino | ValueKind::Iban => 6,
            ValueKind::Ipv4 => 4,
            _ => 0,
        }
    }

    /// Adds the ranges of this kind found in `b`.
    pub(crate) fn find(self, b: &[u8], mask: &[u8], out: &mut Ranges) {
        match self {
            ValueKind::PrivateKey => scan::private_keys(b, out),
            ValueKind::Jwt => scan::jwts(b, out),
            ValueKind::BearerToken | ValueKind::BasicAuth => scan::auth_schemes(b, out),
            ValueKind::AwsAccessKey => scan::aws_key_ids(b, out),
            ValueKind::SecretAssignment => scan::assignments(b, mask, out),
            ValueKind::Email => scan::emails(b, out),
            ValueKind::Iban => scan::ibans(b, out),
            ValueKind::CreditCard => scan::cards(b, out),
            ValueKind::UsSsn => scan::ssns(b, out),
            ValueKind::UkNino => scan::ninos(b, out),
            ValueKind::Phone => scan::phones(b, out),
            ValueKind::Ipv4 => scan::ipv4s(b, out),
            ValueKind::GithubToken | ValueKind::GitlabToken => scan::git_tokens(b, out),
            ValueKind::SlackToken => scan::slack_tokens(b, out),
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

/// Triggers found in one pass over a string.
#[derive(Clone, Copy, Default)]
pub(crate) struct Triggers {
    digits: u32,
    bits: u16,
}

const T_AT: u16 = 1;
const T_JWT: u16 = 2;
const T_AWS: u16 = 4;
const T_SCHEME: u16 = 8;
const T_PEM: u16 = 16;
const T_ASSIGN: u16 = 32;
const T_DOT: u16 = 64;
const T_GIT: u16 = 128;
const T_SLACK: u16 = 256;

const C_DIGIT: u16 = 1;
const C_AT: u16 = 2;
const C_J: u16 = 4;
const C_A: u16 = 8;
const C_B: u16 = 16;
const C_DASH: u16 = 32;
const C_ASSIGN: u16 = 64;
const C_DOT: u16 = 128;
const C_G: u16 = 256;
const C_X: u16 = 512;

static CLASS: [u16; 256] = {
    let mut t = [0u16; 256];
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
    t[b'g' as usize] = C_G;
    t[b'x' as usize] = C_X;
    t
};

/// Which bytes a set of kinds looks at.
pub(crate) type TriggerTable = [u16; 256];

impl Triggers {
    /// One pass over `s`, looking only at the bytes `table` marks.
    #[inline]
    pub(crate) fn scan_with(s: &str, table: &TriggerTable) -> Triggers {
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
    fn note(&mut self, b: &[u8], i: usize, class: u16) {
        let rest = &b[i + 1..];
        match class {
            C_AT => self.bits |= T_AT,
            C_J if i >= 2 && &b[i - 2..i] == b"ey" => self.bits |= T_JWT,
            C_A if (rest.len() >= 19 && rest[0].is_ascii_uppercase())
                || rest.starts_with(b"3T") =>
            {
                self.bits |= T_AWS
            }
            C_B if rest.len() >= 5
                && (rest[..5].eq_ignore_ascii_case(b"earer")
                    || rest[..4].eq_ignore_ascii_case(b"asic")) =>
            {
                self.bits |= T_SCHEME
            }
            C_DASH if rest.starts_with(b"----BEGIN") => self.bits |= T_PEM,
            C_ASSIGN => self.bits |= T_ASSIGN,
            C_DOT => self.bits |= T_DOT,
            C_G if rest
                .first()
                .is_some_and(|c| matches!(c, b'h' | b'i' | b'l')) =>
            {
                self.bits |= T_GIT
            }
            C_X if rest.starts_with(b"ox") || rest.starts_with(b"app-") => self.bits |= T_SLACK,
            _ => {}
        }
    }

    /// `true` when `kind` can match.
    #[inline]
    pub(crate) fn may_match(self, kind: ValueKind) -> bool {
        if self.digits < kind.min_digits() {
            return false;
        }
        let need = match kind {
            ValueKind::PrivateKey => T_PEM,
            ValueKind::Jwt => T_JWT,
            ValueKind::BearerToken | ValueKind::BasicAuth => T_SCHEME,
            ValueKind::AwsAccessKey => T_AWS,
            ValueKind::SecretAssignment => T_ASSIGN,
            ValueKind::Email => T_AT,
            ValueKind::Ipv4 => T_DOT,
            ValueKind::GithubToken | ValueKind::GitlabToken => T_GIT,
            ValueKind::SlackToken => T_SLACK,
            ValueKind::Iban
            | ValueKind::CreditCard
            | ValueKind::UsSsn
            | ValueKind::UkNino
            | ValueKind::Phone => return true,
        };
        self.bits & need != 0
    }
}

/// The byte classes the given kinds need (others read as 0 and cost one
/// table lookup per byte).
pub(crate) fn trigger_table(kinds: &[ValueKind]) -> TriggerTable {
    let mut keep = 0u16;
    for k in kinds {
        keep |= match k {
            ValueKind::PrivateKey => C_DASH,
            ValueKind::Jwt => C_J,
            ValueKind::BearerToken | ValueKind::BasicAuth => C_B,
            ValueKind::AwsAccessKey => C_A,
            ValueKind::SecretAssignment => C_ASSIGN,
            ValueKind::Email => C_AT,
            ValueKind::Ipv4 => C_DOT | C_DIGIT,
            ValueKind::GithubToken | ValueKind::GitlabToken => C_G,
            ValueKind::SlackToken => C_X,
            ValueKind::Iban
            | ValueKind::CreditCard
            | ValueKind::UsSsn
            | ValueKind::UkNino
            | ValueKind::Phone => C_DIGIT,
        };
    }
    let mut t = [0u16; 256];
    for (i, c) in CLASS.iter().enumerate() {
        t[i] = c & keep;
    }
    t
}

/// Sorts `r` and merges overlapping or touching ranges.
pub(crate) fn merge(r: &mut Ranges) {
    r.sort_unstable();
    let mut w = 0;
    for i in 0..r.len() {
        if w > 0 && r[i].0 <= r[w - 1].1 {
            r[w - 1].1 = r[w - 1].1.max(r[i].1);
        } else {
            r[w] = r[i];
            w += 1;
        }
    }
    r.truncate(w);
}
