//! SAC files as seisbatch writes them (`write::sac`: little-endian, header version 6) read
//! back: for `run --qc`'s before/after pictures and the moveout of a correlation run. Every
//! size is checked against the file (npts against its length, the reference time's fields
//! against their ranges).

use crate::trace::Trace;

/// A SAC file's trace and the header words the report uses.
#[derive(Debug, Clone)]
pub struct Sac {
    pub trace: Trace,
    /// Begin time, seconds after the reference time.
    pub b: f64,
    /// Event (origin) time after the reference: a correlation's lag 0.
    pub o: Option<f64>,
    /// Distance, km.
    pub dist_km: Option<f64>,
}

pub fn parse(b: &[u8]) -> Result<Sac, String> {
    const HEAD: usize = 632;
    if b.len() < HEAD {
        return Err("shorter than a SAC header".into());
    }
    let f = |k: usize| f32::from_le_bytes([b[4 * k], b[4 * k + 1], b[4 * k + 2], b[4 * k + 3]]);
    let i = |k: usize| {
        let o = 280 + 4 * k;
        i32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
    };
    let s = |o: usize| {
        let t = String::from_utf8_lossy(&b[o..o + 8]).trim().to_string();
        if t == "-12345" {
            String::new()
        } else {
            t
        }
    };
    if i(6) != 6 {
        return Err("not a little-endian SAC file of header version 6".into());
    }
    let npts = usize::try_from(i(9)).map_err(|_| "a negative npts".to_string())?;
    if b.len() != HEAD + 4 * npts {
        return Err(format!(
            "npts {npts} does not match the file's {} bytes",
            b.len()
        ));
    }
    let delta = f64::from(f(0));
    if !(delta.is_finite() && delta > 0.0) {
        return Err(format!("delta {delta}"));
    }
    let (year, yday) = (i(0), i(1));
    let (hour, min, sec, msec) = (i(2), i(3), i(4), i(5));
    if !(1..=9999).contains(&year)
        || !(1..=366).contains(&yday)
        || !(0..24).contains(&hour)
        || !(0..60).contains(&min)
        || !(0..=60).contains(&sec)
        || !(0..1000).contains(&msec)
    {
        return Err("a reference time out of range".into());
    }
    let day = crate::time::days_from_civil(i64::from(year), 1, 1) + i64::from(yday) - 1;
    let reference = day * 86_400_000_000_000
        + (i64::from(hour) * 3600 + i64::from(min) * 60 + i64::from(sec)) * 1_000_000_000
        + i64::from(msec) * 1_000_000;
    let begin = f64::from(f(5));
    let data = b[HEAD..]
        .chunks_exact(4)
        .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
        .collect();
    let word = |k: usize| {
        let v = f64::from(f(k));
        (v != -12345.0 && v.is_finite()).then_some(v)
    };
    let trace = Trace {
        network: s(440 + 8 * 21),
        station: s(440),
        location: s(440 + 8 * 3),
        channel: s(440 + 8 * 20),
        start_ns: reference + (begin * 1e9).round() as i64,
        sampling_rate: 1.0 / delta,
        data,
    };
    Ok(Sac {
        trace,
        b: begin,
        o: word(7),
        dist_km: word(50),
    })
}
