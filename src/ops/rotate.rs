//! `Stream.rotate(method, back_azimuth=None, inclination=None)`: ObsPy's `signal/rotate.py`
//! arithmetic and `Stream.rotate`'s rules for which traces rotate together. The engine hands
//! over one station's traces (`exec::grouped`); this file decides and computes.
//!
//! ObsPy groups a stream by NET.STA.LOC and the channel code without its last letter, then
//! pairs the i-th trace of each input component (in stream order) and refuses the whole call
//! when a pair differs in length, rate, or start by more than half a sample. Where ObsPy
//! quietly leaves a trace unrotated because its partner is missing, a batch tool would lose
//! it silently: here the group fails with the reason (README, deviations).

use crate::trace::Trace;

/// ObsPy's `method` strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Method {
    #[serde(rename = "->ZNE")]
    ToZne,
    #[serde(rename = "NE->RT")]
    NeRt,
    #[serde(rename = "RT->NE")]
    RtNe,
    #[serde(rename = "ZNE->LQT")]
    ZneLqt,
    #[serde(rename = "LQT->ZNE")]
    LqtZne,
}

impl Method {
    pub fn parse(s: &str) -> Option<Method> {
        Some(match s {
            "->ZNE" => Method::ToZne,
            "NE->RT" => Method::NeRt,
            "RT->NE" => Method::RtNe,
            "ZNE->LQT" => Method::ZneLqt,
            "LQT->ZNE" => Method::LqtZne,
            _ => return None,
        })
    }

    /// Input and output component letters (`->ZNE` takes its inputs from `components`).
    pub fn letters(self) -> (&'static str, &'static str) {
        match self {
            Method::ToZne => ("", "ZNE"),
            Method::NeRt => ("NE", "RT"),
            Method::RtNe => ("RT", "NE"),
            Method::ZneLqt => ("ZNE", "LQT"),
            Method::LqtZne => ("LQT", "ZNE"),
        }
    }

    /// Whether the method needs a back-azimuth (all but `->ZNE`).
    pub fn needs_back_azimuth(self) -> bool {
        self != Method::ToZne
    }

    /// Whether it needs an inclination (the three-component ray rotations).
    pub fn needs_inclination(self) -> bool {
        matches!(self, Method::ZneLqt | Method::LqtZne)
    }
}

/// The step's keys.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RotateArgs {
    pub method: Method,
    /// Degrees from the station to the source; `None`: from the event and the station on
    /// WGS84 (`geodesy::gps2dist_azimuth`, as a script computes it for `stats.back_azimuth`).
    pub back_azimuth: Option<f64>,
    /// Degrees (ZNE->LQT, LQT->ZNE).
    pub inclination: Option<f64>,
    /// `->ZNE`'s sets of component letters, tried in order (ObsPy's `("Z12", "123")`).
    pub components: Vec<String>,
}

/// What a group's rotation needs from outside: the back-azimuth (or why there is none) and,
/// for `->ZNE`, each trace's orientation (azimuth, dip) from its channel epoch.
pub trait Geometry {
    fn back_azimuth(&self) -> Result<f64, String>;
    fn orientation(&self, tr: &Trace) -> Result<(f64, f64), String>;
}

/// The grouping key: NET.STA.LOC and the channel without its component letter.
pub fn group_key(tr: &Trace) -> (String, String, String, String) {
    let mut cha = tr.channel.clone();
    cha.pop();
    (
        tr.network.clone(),
        tr.station.clone(),
        tr.location.clone(),
        cha,
    )
}

fn component(tr: &Trace) -> Option<char> {
    tr.channel.chars().last()
}

/// The traces of component `c`, in time order: the k-th of each component are paired, so
/// pairs are the traces that share a time span however the files came in (ObsPy pairs them
/// in stream order, which is time order for a stream read in order). A tie keeps the input
/// order.
fn of_component(traces: &[&mut Trace], c: char) -> Vec<usize> {
    let mut v: Vec<usize> = (0..traces.len())
        .filter(|&i| component(traces[i]) == Some(c))
        .collect();
    v.sort_by_key(|&i| traces[i].start_ns);
    v
}

