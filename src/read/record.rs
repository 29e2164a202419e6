//! What one miniSEED record's header says, checked before it is used: which channel it belongs
//! to (the header's own codes for miniSEED 2, the FDSN source identifier for miniSEED 3), when
//! it starts (a year seisbatch can represent, libmseed's time checked against it, a BTime
//! fraction of a whole second carried as ObsPy does), whether a record may start at a byte at
//! all (a cheap filter before libmseed's detection), and whether its data fits its record.

use mseed::MSRecord;

use super::join;
use crate::limits;

/// The channels of one file, each named once (records repeat the same few identifiers
/// thousands of times; four strings per record cost more than decoding it). Keyed by the four
/// codes, not by their dotted join: codes holding a `.` must not merge two channels.
#[derive(Default)]
pub(super) struct Channels {
    pub(super) names: join::Names,
    by_codes: std::collections::HashMap<(String, String, String, String), usize>,
    /// The last record's identifying bytes (miniSEED 2's station..network codes, miniSEED
    /// 3's identifier) and key: the next record is nearly always it, and is then told apart
    /// without allocating.
    last: Option<(Vec<u8>, usize)>,
}

impl Channels {
    pub(super) fn key(&mut self, rec: &MSRecord) -> usize {
        // miniSEED 2: the header's own fields, as ObsPy's libmseed 2 reads them (libmseed 3
        // joins them into an FDSN identifier and splits it again on '_', so a station "A_B"
        // would come back as station "A", location "B"). miniSEED 3: the identifier.
        let raw = rec.raw().unwrap_or(&[]);
        let v2 = rec.format_version() == 2 && raw.len() >= 20;
        let sid_v3;
        let id: &[u8] = if v2 {
            &raw[8..20]
        } else {
            sid_v3 = rec.sid_lossy();
            sid_v3.as_bytes()
        };
        if let Some((s, k)) = &self.last {
            if s == id {
                return *k;
            }
        }
        let codes = if v2 {
            mseed2_codes(raw)
        } else {
            nslc(&String::from_utf8_lossy(id))
        };
        let k = match self.by_codes.get(&codes) {
            Some(&k) => k,
            None => {
                let k = self.names.len();
                self.names.push(codes.clone());
                self.by_codes.insert(codes, k);
                k
            }
        };
        match &mut self.last {
            Some((s, key)) => {
                s.clear();
                s.extend_from_slice(id);
                *key = k;
            }
            None => self.last = Some((id.to_vec(), k)),
        }
        k
    }
}

/// Whether a record header may start at `b[0]` (libmseed's MS2_ISVALIDHEADER and
/// MS3_ISVALIDHEADER, which `mseed::detect` checks first): a cheap filter so that
/// resynchronising over megabytes of garbage does not call libmseed at every byte.
pub(crate) fn may_start_record(b: &[u8]) -> bool {
    if b.len() < 27 {
        return false;
    }
    if b[0] == b'M' && b[1] == b'S' && b[2] == 3 {
        return b[12] <= 23 && b[13] <= 59 && b[14] <= 60;
    }
    b[..6]
        .iter()
        .all(|&c| c.is_ascii_digit() || c == b' ' || c == 0)
        && matches!(b[6], b'D' | b'R' | b'Q' | b'M')
        && matches!(b[7], b' ' | 0)
        && b[24] <= 23
        && b[25] <= 59
        && b[26] <= 60
}

/// miniSEED 2 gives a record's start to 1/10,000 s (the BTime fraction, 0..=9999). Some
/// writers put 10,000 or more there (ObsPy's `microsecond_wrap.mseed`): ObsPy's libmseed 2
/// adds it to the time anyway, libmseed 3 refuses the record. For a miniSEED 2 record that
/// libmseed recognises, this zeroes such a fraction in the reader's own copy and returns it,
/// for [`add_record`] to add as ObsPy does.
pub(super) fn carry_fraction(rec: &mut [u8]) -> Option<u16> {
    if rec.len() < 48 {
        return None;
    }
    let word = |b: [u8; 2], big: bool| {
        if big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    };
    // libmseed's byte-order test: the order in which year and day are plausible.
    let plausible = |big: bool| {
        let year = word([rec[20], rec[21]], big);
        let day = word([rec[22], rec[23]], big);
        (1900..=2100).contains(&year) && (1..=366).contains(&day)
    };
    let big = match (plausible(true), plausible(false)) {
        (true, _) => true,
        (false, true) => false,
        _ => return None,
    };
    let fract = word([rec[28], rec[29]], big);
    if fract < 10_000 || !mseed::detect(&*rec).is_ok_and(|d| d.format_version == 2) {
        return None;
    }
    rec[28] = 0;
    rec[29] = 0;
    Some(fract)
}

