//! miniSEED 2 and 3 through libmseed (the `mseed` crate), record by record, so one corrupt
//! record costs that record only. Records are grouped by id and rate, ordered by time, and
//! contiguous ones joined into one trace, as ObsPy's `read` does (libmseed's default
//! tolerance: half a sample period): an out-of-order file gives the same traces as a sorted one.

use mseed::{MSControlFlags, MSRecord, MSSampleType};

use crate::trace::Trace;

/// What one file gave: its traces and what could not be read (with byte offsets).
#[derive(Debug, Default)]
pub struct Decoded {
    pub traces: Vec<Trace>,
    pub problems: Vec<String>,
}

/// A record claiming more samples than this is refused before allocating (2^31 samples
/// would be gigabytes); real records hold at most a few thousand.
const MAX_SAMPLES_PER_RECORD: i64 = 1 << 20;

/// One decoded record: a one-record trace, joined to its neighbours at the end.
struct Segment {
    trace: Trace,
}

pub fn read_bytes(buf: &[u8]) -> Decoded {
    let mut out = Decoded::default();
    let mut segs: Vec<Segment> = Vec::new();
    let mut off = 0usize;
    while off < buf.len() {
        let rest = &buf[off..];
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
        let header = MSRecord::parse(rest, MSControlFlags::MSF_VALIDATECRC);
        let rec = match header {
            // libmseed answers "need more bytes" for a record cut short by the end of the
            // file; the header is then unparsed (sample count -1).
            Ok(h) if h.sample_cnt() < 0 || h.raw().is_none_or(|r| r.len() > rest.len()) => {
                out.problems.push(format!(
                    "truncated record at byte {off}: the file ends inside it ({} bytes left); skipped",
                    rest.len()
                ));
                break;
            }
            Ok(h) if h.sample_cnt() > MAX_SAMPLES_PER_RECORD => {
                let len = h.raw().map(|r| r.len()).unwrap_or(0);
                out.problems.push(format!(
                    "record at byte {off} claims {} samples (more than {MAX_SAMPLES_PER_RECORD}); skipped",
                    h.sample_cnt()
                ));
                off += len.max(1);
                continue;
            }
            Ok(mut h) => h.unpack_data().map(|_| h),
            Err(e) => Err(e),
        };
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                // Resynchronise on the next byte where a record header is recognised.
                let next = (off + 1..buf.len().saturating_sub(40))
                    .find(|&p| mseed::detect(&buf[p..]).is_ok_and(|d| d.format_version > 0))
                    .unwrap_or(buf.len());
                out.problems
                    .push(format!("unreadable data at bytes {off}..{next}: {e}"));
                off = next;
                continue;
            }
        };
        let len = rec.raw().map(|r| r.len()).unwrap_or(0);
        off += len.max(1);
        if let Err(p) = add_record(&rec, &mut segs) {
            out.problems
                .push(format!("record at byte {}: {p}", off - len.max(1)));
        }
    }
    out.traces = join(segs);
    out
}

/// Sorts records by (channel in order of appearance, rate, start) and appends each to the previous one when it starts
/// where that one ends (within half a sample); gaps and overlaps start a new trace.
fn join(recs: Vec<Segment>) -> Vec<Trace> {
    // Channels keep the order of their first record in the file, as ObsPy returns them.
    let mut first_seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut recs: Vec<(usize, Segment)> = recs
        .into_iter()
        .map(|s| {
            let n = first_seen.len();
            (*first_seen.entry(s.trace.id()).or_insert(n), s)
        })
        .collect();
    recs.sort_by(|(ia, a), (ib, b)| {
        ia.cmp(ib)
            .then(a.trace.sampling_rate.total_cmp(&b.trace.sampling_rate))
            .then(a.trace.start_ns.cmp(&b.trace.start_ns))
    });
    let mut out: Vec<Trace> = Vec::new();
    for (_, Segment { trace: r }) in recs {
        if let Some(t) = out.last_mut() {
            let same = t.sampling_rate == r.sampling_rate
                && t.channel == r.channel
                && t.station == r.station
                && t.location == r.location
                && t.network == r.network;
            let expected = t.start_ns as f64 + t.data.len() as f64 * 1e9 / r.sampling_rate;
            if same && (r.start_ns as f64 - expected).abs() <= 0.5e9 / r.sampling_rate {
                t.data.extend_from_slice(&r.data);
                continue;
            }
        }
        out.push(r);
    }
    out
}

fn add_record(rec: &MSRecord, segs: &mut Vec<Segment>) -> Result<(), String> {
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
        .unix_timestamp_nanos() as i64;
    let (network, station, location, channel) = nslc(&rec.sid_lossy());
    segs.push(Segment {
        trace: Trace {
            network,
            station,
            location,
            channel,
            start_ns,
            sampling_rate: rate,
            data,
        },
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
