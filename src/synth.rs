//! `seisbatch synth`: a MassDownloader-shaped data set of any size, without a network, for
//! demos, benchmarks and tests. EVENT/raw/NET.STA.LOC.CHA__START__END.mseed (Steim2, 512- or
//! 4096-byte records) and EVENT/resp/NET.STA.xml with a realistic three-stage response
//! (STS-2-like poles and zeros, a digitiser gain stage, a decimating FIR), noise plus a
//! transient in counts, and on request a share of bad traces of the kinds real downloads
//! contain. Deterministic for a seed: every trace's generator is seeded from (seed, event,
//! station, channel), so events can be written in parallel and still come out identical.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use num_complex::Complex64 as C;
use rayon::prelude::*;

use crate::time;

#[derive(Debug, Clone)]
pub struct SynthConfig {
    pub output: PathBuf,
    pub events: usize,
    pub stations: usize,
    /// Seconds per trace.
    pub duration: f64,
    /// Sampling rates stations draw from (Hz).
    pub rates: Vec<f64>,
    /// Share of traces made bad (0..=1).
    pub bad_fraction: f64,
    pub seed: u64,
}

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SynthSummary {
    pub files: usize,
    pub traces: usize,
    pub bad: usize,
    pub samples: u64,
}

/// The kinds of bad trace, one per bad trace in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bad {
    /// The file ends in the middle of a record.
    Truncated,
    /// The channel's response epoch ends before the event.
    NoEpoch,
    /// A record's bytes are overwritten with garbage.
    Corrupt,
}

