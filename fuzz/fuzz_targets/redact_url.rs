//! The URL-credential stripper (`UrlCredentials`) on any text: never
//! panics, is idempotent (its output has nothing left to strip), and a
//! password or secret parameter planted after arbitrary text is gone.
#![no_main]

use fapilog::stages::redactors::UrlCredentials;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let u = UrlCredentials::default();
    if let Some(out) = u.clean(text) {
        assert_eq!(u.clean(&out), None, "not idempotent on {text:?}");
    }
    // Plant: arbitrary text, then a URL with a password and a token.
    let secret = "Zs3cr3tPlant0";
    if text.contains(secret) {
        return;
    }
    let planted = format!("{text} https://user:{secret}@host/p?a=1&token={secret}&b=2 tail");
    let out = u.clean(&planted).unwrap_or(planted.clone());
    assert!(!out.contains(secret), "{planted:?} -> {out:?}");
});
