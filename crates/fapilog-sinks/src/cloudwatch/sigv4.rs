//! AWS Signature Version 4 for one request: the canonical request, the
//! string to sign, the derived key and the `Authorization` header.
//!
//! Small on purpose: the sink signs `POST /` with a JSON body, no query
//! string and a handful of headers, so paths are taken as already
//! canonical and query parameters are sorted as given (already encoded).
//! Tested against AWS's published SigV4 test-suite vectors.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::civil::civil_from_days;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The parts of a request that SigV4 covers.
pub(crate) struct Signable<'a> {
    pub(crate) method: &'a str,
    /// The canonical URI (`/` for every CloudWatch Logs call).
    pub(crate) path: &'a str,
    /// The query string without `?`, already percent-encoded; may be empty.
    pub(crate) query: &'a str,
    /// The headers to sign, `x-amz-date` (and the session token) included.
    pub(crate) headers: &'a [(&'a str, &'a str)],
    /// Lower-case hex SHA-256 of the body.
    pub(crate) payload_hash: &'a str,
}

/// Who signs, where and when.
pub(crate) struct Scope<'a> {
    pub(crate) access_key_id: &'a str,
    pub(crate) secret_access_key: &'a str,
    pub(crate) region: &'a str,
    pub(crate) service: &'a str,
    /// `YYYYMMDDTHHMMSSZ`.
    pub(crate) amz_date: &'a str,
}

/// Lower-case hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length: `new_from_slice` cannot fail here.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// The canonical request and the `SignedHeaders` list.
pub(crate) fn canonical_request(req: &Signable<'_>) -> (String, String) {
    let mut headers: Vec<(String, String)> = req
        .headers
        .iter()
        .map(|(k, v)| {
            // Trim and collapse sequential spaces in the value.
            let value = v.split_whitespace().collect::<Vec<_>>().join(" ");
            (k.to_ascii_lowercase(), value)
        })
        .collect();
    headers.sort();
    let mut canonical_headers = String::new();
    for (k, v) in &headers {
        canonical_headers.push_str(k);
        canonical_headers.push(':');
        canonical_headers.push_str(v);
        canonical_headers.push('\n');
    }
    let signed_headers = headers
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let mut query: Vec<(&str, &str)> = req
        .query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    query.sort();
    let query = query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let canonical = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method, req.path, query, canonical_headers, signed_headers, req.payload_hash
    );
    (canonical, signed_headers)
}

/// The credential scope `YYYYMMDD/region/service/aws4_request`.
fn credential_scope(scope: &Scope<'_>) -> String {
    let date = scope.amz_date.get(..8).unwrap_or(scope.amz_date);
    format!("{date}/{}/{}/aws4_request", scope.region, scope.service)
}

/// The string to sign for `canonical` (a canonical request).
pub(crate) fn string_to_sign(scope: &Scope<'_>, canonical: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256\n{}\n{}\n{}",
        scope.amz_date,
        credential_scope(scope),
        sha256_hex(canonical.as_bytes())
    )
}

/// The `Authorization` header's value for `req`.
pub(crate) fn authorization(scope: &Scope<'_>, req: &Signable<'_>) -> String {
    let (canonical, signed_headers) = canonical_request(req);
    let to_sign = string_to_sign(scope, &canonical);
    let date = scope.amz_date.get(..8).unwrap_or(scope.amz_date);
    let k_secret = format!("AWS4{}", scope.secret_access_key);
    let k_date = hmac(k_secret.as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, scope.region.as_bytes());
    let k_service = hmac(&k_region, scope.service.as_bytes());
    let k_signing = hmac(&k_service, b"aws4_request");
    let signature = hex::encode(hmac(&k_signing, to_sign.as_bytes()));
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={signed_headers}, Signature={signature}",
        scope.access_key_id,
        credential_scope(scope)
    )
}

