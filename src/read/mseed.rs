//! miniSEED 2 and 3 through libmseed (the `mseed` crate), record by record, so one corrupt
//! record costs that record only. Records are grouped by id and rate, ordered by time, and
//! contiguous ones joined into one trace, as ObsPy's `read` does (libmseed's default
//! tolerance: half a sample period): an out-of-order file gives the same traces as a sorted one.

use mseed::{MSRecord, MSSampleType};

use super::libmseed;

use crate::trace::Trace;

/// What one file gave: its traces and what could not be read (with byte offsets).
#[derive(Debug, Default)]
pub struct Decoded {
    pub traces: Vec<Trace>,
    pub problems: Vec<String>,
    /// Segments refused by the gap policy: id, start (ns), reason.
    pub rejected: Vec<(String, i64, String)>,
    /// For the report's warnings: gaps filled (one line per trace), and channels recorded at
    /// more than one sampling rate (one line per channel).
    pub warnings: Vec<String>,
}

/// What to do with a gap between consecutive records of one channel (`--gaps`). Overlaps
/// always start a new trace. Never a silent fill: every filled gap is a warning, and the
/// policy is in report.json.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Gaps {
    /// Each contiguous segment is its own trace (as ObsPy's `read` returns them).
    Split,
    /// Gaps of at most `max_gap` seconds filled with zeros (ObsPy's
    /// `merge(fill_value=0)`); longer gaps split.
    Zeros { max_gap: f64 },
    /// Gaps of at most `max_gap` seconds filled by a straight line between the samples either
    /// side (ObsPy's `merge(fill_value="interpolate")`); longer gaps split.
    Interpolate { max_gap: f64 },
    /// A channel with any gap fails, every segment of it, the gap named.
    Reject,
}

impl Gaps {
    pub fn name(&self) -> &'static str {
        match self {
            Gaps::Split => "split",
            Gaps::Zeros { .. } => "zeros",
            Gaps::Interpolate { .. } => "interpolate",
            Gaps::Reject => "reject",
        }
    }

    fn max_gap(&self) -> Option<f64> {
        match self {
            Gaps::Zeros { max_gap } | Gaps::Interpolate { max_gap } => Some(*max_gap),
            _ => None,
        }
    }
}

/// Zero bytes after the input that libmseed's over-reads land in.
const PAD: usize = 64;

/// Samples one filled gap may add, whatever --max-gap says (a header error can claim a gap of
/// years; filling it would allocate gigabytes).
const MAX_FILL: usize = 1 << 26;

/// A record claiming more samples than this is refused before allocating (2^31 samples
/// would be gigabytes); real records hold at most a few thousand.
const MAX_SAMPLES_PER_RECORD: i64 = 1 << 20;

/// One decoded record's samples, joined to its neighbours at the end.
struct Segment {
    /// Index into `Channels::names` (channels numbered in order of first appearance).
    key: usize,
    start_ns: i64,
    rate: f64,
    data: Vec<f64>,
}

/// The channels of one file, each named once (records repeat the same few identifiers
/// thousands of times; four strings per record cost more than decoding it).
#[derive(Default)]
struct Channels {
    names: Vec<(String, String, String, String)>,
    by_id: std::collections::HashMap<String, usize>,
    /// The last record's source identifier and key: the next record is nearly always it.
    last: Option<(String, usize)>,
}

impl Channels {
    fn key(&mut self, sid: String) -> usize {
        if let Some((s, k)) = &self.last {
            if *s == sid {
                return *k;
            }
        }
        let (net, sta, loc, cha) = nslc(&sid);
        let id = format!("{net}.{sta}.{loc}.{cha}");
        let k = match self.by_id.get(&id) {
            Some(&k) => k,
            None => {
                let k = self.names.len();
                self.names.push((net, sta, loc, cha));
                self.by_id.insert(id, k);
                k
            }
        };
        self.last = Some((sid, k));
        k
    }
}

