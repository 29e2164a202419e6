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

/// Days in month `m` of year `y` (proleptic Gregorian).
pub fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// [`parse`] without the reason.
pub fn parse_iso(s: &str) -> Option<i64> {
    parse(s).ok()
}

/// Parses the StationXML/ISO 8601 forms seen in practice: `2010-02-13T00:00:00`, with
/// optional fraction (any digits), optional `Z` or `+hh:mm` offset, or a bare date. Every
/// calendar field is checked as ObsPy's `UTCDateTime` checks it (issue #23): `24:02`, `:60`,
/// 31 November and 29 February of a common year are refused, not rolled over into the next
/// day, minute or month. The error says which field is wrong.
pub fn parse(s: &str) -> Result<i64, String> {
    let text = s;
    let s = s.trim();
    let bad = |why: String| format!("`{text}` is not an ISO 8601 time: {why}");
    let num = |v: &str, what: &str| -> Result<i64, String> {
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) || v.len() > 9 {
            return Err(bad(format!("{what} `{v}` is not a number")));
        }
        v.parse::<i64>()
            .map_err(|_| bad(format!("{what} `{v}` is not a number")))
    };
    let (date, rest) = match s.find(['T', ' ']) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    };
    let mut dp = date.split('-');
    let (Some(ys), Some(ms), Some(ds), None) = (dp.next(), dp.next(), dp.next(), dp.next()) else {
        return Err(bad("the date is not YYYY-MM-DD".into()));
    };
    let y = num(ys, "year")?;
    // Four-digit years only (ISO 8601 without expansion): the day arithmetic below must not
    // overflow on a hostile `99999999999999-01-01`.
    if !(0..=9999).contains(&y) {
        return Err(bad(format!("year {y} is outside 0-9999")));
    }
    let m = num(ms, "month")?;
    if !(1..=12).contains(&m) {
        return Err(bad(format!("month {m} is outside 1-12")));
    }
    let m = m as u32;
    let d = num(ds, "day")?;
    let last = days_in_month(y, m);
    if !(1..=i64::from(last)).contains(&d) {
        return Err(bad(format!("day {d}: {y:04}-{m:02} has {last} days")));
    }
    let mut secs = days_from_civil(y, m, d as u32) * 86_400;
    let mut frac_ns: i64 = 0;
    if !rest.is_empty() {
        // Split off the zone designator.
        let (clock, offset_s) = if let Some(r) = rest.strip_suffix('Z') {
            (r, 0)
        } else if let Some(i) = rest.rfind(['+', '-']) {
            let (c, z) = rest.split_at(i);
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let mut zp = z[1..].split(':');
            let hh = num(zp.next().unwrap_or(""), "offset hour")?;
            let mm = num(zp.next().unwrap_or("0"), "offset minute")?;
            if !(0..=23).contains(&hh) || !(0..=59).contains(&mm) || zp.next().is_some() {
                return Err(bad(format!("offset `{z}` is not +hh:mm")));
            }
            (c, sign * (hh * 3600 + mm * 60))
        } else {
            (rest, 0)
        };
        let mut cp = clock.split(':');
        let hh = num(cp.next().unwrap_or(""), "hour")?;
        let mm = num(cp.next().unwrap_or("0"), "minute")?;
        let ss_str = cp.next().unwrap_or("0");
        if cp.next().is_some() {
            return Err(bad("the time is not hh:mm:ss".into()));
        }
        let (whole, frac) = match ss_str.find('.') {
            Some(i) => (&ss_str[..i], &ss_str[i + 1..]),
            None => (ss_str, ""),
        };
        let ss = num(whole, "second")?;
        if !(0..=23).contains(&hh) {
            return Err(bad(format!("hour {hh} is outside 0-23")));
        }
        if !(0..=59).contains(&mm) {
            return Err(bad(format!("minute {mm} is outside 0-59")));
        }
        if !(0..=59).contains(&ss) {
            return Err(bad(format!("second {ss} is outside 0-59")));
        }
        if !frac.is_empty() {
            if !frac.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(format!("fraction `{frac}` is not digits")));
            }
            // Round to nanoseconds like UTCDateTime does.
            let digits: String = frac
                .chars()
                .chain(std::iter::repeat('0'))
                .take(10)
                .collect();
            let v: i64 = digits
                .parse()
                .map_err(|_| bad(format!("fraction `{frac}` is not digits")))?;
            frac_ns = (v + 5) / 10;
        }
        secs += hh * 3600 + mm * 60 + ss - offset_s;
    }
    // i64 nanoseconds end in 2262: StationXML's "open" end dates (2599-12-31, 2999-...)
    // saturate to the far future, which is what they mean.
    Ok(secs
        .checked_mul(1_000_000_000)
        .and_then(|v| v.checked_add(frac_ns))
        .unwrap_or(if secs > 0 { i64::MAX } else { i64::MIN }))
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

    /// ObsPy's UTCDateTime refuses each of these; they were rolled over into the next day,
    /// minute or month (issue #23).
    #[test]
    fn calendar_fields_are_checked_not_rolled_over() {
        for (text, why) in [
            ("2013-12-31T24:02:00Z", "hour 24 is outside 0-23"),
            ("2014-01-01T00:01:60Z", "second 60 is outside 0-59"),
            ("2014-01-01T00:60:00Z", "minute 60 is outside 0-59"),
            ("2014-11-31", "day 31: 2014-11 has 30 days"),
            ("2014-02-29", "day 29: 2014-02 has 28 days"),
            ("2014-02-31T00:00:00", "day 31: 2014-02 has 28 days"),
            ("2014-13-01", "month 13 is outside 1-12"),
            ("2014-00-10", "month 0 is outside 1-12"),
            ("2014-01-00", "day 0: 2014-01 has 31 days"),
            ("2014-01-01T00:00:00+25:00", "offset `+25:00` is not +hh:mm"),
            ("2014-01-01T-1:00:00", "offset"),
            ("2014-01-01T00:00:00:00", "the time is not hh:mm:ss"),
            ("2014-1e1-01", "month `1e1` is not a number"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(why), "{text}: {e}");
            assert!(e.contains(text), "{text}: {e}");
        }
        assert_eq!(
            parse("2016-02-29T23:59:59.999999999Z"),
            Ok(1_456_790_399_999_999_999)
        );
        assert_eq!(parse("2000-02-29"), Ok(951_782_400_000_000_000));
        assert!(parse("1900-02-29").is_err(), "1900 is a common year");
    }
}
