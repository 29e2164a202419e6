//! miniSEED 2 writer for processed traces: FLOAT32 (encoding 4), 4096-byte big-endian
//! records (ObsPy's defaults for float32 data, NUMERICS §7.2) with blockettes 1000 and 1001
//! (microseconds beyond BTIME's 100 µs), and 100 when the SEED rate factor/multiplier
//! cannot hold the rate exactly.

use crate::time;
use crate::trace::Trace;

const RECLEN: usize = 4096;

/// SEED rate factor/multiplier, and whether they give the rate exactly.
fn fact_mult(rate: f64) -> (i16, i16, bool) {
    if rate >= 1.0 && rate.fract() == 0.0 && rate <= 32767.0 {
        return (rate as i16, 1, true);
    }
    if rate > 0.0 && rate < 1.0 {
        let period = 1.0 / rate;
        if period.fract() == 0.0 && period <= 32767.0 {
            return (-(period as i16), 1, true);
        }
    }
    if rate >= 1.0 {
        (rate.round().clamp(1.0, 32767.0) as i16, 1, false)
    } else {
        (-((1.0 / rate).round().clamp(1.0, 32767.0) as i16), 1, false)
    }
}

fn pad(v: &str, n: usize) -> Vec<u8> {
    let mut b = vec![b' '; n];
    for (d, c) in b.iter_mut().zip(v.bytes()) {
        *d = c;
    }
    b
}

pub fn encode(tr: &Trace) -> Vec<u8> {
    let (factor, mult, exact) = fact_mult(tr.sampling_rate);
    let data_offset = if exact { 64 } else { 128 };
    let per_record = (RECLEN - data_offset) / 4;
    let mut out = Vec::with_capacity(tr.data.len().div_ceil(per_record) * RECLEN);
    for (rec_no, chunk) in tr.data.chunks(per_record).enumerate() {
        let offset_s = (rec_no * per_record) as f64 / tr.sampling_rate;
        let c = time::to_civil(time::add_seconds(tr.start_ns, offset_s));
        let mut r = vec![0u8; RECLEN];
        r[0..6].copy_from_slice(format!("{:06}", (rec_no + 1) % 1_000_000).as_bytes());
        r[6] = b'D';
        r[7] = b' ';
        r[8..13].copy_from_slice(&pad(&tr.station, 5));
        r[13..15].copy_from_slice(&pad(&tr.location, 2));
        r[15..18].copy_from_slice(&pad(&tr.channel, 3));
        r[18..20].copy_from_slice(&pad(&tr.network, 2));
        r[20..22].copy_from_slice(&(c.year as u16).to_be_bytes());
        r[22..24].copy_from_slice(&(c.yday as u16).to_be_bytes());
        r[24] = c.hour as u8;
        r[25] = c.minute as u8;
        r[26] = c.second as u8;
        r[28..30].copy_from_slice(&((c.nanosecond / 100_000) as u16).to_be_bytes());
        r[30..32].copy_from_slice(&(chunk.len() as u16).to_be_bytes());
        r[32..34].copy_from_slice(&factor.to_be_bytes());
        r[34..36].copy_from_slice(&mult.to_be_bytes());
        r[39] = if exact { 2 } else { 3 };
        r[44..46].copy_from_slice(&(data_offset as u16).to_be_bytes());
        r[46..48].copy_from_slice(&48u16.to_be_bytes());
        // Blockette 1000 at 48.
        r[48..50].copy_from_slice(&1000u16.to_be_bytes());
        r[50..52].copy_from_slice(&56u16.to_be_bytes());
        r[52] = 4; // FLOAT32
        r[53] = 1; // big-endian
        r[54] = 12; // 2^12 = 4096
                    // Blockette 1001 at 56.
        r[56..58].copy_from_slice(&1001u16.to_be_bytes());
        r[58..60].copy_from_slice(&(if exact { 0u16 } else { 64 }).to_be_bytes());
        r[61] = ((c.nanosecond / 1000) % 100) as u8;
        if !exact {
            // Blockette 100 at 64: the exact rate as float32.
            r[64..66].copy_from_slice(&100u16.to_be_bytes());
            r[68..72].copy_from_slice(&(tr.sampling_rate as f32).to_be_bytes());
        }
        for (k, v) in chunk.iter().enumerate() {
            let o = data_offset + 4 * k;
            r[o..o + 4].copy_from_slice(&(*v as f32).to_be_bytes());
        }
        out.extend_from_slice(&r);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::mseed::read_bytes;

    #[test]
    fn roundtrips_through_libmseed() {
        for rate in [100.0, 10.0, 0.1, 33.3] {
            let tr = Trace {
                network: "XX".into(),
                station: "ABCDE".into(),
                location: "00".into(),
                channel: "HHZ".into(),
                start_ns: 1_600_000_000_123_456_000,
                sampling_rate: rate,
                data: (0..2500).map(|i| (i as f64 * 0.01).sin() * 1e-6).collect(),
            };
            let d = read_bytes(&encode(&tr));
            assert!(d.problems.is_empty(), "{:?}", d.problems);
            assert_eq!(d.traces.len(), 1, "rate {rate}");
            let t = &d.traces[0];
            assert_eq!(t.id(), "XX.ABCDE.00.HHZ");
            assert_eq!(t.start_ns, tr.start_ns);
            assert!((t.sampling_rate - rate).abs() / rate < 1e-6);
            assert_eq!(t.data.len(), 2500);
            for (a, b) in t.data.iter().zip(&tr.data) {
                assert_eq!(*a, *b as f32 as f64);
            }
        }
    }
}
