//! `--since` / `--until` values, normalised to the envelope's timestamp
//! form (`YYYY-MM-DDTHH:MM:SS.mmmZ`, UTC) so that comparing two of them is
//! comparing strings.

use std::time::{Duration, SystemTime};

/// Parses an absolute time (`2026-11-25T10:30:00Z`, `2026-11-25T10:30:00.5Z`,
/// `2026-11-25T10:30`, `2026-11-25`; UTC) or a time before `now`
/// (`15m`, `2h`, `1d`, `30s`) into the envelope's timestamp form.
pub fn parse_bound(text: &str, now: SystemTime) -> Result<String, String> {
    let t = text.trim();
    if let Some(ago) = parse_ago(t) {
        let at = now.checked_sub(ago).unwrap_or(SystemTime::UNIX_EPOCH);
        let mut out = Vec::new();
        fapilog::encode::write_rfc3339_millis(&mut out, at);
        return String::from_utf8(out).map_err(|e| e.to_string());
    }
    normalise(t).ok_or_else(|| {
        format!(
            "invalid time {t:?}: expected 2026-11-25T10:30:00Z, 2026-11-25T10:30, 2026-11-25, \
             or a time ago such as 30s, 15m, 2h, 1d"
        )
    })
}

fn parse_ago(t: &str) -> Option<Duration> {
    let split = t.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = t.split_at(split);
    let n: u64 = n.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

/// `2026-11-25[T10:30[:00[.123…]]][Z]` → `2026-11-25T10:30:00.123Z`.
fn normalise(t: &str) -> Option<String> {
    let t = t
        .strip_suffix('Z')
        .or_else(|| t.strip_suffix('z'))
        .unwrap_or(t);
    let (date, time) = match t.split_once(['T', 't', ' ']) {
        Some((d, tm)) => (d, tm),
        None => (t, ""),
    };
    let d: Vec<&str> = date.split('-').collect();
    if d.len() != 3
        || d[0].len() != 4
        || d[1].len() != 2
        || d[2].len() != 2
        || !d.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let (hms, frac) = match time.split_once('.') {
        Some((h, f)) => (h, f),
        None => (time, ""),
    };
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let parts: Vec<&str> = if hms.is_empty() {
        Vec::new()
    } else {
        hms.split(':').collect()
    };
    if parts.len() > 3
        || !parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let get = |i: usize| parts.get(i).copied().unwrap_or("00");
    let mut millis: String = frac.chars().take(3).collect();
    while millis.len() < 3 {
        millis.push('0');
    }
    Some(format!(
        "{}-{}-{}T{}:{}:{}.{}Z",
        d[0],
        d[1],
        d[2],
        get(0),
        get(1),
        get(2),
        millis
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

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
        assert!(parse_bound("yesterday", now).is_err());
        assert!(parse_bound("2026-1-5", now).is_err());
    }
}
