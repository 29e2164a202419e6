//! `Trace.simulate(paz_remove=None, paz_simulate=None, remove_sensitivity=True,
//! simulate_sensitivity=True, water_level=600.0, zero_mean=True, taper=True,
//! taper_fraction=0.05, pre_filt=None, nfft_pow2=False, pitsasim=True, sacsim=False,
//! shsim=False)`: `obspy.signal.invsim.simulate_seismometer` with poles and zeros given in
//! the pipeline (each a table: `poles` and `zeros` as [re, im] pairs, `gain`, and
//! `sensitivity` where it is used). Not here: `paz_remove = "self"` (a SAC/GSE header's PAZ)
//! and `seedresp` (a RESP file): remove_response reads StationXML instead.

use num_complex::Complex64 as C;
use serde::Serialize;

use super::Operation;
use crate::error::ConfigError;
use crate::ops::simulate::{freq_taper, paz_response, Paz};
use crate::response::cache::{invert_spectrum, sac_taper};
use crate::ops::{deconvolve, taper};
use crate::pipeline::build::Build;
use crate::pipeline::keys::Keys;
use crate::pipeline::shape::StepShape;
use crate::pipeline::DetrendType;
use crate::stages;

/// Poles or zeros an instrument may have (bounds the response's cost per bin).
const MAX_ROOTS: usize = 100;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Simulate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paz_remove: Option<Paz>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paz_simulate: Option<Paz>,
    pub remove_sensitivity: bool,
    pub simulate_sensitivity: bool,
    pub water_level: f64,
    pub zero_mean: bool,
    pub taper: bool,
    pub taper_fraction: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pre_filt: Option<[f64; 4]>,
    pub nfft_pow2: bool,
    pub pitsasim: bool,
    pub sacsim: bool,
    pub shsim: bool,
}

/// One complex root: [re, im], or a plain number for a real one.
fn root(v: &toml::Value) -> Option<[f64; 2]> {
    let num = |x: &toml::Value| match x {
        toml::Value::Float(f) if f.is_finite() => Some(*f),
        toml::Value::Integer(i) => Some(*i as f64),
        _ => None,
    };
    match v {
        toml::Value::Array(a) if a.len() == 2 => Some([num(&a[0])?, num(&a[1])?]),
        other => Some([num(other)?, 0.0]),
    }
}

/// A PAZ table under `key`; `sensitivity` required when `needs_sensitivity`.
fn paz(k: &mut Keys, key: &'static str, needs_sensitivity: bool) -> Result<Option<Paz>, ConfigError> {
    let Some(v) = k.get(key) else {
        return Ok(None);
    };
    let toml::Value::Table(t) = v else {
        return Err(k.err(
            key,
            "expected a table: { poles = [[re, im], ...], zeros = [...], gain = A0, sensitivity = S }",
        ));
    };
    let roots = |name: &str| -> Result<Vec<[f64; 2]>, String> {
        let Some(toml::Value::Array(a)) = t.get(name) else {
            return Err(format!("`{name}` is required: a list of [re, im] pairs (ObsPy's \"Missing key: {name}\")"));
        };
        if a.len() > MAX_ROOTS {
            return Err(format!("{} {name}: at most {MAX_ROOTS}", a.len()));
        }
        a.iter()
            .map(|x| root(x).ok_or_else(|| format!("`{name}`: {x} is not a number or an [re, im] pair")))
            .collect()
    };
    let number = |name: &str| -> Result<Option<f64>, String> {
        match t.get(name) {
            None => Ok(None),
            Some(toml::Value::Float(f)) if f.is_finite() => Ok(Some(*f)),
            Some(toml::Value::Integer(i)) => Ok(Some(*i as f64)),
            Some(x) => Err(format!("`{name}`: expected a number, got {x}")),
        }
    };
    let parsed = (|| -> Result<Paz, String> {
        if let Some(bad) = t.keys().find(|n| !["poles", "zeros", "gain", "sensitivity"].contains(&n.as_str())) {
            return Err(format!("unknown key `{bad}` (poles, zeros, gain, sensitivity)"));
        }
        let gain = number("gain")?.ok_or("`gain` is required (ObsPy's \"Missing key: gain\")")?;
        let sensitivity = number("sensitivity")?;
        match sensitivity {
            None if needs_sensitivity => {
                return Err("`sensitivity` is required while its *_sensitivity flag is true".into())
            }
            Some(s) if s <= 0.0 => {
                return Err(format!("`sensitivity` must be > 0, got {s}"));
            }
            _ => {}
        }
        Ok(Paz {
            poles: roots("poles")?,
            zeros: roots("zeros")?,
            gain,
            sensitivity,
        })
    })();
    parsed.map(Some).map_err(|m| k.err(key, m))
}

/// What `simulate` multiplies the spectrum by.
struct SimulateTable<'a> {
    paz_remove: Option<&'a Paz>,
    paz_simulate: Option<&'a Paz>,
    water_level: f64,
    pre_filt: Option<[f64; 4]>,
    /// With `sacsim` the pre_filt taper is SAC's (`response::cache::sac_taper`).
    sacsim: bool,
    /// The sensitivities' ratio applied after the inverse transform in ObsPy (linear, so
    /// folded in here): 1 / removed x simulated, each where its flag asks.
    scale: f64,
}

