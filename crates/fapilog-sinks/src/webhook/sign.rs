//! fapilog's webhook signature: HMAC-SHA256 over `"{ts}.{body}"`, hex, in
//! `X-Fapilog-Signature-256: sha256=<hex>` with `X-Fapilog-Timestamp: <ts>`.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The timestamp header.
pub(crate) const TIMESTAMP: &str = "x-fapilog-timestamp";
/// The signature header.
pub(crate) const SIGNATURE: &str = "x-fapilog-signature-256";
/// The deprecated shared-secret header (`signature_mode = header`).
pub(crate) const LEGACY_SECRET: &str = "x-webhook-secret";

/// A signing secret; `Debug` never shows it.
#[derive(Clone)]
pub(crate) struct Secret(pub(crate) String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// `sha256=<hex>` of HMAC-SHA256(`secret`, `"{ts}." + body`) over the
/// exact body bytes (UTF-8, not re-serialised).
pub(crate) fn signature(secret: &Secret, ts: u64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.0.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(ts.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_pythons_hmac_over_utf8_bytes() {
        // python3: hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
        let body = "{\"message\":\"héllo ☃\"}".as_bytes();
        assert_eq!(
            signature(&Secret("s3cret".into()), 1_700_000_000, body),
            "sha256=30725f3b302655d98b7a141a634a84e93fb749956a1956e3f222ee05816549ab"
        );
        assert_eq!(format!("{:?}", Secret("s3cret".into())), "***");
    }
}