/// Whether a record's data section lies outside the record, or its sample count needs more
/// bytes than its data section holds, for the fixed-size encodings. libmseed 3's decoders for those trust the count and read past the
/// record (a float32 record claiming 65,535 samples crashed the process: found by
/// tests/corpus.rs); Steim frames are bounds-checked by libmseed itself.
pub(crate) fn overruns(h: &MSRecord) -> Option<u64> {
    use mseed::MSDataEncoding as E;
    // A data offset past the record end makes libmseed's data length wrap (u32) and its Steim
    // bounds check read far past the record (found by fuzzing: fuzz/regressions/).
    let reclen = h.raw().map_or(0, <[u8]>::len) as u64;
    if u64::from(h.data_length()) > reclen {
        return Some(u64::from(h.data_length()));
    }
    let size: u64 = match h.encoding().ok()? {
        E::Text => 1,
        E::Integer16 | E::GeoScope163 | E::GeoScope164 | E::CDSN | E::SRO | E::DWWSSN => 2,
        E::GeoScope24 => 3,
        E::Integer32 | E::Float32 => 4,
        E::Float64 => 8,
        E::Steim1 | E::Steim2 => return None,
    };
    let need = u64::try_from(h.sample_cnt()).ok()?.saturating_mul(size);
    (need > u64::from(h.data_length())).then_some(need)
}

/// A record's start in ns, checked against the year its header states: libmseed keeps time
/// as i64 nanoseconds too, and a year past 2262 wraps there (a record dated 2262-07-19 came out
/// as 1677-12-28, written with exit 0). The header's own year must be one seisbatch can
/// represent, and libmseed's time must agree with it (within a year: a time correction or a
/// carried fraction may cross New Year).
pub(super) fn record_start(rec: &MSRecord) -> Result<i64, String> {
    let year = header_year(rec).ok_or("no start year in the record header")?;
    if !(limits::FIRST_YEAR..=limits::LAST_YEAR).contains(&year) {
        return Err(format!(
            "start year {year} cannot be represented (seisbatch keeps time as 64-bit nanoseconds: years {}-{})",
            limits::FIRST_YEAR,
            limits::LAST_YEAR
        ));
    }
    let ns = rec
        .start_time()
        .map_err(|e| format!("bad start time: {e}"))?
        .unix_timestamp_nanos();
    let ns = i64::try_from(ns).map_err(|_| format!("start time {ns} ns out of range"))?;
    if (crate::time::to_civil(ns).year - year).abs() > 1 {
        return Err(format!(
            "start time wrapped in libmseed (header year {year}, decoded {})",
            crate::time::iso(ns)
        ));
    }
    Ok(ns)
}