/// splitmix64: a small, well-mixed deterministic generator.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(parts: &[u64]) -> Rng {
        let mut r = Rng(0x9E37_79B9_7F4A_7C15);
        for p in parts {
            r.0 ^= p.wrapping_mul(0xBF58_476D_1CE4_E5B9);
            r.next();
        }
        r
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Standard normal (Box-Muller).
    pub(crate) fn normal(&mut self) -> f64 {
        let u = self.unit().max(1e-300);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// SEED band code for a rate (H: 80-250 Hz, B: 10-80 Hz, M: 1-10 Hz, L: around 1 Hz).
fn band(rate: f64) -> char {
    if rate >= 80.0 {
        'H'
    } else if rate >= 10.0 {
        'B'
    } else if rate > 1.0 {
        'M'
    } else {
        'L'
    }
}

const NETWORK: &str = "SY";
const COMPONENTS: [char; 3] = ['Z', 'N', 'E'];
/// 2020-01-01T00:00:00Z; event k is k days and a few minutes later.
const FIRST_EVENT_NS: i64 = 1_577_836_800_000_000_000;

/// STS-2-like sensor: poles and zeros in rad/s, generator constant 1500 V/(m/s).
const ZEROS: [(f64, f64); 2] = [(0.0, 0.0), (0.0, 0.0)];
const POLES: [(f64, f64); 5] = [
    (-0.037004, 0.037016),
    (-0.037004, -0.037016),
    (-251.33, 0.0),
    (-131.04, -467.29),
    (-131.04, 467.29),
];
const SENSOR_GAIN: f64 = 1500.0;
const DIGITISER_GAIN: f64 = 419_430.0;

/// A0 so that |A0 H(i 2 pi f)| = 1 at f = 1 Hz.
fn a0() -> f64 {
    let s = C::new(0.0, 2.0 * std::f64::consts::PI);
    let num: C = ZEROS.iter().map(|&(r, i)| s - C::new(r, i)).product();
    let den: C = POLES.iter().map(|&(r, i)| s - C::new(r, i)).product();
    1.0 / (num / den).norm()
}

/// A 31-tap windowed-sinc lowpass at a quarter of the input rate, summing to 1 (unit gain at
/// 0 Hz, as evalresp checks), for the decimate-by-2 FIR stage.
fn fir() -> Vec<f64> {
    let n = 31;
    let m = (n - 1) as f64 / 2.0;
    let h: Vec<f64> = (0..n)
        .map(|k| {
            let x = k as f64 - m;
            let sinc = if x == 0.0 {
                1.0
            } else {
                (std::f64::consts::PI * 0.5 * x).sin() / (std::f64::consts::PI * 0.5 * x)
            };
            let w = 0.54 + 0.46 * (std::f64::consts::PI * x / m).cos();
            sinc * w
        })
        .collect();
    let s: f64 = h.iter().sum();
    h.into_iter().map(|v| v / s).collect()
}

fn channel_xml(x: &mut String, code: &str, rate: f64, start: &str, end: Option<&str>) {
    let end = end.map(|e| format!(" endDate=\"{e}\"")).unwrap_or_default();
    let dip = if code.ends_with('Z') { -90.0 } else { 0.0 };
    let az = if code.ends_with('E') { 90.0 } else { 0.0 };
    let _ = write!(
        x,
        r#"      <Channel code="{code}" locationCode="" startDate="{start}"{end}>
        <Latitude>48.0</Latitude>
        <Longitude>11.0</Longitude>
        <Elevation>500.0</Elevation>
        <Depth>0.0</Depth>
        <Azimuth>{az}</Azimuth>
        <Dip>{dip}</Dip>
        <SampleRate>{rate}</SampleRate>
        <Response>
          <InstrumentSensitivity>
            <Value>{sens}</Value>
            <Frequency>1.0</Frequency>
            <InputUnits><Name>M/S</Name></InputUnits>
            <OutputUnits><Name>COUNTS</Name></OutputUnits>
          </InstrumentSensitivity>
          <Stage number="1">
            <PolesZeros>
              <InputUnits><Name>M/S</Name></InputUnits>
              <OutputUnits><Name>V</Name></OutputUnits>
              <PzTransferFunctionType>LAPLACE (RADIANS/SECOND)</PzTransferFunctionType>
              <NormalizationFactor>{a0:e}</NormalizationFactor>
              <NormalizationFrequency>1.0</NormalizationFrequency>
"#,
        sens = SENSOR_GAIN * DIGITISER_GAIN,
        a0 = a0(),
    );
    for (k, (r, i)) in ZEROS.iter().enumerate() {
        let _ = writeln!(
            x,
            "              <Zero number=\"{k}\"><Real>{r}</Real><Imaginary>{i}</Imaginary></Zero>"
        );
    }
    for (k, (r, i)) in POLES.iter().enumerate() {
        let _ = writeln!(
            x,
            "              <Pole number=\"{}\"><Real>{r}</Real><Imaginary>{i}</Imaginary></Pole>",
            k + ZEROS.len()
        );
    }
    let _ = write!(
        x,
        r#"            </PolesZeros>
            <StageGain><Value>{SENSOR_GAIN}</Value><Frequency>1.0</Frequency></StageGain>
          </Stage>
          <Stage number="2">
            <Coefficients>
              <InputUnits><Name>V</Name></InputUnits>
              <OutputUnits><Name>COUNTS</Name></OutputUnits>
              <CfTransferFunctionType>DIGITAL</CfTransferFunctionType>
            </Coefficients>
            <Decimation>
              <InputSampleRate>{r2}</InputSampleRate>
              <Factor>1</Factor>
              <Offset>0</Offset>
              <Delay>0.0</Delay>
              <Correction>0.0</Correction>
            </Decimation>
            <StageGain><Value>{DIGITISER_GAIN}</Value><Frequency>1.0</Frequency></StageGain>
          </Stage>
          <Stage number="3">
            <FIR>
              <InputUnits><Name>COUNTS</Name></InputUnits>
              <OutputUnits><Name>COUNTS</Name></OutputUnits>
              <Symmetry>NONE</Symmetry>
"#,
        r2 = 2.0 * rate
    );
    for (k, c) in fir().iter().enumerate() {
        let _ = writeln!(
            x,
            "              <NumeratorCoefficient i=\"{k}\">{c:e}</NumeratorCoefficient>"
        );
    }
    let _ = write!(
        x,
        r#"            </FIR>
            <Decimation>
              <InputSampleRate>{r2}</InputSampleRate>
              <Factor>2</Factor>
              <Offset>0</Offset>
              <Delay>0.0</Delay>
              <Correction>0.0</Correction>
            </Decimation>
            <StageGain><Value>1.0</Value><Frequency>1.0</Frequency></StageGain>
          </Stage>
        </Response>
      </Channel>
"#,
        r2 = 2.0 * rate
    );
}

/// Counts: a DC offset, noise, and a damped sinusoid arriving somewhere in the trace.
fn samples(rng: &mut Rng, n: usize, rate: f64) -> Vec<i32> {
    let offset = (rng.unit() - 0.5) * 4000.0;
    let noise = 200.0 + 800.0 * rng.unit();
    let onset = rng.unit() * 0.8 * n as f64;
    let f = 0.5 + 4.0 * rng.unit().min(0.45 * rate / 4.0);
    let amp = 2000.0 + 20_000.0 * rng.unit();
    let decay = 0.05 + 0.2 * rng.unit();
    (0..n)
        .map(|i| {
            let t = (i as f64 - onset) / rate;
            let tr = if t >= 0.0 {
                amp * (-decay * t).exp() * (2.0 * std::f64::consts::PI * f * t).sin()
            } else {
                0.0
            };
            (offset + noise * rng.normal() + tr).round() as i32
        })
        .collect()
}

pub(crate) fn steim2(
    id: &str,
    rate: f64,
    start_ns: i64,
    rec_len: i32,
    data: &mut [i32],
) -> Result<Vec<u8>, String> {
    use mseed::{pack_raw, MSControlFlags, MSDataEncoding, PackInfo};
    let mut info = PackInfo::with_sample_rate(id, rate).map_err(|e| e.to_string())?;
    info.format_version = 2;
    info.encoding = MSDataEncoding::Steim2;
    info.rec_len = rec_len;
    let start = ::time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(start_ns))
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    pack_raw(
        data,
        &start,
        |r| out.extend_from_slice(r),
        &info,
        MSControlFlags::MSF_FLUSHDATA | MSControlFlags::MSF_PACKVER2,
    )
    .map_err(|e| e.to_string())?;
    Ok(out)
}

pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes the data set; fails on the first I/O error (a benchmark set must be complete).
pub fn synth(cfg: &SynthConfig) -> Result<SynthSummary, String> {
    if cfg.rates.is_empty() || cfg.rates.iter().any(|r| !(r.is_finite() && *r > 0.0)) {
        return Err("--rates needs positive sampling rates".into());
    }
    if !(0.0..=1.0).contains(&cfg.bad_fraction) {
        return Err("--bad-fraction must lie in [0, 1]".into());
    }
    if !(cfg.duration.is_finite() && cfg.duration > 0.0) {
        return Err("--duration must be positive".into());
    }
    let per_event = cfg.stations * COMPONENTS.len();
    let total = cfg.events * per_event;
    // Bad traces spread evenly: trace g (0-based over the whole set) is bad when the running
    // count of bad ones steps up there.
    let is_bad = |g: usize| -> Option<Bad> {
        let before = (g as f64 * cfg.bad_fraction).floor() as usize;
        let after = ((g + 1) as f64 * cfg.bad_fraction).floor() as usize;
        (after > before).then_some(match before % 3 {
            0 => Bad::Truncated,
            1 => Bad::NoEpoch,
            _ => Bad::Corrupt,
        })
    };
    let summaries: Vec<Result<SynthSummary, String>> = (0..cfg.events)
        .into_par_iter()
        .map(|e| {
            let mut sum = SynthSummary::default();
            let ev_start = FIRST_EVENT_NS + e as i64 * 86_400_000_000_000 + 600_000_000_000;
            let dir = cfg.output.join(format!("event_{:05}", e + 1));
            for s in 0..cfg.stations {
                let sta = format!("S{:04}", s + 1);
                let rate = cfg.rates[s % cfg.rates.len()];
                let rec_len = if s % 2 == 0 { 512 } else { 4096 };
                let n = (cfg.duration * rate).round().max(1.0) as usize;
                let mut xml = format!(
                    "<?xml version='1.0' encoding='UTF-8'?>\n<FDSNStationXML xmlns=\"http://www.fdsn.org/xml/station/1\" schemaVersion=\"1.1\">\n  <Source>seisbatch synth</Source>\n  <Created>2026-01-01T00:00:00Z</Created>\n  <Network code=\"{NETWORK}\">\n    <Station code=\"{sta}\" startDate=\"2019-01-01T00:00:00Z\">\n      <Latitude>48.0</Latitude>\n      <Longitude>11.0</Longitude>\n      <Elevation>500.0</Elevation>\n      <Site><Name>synthetic</Name></Site>\n"
                );
                for (c, comp) in COMPONENTS.iter().enumerate() {
                    let g = e * per_event + s * COMPONENTS.len() + c;
                    let bad = is_bad(g);
                    let cha = format!("{}H{comp}", band(rate));
                    let epoch_end = (bad == Some(Bad::NoEpoch)).then(|| time::iso(ev_start - 86_400_000_000_000));
                    channel_xml(&mut xml, &cha, rate, "2019-01-01T00:00:00Z", epoch_end.as_deref());
                    let mut rng = Rng::new(&[cfg.seed, e as u64, s as u64, c as u64]);
                    let mut data = samples(&mut rng, n, rate);
                    let id = format!("FDSN:{NETWORK}_{sta}__{}_{}_{}", band(rate), 'H', comp);
                    let mut bytes = steim2(&id, rate, ev_start, rec_len, &mut data)?;
                    let rl = rec_len as usize;
                    match bad {
                        Some(Bad::Truncated) if bytes.len() > rl => {
                            let keep = bytes.len() - rl / 2;
                            bytes.truncate(keep);
                        }
                        Some(Bad::Corrupt) if bytes.len() >= 2 * rl => {
                            let at = (bytes.len() / rl / 2) * rl;
                            for b in &mut bytes[at..at + rl] {
                                *b = (rng.next() & 0xff) as u8;
                            }
                        }
                        _ => {}
                    }
                    let end_ns = time::add_seconds(ev_start, (n - 1) as f64 / rate);
                    let name = format!(
                        "{NETWORK}.{sta}..{cha}__{}__{}.mseed",
                        time::compact(ev_start),
                        time::compact(end_ns)
                    );
                    write(&dir.join("raw").join(name), &bytes)?;
                    sum.files += 1;
                    sum.traces += 1;
                    sum.samples += n as u64;
                    sum.bad += usize::from(bad.is_some());
                }
                xml.push_str("    </Station>\n  </Network>\n</FDSNStationXML>\n");
                write(&dir.join("resp").join(format!("{NETWORK}.{sta}.xml")), xml.as_bytes())?;
            }
            Ok(sum)
        })
        .collect();
    let mut total_sum = SynthSummary::default();
    for s in summaries {
        let s = s?;
        total_sum.files += s.files;
        total_sum.traces += s.traces;
        total_sum.bad += s.bad;
        total_sum.samples += s.samples;
    }
    debug_assert_eq!(total_sum.traces, total);
    Ok(total_sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fir_has_unit_dc_gain_and_a0_normalises_at_1_hz() {
        assert!((fir().iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let s = C::new(0.0, 2.0 * std::f64::consts::PI);
        let num: C = ZEROS.iter().map(|&(r, i)| s - C::new(r, i)).product();
        let den: C = POLES.iter().map(|&(r, i)| s - C::new(r, i)).product();
        assert!(((num / den).norm() * a0() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn generator_is_deterministic_per_seed() {
        let mut r = Rng::new(&[1]);
        let a = r.next();
        assert_ne!(a, Rng::new(&[2]).next(), "seeds differ");
        assert_eq!(a, Rng::new(&[1]).next(), "and repeat");
    }
}