/// `read_with` splitting at every gap (as ObsPy's `read`).
pub fn read_bytes(buf: &[u8]) -> Decoded {
    read_with(buf, Gaps::Split)
}

pub fn read_with(input: &[u8], gaps: Gaps) -> Decoded {
    // libmseed's header checks read a few bytes past the length they are given (a 48-byte
    // fixed header from a 40-byte minimum, 4 bytes past a blockette offset equal to the
    // length: found by fuzzing). Every slice handed to it ends inside this padded copy.
    let mut padded = Vec::with_capacity(input.len() + PAD);
    padded.extend_from_slice(input);
    padded.resize(input.len() + PAD, 0);
    let n = input.len();
    let mut out = Decoded::default();
    let mut segs: Vec<Segment> = Vec::new();
    let mut channels = Channels::default();
    // What libmseed said about records it decoded: message, first record's byte, how many more.
    let mut remarks: Vec<(String, usize, usize)> = Vec::new();
    let mut off = 0usize;
    while off < n {
        let carried = carry_fraction(&mut padded[off..n]);
        let rest = &padded[off..n];
        if rest.len() < 40 {
            if rest.iter().any(|&b| b != 0) {
                out.problems.push(format!(
                    "{} trailing bytes at byte {off} are not a miniSEED record",
                    rest.len()
                ));
            }
            break;
        }
        // Parse the header first and check the sample count before libmseed unpacks (and
        // allocates) anything; then unpack that same record.
        let header = libmseed::parse_record(rest);
        let mut said = libmseed::said();
        let rec = match header {
            // libmseed answers "need more bytes" for a record cut short by the end of the
            // file; the header is then unparsed (sample count -1).
            Ok(h) if h.sample_cnt() < 0 || h.raw().is_none_or(|r| r.len() > rest.len()) => {
                out.problems.push(format!(
                    "truncated record at byte {off}: the file ends inside it ({} bytes left); skipped{}",
                    rest.len(),
                    quoting(&said)
                ));
                break;
            }
            Ok(h) if h.sample_cnt() > MAX_SAMPLES_PER_RECORD => {
                let len = h.raw().map(|r| r.len()).unwrap_or(0);
                out.problems.push(format!(
                    "record at byte {off} claims {} samples (more than {MAX_SAMPLES_PER_RECORD}); skipped{}",
                    h.sample_cnt(),
                    quoting(&said)
                ));
                off += len.max(1);
                continue;
            }
            Ok(h) if overruns(&h).is_some() => {
                let len = h.raw().map(|r| r.len()).unwrap_or(0);
                out.problems.push(format!(
                    "record at byte {off} claims {} samples in {} data bytes, which do not fit its {}-byte record or hold that many; skipped{}",
                    h.sample_cnt(),
                    h.data_length(),
                    len,
                    quoting(&said)
                ));
                off += len.max(1);
                continue;
            }
            Ok(h) => {
                let r = libmseed::unpack(h);
                said.extend(libmseed::said());
                r
            }
            Err(e) => Err(e),
        };
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                // Resynchronise on the next byte where a record header is recognised.
                let next = (off + 1..n.saturating_sub(40))
                    .find(|&p| mseed::detect(&padded[p..n]).is_ok_and(|d| d.format_version > 0))
                    .unwrap_or(n);
                libmseed::said(); // what probing for the next header said: not about a record
                out.problems.push(format!(
                    "unreadable data at bytes {off}..{next}: {e}{}",
                    quoting(&said)
                ));
                off = next;
                continue;
            }
        };
        let len = rec.raw().map(|r| r.len()).unwrap_or(0);
        let at = off;
        off += len.max(1);
        let shift_ns = carried.map_or(0, |f| i64::from(f) * 100_000);
        let added = add_record(&rec, shift_ns, &mut channels, &mut segs);
        said.extend(libmseed::said());
        if carried.is_some() && added.is_ok() {
            said.push(
                "a start time's fraction of a second is 10,000 or more (units of 1/10,000 s): \
                 carried into the seconds, as ObsPy does"
                    .to_string(),
            );
        }
        match added {
            Err(p) => out
                .problems
                .push(format!("record at byte {at}: {p}{}", quoting(&said))),
            // A record libmseed decoded with a warning (a failed Steim integrity check, a
            // blockette count that does not match): kept, and said once per message.
            Ok(()) => {
                for m in said {
                    let seen = remarks.iter_mut().find(|(text, _, _)| *text == m);
                    match seen {
                        Some((_, _, more)) => *more += 1,
                        None => remarks.push((m, at, 0)),
                    }
                }
            }
        }
    }
    let joined = join(segs, channels.names, gaps);
    out.traces = joined.0;
    out.rejected = joined.1;
    out.warnings = joined.2;
    out.warnings
        .extend(remarks.into_iter().map(|(text, at, more)| match more {
            0 => format!("libmseed, record at byte {at}: {text}"),
            _ => format!("libmseed, record at byte {at} and {more} more: {text}"),
        }));
    out
}

