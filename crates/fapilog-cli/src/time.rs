//! `--since` / `--until` values, normalised to the envelope's timestamp
//! form (`YYYY-MM-DDTHH:MM:SS.mmmZ`, UTC) so that comparing two of them is
//! comparing strings.

use std::time::SystemTime;

/// Parses an absolute time (`2026-11-25T10:30:00Z`, `2026-11-25T10:30:00.5Z`,
/// `2026-11-25 10:30:00`, `2026-11-25T10:30`, `2026-11-25`; UTC) or a time
/// before `now` (`15m`, `2h`, `1d`, `30s`, `1h 30m`: `humantime`'s forms)
/// into the envelope's timestamp form.
pub fn parse_bound(text: &str, now: SystemTime) -> Result<String, String> {
    let t = text.trim();
    let at = match humantime::parse_duration(t) {
        Ok(ago) => now.checked_sub(ago).unwrap_or(SystemTime::UNIX_EPOCH),
        Err(_) => absolute(t).ok_or_else(|| {
            format!(
                "invalid time {t:?}: expected 2026-11-25T10:30:00Z, 2026-11-25T10:30, 2026-11-25, \
                 or a time ago such as 30s, 15m, 2h, 1d"
            )
        })?,
    };
    let mut out = Vec::new();
    fapilog::encode::write_rfc3339_millis(&mut out, at);
    String::from_utf8(out).map_err(|e| e.to_string())
}

/// An RFC 3339 time (`T` or a space, `Z` optional: UTC), or one without
/// seconds or without a time of day.
fn absolute(t: &str) -> Option<SystemTime> {
    let t = t.strip_suffix(['Z', 'z']).unwrap_or(t);
    // humantime needs seconds; the shorter forms get them added.
    let full = match t.len() {
        10 => format!("{t}T00:00:00"),
        16 => format!("{t}:00"),
        _ => t.to_owned(),
    };
    humantime::parse_rfc3339_weak(&full).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn absolute_and_relative() {
        let now = UNIX_EPOCH + Duration::from_millis(1_764_066_600_123);
        assert_eq!(
            parse_bound("2026-11-25", now).unwrap(),
            "2026-11-25T00:00:00.000Z"
        );
        assert_eq!(
            parse_bound("2026-11-25T10:30", now).unwrap(),
            "2026-11-25T10:30:00.000Z"
        );
        assert_eq!(
            parse_bound("2026-11-25T10:30:01.5Z", now).unwrap(),
            "2026-11-25T10:30:01.500Z"
        );
        assert_eq!(parse_bound("1h", now).unwrap(), "2025-11-25T09:30:00.123Z");
        assert_eq!(
            parse_bound("1h 30m", now).unwrap(),
            "2025-11-25T09:00:00.123Z"
        );
        assert_eq!(
            parse_bound("2026-11-25 10:30:00", now).unwrap(),
            "2026-11-25T10:30:00.000Z"
        );
        assert!(parse_bound("yesterday", now).is_err());
        assert!(parse_bound("2026-1-5", now).is_err());
    }
}
