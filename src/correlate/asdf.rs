//! NoisePy's ASDF layout beside the SAC files (`asdf = true`, builds with the `asdf` feature),
//! as noisepy-seis-io's ASDFCCStore and ASDFStackStore write it, so NoisePy's readers, stack
//! step and plotting take our output:
//! - `OUTPUT/asdf/CCF/<START>T<END>.h5`, one per chunk (NoisePy's timespan names,
//!   `%Y_%m_%d_%H_%M_%S`): auxiliary data `<NET.STA>_<NET.STA>/<CHA>_<CHA>` (a location code as
//!   `CHA_LOC`, NoisePy's ChannelType), the chunk's row as float32, NoisePy's cc_parameters
//!   (dt, maxlag, dist, azi, baz, lonS, latS, lonR, latR, ngood, cc_method, time, substack,
//!   comp).
//! - `OUTPUT/asdf/STACK/<SRC>/<SRC>_<REC>.h5`, one per pair: `Allstack_linear` (or
//!   `Allstack_pws`) `/<comp>` for each component pair, the rotated ones (ZR ... TZ) beside
//!   them as NoisePy's stack step adds them (its ZZ twice is one dataset: the same data).
//!
//! Deviation: with `substack`, NoisePy's CCF holds every substack row; ours holds the chunk's
//! mean of them (ngood its windows), as the SAC files do.
//! Codes are escaped (`crate::escape`): a code names an HDF5 group, never a path outside.

use std::path::{Path, PathBuf};

use super::config::StackMethod;
use super::journal::Head;
use super::Config;
use crate::escape::escape;
use crate::ops::noise::correlate::Method;
use crate::write::asdf::{write_aux, Attr, Aux};

/// NoisePy's Station repr: `NET.STA`.
fn station(codes: &[String; 3]) -> String {
    format!("{}.{}", escape(&codes[0]), escape(&codes[1]))
}

/// NoisePy's ChannelType repr: `CHA`, or `CHA_LOC` with a location code.
fn channel(cha: &str, codes: &[String; 3]) -> String {
    if codes[2].is_empty() {
        escape(cha)
    } else {
        format!("{}_{}", escape(cha), escape(&codes[2]))
    }
}

/// The auxiliary data type of a pair: `SRC_REC`.
pub fn pair_type(h: &Head) -> String {
    format!(
        "{}_{}",
        station(&h.source_codes),
        station(&h.receiver_codes)
    )
}

/// The path of a chunk row: `CHA_CHA`.
pub fn channel_path(h: &Head) -> String {
    format!(
        "{}_{}",
        channel(&h.channels[0], &h.source_codes),
        channel(&h.channels[1], &h.receiver_codes)
    )
}

/// NoisePy's DATE_FORMAT, `%Y_%m_%d_%H_%M_%S`.
fn date(ns: i64) -> String {
    let iso = crate::time::iso(ns); // 2019-02-01T00:00:00.000000Z
    iso.get(..19).unwrap_or(&iso).replace(['-', 'T', ':'], "_")
}

/// `OUTPUT/asdf/CCF/<START>T<END>.h5`.
pub fn ccf_path(out: &Path, start_ns: i64, end_ns: i64) -> PathBuf {
    out.join("asdf")
        .join("CCF")
        .join(format!("{}T{}.h5", date(start_ns), date(end_ns)))
}

/// `OUTPUT/asdf/STACK/<SRC>/<SRC>_<REC>.h5`.
pub fn stack_path(out: &Path, h: &Head) -> PathBuf {
    let src = station(&h.source_codes);
    out.join("asdf")
        .join("STACK")
        .join(&src)
        .join(format!("{}.h5", pair_type(h)))
}

fn method(m: Method) -> &'static str {
    match m {
        Method::Xcorr => "xcorr",
        Method::Coherency => "coherency",
        Method::Deconv => "deconv",
    }
}

/// NoisePy's cc_parameters for a row: `time` in epoch seconds, `ngood` its windows. Without
/// both stations' coordinates the distance, azimuths and coordinates are left out.
pub fn parameters(h: &Head, cfg: &Config, time_ns: i64, ngood: usize) -> Vec<(&'static str, Attr)> {
    let maxlag = cfg.noise.maxlag;
    let mut p = vec![
        ("dt", Attr::F64(h.dt)),
        (
            "maxlag",
            // NoisePy's int(maxlag); a fractional maxlag is kept as it is.
            if maxlag.fract() == 0.0 {
                Attr::I64(maxlag as i64)
            } else {
                Attr::F64(maxlag)
            },
        ),
    ];
    if let (Some(s), Some(r)) = (h.source_coords, h.receiver_coords) {
        if let Some((dist, azi, back)) = crate::geodesy::gps2dist_azimuth(s[0], s[1], r[0], r[1]) {
            p.extend([
                ("dist", Attr::F32((dist / 1000.0) as f32)),
                ("azi", Attr::F32(azi as f32)),
                ("baz", Attr::F32(back as f32)),
                ("lonS", Attr::F32(s[1] as f32)),
                ("latS", Attr::F32(s[0] as f32)),
                ("lonR", Attr::F32(r[1] as f32)),
                ("latR", Attr::F32(r[0] as f32)),
            ]);
        }
    }
    p.extend([
        ("ngood", Attr::I64(ngood as i64)),
        ("cc_method", Attr::Str(method(cfg.cc_method).into())),
        ("time", Attr::F64(time_ns as f64 / 1e9)),
        ("substack", Attr::Bool(cfg.substack)),
        (
            "comp",
            Attr::Str(format!("{}{}", h.components.0, h.components.1)),
        ),
    ]);
    p
}

