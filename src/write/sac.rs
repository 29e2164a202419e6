//! SAC binary as ObsPy writes a trace (NUMERICS §7.1): little-endian, 632-byte header, float32
//! samples; without metadata as for a trace without `stats.sac`, and with the station's and
//! the event's (`Meta`) as ObsPy writes `stats.sac` holding stla, stlo, stel, stdp, cmpaz,
//! cmpinc, evla, evlo, evdp, o and lcalda = 1 (it then computes dist, az, baz and gcarc from
//! the float32 coordinates: `geodesy`).

use crate::events::Event;
use crate::read::stationxml::Coordinates;
use crate::time;
use crate::trace::Trace;

/// What the SAC header holds beyond the trace itself, when known.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Meta {
    pub station: Option<Coordinates>,
    pub event: Option<Event>,
}

const FNULL: f32 = -12345.0;
const INULL: i32 = -12345;
const SNULL: &[u8; 8] = b"-12345  ";

pub fn encode(tr: &Trace) -> Vec<u8> {
    encode_with(tr, &Meta::default())
}

/// Float header words (SAC's order).
const O: usize = 7;
const STLA: usize = 31;
const EVLA: usize = 35;
const EVDP: usize = 38;
const DIST: usize = 50;
const CMPAZ: usize = 57;
const LCALDA: usize = 38;

#[expect(
    clippy::cast_possible_truncation,
    reason = "SAC's header words are float32"
)]
fn f32_of(x: f64) -> f32 {
    x as f32
}

/// Station and event words, and the distances SAC computes from them (`lcalda`).
fn put_meta(f: &mut [f32; 70], i: &mut [i32; 40], m: &Meta, reference_ns: i64) {
    if let Some(s) = m.station {
        f[STLA] = f32_of(s.latitude);
        f[STLA + 1] = f32_of(s.longitude);
        f[STLA + 2] = f32_of(s.elevation);
        f[STLA + 3] = f32_of(s.depth);
        if let Some(az) = s.azimuth {
            f[CMPAZ] = f32_of(az);
        }
        // SAC's cmpinc is from the vertical (up = 0); StationXML's dip from the horizontal
        // (up = -90).
        if let Some(dip) = s.dip {
            f[CMPAZ + 1] = f32_of(dip + 90.0);
        }
    }
    if let Some(e) = m.event {
        f[EVLA] = f32_of(e.latitude);
        f[EVLA + 1] = f32_of(e.longitude);
        f[EVDP] = f32_of(e.depth_km);
        // The origin relative to the reference time (the nz fields), in seconds.
        f[O] = f32_of((i128::from(e.time_ns) - i128::from(reference_ns)) as f64 / 1e9);
    }
    if m.station.is_some() && m.event.is_some() {
        i[LCALDA] = 1;
        // ObsPy computes them from the header's float32 coordinates.
        let c = |k: usize| f64::from(f[k]);
        if let Some((d, az, back_az)) =
            crate::geodesy::gps2dist_azimuth(c(EVLA), c(EVLA + 1), c(STLA), c(STLA + 1))
        {
            let km = d / 1000.0;
            f[DIST] = f32_of(km);
            f[DIST + 1] = f32_of(az);
            f[DIST + 2] = f32_of(back_az);
            f[DIST + 3] = f32_of(crate::geodesy::kilometers2degrees(km));
        }
    }
}

/// `encode` with the station's and the event's header words.
pub fn encode_with(tr: &Trace, meta: &Meta) -> Vec<u8> {
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
    i[38] = 0; // lcalda (put_meta sets it when it computes the distances)
               // The reference time: the start to the millisecond (the nz fields); b holds the rest.
    put_meta(
        &mut f,
        &mut i,
        meta,
        tr.start_ns - (c.nanosecond % 1_000_000) as i64,
    );
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