/// Rotates a station's traces (sharing `group_key`) in place, a time span at a time: the
/// traces are cut into clusters of overlapping spans (a chunk of E with the N and Z of the
/// same time), each rotated by `rotate_group`. One reason per trace: a cluster that cannot
/// be rotated fails its own traces only, the station's other chunks go on.
pub fn rotate_station(
    args: &RotateArgs,
    traces: &mut [&mut Trace],
    geo: &dyn Geometry,
) -> Vec<Option<String>> {
    let mut order: Vec<usize> = (0..traces.len()).collect();
    order.sort_by_key(|&i| (traces[i].start_ns, traces[i].end_ns()));
    let mut clusters: Vec<Vec<usize>> = Vec::new();
    let mut end = i64::MIN;
    for i in order {
        let (a, b) = (traces[i].start_ns, traces[i].end_ns());
        match clusters.last_mut() {
            Some(c) if a <= end => {
                c.push(i);
                end = end.max(b);
            }
            _ => {
                clusters.push(vec![i]);
                end = b;
            }
        }
    }
    let mut why = vec![None; traces.len()];
    for mut c in clusters {
        c.sort_unstable(); // input order within a span (ObsPy's stream order)
        let mut refs: Vec<&mut Trace> = Vec::with_capacity(c.len());
        let mut it = c.iter().peekable();
        for (i, t) in traces.iter_mut().enumerate() {
            if it.peek() == Some(&&i) {
                it.next();
                refs.push(&mut **t);
            }
        }
        if let Err(message) = rotate_group(args, &mut refs, geo) {
            for &i in &c {
                why[i] = Some(message.clone());
            }
        }
    }
    why
}

/// Rotates one group (traces sharing `group_key` and a time span) in place, renaming the
/// rotated channels. An error is the group's: every trace of it fails with that reason.
pub fn rotate_group(
    args: &RotateArgs,
    traces: &mut [&mut Trace],
    geo: &dyn Geometry,
) -> Result<(), String> {
    if traces.iter().any(|t| t.channel.is_empty()) {
        return Err("Channel code must be at least one character long.".into());
    }
    let (input, output) = args.method.letters();
    if args.method == Method::ToZne {
        return to_zne(args, traces, geo);
    }
    let letters: Vec<char> = input.chars().collect();
    let sets: Vec<Vec<usize>> = letters.iter().map(|&c| of_component(traces, c)).collect();
    if sets.iter().all(Vec::is_empty) {
        return Ok(()); // nothing of this method's input here (a Z trace alone for NE->RT)
    }
    missing(traces, &letters, &sets)?;
    let n = sets[0].len();
    for k in 0..n {
        let first = &*traces[sets[0][k]];
        for s in &sets[1..] {
            same_span(first, traces[s[k]])?;
        }
    }
    let back_az = match args.back_azimuth {
        Some(b) => b,
        None => geo.back_azimuth()?,
    };
    if !(0.0..=360.0).contains(&back_az) {
        return Err(format!(
            "Back Azimuth should be between 0 and 360 degrees ({back_az})."
        ));
    }
    let inc = args.inclination.unwrap_or(0.0);
    let out: Vec<char> = output.chars().collect();
    for k in 0..n {
        let idx: Vec<usize> = sets.iter().map(|s| s[k]).collect();
        let data: Vec<Vec<f64>> = idx
            .iter()
            .map(|&i| std::mem::take(&mut traces[i].data))
            .collect();
        let rotated = apply(args.method, &data, back_az, inc);
        for ((&i, d), c) in idx.iter().zip(rotated).zip(&out) {
            traces[i].data = d;
            traces[i].channel.pop();
            traces[i].channel.push(*c);
        }
    }
    Ok(())
}

/// Every input component present as often as the others (ObsPy would zip them and leave
/// the rest unrotated, silently).
fn missing(traces: &[&mut Trace], letters: &[char], sets: &[Vec<usize>]) -> Result<(), String> {
    let most = sets.iter().map(Vec::len).max().unwrap_or(0);
    for (c, s) in letters.iter().zip(sets) {
        if s.len() < most {
            let have = sets
                .iter()
                .find(|s| s.len() == most)
                .map(|s| &*traces[s[0]]);
            let name = have.map(Trace::id).unwrap_or_default();
            return Err(format!(
                "missing component {c}: {name} has no {c} trace to rotate with \
                 ({} of {most} found)",
                s.len()
            ));
        }
    }
    Ok(())
}

/// ObsPy's check before a rotation: same length, same rate, starts within half a sample.
fn same_span(a: &Trace, b: &Trace) -> Result<(), String> {
    let dt_ns = 0.5e9 / a.sampling_rate;
    let d = (a.start_ns - b.start_ns).unsigned_abs() as f64;
    if a.data.len() != b.data.len() || d > dt_ns || a.sampling_rate != b.sampling_rate {
        return Err(format!(
            "All components need to have the same time span. ({}: {} samples at {} Hz from {}; \
             {}: {} samples at {} Hz from {})",
            a.id(),
            a.data.len(),
            a.sampling_rate,
            crate::time::iso(a.start_ns),
            b.id(),
            b.data.len(),
            b.sampling_rate,
            crate::time::iso(b.start_ns)
        ));
    }
    Ok(())
}

