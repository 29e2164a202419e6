//! Time as integer nanoseconds since the POSIX epoch, as ObsPy's `UTCDateTime` stores it
//! (NUMERICS §0). Never f32; f64 seconds only where ObsPy itself uses `.timestamp`.

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// Inverse of [`days_from_civil`]: (year, month, day).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Broken-down UTC time of a nanosecond timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    /// Day of year, 1-based (SAC's nzjday).
    pub yday: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub nanosecond: u32,
}

pub fn to_civil(ns: i64) -> Civil {
    let secs = ns.div_euclid(1_000_000_000);
    let nanosecond = ns.rem_euclid(1_000_000_000) as u32;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let yday = (days - days_from_civil(year, 1, 1) + 1) as u32;
    Civil {
        year,
        month,
        day,
        yday,
        hour: (sod / 3600) as u32,
        minute: ((sod % 3600) / 60) as u32,
        second: (sod % 60) as u32,
        nanosecond,
    }
}

/// `%Y%m%dT%H%M%SZ`, truncated to whole seconds, as MassDownloader names files (NUMERICS §8).
pub fn compact(ns: i64) -> String {
    let c = to_civil(ns);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// ISO 8601 with microseconds, for reports.
pub fn iso(ns: i64) -> String {
    let c = to_civil(ns);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        c.year,
        c.month,
        c.day,
        c.hour,
        c.minute,
        c.second,
        c.nanosecond / 1000
    )
}

/// Parses the StationXML/ISO 8601 forms seen in practice: `2010-02-13T00:00:00`,
/// with optional fraction (any digits), optional `Z` or `+hh:mm` offset, or a bare date.
pub fn parse_iso(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, rest) = match s.find(['T', ' ']) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    };
    let mut dp = date.split('-');
    let y: i64 = dp.next()?.parse().ok()?;
    let m: u32 = dp.next()?.parse().ok()?;
    let d: u32 = dp.next()?.parse().ok()?;
    // Four-digit years only (ISO 8601 without expansion): the day arithmetic below must not
    // overflow on a hostile `99999999999999-01-01`.
    if dp.next().is_some()
        || !(0..=9999).contains(&y)
        || !(1..=12).contains(&m)
        || !(1..=31).contains(&d)
    {
        return None;
    }
    let mut secs = days_from_civil(y, m, d) * 86_400;
    let mut frac_ns: i64 = 0;
    if !rest.is_empty() {
        // Split off the zone designator.
        let (clock, offset_s) = if let Some(r) = rest.strip_suffix('Z') {
            (r, 0)
        } else if let Some(i) = rest.rfind(['+', '-']) {
            let (c, z) = rest.split_at(i);
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let mut zp = z[1..].split(':');
            let hh: i64 = zp.next()?.parse().ok()?;
            let mm: i64 = zp.next().unwrap_or("0").parse().ok()?;
            if !(0..=24).contains(&hh) || !(0..=59).contains(&mm) {
                return None;
            }
            (c, sign * (hh * 3600 + mm * 60))
        } else {
            (rest, 0)
        };
        let mut cp = clock.split(':');
        let hh: i64 = cp.next()?.parse().ok()?;
        let mm: i64 = cp.next().unwrap_or("0").parse().ok()?;
        let ss_str = cp.next().unwrap_or("0");
        let (whole, frac) = match ss_str.find('.') {
            Some(i) => (&ss_str[..i], &ss_str[i + 1..]),
            None => (ss_str, ""),
        };
        let ss: i64 = whole.parse().ok()?;
        if !(0..=24).contains(&hh) || !(0..=59).contains(&mm) || !(0..=60).contains(&ss) {
            return None;
        }
        if !frac.is_empty() {
            if !frac.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            // Round to nanoseconds like UTCDateTime does.
            let digits: String = frac
                .chars()
                .chain(std::iter::repeat('0'))
                .take(10)
                .collect();
            let v: i64 = digits.parse().ok()?;
            frac_ns = (v + 5) / 10;
        }
        secs += hh * 3600 + mm * 60 + ss - offset_s;
    }
    // i64 nanoseconds end in 2262: StationXML's "open" end dates (2599-12-31, 2999-...)
    // saturate to the far future, which is what they mean.
    Some(
        secs.checked_mul(1_000_000_000)
            .and_then(|v| v.checked_add(frac_ns))
            .unwrap_or(if secs > 0 { i64::MAX } else { i64::MIN }),
    )
}

/// `UTCDateTime + x` for x in seconds: adds round(x·1e9) ns (NUMERICS §0).
pub fn add_seconds(ns: i64, x: f64) -> i64 {
    ns.saturating_add((x * 1e9).round() as i64)
}

/// `UTCDateTime(ts)` from an f64 POSIX timestamp: ns = round(ts·1e9) (NUMERICS §4 step 7).
pub fn from_timestamp(ts: f64) -> i64 {
    (ts * 1e9).round() as i64
}

/// `UTCDateTime.timestamp`: ns / 1e9 as f64.
pub fn timestamp(ns: i64) -> f64 {
    ns as f64 / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_roundtrip_and_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11017);
        for d in [-800_000i64, -1, 0, 1, 10957, 20000, 2_000_000] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
        let c = to_civil(parse_iso("2020-12-31T23:59:58.123456Z").unwrap());
        assert_eq!((c.year, c.yday, c.hour, c.second), (2020, 366, 23, 58));
        assert_eq!(c.nanosecond, 123_456_000);
    }

    #[test]
    fn parse_forms() {
        let base = parse_iso("2010-02-13T00:00:00").unwrap();
        assert_eq!(base, 1_266_019_200_000_000_000);
        assert_eq!(parse_iso("2010-02-13"), Some(base));
        assert_eq!(parse_iso("2010-02-13T01:00:00+01:00"), Some(base));
        assert_eq!(
            parse_iso("2010-02-13T00:00:00.5Z"),
            Some(base + 500_000_000)
        );
        assert_eq!(parse_iso("garbage"), None);
        assert_eq!(parse_iso("99999999999999-01-01"), None, "no overflow");
        assert_eq!(parse_iso("2010-02-13T99999999999999:00:00"), None);
        assert_eq!(parse_iso("2599-12-31T23:59:59"), Some(i64::MAX));
        assert_eq!(compact(base + 1_999_999_999), "20100213T000001Z");
    }
}
