//! SCEDC's layout on S3 (`s3://scedc-pds/continuous_waveforms/YYYY/YYYY_DDD/`, one file per
//! channel and day named `NNSSSSSCCCLLLYYYYDDD.ms`, each code padded with `_`:
//! `CIFOX2_LHZ___2022002.ms` is CI.FOX2..LHZ on 2022-01-02). A run with windows lists only
//! the day folders its windows touch (a year of SCEDC is millions of objects); an object
//! whose name gives another day is left unread.

/// The codes and day an SCEDC name gives: (net, sta, loc, cha, year, day of year).
pub fn parse(name: &str) -> Option<(String, String, String, String, i64, u32)> {
    let stem = name.strip_suffix(".ms")?;
    let b = stem.as_bytes();
    if b.len() != 20 || !b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_') {
        return None;
    }
    let code = |a: usize, z: usize| stem[a..z].trim_end_matches('_').to_string();
    let year: i64 = stem[13..17].parse().ok()?;
    let doy: u32 = stem[17..20].parse().ok()?;
    if !(1..=366).contains(&doy) {
        return None;
    }
    Some((code(0, 2), code(2, 7), code(10, 13), code(7, 10), year, doy))
}

/// Whether a prefix's objects are laid out as SCEDC's: `.../continuous_waveforms` or
/// below it.
pub fn is_scedc(prefix_key: &str) -> bool {
    prefix_key.split('/').any(|p| p == "continuous_waveforms")
}

/// The day folders (`YYYY/YYYY_DDD`, relative to `continuous_waveforms`) that hold data of
/// [start, end]: each day touched, and the day before the first (a file may run past
/// midnight). At most `most`.
pub fn day_folders(start_ns: i64, end_ns: i64, most: usize) -> Result<Vec<String>, String> {
    const DAY: i64 = 86_400 * 1_000_000_000;
    let first = start_ns.div_euclid(DAY) - 1;
    let last = end_ns.div_euclid(DAY);
    let n = (last - first + 1).max(0) as u64;
    if n > most as u64 {
        return Err(format!(
            "the windows span {n} days, more than the {most} day folders one run lists; give --catalog"
        ));
    }
    Ok((first..=last)
        .map(|d| {
            let (y, m, dd) = crate::time::civil_from_days(d);
            let doy =
                crate::time::days_from_civil(y, m, dd) - crate::time::days_from_civil(y, 1, 1) + 1;
            format!("{y:04}/{y:04}_{doy:03}")
        })
        .collect())
}

/// The part of a prefix up to and including `continuous_waveforms`.
pub fn base(prefix_key: &str) -> Option<String> {
    let mut out = Vec::new();
    for p in prefix_key.split('/') {
        out.push(p);
        if p == "continuous_waveforms" {
            return Some(out.join("/"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scedc_names_give_codes_and_day() {
        assert_eq!(
            parse("CIFOX2_LHZ___2022002.ms"),
            Some(("CI".into(), "FOX2".into(), "".into(), "LHZ".into(), 2022, 2))
        );
        assert_eq!(
            parse("CIPASC_BHN10_2022365.ms"),
            Some((
                "CI".into(),
                "PASC".into(),
                "10".into(),
                "BHN".into(),
                2022,
                365
            ))
        );
        assert_eq!(parse("CIFOX2_LHZ___2022002.mseed"), None);
        assert_eq!(parse("CIFOX2_LHZ___2022400.ms"), None);
        assert_eq!(parse("../../etc/passwd.ms"), None);
    }

    #[test]
    fn windows_list_the_days_they_touch_and_the_day_before() {
        let t = |s: &str| crate::time::parse_iso(s).unwrap();
        let d = day_folders(t("2022-01-02T23:40:00"), t("2022-01-03T00:40:00"), 10).unwrap();
        assert_eq!(d, ["2022/2022_001", "2022/2022_002", "2022/2022_003"]);
        let d = day_folders(t("2021-12-31T12:00:00"), t("2021-12-31T13:00:00"), 10).unwrap();
        assert_eq!(d, ["2021/2021_364", "2021/2021_365"]);
        assert!(day_folders(t("2000-01-01T00:00:00"), t("2022-01-01T00:00:00"), 1000).is_err());
        assert!(is_scedc("continuous_waveforms/2022"));
        assert_eq!(
            base("pds/continuous_waveforms/2022").as_deref(),
            Some("pds/continuous_waveforms")
        );
        assert!(!is_scedc("sds/2022"));
    }
}
