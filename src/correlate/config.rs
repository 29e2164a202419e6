//! `seisbatch correlate CONFIG.toml`: NoisePy's ConfigParameters for the cross-correlation
//! step, its names and defaults (cc_len 1800 s, step 450 s, freqmin 0.05 Hz, freqmax 2 Hz,
//! smooth_N 10, smoothspect_N 10, maxlag 200 s, max_over_std 10, time_norm "no",
//! freq_norm "rma", cc_method "xcorr", substack false, rotation false, acorr_only false,
//! xcorr_only true), plus which pairs and components.
//! Unknown keys and values out of range are errors naming the key.

use std::path::Path;

use crate::ops::noise::correlate::Method;
use crate::ops::noise::time_norm::TimeNorm;
use crate::ops::noise::whiten::FreqNorm;
use crate::ops::noise::NoiseParams;

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    cc_len: Option<f64>,
    step: Option<f64>,
    inc_hours: Option<f64>,
    freqmin: Option<f64>,
    freqmax: Option<f64>,
    smooth_n: Option<usize>,
    smoothspect_n: Option<usize>,
    maxlag: Option<f64>,
    max_over_std: Option<f64>,
    time_norm: Option<String>,
    freq_norm: Option<String>,
    cc_method: Option<String>,
    substack: Option<bool>,
    substack_len: Option<f64>,
    components: Option<Vec<String>>,
    max_distance_km: Option<f64>,
    stack_method: Option<String>,
    rotation: Option<bool>,
    acorr_only: Option<bool>,
    xcorr_only: Option<bool>,
    asdf: Option<bool>,
}

/// How the run's correlations are stacked over days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackMethod {
    /// The mean of every kept window's correlation (NoisePy's `linear`).
    Linear,
    /// Phase-weighted (NoisePy's `pws`, power 2: Schimmel and Paulssen 1997).
    Pws,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub noise: NoiseParams,
    pub time_norm: TimeNorm,
    pub freq_norm: FreqNorm,
    pub cc_method: Method,
    /// A correlation per window (NoisePy's substack with substack_len = cc_len), stacked per
    /// day; else one average per day.
    pub substack: bool,
    /// With `substack`: rows per group of windows starting within each substack_len seconds
    /// (NoisePy's substack_len; cc_len, the default, is a row per window).
    pub substack_len: f64,
    /// Component pairs, source then receiver (the channel code's last letter): "ZZ" by
    /// default; "all" is the nine of Z, N, E.
    pub components: Vec<(char, char)>,
    /// Pairs farther apart than this are not correlated (needs station coordinates).
    pub max_distance_km: Option<f64>,
    pub stack_method: StackMethod,
    /// The run's stacks also rotated from ENZ to RTZ by each pair's azimuth and back-azimuth
    /// (NoisePy's `rotation`; needs the nine component pairs and coordinates).
    pub rotation: bool,
    /// Which station pairs: two stations (NoisePy's `xcorr_only`, default), one station with
    /// itself (`acorr_only`: autocorrelations and its cross-components), or both
    /// (`xcorr_only = false`).
    pub cross: bool,
    pub auto: bool,
    /// Also NoisePy's ASDF layout (`correlate::asdf`; builds with the `asdf` feature).
    pub asdf: bool,
}

/// Most lags a correlation may keep each side of zero, and most component pairs.
const MAX_LAG_SAMPLES: f64 = 1e7;
/// Most lags a correlation row may hold (both sides of MAX_LAG_SAMPLES and lag 0).
pub const MAX_ROW: usize = 2 * MAX_LAG_SAMPLES as usize + 1;

