//! RFC 3339 UTC timestamps with milliseconds, without a date library.

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

thread_local! {
    /// The last whole second written by this thread, and its text up to the `.`.
    static LAST_SECOND: Cell<(u64, [u8; 20])> = const { Cell::new((0, [0; 20])) };
}

/// Writes `t` as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC). Times before 1970 are
/// written as the epoch.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// let mut out = Vec::new();
/// fapilog::encode::write_rfc3339_millis(&mut out, UNIX_EPOCH + Duration::from_millis(1_764_066_600_123));
/// assert_eq!(out, b"2025-11-25T10:30:00.123Z");
/// ```
pub fn write_rfc3339_millis(out: &mut Vec<u8>, t: SystemTime) {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let millis = d.subsec_millis();
    let mut b = *b"0000-00-00T00:00:00.000Z";
    // Events come in bursts within one second: keep the last second's text.
    let (cached, prefix) = LAST_SECOND.with(Cell::get);
    if cached == secs && secs != 0 {
        b[..20].copy_from_slice(&prefix);
    } else {
        let days = (secs / 86_400) as i64;
        let sod = secs % 86_400;
        let (y, m, dd) = civil_from_days(days);
        put4(&mut b[0..4], y as u32);
        put2(&mut b[5..7], m);
        put2(&mut b[8..10], dd);
        put2(&mut b[11..13], (sod / 3600) as u32);
        put2(&mut b[14..16], ((sod / 60) % 60) as u32);
        put2(&mut b[17..19], (sod % 60) as u32);
        let mut p = [0u8; 20];
        p.copy_from_slice(&b[..20]);
        LAST_SECOND.with(|c| c.set((secs, p)));
    }
    b[20] = b'0' + (millis / 100) as u8;
    b[21] = b'0' + ((millis / 10) % 10) as u8;
    b[22] = b'0' + (millis % 10) as u8;
    out.extend_from_slice(&b);
}

fn put2(b: &mut [u8], v: u32) {
    b[0] = b'0' + (v / 10 % 10) as u8;
    b[1] = b'0' + (v % 10) as u8;
}

fn put4(b: &mut [u8], v: u32) {
    let v = v.min(9999);
    b[0] = b'0' + (v / 1000) as u8;
    b[1] = b'0' + (v / 100 % 10) as u8;
    b[2] = b'0' + (v / 10 % 10) as u8;
    b[3] = b'0' + (v % 10) as u8;
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's algorithm).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn fmt(ms: u64) -> String {
        let mut out = Vec::new();
        write_rfc3339_millis(&mut out, UNIX_EPOCH + Duration::from_millis(ms));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn known_dates() {
        assert_eq!(fmt(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(fmt(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(fmt(4_102_444_799_999), "2099-12-31T23:59:59.999Z");
    }

    #[test]
    fn the_cached_second_is_only_reused_within_that_second() {
        assert_eq!(fmt(61_001), "1970-01-01T00:01:01.001Z");
        assert_eq!(fmt(61_999), "1970-01-01T00:01:01.999Z");
        assert_eq!(fmt(62_000), "1970-01-01T00:01:02.000Z");
        assert_eq!(fmt(86_400_000 + 62_000), "1970-01-02T00:01:02.000Z");
        assert_eq!(fmt(61_500), "1970-01-01T00:01:01.500Z");
    }

    proptest::proptest! {
        #[test]
        fn day_arithmetic_round_trips(days in 0i64..200_000) {
            let (y, m, d) = civil_from_days(days);
            // Back to days with the inverse algorithm.
            let y2 = if m <= 2 { y - 1 } else { y };
            let era = y2.div_euclid(400);
            let yoe = y2 - era * 400;
            let mp = if m > 2 { m - 3 } else { m + 9 } as i64;
            let doy = (153 * mp + 2) / 5 + d as i64 - 1;
            let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
            proptest::prop_assert_eq!(era * 146_097 + doe - 719_468, days);
        }
    }
}
