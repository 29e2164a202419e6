//! A synthetic continuous archive for ambient-noise work (`seisbatch synth --noise-days D`):
//! `--stations` stations on a ring of ~100 km around (35 N, 118 W), one vertical channel each,
//! D days at the first of `--rates` in an SDS tree (Steim-2 day files) with their StationXML.
//! Each day is a diffuse noise field, independent noise arriving as plane waves from
//! `AZIMUTHS` directions at 3 km/s, plus noise of each station's own: correlations peak at
//! +-distance / 3 km/s (examples/noise/make_array.py builds the same kind of field in numpy).
//! For benchmarks on machines without Python (bench/gpu_device.sh) and for quick trials.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::synth::{steim2, write, Rng};

/// Plane-wave directions of the field.
pub const AZIMUTHS: usize = 360;
const SPEED_KM_S: f64 = 3.0;
const LAT0: f64 = 35.0;
const LON0: f64 = -118.0;
const KM_PER_DEGREE: f64 = 111.19;
/// 2020-01-01T00:00:00Z.
const FIRST_DAY_NS: i64 = 1_577_836_800_000_000_000;

/// What `noise_array` wrote.
#[derive(Debug, Default)]
pub struct ArraySummary {
    pub files: usize,
    pub samples: u64,
    pub archive: PathBuf,
    pub inventory: PathBuf,
}

/// Station k's position, km east and north of the centre: a ring (radius 50 km plus 10 km per
/// turn), so that pairs span ~15 to ~140 km.
fn position(k: usize, n: usize) -> (f64, f64) {
    let a = 2.0 * std::f64::consts::PI * (k as f64 + 0.37 * (k / 7) as f64) / n.max(1) as f64;
    let r = 50.0 + 10.0 * ((k * 3) % 5) as f64;
    (r * a.sin(), r * a.cos())
}

fn lat_lon(k: usize, n: usize) -> (f64, f64) {
    let (e, north) = position(k, n);
    (
        LAT0 + north / KM_PER_DEGREE,
        LON0 + e / (KM_PER_DEGREE * LAT0.to_radians().cos()),
    )
}

/// Writes `stations` stations x `days` days at `rate` Hz under `out`.
pub fn noise_array(
    out: &Path,
    stations: usize,
    days: usize,
    rate: f64,
    seed: u64,
) -> Result<ArraySummary, String> {
    if !(2..=500).contains(&stations) || !(1..=366).contains(&days) {
        return Err("--noise-days: 1 to 366 days of 2 to 500 stations".into());
    }
    if !(rate.is_finite() && (0.1..=200.0).contains(&rate)) {
        return Err(format!("--rates {rate}: 0.1 to 200 Hz for a noise archive"));
    }
    let n = (86_400.0 * rate).round() as usize;
    // Each plane wave's delay at each station, in samples (x . u / v).
    let delays: Vec<Vec<i64>> = (0..AZIMUTHS)
        .map(|k| {
            let a = 2.0 * std::f64::consts::PI * k as f64 / AZIMUTHS as f64;
            (0..stations)
                .map(|s| {
                    let (e, north) = position(s, stations);
                    ((e * a.sin() + north * a.cos()) / SPEED_KM_S * rate).round() as i64
                })
                .collect()
        })
        .collect();
    let pad = delays
        .iter()
        .flatten()
        .map(|d| d.unsigned_abs())
        .max()
        .unwrap_or(0) as usize
        + 1;
    let archive = out.join("archive");
    let mut summary = ArraySummary {
        archive: archive.clone(),
        inventory: out.join("stations.xml"),
        ..Default::default()
    };
    for day in 0..days {
        // The day's sources, shared by every station.
        let sources: Vec<Vec<f32>> = (0..AZIMUTHS)
            .into_par_iter()
            .map(|k| {
                let mut rng = Rng::new(&[seed, day as u64, k as u64]);
                (0..n + 2 * pad).map(|_| rng.normal() as f32).collect()
            })
            .collect();
        let start_ns = FIRST_DAY_NS + day as i64 * 86_400_000_000_000;
        let doy = day + 1;
        let files: Vec<Result<u64, String>> = (0..stations)
            .into_par_iter()
            .map(|s| {
                let mut x = vec![0f32; n];
                for (k, src) in sources.iter().enumerate() {
                    let at = (pad as i64 - delays[k][s]) as usize;
                    x.iter_mut()
                        .zip(&src[at..at + n])
                        .for_each(|(o, v)| *o += v);
                }
                let mut own = Rng::new(&[seed, day as u64, 1_000_000 + s as u64]);
                let level = 0.5 * (AZIMUTHS as f64).sqrt();
                let mut counts: Vec<i32> = x
                    .iter()
                    .map(|v| (100.0 * (f64::from(*v) + level * own.normal())).round() as i32)
                    .collect();
                let sta = format!("S{:03}", s + 1);
                let id = format!("FDSN:XX_{sta}__H_H_Z");
                let bytes = steim2(&id, rate, start_ns, 4096, &mut counts)?;
                let path = archive
                    .join("2020")
                    .join("XX")
                    .join(&sta)
                    .join("HHZ.D")
                    .join(format!("XX.{sta}..HHZ.D.2020.{doy:03}"));
                write(&path, &bytes)?;
                Ok(n as u64)
            })
            .collect();
        for f in files {
            summary.samples += f?;
            summary.files += 1;
        }
    }
    let mut xml = String::from(
        "<?xml version='1.0' encoding='UTF-8'?>\n<FDSNStationXML xmlns=\"http://www.fdsn.org/xml/station/1\" schemaVersion=\"1.1\">\n  <Source>seisbatch synth --noise-days</Source>\n  <Created>2026-01-01T00:00:00Z</Created>\n  <Network code=\"XX\">\n",
    );
    for s in 0..stations {
        let (lat, lon) = lat_lon(s, stations);
        xml.push_str(&format!(
            "    <Station code=\"S{:03}\" startDate=\"2019-01-01T00:00:00Z\"><Latitude>{lat:.6}</Latitude><Longitude>{lon:.6}</Longitude><Elevation>0</Elevation>\n      <Channel code=\"HHZ\" locationCode=\"\" startDate=\"2019-01-01T00:00:00Z\"><Latitude>{lat:.6}</Latitude><Longitude>{lon:.6}</Longitude><Elevation>0</Elevation><Depth>0</Depth><Azimuth>0</Azimuth><Dip>-90</Dip><SampleRate>{rate}</SampleRate></Channel>\n    </Station>\n",
            s + 1
        ));
    }
    xml.push_str("  </Network>\n</FDSNStationXML>\n");
    write(&summary.inventory, xml.as_bytes())?;
    Ok(summary)
}
