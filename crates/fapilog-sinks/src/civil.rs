//! What more than one sink needs of the calendar and the machine: the
//! date of a UTC day (RFC 3339 stamps of syslog and PostgreSQL, SigV4's
//! `X-Amz-Date`) and the host name (syslog's HOSTNAME, CloudWatch's
//! default stream).

#[cfg(any(feature = "syslog", feature = "postgres"))]
use std::fmt;
#[cfg(any(feature = "syslog", feature = "postgres"))]
use std::time::{SystemTime, UNIX_EPOCH};

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's algorithm).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Shows a time as `YYYY-MM-DDThh:mm:ss.uuuuuuZ` (RFC 3339, UTC,
/// microseconds; a time before 1970 as the epoch).
#[cfg(any(feature = "syslog", feature = "postgres"))]
pub(crate) struct Rfc3339Micros(pub(crate) SystemTime);

#[cfg(any(feature = "syslog", feature = "postgres"))]
impl fmt::Display for Rfc3339Micros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let since = self.0.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = since.as_secs();
        let (days, rem) = (secs / 86_400, secs % 86_400);
        let (y, m, d) = civil_from_days(days as i64);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60,
            since.subsec_micros()
        )
    }
}

/// The machine's host name (`HOSTNAME`, else the system's), trimmed;
/// `None` when neither says.
#[cfg(any(feature = "syslog", feature = "cloudwatch"))]
pub(crate) fn host_name() -> Option<String> {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .or_else(|| hostname::get().ok().and_then(|h| h.into_string().ok()))
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_become_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(20_785), (2026, 11, 28));
    }
}
