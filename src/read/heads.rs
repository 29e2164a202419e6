//! A miniSEED file's record headers, without decoding a sample: what an archive index needs
//! (which channel, when, at what rate, how many samples, where in the file). Each header is
//! checked as the decoder checks it (`record`): a record the decoder would refuse is not
//! listed, and the bytes it covers are named as a problem, so an index never promises data
//! that a window read would not find.

use super::libmseed;
use super::mseed::{Problem, PAD};
use super::record::{carry_fraction, overruns, record_start, Channels};
use crate::limits;

/// One record's header as the index keeps it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Head {
    /// Index into [`Heads::names`].
    pub key: usize,
    pub start_ns: i64,
    pub rate: f64,
    pub samples: u32,
    /// Byte offset of the record in the file, and its length.
    pub offset: u64,
    pub len: u32,
    /// The data encoding's SEED number (10 Steim1, 11 Steim2, 3 int32, 4 float32, ...).
    pub encoding: i16,
    /// 2 or 3.
    pub version: u8,
}

/// What a file's headers say.
#[derive(Default)]
pub struct Heads {
    pub heads: Vec<Head>,
    /// NET, STA, LOC, CHA per key.
    pub names: super::join::Names,
    pub problems: Vec<Problem>,
}

/// Record headers of a whole file read into `buf` (which comes back at its length). Records
/// without samples (log, detection records) are not listed.
pub fn scan(buf: &mut Vec<u8>) -> Heads {
    let n = buf.len();
    buf.resize(n + PAD, 0);
    let out = scan_padded(&mut buf[..], n);
    buf.truncate(n);
    libmseed::said(); // what libmseed said of headers is the decoder's to report
    out
}

fn scan_padded(padded: &mut [u8], n: usize) -> Heads {
    let mut out = Heads::default();
    let mut channels = Channels::default();
    let mut off = 0usize;
    while off < n {
        let carried = carry_fraction(&mut padded[off..n]);
        let rest = &padded[off..n];
        if rest.len() < 40 {
            if rest.iter().any(|&b| b != 0) {
                out.problems
                    .push(problem(off, n, "trailing bytes are not a miniSEED record"));
            }
            break;
        }
        let h = match libmseed::parse_record(rest) {
            Ok(Some(h)) => h,
            Ok(None) | Err(_) => {
                // Resynchronise on the next recognisable header, as the decoder does.
                let next = super::mseed::next_header(padded, off + 1, n);
                out.problems
                    .push(problem(off, next, "not a readable miniSEED record"));
                off = next;
                continue;
            }
        };
        let len = h.raw().map(<[u8]>::len).unwrap_or(0).max(1);
        let at = off;
        off += len;
        let count = h.sample_cnt();
        if count <= 0 {
            continue;
        }
        if count > i64::from(u32::MAX >> 12) || overruns(&h).is_some() {
            out.problems.push(problem(
                at,
                at + len,
                "record's sample count does not fit it",
            ));
            continue;
        }
        let rate = h.sample_rate_hz();
        if limits::rate_problem(rate).is_some() {
            out.problems.push(problem(
                at,
                at + len,
                "record's sampling rate is not usable",
            ));
            continue;
        }
        let start = match record_start(&h) {
            Ok(t) => t + carried.map_or(0, |f| i64::from(f) * 100_000),
            Err(e) => {
                out.problems.push(problem(at, at + len, &e));
                continue;
            }
        };
        if limits::span_problem(start, count as usize, rate).is_some() {
            out.problems.push(problem(
                at,
                at + len,
                "record's times cannot be represented",
            ));
            continue;
        }
        out.heads.push(Head {
            key: channels.key(&h),
            start_ns: start,
            rate,
            samples: count as u32,
            offset: at as u64,
            len: len as u32,
            encoding: h.encoding().map_or(-1, |e| e as i16),
            version: h.format_version(),
        });
    }
    out.names = std::mem::take(&mut channels.names);
    out
}

fn problem(a: usize, b: usize, reason: &str) -> Problem {
    Problem {
        bytes: Some((a as u64, b as u64)),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::ramp;
    use crate::write::mseed::encode;

    #[test]
    fn headers_say_what_decoding_gives() {
        let tr = ramp(1_000_000_000, 3000);
        let mut bytes = encode(&tr);
        let h = scan(&mut bytes);
        assert!(h.problems.is_empty());
        assert_eq!(h.names.len(), 1);
        let total: u64 = h.heads.iter().map(|r| u64::from(r.samples)).sum();
        assert_eq!(total, 3000);
        assert_eq!(h.heads[0].start_ns, tr.start_ns);
        assert_eq!(h.heads[0].offset, 0);
        // Each record starts where the samples before it end.
        let mut at = tr.start_ns as f64;
        for r in &h.heads {
            assert!(
                (r.start_ns as f64 - at).abs() < 1e3,
                "{} vs {at}",
                r.start_ns
            );
            at += f64::from(r.samples) * 1e9 / tr.sampling_rate;
        }
        let d = crate::read::mseed::read_bytes(&bytes);
        assert_eq!(d.traces[0].data.len(), 3000);
    }

    #[test]
    fn garbage_is_a_problem_not_a_record() {
        let tr = ramp(0, 3000);
        let a = encode(&tr);
        let mut buf = a[..4096].to_vec();
        buf.extend_from_slice(&[0xAB; 300]);
        buf.extend_from_slice(&a[4096..]);
        let h = scan(&mut buf);
        assert_eq!(h.problems.len(), 1);
        assert_eq!(h.problems[0].bytes, Some((4096, 4396)));
        assert_eq!(h.heads[1].offset, 4396);
    }
}