/// `rotate_ne_rt` and the others of `signal/rotate.py`, on whole components.
pub fn apply(method: Method, d: &[Vec<f64>], back_az: f64, inc: f64) -> Vec<Vec<f64>> {
    let map2 = |f: &dyn Fn(f64, f64) -> (f64, f64)| {
        let (mut a, mut b) = (
            Vec::with_capacity(d[0].len()),
            Vec::with_capacity(d[0].len()),
        );
        for (&x, &y) in d[0].iter().zip(&d[1]) {
            let (p, q) = f(x, y);
            a.push(p);
            b.push(q);
        }
        vec![a, b]
    };
    let map3 = |f: &dyn Fn(f64, f64, f64) -> (f64, f64, f64)| {
        let n = d[0].len();
        let (mut a, mut b, mut c) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for ((&x, &y), &z) in d[0].iter().zip(&d[1]).zip(&d[2]) {
            let (p, q, r) = f(x, y, z);
            a.push(p);
            b.push(q);
            c.push(r);
        }
        vec![a, b, c]
    };
    match method {
        Method::NeRt | Method::RtNe => {
            // rotate_rt_ne is rotate_ne_rt with 360 - ba.
            let ba = if method == Method::RtNe {
                360.0 - back_az
            } else {
                back_az
            }
            .to_radians();
            let (s, c) = (ba.sin(), ba.cos());
            map2(&|n, e| (-e * s - n * c, -e * c + n * s))
        }
        Method::ZneLqt => {
            let (ba, i) = (back_az.to_radians(), inc.to_radians());
            let (sb, cb, si, ci) = (ba.sin(), ba.cos(), i.sin(), i.cos());
            map3(&|z, n, e| {
                (
                    z * ci - n * si * cb - e * si * sb,
                    z * si + n * ci * cb + e * ci * sb,
                    n * sb - e * cb,
                )
            })
        }
        Method::LqtZne => {
            let (ba, i) = (back_az.to_radians(), inc.to_radians());
            let (sb, cb, si, ci) = (ba.sin(), ba.cos(), i.sin(), i.cos());
            map3(&|l, q, t| {
                (
                    l * ci + q * si,
                    -l * si * cb + q * ci * cb + t * sb,
                    -l * si * sb + q * ci * sb - t * cb,
                )
            })
        }
        Method::ToZne => unreachable!("->ZNE goes through rotate2zne"),
    }
}

/// `->ZNE`: the first of `components` whose letters are exactly the group's non-ZNE set,
/// each trace through `rotate2zne` with its channel's azimuth and dip.
fn to_zne(args: &RotateArgs, traces: &mut [&mut Trace], geo: &dyn Geometry) -> Result<(), String> {
    let have: std::collections::BTreeSet<char> =
        traces.iter().filter_map(|t| component(t)).collect();
    let Some(set) = args.components.iter().find(|s| {
        let want: std::collections::BTreeSet<char> = s.chars().collect();
        want == have
    }) else {
        // ObsPy rotates only an exact set; letters outside Z/N/E with no complete set are a
        // component missing (ZNE alone is already rotated).
        if have.iter().any(|c| !"ZNE".contains(*c)) {
            let sets: Vec<&str> = args.components.iter().map(String::as_str).collect();
            return Err(format!(
                "missing component: {} has components {} and none of the sets {sets:?} \
                 completely",
                traces[0].id(),
                have.iter().collect::<String>()
            ));
        }
        return Ok(());
    };
    let idx: Vec<Vec<usize>> = set.chars().map(|c| of_component(traces, c)).collect();
    let letters: Vec<char> = set.chars().collect();
    missing(traces, &letters, &idx)?;
    if idx.iter().all(|s| s.len() == 1) {
        trim_common(traces)?;
    }
    for k in 0..idx[0].len() {
        for s in &idx[1..] {
            if traces[idx[0][k]].data.len() != traces[s[k]].data.len() {
                return Err("All three data arrays must be of same length.".into());
            }
            same_span(traces[idx[0][k]], traces[s[k]])?;
        }
        let mut m = [[0.0; 3]; 3];
        for (row, s) in m.iter_mut().zip(&idx) {
            let (az, dip) = geo.orientation(traces[s[k]])?;
            *row = base_vector(dip, az);
        }
        let inv = invert(&m)?;
        let data: Vec<Vec<f64>> = idx
            .iter()
            .map(|s| std::mem::take(&mut traces[s[k]].data))
            .collect();
        let npts = data[0].len();
        for (r, s) in idx.iter().enumerate() {
            let out: Vec<f64> = (0..npts)
                .map(|j| {
                    // numpy's dot; -0.0 written as 0 as rotate2zne does.
                    let v =
                        inv[r][0] * data[0][j] + inv[r][1] * data[1][j] + inv[r][2] * data[2][j];
                    if v == 0.0 {
                        0.0
                    } else {
                        v
                    }
                })
                .collect();
            let t = &mut *traces[s[k]];
            t.data = out;
            t.channel.pop();
            t.channel.push(['Z', 'N', 'E'][r]);
        }
    }
    Ok(())
}