/// miniSEED 2 gives a record's start to 1/10,000 s (the BTime fraction, 0..=9999). Some
/// writers put 10,000 or more there (ObsPy's `microsecond_wrap.mseed`): ObsPy's libmseed 2
/// adds it to the time anyway, libmseed 3 refuses the record. For a miniSEED 2 record that
/// libmseed recognises, this zeroes such a fraction in the reader's own copy and returns it,
/// for [`add_record`] to add as ObsPy does.
fn carry_fraction(rec: &mut [u8]) -> Option<u16> {
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

/// What libmseed said about a record, for the end of a problem's text.
fn quoting(said: &[String]) -> String {
    if said.is_empty() {
        String::new()
    } else {
        format!(" (libmseed: {})", said.join("; "))
    }
}

/// A piece of a joined trace: a record's samples, or a filled gap of n samples.
enum Piece {
    Record(usize),
    Fill(usize),
}

type Joined = (Vec<Trace>, Vec<(String, i64, String)>, Vec<String>);

/// Whether a record's data section lies outside the record, or its sample count needs more
/// bytes than its data section holds, for the fixed-size encodings. libmseed 3's decoders for those trust the count and read past the
/// record (a float32 record claiming 65,535 samples crashed the process: found by
/// tests/corpus.rs); Steim frames are bounds-checked by libmseed itself.
fn overruns(h: &MSRecord) -> Option<u64> {
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

/// Sorts records by (channel in order of appearance, rate, start) and appends each to the
/// previous one when it starts where that one ends (within half a sample). A gap is split,
/// filled or rejected as `gaps` says; an overlap starts a new trace.
fn join(
    mut recs: Vec<Segment>,
    names: Vec<(String, String, String, String)>,
    gaps: Gaps,
) -> Joined {
    // Channels keep the order of their first record in the file, as ObsPy returns them.
    recs.sort_by(|a, b| {
        a.key
            .cmp(&b.key)
            .then(a.rate.total_cmp(&b.rate))
            .then(a.start_ns.cmp(&b.start_ns))
    });
    let id = |k: usize| {
        let (n, s, l, c) = &names[k];
        format!("{n}.{s}.{l}.{c}")
    };
    let mut warnings = Vec::new();
    // A channel whose rate changes (a reconfigured digitiser) gives one trace per rate, as
    // ObsPy's read does; its merge refuses to join them ("Sampling rate differs"), so no gap
    // policy joins them either. Said once per channel.
    for channel in recs.chunk_by(|a, b| a.key == b.key) {
        let mut rates: Vec<f64> = channel.iter().map(|r| r.rate).collect();
        rates.dedup(); // sorted by rate within a channel
        if rates.len() > 1 {
            let rates: Vec<String> = rates.iter().map(|r| format!("{r} Hz")).collect();
            warnings.push(format!(
                "{}: records at {}: one trace per rate (never joined across rates)",
                id(channel[0].key),
                rates.join(", ")
            ));
        }
    }
    // Runs of pieces that join (their first record, the pieces after it, the samples so far),
    // and the channels refused.
    let mut runs: Vec<(usize, Vec<Piece>, usize)> = Vec::new();
    let mut refused: std::collections::HashMap<usize, String> = Default::default();
    for (i, r) in recs.iter().enumerate() {
        if let Some((first, pieces, len)) = runs.last_mut() {
            let t = &recs[*first];
            let dt = 1e9 / r.rate;
            let expected = t.start_ns as f64 + *len as f64 * dt;
            let off = r.start_ns as f64 - expected;
            if t.key == r.key && t.rate == r.rate {
                if off.abs() <= 0.5 * dt {
                    pieces.push(Piece::Record(i));
                    *len += r.data.len();
                    continue;
                }
                if off > 0.0 {
                    let missing = (off / dt).round() as usize;
                    let seconds = missing as f64 / r.rate;
                    if gaps == Gaps::Reject {
                        refused.entry(r.key).or_insert_with(|| {
                            format!(
                                "gap of {seconds} s ({missing} samples) at {} and --gaps reject",
                                crate::time::iso(expected as i64)
                            )
                        });
                    } else if gaps.max_gap().is_some_and(|m| seconds <= m) && missing <= MAX_FILL {
                        pieces.push(Piece::Fill(missing));
                        pieces.push(Piece::Record(i));
                        *len += missing + r.data.len();
                        continue;
                    }
                }
            }
        }
        runs.push((i, Vec::new(), r.data.len()));
    }
    let mut traces = Vec::new();
    let mut rejected = Vec::new();
    for (first, pieces, _) in runs {
        let (key, start_ns, rate) = (recs[first].key, recs[first].start_ns, recs[first].rate);
        if let Some(reason) = refused.get(&key) {
            rejected.push((id(key), start_ns, reason.clone()));
            continue;
        }
        // Grown from the first record's samples by doubling, not allocated at the final
        // length: measured faster with glibc (an exact ~1 MB allocation is a fresh mapping,
        // page-faulted anew for every trace).
        let mut data = std::mem::take(&mut recs[first].data);
        let (mut n_gaps, mut n_fill) = (0, 0);
        for (k, p) in pieces.iter().enumerate() {
            match *p {
                Piece::Record(i) => data.extend_from_slice(&recs[i].data),
                Piece::Fill(n) => {
                    n_gaps += 1;
                    n_fill += n;
                    let left = data.last().copied().unwrap_or(0.0);
                    let right = match pieces.get(k + 1) {
                        Some(Piece::Record(j)) => recs[*j].data.first().copied().unwrap_or(0.0),
                        _ => left,
                    };
                    if let Gaps::Interpolate { .. } = gaps {
                        // numpy.linspace(left, right, n + 2)[1:-1], as ObsPy fills.
                        let step = (right - left) / (n + 1) as f64;
                        data.extend((1..=n).map(|j| left + step * j as f64));
                    } else {
                        data.extend(std::iter::repeat_n(0.0, n));
                    }
                }
            }
        }
        let (network, station, location, channel) = names[key].clone();
        if n_gaps > 0 {
            warnings.push(format!(
                "{network}.{station}.{location}.{channel}: {n_gaps} gap(s) filled ({n_fill} samples, {})",
                if matches!(gaps, Gaps::Interpolate { .. }) { "interpolated" } else { "zeros" }
            ));
        }
        traces.push(Trace {
            network,
            station,
            location,
            channel,
            start_ns,
            sampling_rate: rate,
            data,
        });
    }
    (traces, rejected, warnings)
}

/// One decoded record into the segments; `shift_ns` is added to its start (a BTime fraction
/// carried by [`carry_fraction`]).
fn add_record(
    rec: &MSRecord,
    shift_ns: i64,
    channels: &mut Channels,
    segs: &mut Vec<Segment>,
) -> Result<(), String> {
    let n = rec.num_samples();
    if n <= 0 {
        return Ok(()); // no waveform samples (e.g. a log or detection record)
    }
    let rate = rec.sample_rate_hz();
    if !rate.is_finite() || rate <= 0.0 {
        return Err(format!(
            "sample rate {rate} is not positive; {n} samples skipped"
        ));
    }
    let data: Vec<f64> = match rec.sample_type() {
        MSSampleType::Integer32 => rec
            .data_samples::<i32>()
            .unwrap_or(&[])
            .iter()
            .map(|&v| v as f64)
            .collect(),
        MSSampleType::Float32 => rec
            .data_samples::<f32>()
            .unwrap_or(&[])
            .iter()
            .map(|&v| v as f64)
            .collect(),
        MSSampleType::Float64 => rec.data_samples::<f64>().unwrap_or(&[]).to_vec(),
        t => return Err(format!("{t:?} samples are not waveform data; skipped")),
    };
    let start_ns = rec
        .start_time()
        .map_err(|e| format!("bad start time: {e}"))?
        .unix_timestamp_nanos() as i64
        + shift_ns;
    segs.push(Segment {
        key: channels.key(rec.sid_lossy()),
        start_ns,
        rate,
        data,
    });
    Ok(())
}

/// NET, STA, LOC, CHA from an FDSN source identifier `FDSN:NET_STA_LOC_B_S_SS`, as libmseed's
/// `ms_sid2nslc` splits it (band, source and subsource joined when each is one character,
/// else kept with underscores). Not through the `mseed` crate's `network()`/`station()`/...:
/// each of those leaks a C string per call (~200 bytes a record: 75 MB over 50,000 files).
fn nslc(sid: &str) -> (String, String, String, String) {
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

    use super::*;
    use crate::write::mseed::encode;

    fn trace(start_ns: i64, n: usize) -> Trace {
        Trace {
            network: "XX".into(),
            station: "S".into(),
            location: String::new(),
            channel: "HHZ".into(),
            start_ns,
            sampling_rate: 100.0,
            data: (0..n).map(|i| i as f64).collect(),
        }
    }

    #[test]
    fn what_libmseed_says_goes_with_the_record() {
        // ObsPy's infinite-loop.mseed: a Steim2 record whose integrity check fails (kept, as
        // ObsPy keeps it, with a warning) and one libmseed refuses (a problem quoting why).
        let d = read_bytes(include_bytes!(
            "../../tests/fixtures/corpus/mseed/infinite-loop.mseed"
        ));
        assert!(
            d.warnings
                .iter()
                .any(|w| w.starts_with("libmseed, record at byte 0: ")
                    && w.contains("Data integrity check for Steim2 failed")),
            "{:?}",
            d.warnings
        );
        assert!(
            d.problems.iter().any(|p| p.starts_with("unreadable data at bytes 512..1024")
                && p.contains("(libmseed: Error: FDSN:IU_COLA_00_L_H_Z: only decoded 184 samples of 185 expected)")),
            "{:?}",
            d.problems
        );
        // The same warning on 16 records is said once.
        let d = read_bytes(include_bytes!(
            "../../tests/fixtures/corpus/mseed/wrong_blockette_numbers_specified.mseed"
        ));
        assert_eq!(
            d.warnings,
            vec![
                "libmseed, record at byte 0 and 15 more: FDSN:SK_MODS__H_H_Z: Warning: \
                  Number of blockettes in fixed header (2) does not match the number parsed (1)"
            ]
        );
        assert!(libmseed::said().is_empty(), "every message was taken");
    }

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

    #[test]
    fn garbage_between_records_is_reported_and_skipped() {
        let a = encode(&trace(0, 3000)); // 3 records
        let mut buf = a[..4096].to_vec();
        buf.extend_from_slice(&[0xAB; 300]);
        buf.extend_from_slice(&a[4096..]);
        let d = read_bytes(&buf);
        assert_eq!(d.problems.len(), 1, "{:?}", d.problems);
        assert!(
            d.problems[0].contains("bytes 4096..4396"),
            "{:?}",
            d.problems
        );
        assert_eq!(d.traces.len(), 1, "records stay contiguous");
        assert_eq!(d.traces[0].data.len(), 3000);
    }

    #[test]
    fn out_of_order_records_join_like_a_sorted_file() {
        let a = encode(&trace(0, 3000)); // 3 records of 1008 samples
        let mut shuffled = a[8192..].to_vec();
        shuffled.extend_from_slice(&a[..4096]);
        shuffled.extend_from_slice(&a[4096..8192]);
        let d = read_bytes(&shuffled);
        assert_eq!(d.traces.len(), 1);
        assert_eq!(d.traces[0].data, trace(0, 3000).data);
        // A duplicated record is an overlap: a second trace, as libmseed makes it.
        let mut dup = a.clone();
        dup.extend_from_slice(&a[..4096]);
        assert_eq!(read_bytes(&dup).traces.len(), 2);
    }

    /// --gaps: split, fill (zeros / straight line, up to max_gap), reject; overlaps split.
    #[test]
    fn gap_policies() {
        // 500 samples from 0 s, then 300 from 5.02 s: 2 samples (0.02 s) missing at 100 Hz.
        let a = trace(0, 500);
        let mut b = trace(5_020_000_000, 300);
        b.data.iter_mut().for_each(|v| *v += 1000.0);
        let mut buf = encode(&a);
        buf.extend(encode(&b));
        let lens = |d: &Decoded| d.traces.iter().map(|t| t.data.len()).collect::<Vec<_>>();
        let split = read_with(&buf, Gaps::Split);
        assert_eq!(lens(&split), vec![500, 300]);
        assert!(split.warnings.is_empty() && split.rejected.is_empty());

        let z = read_with(&buf, Gaps::Zeros { max_gap: 1.0 });
        assert_eq!(lens(&z), vec![802]);
        assert_eq!(
            &z.traces[0].data[498..503],
            &[498.0, 499.0, 0.0, 0.0, 1000.0]
        );
        assert_eq!(
            z.warnings,
            vec!["XX.S..HHZ: 1 gap(s) filled (2 samples, zeros)"]
        );

        let i = read_with(&buf, Gaps::Interpolate { max_gap: 0.02 });
        assert_eq!(lens(&i), vec![802]);
        // numpy.linspace(499, 1000, 4)[1:-1]
        assert_eq!(&i.traces[0].data[500..502], &[666.0, 833.0]);

        let short = read_with(&buf, Gaps::Zeros { max_gap: 0.015 });
        assert_eq!(
            lens(&short),
            vec![500, 300],
            "a longer gap than max_gap splits"
        );

        let r = read_with(&buf, Gaps::Reject);
        assert!(r.traces.is_empty());
        assert_eq!(r.rejected.len(), 2);
        assert!(
            r.rejected[0].2.contains("gap of 0.02 s (2 samples)"),
            "{:?}",
            r.rejected
        );

        // An overlap (B starts 1 s before A ends) splits whatever the policy.
        let mut over = encode(&a);
        over.extend(encode(&trace(4_000_000_000, 300)));
        for g in [
            Gaps::Zeros { max_gap: 10.0 },
            Gaps::Interpolate { max_gap: 10.0 },
        ] {
            assert_eq!(lens(&read_with(&over, g)), vec![500, 300]);
        }
    }

    #[test]
    fn gaps_split_segments_and_random_bytes_do_not_panic() {
        let mut buf = encode(&trace(0, 500));
        buf.extend(encode(&trace(60_000_000_000, 500)));
        let d = read_bytes(&buf);
        assert_eq!(d.traces.len(), 2);
        let noise: Vec<u8> = (0..5000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        let d = read_bytes(&noise);
        assert!(d.traces.is_empty() && !d.problems.is_empty());
        assert!(read_bytes(&[]).traces.is_empty());
        assert!(!read_bytes(&[1, 2, 3]).problems.is_empty());
    }
}
