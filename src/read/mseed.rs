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

pub fn read_bytes(buf: &[u8]) -> Decoded {
    let mut out = Decoded::default();
    let mut segs: Vec<Segment> = Vec::new();
    let mut channels = Channels::default();
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
        if let Err(p) = add_record(&rec, &mut channels, &mut segs) {
            out.problems
                .push(format!("record at byte {}: {p}", off - len.max(1)));
        }
    }
    out.traces = join(segs, channels.names);
    out
}

/// Sorts records by (channel in order of appearance, rate, start) and appends each to the
/// previous one when it starts where that one ends (within half a sample); gaps and overlaps
/// start a new trace.
fn join(mut recs: Vec<Segment>, names: Vec<(String, String, String, String)>) -> Vec<Trace> {
    // Channels keep the order of their first record in the file, as ObsPy returns them.
    recs.sort_by(|a, b| {
        a.key
            .cmp(&b.key)
            .then(a.rate.total_cmp(&b.rate))
            .then(a.start_ns.cmp(&b.start_ns))
    });
    // Runs of records that join: (first index, end index) into the sorted records.
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut len = 0usize;
    for (i, r) in recs.iter().enumerate() {
        if let Some((first, end)) = runs.last_mut() {
            let t = &recs[*first];
            let expected = t.start_ns as f64 + len as f64 * 1e9 / r.rate;
            if t.key == r.key
                && t.rate == r.rate
                && (r.start_ns as f64 - expected).abs() <= 0.5e9 / r.rate
            {
                *end = i + 1;
                len += r.data.len();
                continue;
            }
        }
        runs.push((i, i + 1));
        len = r.data.len();
    }
    runs.into_iter()
        .map(|(first, end)| {
            let part = &mut recs[first..end];
            // Grown from the first record's samples by doubling, not allocated at the final
            // length: measured faster with glibc (an exact ~1 MB allocation is a fresh
            // mapping, page-faulted anew for every trace).
            let mut data = std::mem::take(&mut part[0].data);
            for r in &part[1..] {
                data.extend_from_slice(&r.data);
            }
            let (network, station, location, channel) = names[part[0].key].clone();
            Trace {
                network,
                station,
                location,
                channel,
                start_ns: part[0].start_ns,
                sampling_rate: part[0].rate,
                data,
            }
        })
        .collect()
}

fn add_record(
    rec: &MSRecord,
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
        .unix_timestamp_nanos() as i64;
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