impl Config {
    pub fn read(path: &Path) -> Result<Config, String> {
        let bytes = crate::read::sniff::read_regular(path, false, 1 << 20)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let text =
            String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8 text", path.display()))?;
        Config::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Config, String> {
        let raw: Raw = toml::from_str(text).map_err(|e| e.message().to_string())?;
        let d = NoiseParams::default();
        let noise = NoiseParams {
            cc_len: raw.cc_len.unwrap_or(d.cc_len),
            step: raw.step.unwrap_or(d.step),
            inc_hours: raw.inc_hours.unwrap_or(d.inc_hours),
            freqmin: raw.freqmin.unwrap_or(d.freqmin),
            freqmax: raw.freqmax.unwrap_or(d.freqmax),
            smooth_n: raw.smooth_n.unwrap_or(d.smooth_n),
            smoothspect_n: raw.smoothspect_n.unwrap_or(d.smoothspect_n),
            maxlag: raw.maxlag.unwrap_or(d.maxlag),
            max_over_std: raw.max_over_std.unwrap_or(d.max_over_std),
        };
        let positive = |k: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(format!("{k} = {v}: must be a positive number"))
            }
        };
        positive("cc_len", noise.cc_len)?;
        positive("step", noise.step)?;
        positive("inc_hours", noise.inc_hours)?;
        positive("freqmin", noise.freqmin)?;
        positive("freqmax", noise.freqmax)?;
        positive("maxlag", noise.maxlag)?;
        positive("max_over_std", noise.max_over_std)?;
        if noise.freqmin >= noise.freqmax {
            return Err(format!(
                "freqmin {} must be below freqmax {}",
                noise.freqmin, noise.freqmax
            ));
        }
        if noise.inc_hours > 24.0 * 366.0 {
            return Err(format!("inc_hours = {}: at most a year", noise.inc_hours));
        }
        for (k, v) in [
            ("smooth_n", noise.smooth_n),
            ("smoothspect_n", noise.smoothspect_n),
        ] {
            if !(1..=100_000).contains(&v) {
                return Err(format!("{k} = {v}: 1 to 100000"));
            }
        }
        if noise.maxlag > noise.cc_len || noise.maxlag * 1e3 > MAX_LAG_SAMPLES {
            return Err(format!(
                "maxlag = {}: at most cc_len ({}) and 10000 s",
                noise.maxlag, noise.cc_len
            ));
        }
        let components = match raw.components.as_deref() {
            None => vec![('Z', 'Z')],
            Some([one]) if one == "all" => "ZNE"
                .chars()
                .flat_map(|a| "ZNE".chars().map(move |b| (a, b)))
                .collect(),
            Some(list) => {
                let mut out = Vec::new();
                for c in list {
                    let v: Vec<char> = c.chars().collect();
                    match v[..] {
                        [a, b] if a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric() => {
                            out.push((a.to_ascii_uppercase(), b.to_ascii_uppercase()))
                        }
                        _ => {
                            return Err(format!(
                                "components: `{c}` is not two component letters (ZZ, ZN, ...) or \"all\""
                            ))
                        }
                    }
                }
                if out.is_empty() || out.len() > 81 {
                    return Err("components: 1 to 81 pairs".into());
                }
                out
            }
        };
        if let Some(km) = raw.max_distance_km {
            positive("max_distance_km", km)?;
        }
        let substack_len = raw.substack_len.unwrap_or(noise.cc_len);
        if !(substack_len.is_finite() && substack_len >= noise.cc_len) {
            return Err(format!(
                "substack_len = {substack_len}: at least cc_len ({})",
                noise.cc_len
            ));
        }
        if substack_len > noise.inc_hours * 3600.0 {
            return Err(format!(
                "substack_len = {substack_len}: at most inc_hours ({} s)",
                noise.inc_hours * 3600.0
            ));
        }
        let rotation = raw.rotation.unwrap_or(false);
        if rotation && components.len() != 9 {
            return Err(
                "rotation = true needs the nine component pairs: components = [\"all\"]".into(),
            );
        }
        let acorr_only = raw.acorr_only.unwrap_or(false);
        if acorr_only && raw.xcorr_only == Some(true) {
            return Err(
                "acorr_only = true and xcorr_only = true leave no pair to correlate".into(),
            );
        }
        let asdf = raw.asdf.unwrap_or(false);
        Ok(Config {
            noise,
            rotation,
            asdf,
            cross: !acorr_only,
            auto: acorr_only || raw.xcorr_only == Some(false),
            time_norm: TimeNorm::parse(raw.time_norm.as_deref().unwrap_or("no"))?,
            freq_norm: FreqNorm::parse(raw.freq_norm.as_deref().unwrap_or("rma"))?,
            cc_method: Method::parse(raw.cc_method.as_deref().unwrap_or("xcorr"))?,
            substack: raw.substack.unwrap_or(false),
            substack_len,
            components,
            max_distance_km: raw.max_distance_km,
            stack_method: match raw.stack_method.as_deref().unwrap_or("linear") {
                "linear" => StackMethod::Linear,
                "pws" => StackMethod::Pws,
                other => return Err(format!("stack_method {other:?}: expected linear or pws")),
            },
        })
    }

    /// The smoothing whitening uses: NoisePy's smooth_N (phase_only with smooth_N <= 1).
    pub fn whiten_smooth(&self) -> usize {
        self.noise.smooth_n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_noisepys_and_bad_values_name_their_key() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.noise, NoiseParams::default());
        assert_eq!(
            (c.time_norm, c.freq_norm, c.cc_method, c.substack),
            (TimeNorm::No, FreqNorm::Rma, Method::Xcorr, false)
        );
        assert_eq!(c.components, vec![('Z', 'Z')]);
        assert_eq!((c.rotation, c.cross, c.auto), (false, true, false));
        let a = Config::parse("acorr_only = true").unwrap();
        assert_eq!((a.cross, a.auto), (false, true));
        let b = Config::parse("xcorr_only = false").unwrap();
        assert_eq!((b.cross, b.auto), (true, true));
        assert!(
            Config::parse("rotation = true\ncomponents = [\"all\"]")
                .unwrap()
                .rotation
        );
        assert_eq!(
            Config::parse("components = [\"all\"]")
                .unwrap()
                .components
                .len(),
            9
        );
        for (bad, key) in [
            ("cc_len = -1", "cc_len"),
            ("freqmin = 3.0", "freqmin"),
            ("maxlag = 5000.0", "maxlag"),
            ("smooth_n = 0", "smooth_n"),
            ("cc_method = \"xcor\"", "cc_method"),
            ("components = [\"Z\"]", "components"),
            ("colour = 1", "colour"),
            ("stack_method = \"median\"", "stack_method"),
            ("rotation = true", "rotation"),
            ("substack_len = 100.0", "substack_len"),
            ("acorr_only = true\nxcorr_only = true", "acorr_only"),
        ] {
            let e = Config::parse(bad).unwrap_err();
            assert!(e.contains(key), "{bad}: {e}");
        }
    }
}