/// A chunk's CCF file: every row it wrote (`rows`: head and samples).
pub fn write_ccf(
    out: &Path,
    cfg: &Config,
    (start_ns, end_ns): (i64, i64),
    rows: &[(&Head, &[f64])],
) -> Result<(), String> {
    let items: Vec<Aux> = rows
        .iter()
        .map(|(h, data)| Aux {
            data_type: pair_type(h),
            path: channel_path(h),
            data: data.iter().map(|&v| v as f32).collect(),
            attrs: parameters(h, cfg, start_ns, h.windows),
        })
        .collect();
    let path = ccf_path(out, start_ns, end_ns);
    super::output::out_dir(out, Path::new("asdf/CCF"))?;
    write_aux(&path, &items)
}

/// One stack of a pair: its component name ("ZZ", "RT"), the head its parameters come from,
/// the rows it stacks, the samples.
pub struct StackOut<'a> {
    pub comp: String,
    pub head: &'a Head,
    pub ngood: usize,
    pub data: &'a [f64],
}

/// A pair's STACK file: its stacks as `Allstack_<method>/<comp>`; `time_ns` the run's start.
/// With `rotated`, NoisePy's station_source and station_receiver are added.
pub fn write_stacks(
    out: &Path,
    cfg: &Config,
    time_ns: i64,
    stacks: &[StackOut],
    rotated: bool,
) -> Result<(), String> {
    let Some(first) = stacks.first() else {
        return Ok(());
    };
    let name = match cfg.stack_method {
        StackMethod::Linear => "Allstack_linear",
        StackMethod::Pws => "Allstack_pws",
    };
    let mut items: Vec<Aux> = Vec::with_capacity(stacks.len());
    for s in stacks {
        if items.iter().any(|a| a.path == s.comp) {
            continue; // ZZ rotated is ZZ: NoisePy keeps the first.
        }
        let mut attrs = parameters(s.head, cfg, time_ns, s.ngood);
        for a in attrs.iter_mut().filter(|a| a.0 == "comp") {
            a.1 = Attr::Str(s.comp.clone());
        }
        if rotated {
            attrs.push(("station_source", Attr::Str(s.head.source_codes[1].clone())));
            attrs.push((
                "station_receiver",
                Attr::Str(s.head.receiver_codes[1].clone()),
            ));
        }
        items.push(Aux {
            data_type: name.into(),
            path: escape(&s.comp),
            data: s.data.iter().map(|&v| v as f32).collect(),
            attrs,
        });
    }
    let path = stack_path(out, first.head);
    let src = station(&first.head.source_codes);
    super::output::out_dir(out, &Path::new("asdf/STACK").join(src))?;
    write_aux(&path, &items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(loc: &str) -> Head {
        Head {
            source: format!("CI.ARV.{loc}"),
            receiver: format!("CI.BAK.{loc}"),
            components: ('Z', 'N'),
            channels: ["BHZ".into(), "BHN".into()],
            source_codes: ["CI".into(), "ARV".into(), loc.into()],
            receiver_codes: ["CI".into(), "BAK".into(), loc.into()],
            source_coords: None,
            receiver_coords: None,
            dt: 0.05,
            npts: 3,
            zero: 1,
            windows: 4,
            rows: 1,
        }
    }

    #[test]
    fn names_are_noisepys() {
        let h = head("");
        assert_eq!(pair_type(&h), "CI.ARV_CI.BAK");
        assert_eq!(channel_path(&h), "BHZ_BHN");
        assert_eq!(channel_path(&head("00")), "BHZ_00_BHN_00");
        // noisepy-seis-io's docstring: 2019_02_01_00_00_00T2019_02_02_00_00_00.h5
        let day = 1_548_979_200_000_000_000; // 2019-02-01
        assert_eq!(
            ccf_path(Path::new("o"), day, day + 86_400_000_000_000),
            Path::new("o/asdf/CCF/2019_02_01_00_00_00T2019_02_02_00_00_00.h5")
        );
        assert_eq!(
            stack_path(Path::new("o"), &h),
            Path::new("o/asdf/STACK/CI.ARV/CI.ARV_CI.BAK.h5")
        );
        // A hostile code stays one name.
        let mut bad = head("");
        bad.source_codes[1] = "../x".into();
        assert_eq!(pair_type(&bad), "CI.%2E%2E%2Fx_CI.BAK");
    }
}
