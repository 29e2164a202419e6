//! miniSEED 2 and 3 through libmseed (the `mseed` crate), record by record, so one corrupt
//! record costs that record only: the reader resynchronises on the next recognisable record
//! header and reports the bytes it skipped (a record claiming a bogus length is skipped the
//! same way, not the rest of the file). Decoded records become traces in `read::join`, as
//! ObsPy's `read` joins them: an out-of-order file gives the same traces as a sorted one.
//!
//! Nothing a header claims is trusted as a size or a time: a record's sample count, the
//! samples one file may decode to (`limits`), its start (years seisbatch can represent) and
//! its rate are checked before they are used.

use super::libmseed;
use super::record::{carry_fraction, may_start_record, overruns, Channels};
use super::samples::{add_record, unpack};

use crate::limits;
use crate::trace::Trace;

pub use super::join::Gaps;
use super::join::{self, Segment};

/// What one file gave: its traces and what could not be read (with byte ranges).
#[derive(Debug, Default)]
pub struct Decoded {
    pub traces: Vec<Trace>,
    /// Parts of the file that were not read, with the reason.
    pub problems: Vec<Problem>,
    /// Segments refused (gap policy, length limit, times out of range): id, start (ns),
    /// reason.
    pub rejected: Vec<(String, i64, String)>,
    /// For the report's warnings: gaps filled or left open (one line per trace or channel),
    /// channels recorded at more than one sampling rate, what libmseed said about records it
    /// decoded.
    pub warnings: Vec<String>,
}