/// `Stream._trim_common_channels` for one trace per channel: every trace of the band
/// trimmed (`Trace.trim`, nearest sample) to the latest start and the earliest end, the times
/// going through float timestamps as ObsPy's do.
fn trim_common(traces: &mut [&mut Trace]) -> Result<(), String> {
    use crate::ops::trim::{cut, Bound, TrimArgs};
    // UTCDateTime(timestamp): int(round(value * 10**9)), Python's round (ties to even).
    let via_float = |ns: i64| ((ns as f64 / 1e9) * 1e9).round_ties_even() as i64;
    // Stats.endtime: starttime + delta * (npts - 1), the offset rounded to ns.
    let end_of = |t: &Trace| {
        t.start_ns
            + ((1.0 / t.sampling_rate) * t.data.len().saturating_sub(1) as f64 * 1e9)
                .round_ties_even() as i64
    };
    let start = traces.iter().map(|t| via_float(t.start_ns)).max();
    let end = traces.iter().map(|t| via_float(end_of(t))).min();
    let (Some(start), Some(end)) = (start, end) else {
        return Ok(());
    };
    if end < start {
        return Err(format!(
            "the components of {} have no time span in common",
            traces[0].id()
        ));
    }
    let args = TrimArgs {
        starttime: Some(Bound::At(start)),
        endtime: Some(Bound::At(end)),
        pad: false,
        nearest_sample: true,
        fill_value: None,
    };
    for t in traces.iter_mut() {
        let c = cut(
            t.data.len(),
            t.start_ns,
            t.sampling_rate,
            &args,
            Err("no origin"),
        )?;
        t.data = c.apply(&t.data, 0.0);
        t.start_ns = c.start_ns;
    }
    Ok(())
}

/// `_dip_azimuth2zne_base_vector`.
fn base_vector(dip: f64, azimuth: f64) -> [f64; 3] {
    let (d, a) = (dip.to_radians(), azimuth.to_radians());
    [-d.sin(), a.cos() * d.cos(), a.sin() * d.cos()]
}

/// The inverse of the base-change matrix, refused as rotate2zne refuses it.
fn invert(m: &[[f64; 3]; 3]) -> Result<[[f64; 3]; 3], String> {
    let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    if !(1e-6 < det.abs() && det.abs() < 1e6) {
        return Err(format!(
            "The given directions are not linearly independent, at least within numerical \
             precision. Determinant of the base change matrix: {det}"
        ));
    }
    let c =
        |r0: usize, c0: usize, r1: usize, c1: usize| m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0];
    // The adjugate's transpose over the determinant.
    Ok([
        [
            c(1, 1, 2, 2) / det,
            -c(0, 1, 2, 2) / det,
            c(0, 1, 1, 2) / det,
        ],
        [
            -c(1, 0, 2, 2) / det,
            c(0, 0, 2, 2) / det,
            -c(0, 0, 1, 2) / det,
        ],
        [
            c(1, 0, 2, 1) / det,
            -c(0, 0, 2, 1) / det,
            c(0, 0, 1, 1) / det,
        ],
    ])
}

/// A rotated channel's orientation for SAC's cmpaz/cmpinc (StationXML's azimuth and dip),
/// where the output letter says it: Z, N, E, and R/T from the back-azimuth; L and Q (and
/// LQT's T) have none a header could hold.
pub fn orientation_of(method: Method, letter: char, back_az: Option<f64>) -> Option<(f64, f64)> {
    match (method, letter) {
        (Method::ZneLqt, _) => None,
        (_, 'Z') => Some((0.0, -90.0)),
        (_, 'N') => Some((0.0, 0.0)),
        (_, 'E') => Some((90.0, 0.0)),
        (Method::NeRt, 'R') => back_az.map(|b| ((b + 180.0) % 360.0, 0.0)),
        (Method::NeRt, 'T') => back_az.map(|b| ((b + 270.0) % 360.0, 0.0)),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
