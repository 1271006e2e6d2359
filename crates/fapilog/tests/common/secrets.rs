//! Planted secrets of every shape the `production` and `hardened` presets
//! recognise inside strings, and text that must come out unchanged. Shared
//! by `tests/redaction_paths.rs` and fapilog-tracing's `tests/redaction.rs`.
#![allow(dead_code)]

use proptest::prelude::*;

/// A piece of text holding a secret, and the substrings that must not
/// reach any output.
#[derive(Clone, Debug)]
pub struct Planted {
    /// The text as logged.
    pub text: String,
    /// What must be gone from every output line.
    pub needles: Vec<String>,
    /// `true` for personal data that only `hardened` masks.
    pub pii: bool,
}

fn planted(text: String, needle: &str) -> Planted {
    Planted {
        needles: vec![needle.to_owned()],
        text,
        pii: false,
    }
}

/// 16 to 24 letters and digits, starting with `Z` and holding a digit.
pub fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9]{15,23}".prop_map(|s| format!("Z{s}7"))
}

/// A Luhn-valid card number of an issuer's range, with separators.
pub fn card() -> impl Strategy<Value = (String, String)> {
    (
        prop::sample::select(vec!['4', '5', '3', '6']),
        prop::collection::vec(0u8..10, 14),
        prop::sample::select(vec!["", " ", "-"]),
    )
        .prop_map(|(first, rest, sep)| {
            let mut digits: Vec<u8> = vec![first as u8 - b'0'];
            digits.extend(rest);
            // The check digit.
            let sum: u32 = digits
                .iter()
                .rev()
                .enumerate()
                .map(|(i, &d)| {
                    let d = u32::from(d);
                    if i % 2 == 0 {
                        if d * 2 > 9 {
                            d * 2 - 9
                        } else {
                            d * 2
                        }
                    } else {
                        d
                    }
                })
                .sum();
            digits.push(((10 - sum % 10) % 10) as u8);
            let plain: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
            let shown = plain
                .as_bytes()
                .chunks(4)
                .map(|c| std::str::from_utf8(c).unwrap_or(""))
                .collect::<Vec<_>>()
                .join(sep);
            (shown, plain)
        })
}

/// An IBAN with correct check digits (compact or grouped).
pub fn iban() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["DE", "GB", "FR", "NL"]),
        "[0-9]{18}",
        any::<bool>(),
    )
        .prop_map(|(cc, bban, grouped)| {
            let digits: String = format!("{bban}{cc}00")
                .chars()
                .map(|c| {
                    if c.is_ascii_uppercase() {
                        (c as u32 - 'A' as u32 + 10).to_string()
                    } else {
                        c.to_string()
                    }
                })
                .collect();
            let rem = digits
                .bytes()
                .fold(0u32, |r, b| (r * 10 + u32::from(b - b'0')) % 97);
            let iban = format!("{cc}{:02}{bban}", 98 - rem);
            if grouped {
                iban.as_bytes()
                    .chunks(4)
                    .map(|c| std::str::from_utf8(c).unwrap_or(""))
                    .collect::<Vec<_>>()
                    .join(" ")
            } else {
                iban
            }
        })
}

/// Every secret shape `production` masks, around one random token.
pub fn secret() -> impl Strategy<Value = Planted> {
    (token(), 0..20usize, card()).prop_map(|(t, shape, (card, card_plain))| match shape {
        0 => planted(format!("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOi{t}.sig{t}"), &t),
        1 => {
            let id = format!("AKIA{}", &t.to_ascii_uppercase()[..16]);
            planted(format!("key id {id} used"), &id)
        }
        2 => planted(format!("aws_secret_access_key={t}/x+y"), &t),
        3 => planted(format!("ghp_{t}{t}"), &t),
        4 => planted(format!("github_pat_{t}_{t}"), &t),
        5 => planted(format!("glpat-{t}{t}"), &t),
        6 => planted(format!("xoxb-1234567890-{t}"), &t),
        7 => planted(
            format!("-----BEGIN RSA PRIVATE KEY-----\nMIIE{t}\n-----END RSA PRIVATE KEY-----"),
            &t,
        ),
        8 => planted(format!("Authorization: Bearer {t}"), &t),
        9 => {
            use std::fmt::Write as _;
            // base64("user:<t>")
            let raw = format!("user:{t}");
            let table = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            let mut b64 = String::new();
            for c in raw.as_bytes().chunks(3) {
                let n = c.iter().fold(0u32, |a, &x| (a << 8) | u32::from(x)) << (8 * (3 - c.len()));
                for i in 0..=c.len() {
                    let _ = b64.write_char(char::from(table[((n >> (18 - 6 * i)) & 63) as usize]));
                }
            }
            planted(format!("auth header basic {b64} sent"), &b64)
        }
        10 => planted(format!("dsn postgres://app:{t}@db:5432/x"), &t),
        11 => planted(format!("GET https://h/cb?a=1&token={t}&b=2"), &t),
        12 => planted(format!("https://s3/x?sig={t}&key={t}"), &t),
        13 => planted(format!("db_password={t} user=bob"), &t),
        14 => planted(format!("x_auth_token: {t}"), &t),
        15 => planted(format!(r#"{{"refresh_token":"{t} with space","n":1}}"#), &t),
        16 => planted(format!("Cookie: session={t}; theme=dark"), &t),
        17 => planted(format!("password=a{t};b&c d"), &t),
        18 => planted(format!("{{\\\"password\\\":\\\"{t}\\\"}}"), &t),
        _ => Planted {
            text: format!("paid with {card} today"),
            needles: vec![card.clone(), card_plain],
            pii: false,
        },
    })
}

/// Personal data only `hardened` (and the PII presets) masks.
pub fn pii() -> impl Strategy<Value = Planted> {
    (
        token(),
        0..3usize,
        iban(),
        1u32..900,
        1u32..100,
        1u32..10000,
    )
        .prop_map(|(t, shape, iban, area, group, serial)| match shape {
            0 => Planted {
                needles: vec![iban.clone(), iban.replace(' ', "")],
                text: format!("refund to {iban} ok"),
                pii: true,
            },
            1 => {
                let area = if area == 666 { 667 } else { area };
                let ssn = format!("{area:03}-{group:02}-{serial:04}");
                Planted {
                    text: format!("ssn {ssn} on file"),
                    needles: vec![ssn],
                    pii: true,
                }
            }
            _ => {
                let mail = format!("{}@example.org", t.to_ascii_lowercase());
                Planted {
                    text: format!("mail {mail}"),
                    needles: vec![t.to_ascii_lowercase()],
                    pii: true,
                }
            }
        })
}

/// Text that looks close to a secret but is not one: every preset must
/// leave it exactly as it is.
pub const NEGATIVE: &[&str] = &[
    "order 4111 1111 1111 1112 shipped",
    "order id ORD-2024-000123",
    "trace 550e8400-e29b-41d4-a716-446655440000",
    "ts 1700000000000 ms",
    "max_tokens=100 token_count=7",
    "author=ann key=user:42",
    "see https://example.com/a?b=c&page=2",
    "bearer authentication failed",
    "basic authentication failed",
    "at 2026-11-25T10:30:00.123Z",
    "version 1.2.3 build 20261125",
    "DE89370400440532013001 is not an IBAN",
    "ssn-like 666-12-3456 and 000-12-3456",
    "user@localhost",
    "password reset requested",
    "the token expired",
    "{\"user\":\"bob\",\"n\":1}",
    "GET /api/v1/orders/42?q=tea",
];
