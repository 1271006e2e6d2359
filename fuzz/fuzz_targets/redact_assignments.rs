//! The `key=value` scanner (the `secret_assignment` value kind) on any
//! text: never panics (every other built-in kind too), is idempotent,
//! and a credential pair planted after arbitrary text has its value masked
//! in each of its forms (`k=v`, `k: v`, `"k":"v"`, escaped JSON).
#![no_main]

use fapilog::stages::redactors::{RegexMask, ValueKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let all = RegexMask::new(&ValueKind::ALL).expect("built-in kinds");
    let pairs = RegexMask::new(&[ValueKind::SecretAssignment]).expect("built-in kind");
    // Every kind: never panics. (A mask can open a word boundary another
    // kind needs, `x@y.org+44 20 7946 0958`, so a second pass may mask
    // more; it never unmasks.)
    let _ = all.mask_str(text);
    if let Some(out) = pairs.mask_str(text) {
        assert_eq!(pairs.mask_str(&out), None, "not idempotent on {text:?} -> {out:?}");
    }
    let secret = "Zs3cr3tPlant0";
    if text.contains(secret) {
        return;
    }
    for form in [
        format!("{text} db_password={secret};x y"),
        format!("{text} x-auth-token: {secret}"),
        format!(r#"{text} {{"refresh_token":"{secret} x"}}"#),
        format!(r#"{text} {{\"api_key\":\"{secret}\"}}"#),
    ] {
        let out = pairs.mask_str(&form).unwrap_or(form.clone());
        assert!(!out.contains(secret), "{form:?} -> {out:?}");
    }
});