/// `time` as `YYYYMMDDTHHMMSSZ` (UTC), without a time crate.
pub(crate) fn amz_date(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    //! Vectors from AWS's SigV4 test suite, as published in
    //! awslabs/aws-c-auth `tests/aws-signing-test-suite/v4/*`
    //! (`header-canonical-request.txt`, `header-string-to-sign.txt`,
    //! `header-signed-request.txt`).

    use std::time::Duration;

    use super::*;

    const DATE: &str = "20150830T123600Z";
    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const TOKEN: &str = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

    fn scope() -> Scope<'static> {
        Scope {
            access_key_id: "AKIDEXAMPLE",
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            region: "us-east-1",
            service: "service",
            amz_date: DATE,
        }
    }

    fn check(req: Signable<'_>, canonical: &str, to_sign: &str, auth: &str) {
        let (c, _) = canonical_request(&req);
        assert_eq!(c, canonical);
        assert_eq!(string_to_sign(&scope(), &c), to_sign);
        assert_eq!(authorization(&scope(), &req), auth);
    }

    #[test]
    fn get_vanilla() {
        check(
            Signable {
                method: "GET",
                path: "/",
                query: "",
                headers: &[("Host", "example.amazonaws.com"), ("X-Amz-Date", DATE)],
                payload_hash: EMPTY,
            },
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        );
    }

    #[test]
    fn post_vanilla() {
        check(
            Signable {
                method: "POST",
                path: "/",
                query: "",
                headers: &[("Host", "example.amazonaws.com"), ("X-Amz-Date", DATE)],
                payload_hash: EMPTY,
            },
            "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
        );
    }

    #[test]
    fn post_x_www_form_urlencoded() {
        let body_hash = sha256_hex(b"Param1=value1");
        assert_eq!(
            body_hash,
            "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"
        );
        check(
            Signable {
                method: "POST",
                path: "/",
                query: "",
                headers: &[
                    ("Content-Type", "application/x-www-form-urlencoded"),
                    ("Host", "example.amazonaws.com"),
                    ("Content-Length", "13"),
                    ("X-Amz-Date", DATE),
                    ("x-amz-content-sha256", &body_hash),
                ],
                payload_hash: &body_hash,
            },
            "POST\n/\n\ncontent-length:13\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\nx-amz-content-sha256:9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e\nx-amz-date:20150830T123600Z\n\ncontent-length;content-type;host;x-amz-content-sha256;x-amz-date\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nb1edd1d03544c25390e32085d55b57acc9a3961bb59415ff86c45c3d89d16cfb",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date, Signature=d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b",
        );
    }

    #[test]
    fn get_vanilla_query_order_key_case() {
        check(
            Signable {
                method: "GET",
                path: "/",
                query: "Param2=value2&Param1=value1",
                headers: &[("Host", "example.amazonaws.com"), ("X-Amz-Date", DATE)],
                payload_hash: EMPTY,
            },
            "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
        );
    }

    #[test]
    fn post_header_value_case() {
        check(
            Signable {
                method: "POST",
                path: "/",
                query: "",
                headers: &[
                    ("Host", "example.amazonaws.com"),
                    ("My-Header1", "VALUE1"),
                    ("X-Amz-Date", DATE),
                ],
                payload_hash: EMPTY,
            },
            "POST\n/\n\nhost:example.amazonaws.com\nmy-header1:VALUE1\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nd51ced243e649e3de6ef63afbbdcbca03131a21a7103a1583706a64618606a93",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d",
        );
    }

    #[test]
    fn post_sts_header_before_signs_the_session_token() {
        check(
            Signable {
                method: "POST",
                path: "/",
                query: "",
                headers: &[
                    ("Host", "example.amazonaws.com"),
                    ("X-Amz-Date", DATE),
                    ("X-Amz-Security-Token", TOKEN),
                ],
                payload_hash: EMPTY,
            },
            &format!("POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\nx-amz-security-token:{TOKEN}\n\nhost;x-amz-date;x-amz-security-token\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nc237e1b440d4c63c32ca95b5b99481081cb7b13c7e40434868e71567c1a882f6",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
        );
    }

    #[test]
    fn the_date_is_formatted_in_utc_without_a_time_crate() {
        // 2015-08-30T12:36:00Z, the vectors' date.
        let t = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
        assert_eq!(amz_date(t), DATE);
        assert_eq!(amz_date(UNIX_EPOCH), "19700101T000000Z");
        // A leap day and the last second of a year.
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(amz_date(leap), "20000229T000000Z");
        let eoy = UNIX_EPOCH + Duration::from_secs(1_704_067_199);
        assert_eq!(amz_date(eoy), "20231231T235959Z");
    }
}