/// The start year written in a record's header: miniSEED 3 little-endian at byte 8; miniSEED 2
/// at byte 20, in the byte order libmseed picks (host order when year and day are plausible,
/// else swapped: unpack.c).
pub(super) fn header_year(rec: &MSRecord) -> Option<i64> {
    let raw = rec.raw()?;
    let word = |at: usize, big: bool| -> Option<u16> {
        let b = [*raw.get(at)?, *raw.get(at + 1)?];
        Some(if big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    };
    if rec.format_version() == 3 {
        return word(8, false).map(i64::from);
    }
    let host_big = cfg!(target_endian = "big");
    let (y, d) = (word(20, host_big)?, word(22, host_big)?);
    let plausible = (1900..=2100).contains(&y) && (1..=366).contains(&d);
    word(20, if plausible { host_big } else { !host_big }).map(i64::from)
}

/// NET, STA, LOC, CHA from a miniSEED 2 fixed header (station at byte 8, location 13,
/// channel 15, network 18), spaces removed and cut at a NUL, as libmseed's ms_strncpclean.
pub(super) fn mseed2_codes(raw: &[u8]) -> (String, String, String, String) {
    let field = |a: usize, b: usize| {
        let bytes: Vec<u8> = raw[a..b]
            .iter()
            .copied()
            .take_while(|&c| c != 0)
            .filter(|&c| c != b' ')
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    (field(18, 20), field(8, 13), field(13, 15), field(15, 18))
}

/// NET, STA, LOC, CHA from an FDSN source identifier `FDSN:NET_STA_LOC_B_S_SS`, as libmseed's
/// `ms_sid2nslc` splits it (band, source and subsource joined when each is one character,
/// else kept with underscores). Not through the `mseed` crate's `network()`/`station()`/...:
/// each of those leaks a C string per call (~200 bytes a record: 75 MB over 50,000 files).
pub(crate) fn nslc(sid: &str) -> (String, String, String, String) {
    let body = sid.strip_prefix("FDSN:").unwrap_or(sid);
    let mut parts = body.splitn(4, '_');
    let mut next = || parts.next().unwrap_or("").to_string();
    let (net, sta, loc, rest) = (next(), next(), next(), next());
    let chan: Vec<&str> = rest.split('_').collect();
    let cha = if chan.len() == 3 && chan.iter().all(|c| c.chars().count() == 1) {
        chan.concat()
    } else {
        rest
    };
    (net, sta, loc, cha)
}

#[cfg(test)]
mod tests {
    #[test]
    fn source_identifiers_split_like_libmseed() {
        let s = |a: &str, b: &str, c: &str, d: &str| (a.into(), b.into(), c.into(), d.into());
        assert_eq!(super::nslc("FDSN:GR_FUR__H_H_Z"), s("GR", "FUR", "", "HHZ"));
        assert_eq!(
            super::nslc("FDSN:XX_TEST_00_B_H_Z"),
            s("XX", "TEST", "00", "BHZ")
        );
        assert_eq!(
            super::nslc("FDSN:XX_TEST_00_BB_H_Z"),
            s("XX", "TEST", "00", "BB_H_Z")
        );
        assert_eq!(super::nslc("FDSN:XX_TEST_"), s("XX", "TEST", "", ""));
    }

    use crate::limits;
    use crate::read::mseed::read_bytes;
    use crate::time;
    use crate::write::mseed::encode;

    use crate::trace::ramp as trace;

    #[test]
    fn a_whole_second_in_the_fraction_is_carried_as_obspy_does() {
        // ObsPy 1.5.1 reads this record (BTime 04:58:05 + 10,000/10,000 s) as one trace from
        // 2008-01-08T04:58:06 (start ns, npts and sum from obspy.read; warning
        // InternalMSEEDWarning "fractional second ... of 10000").
        let d = read_bytes(include_bytes!(
            "../../tests/fixtures/corpus/mseed/microsecond_wrap.mseed"
        ));
        assert!(d.problems.is_empty(), "{:?}", d.problems);
        assert_eq!(d.traces.len(), 1);
        let t = &d.traces[0];
        assert_eq!(t.start_ns, 1_199_768_286_000_000_000);
        assert_eq!(t.data.len(), 277);
        assert_eq!(t.data.iter().sum::<f64>(), 13748.0);
        assert_eq!(&t.data[..5], &[50.0, 48.0, 47.0, 47.0, 52.0]);
        assert!(
            d.warnings[0].contains("carried into the seconds"),
            "{:?}",
            d.warnings
        );
    }

    /// A record dated past 2262 wrapped to 1677 inside libmseed's i64 nanoseconds and was
    /// written with exit 0; now it is refused with the year named.
    #[test]
    fn records_dated_beyond_what_i64_nanoseconds_hold_are_refused() {
        let mut buf = encode(&trace(0, 500));
        buf[20..22].copy_from_slice(&2262u16.to_be_bytes());
        buf[22..24].copy_from_slice(&200u16.to_be_bytes()); // 2262-07-19
        let d = read_bytes(&buf);
        assert!(
            d.traces.is_empty(),
            "{:?}",
            d.traces.first().map(|t| t.start_ns)
        );
        assert!(
            d.problems[0]
                .reason
                .contains("start year 2262 cannot be represented"),
            "{:?}",
            d.problems
        );
        // The last representable year reads; a record that runs past it does not.
        let late = time::parse_iso("2261-12-31T23:59:00").unwrap();
        assert_eq!(read_bytes(&encode(&trace(late, 500))).traces.len(), 1);
        let d = read_bytes(&encode(&trace(late, 7000)));
        assert!(d.traces.iter().all(|t| limits::span_problem(
            t.start_ns,
            t.data.len(),
            t.sampling_rate
        )
        .is_none()));
        assert!(!d.problems.is_empty());
    }
}