impl SimulateTable<'_> {
    /// The nfft / 2 + 1 bins, in ObsPy's order of multiplication.
    fn table(&self, delta: f64, nfft: usize) -> Vec<C> {
        let bins = nfft / 2 + 1;
        let mut t = vec![C::new(self.scale, 0.0); bins];
        if let Some(paz) = self.paz_remove {
            let (h, freqs) = paz_response(paz, delta, nfft);
            if let Some(pf) = self.pre_filt {
                let win: Vec<f64> = if self.sacsim {
                    freqs
                        .iter()
                        .map(|&f| sac_taper(f, pf))
                        .collect()
                } else {
                    freq_taper(&freqs, pf)
                };
                t.iter_mut().zip(&win).for_each(|(v, w)| *v *= w);
            }
            let inv = invert_spectrum(&h, self.water_level);
            t.iter_mut().zip(&inv).for_each(|(v, r)| *v *= r);
        }
        if let Some(paz) = self.paz_simulate {
            let (h, _) = paz_response(paz, delta, nfft);
            t.iter_mut().zip(&h).for_each(|(v, r)| *v *= r);
        }
        t
    }
}


impl Operation for Simulate {
    fn parse(k: &mut Keys, _warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        let remove_sensitivity = k.bool("remove_sensitivity", true)?;
        let simulate_sensitivity = k.bool("simulate_sensitivity", true)?;
        if matches!(k.get("paz_remove"), Some(toml::Value::String(_))) {
            return Err(k.err(
                "paz_remove",
                "\"self\" (a header's poles and zeros) is not supported: give the table, or use \
                 remove_response with StationXML",
            ));
        }
        let paz_remove = paz(k, "paz_remove", remove_sensitivity)?;
        let paz_simulate = paz(k, "paz_simulate", simulate_sensitivity)?;
        if paz_remove.is_none() && paz_simulate.is_none() {
            return Err(k.err(
                "paz_remove",
                "Neither inverse nor forward instrument simulation specified. (ObsPy's error: \
                 give paz_remove, paz_simulate or both)",
            ));
        }
        let water_level = k.f64("water_level")?.unwrap_or(600.0);
        let taper_fraction = k.f64("taper_fraction")?.unwrap_or(0.05);
        if !(0.0..=1.0).contains(&taper_fraction) {
            return Err(k.err(
                "taper_fraction",
                format!("must be in [0, 1], got {taper_fraction}"),
            ));
        }
        let pre_filt = k.pre_filt()?;
        if k.get("seedresp").is_some() {
            return Err(k.err(
                "seedresp",
                "RESP files are not read here: use remove_response with StationXML",
            ));
        }
        Ok(Simulate {
            paz_remove,
            paz_simulate,
            remove_sensitivity,
            simulate_sensitivity,
            water_level,
            zero_mean: k.bool("zero_mean", true)?,
            taper: k.bool("taper", true)?,
            taper_fraction,
            pre_filt,
            nfft_pow2: k.bool("nfft_pow2", false)?,
            pitsasim: k.bool("pitsasim", true)?,
            sacsim: k.bool("sacsim", false)?,
            shsim: k.bool("shsim", false)?,
        })
    }

    fn shape(&self, s: &mut StepShape, _origin: Result<i64, &str>) -> Result<(), String> {
        let n = s.before.npts;
        if n == 0 {
            return Err("trace has no samples".into());
        }
        if self.taper {
            taper::cosine_bounds(n, self.taper_fraction, self.sacsim)?;
        }
        Ok(())
    }

    fn compile(&self, b: &mut Build, s: &StepShape) -> Result<(), String> {
        let (n, rate) = (s.before.npts, s.before.sampling_rate);
        if self.zero_mean {
            b.push(stages::Detrend { kind: DetrendType::Demean }, n, n);
        }
        if self.taper {
            // ObsPy: SAC's taper with sacsim, else cosine_taper's defaults (half cosines).
            let w = taper::cosine_taper(n, self.taper_fraction, self.sacsim, !self.sacsim)?;
            b.push(stages::Taper { window: w.into() }, n, n);
        }
        let nfft = if self.nfft_pow2 {
            (2 * n).next_power_of_two()
        } else {
            deconvolve::npts2nfft(n)
        };
        let mut scale = 1.0;
        if let (Some(p), true) = (&self.paz_remove, self.remove_sensitivity) {
            scale /= p.sensitivity.unwrap_or(1.0);
        }
        if let (Some(p), true) = (&self.paz_simulate, self.simulate_sensitivity) {
            scale *= p.sensitivity.unwrap_or(1.0);
        }
        let table = SimulateTable {
            paz_remove: self.paz_remove.as_ref(),
            paz_simulate: self.paz_simulate.as_ref(),
            water_level: self.water_level,
            pre_filt: self.pre_filt,
            sacsim: self.sacsim,
            scale,
        }
        .table(1.0 / rate, nfft);
        b.push(stages::Deconvolve::fixed(nfft, table), n, n);
        if self.pitsasim {
            b.push(stages::Detrend { kind: DetrendType::Simple }, n, n);
        }
        if self.shsim {
            b.push(stages::Detrend { kind: DetrendType::Linear }, n, n);
        }
        Ok(())
    }
}
