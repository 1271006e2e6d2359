//! File names as fapilog writes them: `{prefix}-{UTC %Y%m%d-%H%M%S}[-N]{ext}`,
//! and the parse back that retention uses to order them.

use crate::encode::time::civil_from_days;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One of our files, as read back from its name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Named {
    /// Seconds since the epoch of the name's timestamp.
    pub(super) secs: u64,
    /// The `-N` collision index (0 when absent).
    pub(super) index: u32,
    /// Whether the name ends in `.gz`.
    pub(super) gz: bool,
}

/// `{prefix}-YYYYMMDD-HHMMSS` for `t` (UTC); times before 1970 as the epoch.
pub(super) fn stem(prefix: &str, t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let sod = secs % 86_400;
    format!(
        "{prefix}-{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    )
}

/// The file name for `stem` and collision `index` (0: none).
pub(super) fn file_name(stem: &str, index: u32, ext: &str) -> String {
    if index == 0 {
        format!("{stem}{ext}")
    } else {
        format!("{stem}-{index}{ext}")
    }
}

/// Reads a name this sink wrote with `prefix` and `ext` (`.gz` allowed after
/// it); `None` for any other file.
pub(super) fn parse(name: &str, prefix: &str, ext: &str) -> Option<Named> {
    let rest = name.strip_prefix(prefix)?.strip_prefix('-')?;
    let (rest, gz) = match rest.strip_suffix(".gz") {
        Some(r) => (r, true),
        None => (rest, false),
    };
    let rest = rest.strip_suffix(ext)?;
    let b = rest.as_bytes();
    if b.len() < 15 || b[8] != b'-' {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u64> {
        let s = rest.get(r)?;
        if s.bytes().all(|c| c.is_ascii_digit()) {
            s.parse().ok()
        } else {
            None
        }
    };
    let (y, mo, d) = (digits(0..4)?, digits(4..6)?, digits(6..8)?);
    let (h, mi, s) = (digits(9..11)?, digits(11..13)?, digits(13..15)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let index = match &rest[15..] {
        "" => 0,
        tail => {
            let n = tail.strip_prefix('-')?;
            if n.is_empty() || !n.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            n.parse().ok()?
        }
    };
    let days = days_from_civil(y as i64, mo as u32, d as u32);
    let secs = u64::try_from(days).ok()? * 86_400 + h * 3600 + mi * 60 + s;
    Some(Named { secs, index, gz })
}

/// The name's timestamp as a time.
pub(super) fn time_of(n: &Named) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(n.secs)
}

/// The next multiple of `interval` after `now`, counted from the epoch.
pub(super) fn next_boundary(now: SystemTime, interval: Duration) -> SystemTime {
    let since = now
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let step = interval.as_nanos().max(1);
    let next = (since / step + 1) * step;
    let secs = (next / 1_000_000_000) as u64;
    UNIX_EPOCH + Duration::new(secs, (next % 1_000_000_000) as u32)
}

// Howard Hinnant's civil calendar algorithm (days since 1970-01-01); the
// other direction is the timestamp encoder's `civil_from_days`.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let t = UNIX_EPOCH + Duration::from_secs(1_764_066_600); // 2025-11-25 10:30:00
        let s = stem("app", t);
        assert_eq!(s, "app-20251125-103000");
        assert_eq!(file_name(&s, 0, ".jsonl"), "app-20251125-103000.jsonl");
        assert_eq!(file_name(&s, 2, ".log"), "app-20251125-103000-2.log");
        let n = parse("app-20251125-103000-2.jsonl.gz", "app", ".jsonl").unwrap();
        assert_eq!((n.index, n.gz, time_of(&n)), (2, true, t));
        assert_eq!(
            parse("app-20251125-103000.jsonl", "app", ".jsonl")
                .unwrap()
                .secs,
            1_764_066_600
        );
        for other in [
            "app-20251125-103000.log",
            "app-2025112-103000.jsonl",
            "app-20251125-103000-.jsonl",
            "app-20251125-103000-x.jsonl",
            "apple-20251125-103000.jsonl",
            "app-20251125-103000.jsonl.gz.tmp",
            "app-20251325-103000.jsonl",
        ] {
            assert_eq!(parse(other, "app", ".jsonl"), None, "{other}");
        }
        for days in [-1000, 0, 1, 59, 365, 20_000, 100_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn boundaries_are_epoch_multiples() {
        let at = |s: u64| UNIX_EPOCH + Duration::from_secs(s);
        let hour = Duration::from_secs(3600);
        assert_eq!(next_boundary(at(7200), hour), at(10_800));
        assert_eq!(next_boundary(at(7201), hour), at(10_800));
        assert_eq!(next_boundary(at(10_799), hour), at(10_800));
    }
}
