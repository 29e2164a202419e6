//! SAC binary as ObsPy writes a trace without `stats.sac` (NUMERICS §7.1): little-endian,
//! 632-byte header, float32 samples.

use crate::time;
use crate::trace::Trace;

const FNULL: f32 = -12345.0;
const INULL: i32 = -12345;
const SNULL: &[u8; 8] = b"-12345  ";

pub fn encode(tr: &Trace) -> Vec<u8> {
    let n = tr.data.len();
    let mut f = [FNULL; 70];
    let mut i = [INULL; 40];
    let mut s: Vec<[u8; 8]> = vec![*SNULL; 24]; // 24 eight-byte slots; kevnm takes two
    let delta = tr.delta();
    let c = time::to_civil(tr.start_ns);
    let micro = c.nanosecond / 1000;
    let b = (micro % 1000) as f64 * 1e-6;
    f[0] = delta as f32;
    if n > 0 {
        let (mut lo, mut hi, mut sum) = (f64::INFINITY, f64::NEG_INFINITY, 0.0);
        for &v in &tr.data {
            lo = lo.min(v);
            hi = hi.max(v);
            sum += v;
        }
        f[1] = lo as f32;
        f[2] = hi as f32;
        f[56] = (sum / n as f64) as f32;
    }
    f[3] = 1.0; // scale = stats.calib
    f[5] = b as f32;
    f[6] = (b + (n as f64 - 1.0) * delta) as f32;
    i[0] = c.year as i32;
    i[1] = c.yday as i32;
    i[2] = c.hour as i32;
    i[3] = c.minute as i32;
    i[4] = c.second as i32;
    i[5] = (micro / 1000) as i32;
    i[6] = 6; // nvhdr
    i[9] = n as i32;
    i[15] = 1; // iftype = ITIME
    i[17] = 9; // iztype = IB
    i[35] = 1; // leven
    i[36] = 1; // lpspol
    i[37] = 1; // lovrok
    i[38] = 0; // lcalda
    let put = |slot: &mut [u8; 8], v: &str| {
        if !v.is_empty() {
            let mut b = [b' '; 8];
            for (d, c) in b.iter_mut().zip(v.bytes()) {
                *d = c;
            }
            *slot = b;
        }
    };
    // String slots counted in 8-byte words: kstnm 0, kevnm 1–2, khole 3, ..., kcmpnm 20,
    // knetwk 21.
    put(&mut s[0], &tr.station);
    put(&mut s[3], &tr.location);
    put(&mut s[20], &tr.channel);
    put(&mut s[21], &tr.network);
    let mut out = Vec::with_capacity(632 + 4 * n);
    f.iter()
        .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
    i.iter()
        .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
    s.iter().for_each(|v| out.extend_from_slice(v));
    for &v in &tr.data {
        out.extend_from_slice(&(v as f32).to_le_bytes());
    }
    out
}