/// A part of a file that was not read: its byte range (when it has one) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub bytes: Option<(u64, u64)>,
    pub reason: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.bytes {
            Some((a, b)) => write!(f, "bytes {a}..{b}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

/// Zero bytes after the input that libmseed's over-reads land in.
pub const PAD: usize = 64;

/// A record claiming more samples than this is refused before allocating (2^31 samples
/// would be gigabytes); real records hold at most a few thousand.
const MAX_SAMPLES_PER_RECORD: i64 = 1 << 20;

/// `read_with` splitting at every gap (as ObsPy's `read`).
pub fn read_bytes(buf: &[u8]) -> Decoded {
    read_with(buf, Gaps::Split)
}

pub fn read_with(input: &[u8], gaps: Gaps) -> Decoded {
    let mut owned = Vec::with_capacity(input.len() + PAD);
    owned.extend_from_slice(input);
    read_in(&mut owned, gaps)
}

/// The next byte after `from` where libmseed recognises a record header, or `n`.
pub(super) fn next_header(padded: &[u8], from: usize, n: usize) -> usize {
    let found = (from..n.saturating_sub(40)).find(|&p| {
        may_start_record(&padded[p..n]) && libmseed::detect_version(&padded[p..n]).is_some()
    });
    found.unwrap_or(n)
}

/// Decodes a whole file read into `buf` (its capacity should allow `PAD` more bytes, so that
/// nothing is reallocated: the engine reuses one buffer per thread). `buf` may change (a
/// carried BTime fraction is zeroed in it) and comes back at its length.
pub fn read_in(buf: &mut Vec<u8>, gaps: Gaps) -> Decoded {
    read_in_with(buf, gaps, false)
}

/// [`read_in`] for records gathered from several files of a continuous archive (a window):
/// joined as `join::join_with` joins an archive's records (rates within libmseed's tolerance
/// are one rate, overlaps of identical data merged).
pub fn read_in_with(buf: &mut Vec<u8>, gaps: Gaps, archive: bool) -> Decoded {
    // libmseed's header checks read a few bytes past the length they are given (a 48-byte
    // fixed header from a 40-byte minimum, 4 bytes past a blockette offset equal to the
    // length: found by fuzzing). Every slice handed to it ends inside this padding.
    let n = buf.len();
    buf.resize(n + PAD, 0);
    let out = read_padded(&mut buf[..], n, gaps, archive);
    buf.truncate(n);
    out
}

fn read_padded(padded: &mut [u8], n: usize, gaps: Gaps, archive: bool) -> Decoded {
    let max_file_samples = limits::max_file_samples();
    let mut decoded_samples: usize = 0;
    let mut out = Decoded::default();
    let mut segs: Vec<Segment> = Vec::new();
    // Every record's samples, one after the other: segments are ranges of it (no allocation
    // per record), and a file of one contiguous trace hands it over whole.
    let mut pool: Vec<f64> = Vec::new();
    let mut channels = Channels::default();
    // What was said about records that were decoded, by libmseed (`true`) or the Steim
    // decoder: message, first record's byte, how many more.
    let mut remarks: Vec<(bool, String, usize, usize)> = Vec::new();
    let problem = |a: usize, b: usize, reason: String| Problem {
        bytes: Some((a as u64, b as u64)),
        reason,
    };
    let mut off = 0usize;
    while off < n {
        let carried = carry_fraction(&mut padded[off..n]);
        let rest = &padded[off..n];
        if rest.len() < 40 {
            if rest.iter().any(|&b| b != 0) {
                out.problems.push(problem(
                    off,
                    n,
                    format!("{} trailing bytes are not a miniSEED record", rest.len()),
                ));
            }
            break;
        }
        // Parse the header first and check the sample count before libmseed unpacks (and
        // allocates) anything; then unpack that same record.
        // (A record parse_record hands out lies wholly inside `rest`.)
        let header = libmseed::parse_record(rest);
        let mut said = libmseed::said();
        let rec = match header {
            // libmseed answers "need more bytes" for a record that runs past the end of the
            // file. A bogus record length does the same: resynchronise on the next header
            // rather than drop the rest of the file.
            Ok(None) => {
                let next = next_header(padded, off + 1, n);
                libmseed::said();
                out.problems.push(problem(
                    off,
                    next,
                    if next == n {
                        format!("truncated record: the file ends inside it ({} bytes left){}", rest.len(), quoting(&said))
                    } else {
                        format!("a record that runs past the next record header (a bogus record length, or a record cut short){}", quoting(&said))
                    },
                ));
                off = next;
                continue;
            }
            Ok(Some(h)) if h.sample_cnt() > MAX_SAMPLES_PER_RECORD => {
                let len = h.raw().map(|r| r.len()).unwrap_or(0).max(1);
                out.problems.push(problem(
                    off,
                    off + len,
                    format!(
                        "record claims {} samples (more than {MAX_SAMPLES_PER_RECORD}); skipped{}",
                        h.sample_cnt(),
                        quoting(&said)
                    ),
                ));
                off += len;
                continue;
            }
            Ok(Some(h)) if overruns(&h).is_some() => {
                let len = h.raw().map(|r| r.len()).unwrap_or(0).max(1);
                out.problems.push(problem(
                    off,
                    off + len,
                    format!(
                        "record claims {} samples in {} data bytes, which do not fit its {}-byte record or hold that many; skipped{}",
                        h.sample_cnt(),
                        h.data_length(),
                        len,
                        quoting(&said)
                    ),
                ));
                off += len;
                continue;
            }
            Ok(Some(h))
                if decoded_samples.saturating_add(h.sample_cnt().max(0) as usize)
                    > max_file_samples =>
            {
                out.problems.push(problem(
                    off,
                    n,
                    format!(
                        "the file decodes to more than {max_file_samples} samples ({}x --max-samples); the rest is not read",
                        limits::FILE_SAMPLES_PER_TRACE_LIMIT
                    ),
                ));
                break;
            }
            Ok(Some(h)) => {
                let r = unpack(h, n, &mut pool);
                said.extend(libmseed::said());
                r
            }
            Err(e) => Err(e),
        };
        let (rec, samples, ours) = match rec {
            Ok(r) => r,
            Err(e) => {
                // Resynchronise on the next byte where a record header is recognised.
                let next = next_header(padded, off + 1, n);
                libmseed::said(); // what probing for the next header said: not about a record
                out.problems.push(problem(
                    off,
                    next,
                    format!("unreadable data: {e}{}", quoting(&said)),
                ));
                off = next;
                continue;
            }
        };
        let len = rec.raw().map(|r| r.len()).unwrap_or(0).max(1);
        let at = off;
        off += len;
        let shift_ns = carried.map_or(0, |f| i64::from(f) * 100_000);
        let added = add_record(&rec, samples, shift_ns, &mut channels, &mut segs, &mut pool);
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
                .push(problem(at, at + len, format!("{p}{}", quoting(&said)))),
            // A record libmseed decoded with a warning (a failed Steim integrity check, a
            // blockette count that does not match): kept, and said once per message.
            Ok(k) => {
                decoded_samples += k;
                let all = said.into_iter().map(|m| (true, m));
                for (by_libmseed, m) in all.chain(ours.map(|m| (false, m))) {
                    let seen = remarks
                        .iter_mut()
                        .find(|(lib, text, _, _)| *lib == by_libmseed && *text == m);
                    match seen {
                        Some((_, _, _, more)) => *more += 1,
                        None => remarks.push((by_libmseed, m, at, 0)),
                    }
                }
            }
        }
    }
    let joined = join::join_with(segs, pool, channels.names, gaps, archive);
    out.traces = joined.traces;
    out.rejected = joined.rejected;
    out.warnings = joined.warnings;
    out.warnings
        .extend(remarks.into_iter().map(|(by_libmseed, text, at, more)| {
            let by = if by_libmseed { "libmseed, r" } else { "R" };
            match more {
                0 => format!("{by}ecord at byte {at}: {text}"),
                _ => format!("{by}ecord at byte {at} and {more} more: {text}"),
            }
        }));
    out
}

/// What libmseed said about a record, for the end of a problem's text.
fn quoting(said: &[String]) -> String {
    if said.is_empty() {
        String::new()
    } else {
        format!(" (libmseed: {})", said.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write::mseed::encode;

    use crate::trace::ramp as trace;

    #[test]
    fn what_the_decoders_say_goes_with_the_record() {
        // ObsPy's infinite-loop.mseed: a Steim2 record whose integrity check fails (kept, as
        // ObsPy keeps it, with a warning) and one whose frames hold a sample fewer than its
        // header claims (refused, as libmseed refuses it: a problem saying why).
        let d = read_bytes(include_bytes!(
            "../../tests/fixtures/corpus/mseed/infinite-loop.mseed"
        ));
        assert!(
            d.warnings.iter().any(|w| w
                == "Record at byte 0: Steim2 integrity check failed: last sample -236912, \
                    reverse integration constant (Xn) -236956"),
            "{:?}",
            d.warnings
        );
        assert!(
            d.problems.iter().any(|p| p.to_string()
                == "bytes 512..1024: unreadable data: Steim2: the Steim frames hold 184 samples, \
                    the header claims 185"),
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
    fn garbage_between_records_is_reported_and_skipped() {
        let a = encode(&trace(0, 3000)); // 3 records
        let mut buf = a[..4096].to_vec();
        buf.extend_from_slice(&[0xAB; 300]);
        buf.extend_from_slice(&a[4096..]);
        let d = read_bytes(&buf);
        assert_eq!(d.problems.len(), 1, "{:?}", d.problems);
        assert_eq!(d.problems[0].bytes, Some((4096, 4396)), "{:?}", d.problems);
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

    /// One record whose header claims a length past the end of the file (a bogus blockette
    /// 1000) dropped every record after it; the reader now skips to the next header.
    #[test]
    fn a_bogus_record_length_costs_that_record_only() {
        let mut buf = encode(&trace(0, 5000)); // 5 records of 4096 bytes
        buf[4096 + 54] = 20; // record 1 claims 2^20 bytes
        let d = read_bytes(&buf);
        assert_eq!(d.problems.len(), 1, "{:?}", d.problems);
        assert_eq!(d.problems[0].bytes, Some((4096, 8192)));
        let lens: Vec<usize> = d.traces.iter().map(|t| t.data.len()).collect();
        assert_eq!(lens, vec![1008, 5000 - 2 * 1008], "records 0 and 2..4 kept");
    }

    /// --max-samples bounds a trace whatever the header says: a fill that would pass it is
    /// not made (and said), a contiguous run past it fails with the reason, and a file
    /// decodes to at most 4x the limit.
    #[test]
    fn max_samples_bounds_fills_traces_and_files() {
        let a = trace(0, 500);
        let b = trace(5_020_000_000, 300); // 2 samples missing
        let mut buf = encode(&a);
        buf.extend(encode(&b));
        limits::with_max_samples(801, || {
            let d = read_with(&buf, Gaps::Zeros { max_gap: 1.0 });
            assert_eq!(d.traces.len(), 2, "the fill would make 802 samples");
            assert!(
                d.warnings
                    .iter()
                    .any(|w| w.contains("past --max-samples 801")),
                "{:?}",
                d.warnings
            );
        });
        limits::with_max_samples(400, || {
            let d = read_with(&buf, Gaps::Split);
            assert_eq!(d.traces.len(), 1, "the 300-sample trace");
            assert!(
                d.rejected[0]
                    .2
                    .contains("500 samples, more than the limit of 400"),
                "{:?}",
                d.rejected
            );
        });
        limits::with_max_samples(1000, || {
            let big = encode(&trace(0, 10_000));
            let d = read_bytes(&big);
            let got: usize =
                d.traces.iter().map(|t| t.data.len()).sum::<usize>() + d.rejected.len() * 1000;
            assert!(got <= 4 * 1000 + 1008, "decoded {got}");
            assert!(
                d.problems
                    .iter()
                    .any(|p| p.reason.contains("decodes to more than 4000 samples")),
                "{:?}",
                d.problems
            );
        });
    }

    /// A fill policy that leaves a gap open says so (it filled nothing in 2-4 s gaps with
    /// the default --max-gap of 1 s, silently).
    #[test]
    fn gaps_longer_than_max_gap_are_named() {
        let mut buf = encode(&trace(0, 500));
        buf.extend(encode(&trace(8_000_000_000, 300))); // a 3 s gap
        let d = read_with(&buf, Gaps::Zeros { max_gap: 1.0 });
        assert_eq!(d.traces.len(), 2);
        assert_eq!(
            d.warnings,
            vec!["XX.S..HHZ: 1 gap(s) not filled (longest 3 s), the trace split there; 1 longer than --max-gap 1 s"]
        );
    }

    /// Codes holding a '.' must not merge two channels into one trace (XX + "A.B" and
    /// "XX.A" + B both join to "XX.A.B").
    #[test]
    fn channels_are_told_apart_by_their_codes_not_their_dotted_id() {
        let mut one = trace(0, 100);
        one.station = "A.B".into();
        let mut two = trace(1_000_000_000, 100); // would join in time
        two.network = "XX.A".into();
        two.station = "B".into();
        let mut buf = crate::write::mseed3::encode(&one).unwrap();
        buf.extend(crate::write::mseed3::encode(&two).unwrap());
        let d = read_bytes(&buf);
        assert!(d.problems.is_empty(), "{:?}", d.problems);
        let mut codes: Vec<(String, String)> = d
            .traces
            .iter()
            .map(|t| (t.network.clone(), t.station.clone()))
            .collect();
        codes.sort();
        assert_eq!(
            codes,
            vec![("XX".into(), "A.B".into()), ("XX.A".into(), "B".into())]
        );
        // miniSEED 2 codes are the header's own fields, as ObsPy reads them: a station "A_B"
        // came back from libmseed's identifier as station "A", location "B".
        let mut u = trace(0, 100);
        u.station = "A_B".into();
        let d = read_bytes(&encode(&u));
        assert_eq!(d.traces[0].id(), "XX.A_B..HHZ");
    }

    /// An archive window's records from two day files (issue #26): the record a day file
    /// repeats from the day before is merged, not split (ObsPy's merge(-1) merges an overlap of
    /// equal samples); one of different samples still splits.
    #[test]
    fn archive_joins_merge_an_overlap_of_equal_samples_only() {
        let day1 = trace(0, 3000);
        let bytes = encode(&day1); // 3 records of 1008, 1008, 984 samples
        let mut buf = bytes.clone();
        buf.extend_from_slice(&bytes[8192..]); // the last record again, in "day 2"
        assert_eq!(
            read_in_with(&mut buf.clone(), Gaps::Split, false)
                .traces
                .len(),
            2
        );
        let d = read_in_with(&mut buf, Gaps::Split, true);
        assert_eq!(d.traces.len(), 1);
        assert_eq!(d.traces[0].data, day1.data);
        // The same stretch with different samples: two traces, as merge(-1) leaves them.
        let mut other = trace(0, 3000);
        other.data.iter_mut().for_each(|v| *v += 1.0);
        let mut buf = bytes.clone();
        buf.extend_from_slice(&encode(&other)[8192..]);
        assert_eq!(read_in_with(&mut buf, Gaps::Split, true).traces.len(), 2);
    }

    /// Rates within libmseed's 1e-4 are one rate in an archive join (the earliest record's);
    /// a file's own read keeps ObsPy's one trace per rate.
    #[test]
    fn archive_joins_take_rates_within_the_tolerance_as_one() {
        let mut a = trace(0, 400);
        a.sampling_rate = 40.0;
        let mut b = trace(10_000_000_000, 400); // right after a's last sample at 40 Hz
        b.sampling_rate = 40.000016;
        let mut buf = encode(&a);
        buf.extend(encode(&b));
        let own = read_in_with(&mut buf.clone(), Gaps::Split, false);
        assert_eq!(own.traces.len(), 2);
        let d = read_in_with(&mut buf, Gaps::Split, true);
        assert_eq!(d.traces.len(), 1, "{:?}", d.warnings);
        assert_eq!(d.traces[0].sampling_rate, 40.0);
        assert_eq!(d.traces[0].data.len(), 800);
        assert!(
            d.warnings
                .iter()
                .any(|w| w.contains("joined as one rate, 40 Hz")),
            "{:?}",
            d.warnings
        );
        // 1e-3 apart: never one rate.
        b.sampling_rate = 40.04;
        let mut buf = encode(&a);
        buf.extend(encode(&b));
        assert_eq!(read_in_with(&mut buf, Gaps::Split, true).traces.len(), 2);
    }
}
