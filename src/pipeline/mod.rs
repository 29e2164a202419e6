//! The pipeline file: a TOML array of `[[step]]` tables, each with `op` and ObsPy's own
//! keyword names and defaults. Parsing validates everything (unknown ops and keys, types,
//! impossible values) before any data is read; errors name the step and key (exit 2).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::error::ConfigError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DetrendType {
    Simple,
    Demean,
    Linear,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Both,
    Left,
    Right,
}

/// scipy windows reachable through `Trace.taper(type=...)` (spec §2), plus ObsPy's `cosine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Window {
    Hann,
    Hamming,
    Cosine,
    Blackman,
    Bartlett,
    Triang,
    Boxcar,
    Barthann,
    Blackmanharris,
    Nuttall,
    Flattop,
}

impl Window {
    fn parse(s: &str) -> Option<Window> {
        Some(match s.to_ascii_lowercase().as_str() {
            "hann" | "hanning" => Window::Hann,
            "hamming" => Window::Hamming,
            "cosine" => Window::Cosine,
            "blackman" => Window::Blackman,
            "bartlett" => Window::Bartlett,
            "triang" => Window::Triang,
            "boxcar" => Window::Boxcar,
            "barthann" => Window::Barthann,
            "blackmanharris" => Window::Blackmanharris,
            "nuttall" => Window::Nuttall,
            "flattop" => Window::Flattop,
            _ => return None,
        })
    }
    const NAMES: &'static str =
        "hann, hamming, cosine, blackman, bartlett, triang, boxcar, barthann, blackmanharris, nuttall, flattop";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Output {
    #[serde(rename = "DISP")]
    Disp,
    #[serde(rename = "VEL")]
    Vel,
    #[serde(rename = "ACC")]
    Acc,
    #[serde(rename = "DEF")]
    Def,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterType {
    Bandpass,
    Bandstop,
    Lowpass,
    Highpass,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InterpMethod {
    Lanczos,
    Linear,
    WeightedAverageSlopes,
}

/// One pipeline step with every parameter resolved to ObsPy's value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Step {
    Detrend {
        #[serde(rename = "type")]
        kind: DetrendType,
    },
    Taper {
        max_percentage: Option<f64>,
        #[serde(rename = "type")]
        kind: Window,
        max_length: Option<f64>,
        side: Side,
    },
    RemoveResponse {
        output: Output,
        /// None = no water level (the key omitted), see spec §3.6.
        water_level: Option<f64>,
        pre_filt: Option<[f64; 4]>,
        zero_mean: bool,
        taper: bool,
        taper_fraction: f64,
    },
    Filter {
        #[serde(rename = "type")]
        kind: FilterType,
        freq: Option<f64>,
        freqmin: Option<f64>,
        freqmax: Option<f64>,
        corners: usize,
        zerophase: bool,
    },
    Resample {
        sampling_rate: f64,
        /// None = `window=None` in ObsPy (written `window = "none"`).
        window: Option<Window>,
        no_filter: bool,
        strict_length: bool,
    },
    Interpolate {
        sampling_rate: f64,
        method: InterpMethod,
        /// Absolute start time of the new grid, ns; None = the trace's own start.
        #[serde(skip_serializing_if = "Option::is_none")]
        starttime: Option<i64>,
        npts: Option<usize>,
        time_shift: f64,
        a: Option<usize>,
        window: String,
    },
    Decimate {
        factor: usize,
        no_filter: bool,
        strict_length: bool,
    },
}

impl Step {
    pub fn op(&self) -> &'static str {
        match self {
            Step::Detrend { .. } => "detrend",
            Step::Taper { .. } => "taper",
            Step::RemoveResponse { .. } => "remove_response",
            Step::Filter { .. } => "filter",
            Step::Resample { .. } => "resample",
            Step::Interpolate { .. } => "interpolate",
            Step::Decimate { .. } => "decimate",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pipeline {
    pub steps: Vec<Step>,
    /// Legal but almost surely a mistake; printed before the run and kept in the report.
    pub warnings: Vec<String>,
}

impl Pipeline {
    pub fn needs_response(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s, Step::RemoveResponse { .. }))
    }

    pub fn from_file(path: &Path) -> Result<Pipeline, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Pipeline::parse(&text).map_err(|e| match e {
            ConfigError::Toml { message, .. } => ConfigError::Toml {
                path: path.to_path_buf(),
                message,
            },
            e => e,
        })
    }

    pub fn parse(text: &str) -> Result<Pipeline, ConfigError> {
        let doc: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Toml {
                path: "<pipeline>".into(),
                message: e.to_string(),
            })?;
        for k in doc.keys() {
            if k != "step" {
                return Err(ConfigError::Pipeline(format!(
                    "unknown top-level key `{k}` (expected only [[step]] tables)"
                )));
            }
        }
        let steps = match doc.get("step") {
            Some(toml::Value::Array(a)) => a,
            Some(_) => {
                return Err(ConfigError::Pipeline(
                    "`step` must be an array of tables, written [[step]]".into(),
                ))
            }
            None => return Err(ConfigError::Pipeline("no [[step]] tables".into())),
        };
        let mut out = Pipeline {
            steps: Vec::new(),
            warnings: Vec::new(),
        };
        for (i, v) in steps.iter().enumerate() {
            let n = i + 1;
            let t = v.as_table().ok_or_else(|| ConfigError::Step {
                step: n,
                message: "each [[step]] must be a table".into(),
            })?;
            let step = parse_step(n, t, &mut out.warnings)?;
            out.steps.push(step);
        }
        Ok(out)
    }
}

/// Typed access to one step's table that remembers which keys were used, so unknown keys
/// are reported instead of silently ignored (a misspelled `water_lvl` would otherwise
/// quietly fall back to a default).
struct Keys<'a> {
    step: usize,
    op: &'a str,
    t: &'a toml::Table,
    used: BTreeMap<&'static str, ()>,
}

impl<'a> Keys<'a> {
    fn err(&self, key: &str, msg: impl Into<String>) -> ConfigError {
        ConfigError::key(self.step, self.op, key, msg)
    }
    fn get(&mut self, key: &'static str) -> Option<&'a toml::Value> {
        self.used.insert(key, ());
        self.t.get(key)
    }
    fn f64(&mut self, key: &'static str) -> Result<Option<f64>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(toml::Value::Float(x)) if x.is_finite() => Ok(Some(*x)),
            Some(toml::Value::Integer(x)) => Ok(Some(*x as f64)),
            Some(v) => Err(self.err(key, format!("expected a finite number, got {v}"))),
        }
    }
    fn bool(&mut self, key: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(key) {
            None => Ok(default),
            Some(toml::Value::Boolean(b)) => Ok(*b),
            Some(v) => Err(self.err(key, format!("expected true or false, got {v}"))),
        }
    }
    fn str(&mut self, key: &'static str) -> Result<Option<&'a str>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s.as_str())),
            Some(v) => Err(self.err(key, format!("expected a string, got {v}"))),
        }
    }
    fn usize(&mut self, key: &'static str) -> Result<Option<usize>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(toml::Value::Integer(x)) if *x >= 0 => Ok(Some(*x as usize)),
            Some(v) => Err(self.err(key, format!("expected a non-negative integer, got {v}"))),
        }
    }
    fn positive(&mut self, key: &'static str) -> Result<Option<f64>, ConfigError> {
        match self.f64(key)? {
            Some(x) if x <= 0.0 => Err(self.err(key, format!("must be > 0, got {x}"))),
            v => Ok(v),
        }
    }
    fn finish(self) -> Result<(), ConfigError> {
        for k in self.t.keys() {
            if k != "op" && !self.used.contains_key(k.as_str()) {
                let known: Vec<&str> = self.used.keys().copied().collect();
                return Err(self.err(
                    k,
                    format!("unknown key for this op (known keys: {})", known.join(", ")),
                ));
            }
        }
        Ok(())
    }
}

const OPS: &str = "detrend, taper, remove_response, filter, resample, interpolate, decimate";

fn parse_step(n: usize, t: &toml::Table, warnings: &mut Vec<String>) -> Result<Step, ConfigError> {
    let op = match t.get("op") {
        Some(toml::Value::String(s)) => s.as_str(),
        Some(v) => {
            return Err(ConfigError::key(
                n,
                "?",
                "op",
                format!("expected a string, got {v}"),
            ))
        }
        None => {
            return Err(ConfigError::Step {
                step: n,
                message: format!("missing key `op` (one of: {OPS})"),
            })
        }
    };
    let mut k = Keys {
        step: n,
        op,
        t,
        used: BTreeMap::new(),
    };
    let step = match op {
        "detrend" => {
            let kind = match k
                .str("type")?
                .unwrap_or("simple")
                .to_ascii_lowercase()
                .as_str()
            {
                "simple" => DetrendType::Simple,
                "demean" | "constant" => DetrendType::Demean,
                "linear" => DetrendType::Linear,
                other => {
                    return Err(k.err(
                        "type",
                        format!(
                        "`{other}` is not supported (expected simple, demean, constant or linear)"
                    ),
                    ))
                }
            };
            Step::Detrend { kind }
        }
        "taper" => {
            let max_percentage = k.f64("max_percentage")?;
            let max_length = k.f64("max_length")?;
            if max_percentage.is_none() && max_length.is_none() {
                return Err(k.err(
                    "max_percentage",
                    "required (ObsPy's first argument), or give max_length",
                ));
            }
            if let Some(p) = max_percentage {
                if !(0.0..=1.0).contains(&p) {
                    return Err(k.err("max_percentage", format!("must be in [0, 1], got {p}")));
                }
                if p > 0.5 {
                    warnings.push(format!(
                        "step {n} (taper): max_percentage {p} > 0.5 tapers the whole trace"
                    ));
                }
            }
            if let Some(l) = max_length {
                if l < 0.0 {
                    return Err(k.err("max_length", format!("must be >= 0 seconds, got {l}")));
                }
            }
            let ty = k.str("type")?.unwrap_or("hann");
            let kind = Window::parse(ty).ok_or_else(|| {
                k.err(
                    "type",
                    format!("unknown window `{ty}` (expected one of {})", Window::NAMES),
                )
            })?;
            let side = match k.str("side")?.unwrap_or("both") {
                "both" => Side::Both,
                "left" => Side::Left,
                "right" => Side::Right,
                s => return Err(k.err("side", format!("expected both, left or right, got `{s}`"))),
            };
            Step::Taper {
                max_percentage,
                kind,
                max_length,
                side,
            }
        }
        "remove_response" => {
            let output = match k
                .str("output")?
                .unwrap_or("VEL")
                .to_ascii_uppercase()
                .as_str()
            {
                "DISP" => Output::Disp,
                "VEL" => Output::Vel,
                "ACC" => Output::Acc,
                "DEF" => Output::Def,
                s => {
                    return Err(k.err(
                        "output",
                        format!("expected DISP, VEL, ACC or DEF, got `{s}`"),
                    ))
                }
            };
            let water_level = k.f64("water_level")?;
            if water_level == Some(0.0) {
                warnings.push(format!(
                    "step {n} (remove_response): water_level = 0 clips every bin to the response peak: \
                     the inverse response becomes one constant magnitude (phase correction only). \
                     ObsPy does the same; omit the key for no water level"
                ));
            }
            let pre_filt = match k.get("pre_filt") {
                None => None,
                Some(toml::Value::Array(a)) => {
                    let v: Option<Vec<f64>> = a
                        .iter()
                        .map(|x| match x {
                            toml::Value::Float(f) if f.is_finite() => Some(*f),
                            toml::Value::Integer(i) => Some(*i as f64),
                            _ => None,
                        })
                        .collect();
                    match v {
                        Some(v) if v.len() == 4 => {
                            if !(v[0] >= 0.0 && v[0] < v[1] && v[1] <= v[2] && v[2] < v[3]) {
                                return Err(k.err(
                                    "pre_filt",
                                    format!("expected 0 <= f1 < f2 <= f3 < f4, got {v:?}"),
                                ));
                            }
                            Some([v[0], v[1], v[2], v[3]])
                        }
                        _ => {
                            return Err(k.err(
                                "pre_filt",
                                "expected an array of 4 numbers [f1, f2, f3, f4]",
                            ))
                        }
                    }
                }
                Some(v) => {
                    return Err(k.err(
                        "pre_filt",
                        format!("expected an array of 4 numbers, got {v}"),
                    ))
                }
            };
            let zero_mean = k.bool("zero_mean", true)?;
            let taper = k.bool("taper", true)?;
            let taper_fraction = k.f64("taper_fraction")?.unwrap_or(0.05);
            if !(0.0..=1.0).contains(&taper_fraction) {
                return Err(k.err(
                    "taper_fraction",
                    format!("must be in [0, 1], got {taper_fraction}"),
                ));
            }
            Step::RemoveResponse {
                output,
                water_level,
                pre_filt,
                zero_mean,
                taper,
                taper_fraction,
            }
        }
        "filter" => {
            let ty = k.str("type")?.ok_or_else(|| {
                k.err("type", "required: bandpass, bandstop, lowpass or highpass")
            })?;
            let kind = match ty {
                "bandpass" => FilterType::Bandpass,
                "bandstop" => FilterType::Bandstop,
                "lowpass" => FilterType::Lowpass,
                "highpass" => FilterType::Highpass,
                s => {
                    return Err(k.err(
                        "type",
                        format!(
                        "`{s}` is not supported (expected bandpass, bandstop, lowpass or highpass)"
                    ),
                    ))
                }
            };
            let corners = k.usize("corners")?.unwrap_or(4);
            if corners == 0 || corners > 32 {
                return Err(k.err("corners", format!("must be 1..=32, got {corners}")));
            }
            let zerophase = k.bool("zerophase", false)?;
            let (mut freq, mut freqmin, mut freqmax) = (None, None, None);
            match kind {
                FilterType::Lowpass | FilterType::Highpass => {
                    freq = Some(
                        k.positive("freq")?
                            .ok_or_else(|| k.err("freq", "required, in Hz"))?,
                    );
                }
                FilterType::Bandpass | FilterType::Bandstop => {
                    let lo = k
                        .positive("freqmin")?
                        .ok_or_else(|| k.err("freqmin", "required, in Hz"))?;
                    let hi = k
                        .positive("freqmax")?
                        .ok_or_else(|| k.err("freqmax", "required, in Hz"))?;
                    if lo >= hi {
                        return Err(k.err("freqmax", format!("must be > freqmin ({lo}), got {hi}")));
                    }
                    freqmin = Some(lo);
                    freqmax = Some(hi);
                }
            }
            Step::Filter {
                kind,
                freq,
                freqmin,
                freqmax,
                corners,
                zerophase,
            }
        }
        "resample" => {
            let sampling_rate = k
                .positive("sampling_rate")?
                .ok_or_else(|| k.err("sampling_rate", "required, in Hz"))?;
            let window = match k.str("window")?.unwrap_or("hann") {
                "none" | "None" => None,
                w => Some(
                    Window::parse(w)
                        .filter(|w| *w != Window::Cosine)
                        .ok_or_else(|| {
                            k.err(
                                "window",
                                format!("unknown window `{w}` (a scipy window name or \"none\")"),
                            )
                        })?,
                ),
            };
            Step::Resample {
                sampling_rate,
                window,
                no_filter: k.bool("no_filter", true)?,
                strict_length: k.bool("strict_length", false)?,
            }
        }
        "interpolate" => {
            let sampling_rate = k
                .positive("sampling_rate")?
                .ok_or_else(|| k.err("sampling_rate", "required, in Hz"))?;
            let m = k.str("method")?.unwrap_or("weighted_average_slopes");
            let method = match m {
                "lanczos" => InterpMethod::Lanczos,
                "linear" => InterpMethod::Linear,
                "weighted_average_slopes" => InterpMethod::WeightedAverageSlopes,
                s => {
                    return Err(k.err(
                        "method",
                        format!("`{s}` is not supported (expected lanczos, linear or weighted_average_slopes)"),
                    ))
                }
            };
            let starttime = match k.str("starttime")? {
                None => None,
                Some(s) => Some(crate::time::parse_iso(s).ok_or_else(|| {
                    k.err(
                        "starttime",
                        format!("expected an ISO 8601 time like 2020-01-01T00:00:00Z, got `{s}`"),
                    )
                })?),
            };
            let npts = k.usize("npts")?;
            if npts == Some(0) {
                return Err(k.err("npts", "must be >= 1"));
            }
            let time_shift = k.f64("time_shift")?.unwrap_or(0.0);
            let a = k.usize("a")?;
            let window = k.str("window")?.unwrap_or("lanczos").to_string();
            if method == InterpMethod::Lanczos {
                match a {
                    None => {
                        return Err(k.err(
                            "a",
                            "required for method = \"lanczos\" (ObsPy has no default)",
                        ))
                    }
                    Some(0) => return Err(k.err("a", "must be >= 1")),
                    _ => {}
                }
                if !["lanczos", "hanning", "blackman"].contains(&window.as_str()) {
                    return Err(k.err(
                        "window",
                        format!("expected lanczos, hanning or blackman, got `{window}`"),
                    ));
                }
                if window != "lanczos" {
                    warnings.push(format!(
                        "step {n} (interpolate): window = \"{window}\" is ignored by ObsPy 1.5.1, which always uses the lanczos window; seisbatch does the same"
                    ));
                }
            } else if a.is_some() {
                return Err(k.err("a", "only used with method = \"lanczos\""));
            }
            Step::Interpolate {
                sampling_rate,
                method,
                starttime,
                npts,
                time_shift,
                a,
                window,
            }
        }
        "decimate" => {
            let factor = k
                .usize("factor")?
                .ok_or_else(|| k.err("factor", "required, an integer >= 1"))?;
            let no_filter = k.bool("no_filter", false)?;
            if factor == 0 {
                return Err(k.err("factor", "must be >= 1"));
            }
            if !no_filter && factor > 16 {
                return Err(k.err(
                    "factor",
                    format!("{factor} > 16 with the anti-alias filter (ObsPy refuses this): decimate in several steps"),
                ));
            }
            Step::Decimate {
                factor,
                no_filter,
                strict_length: k.bool("strict_length", false)?,
            }
        }
        other => {
            return Err(ConfigError::key(
                n,
                other,
                "op",
                format!("unknown op `{other}` (expected one of: {OPS})"),
            ))
        }
    };
    k.finish()?;
    Ok(step)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forum_chain_parses_with_obspy_defaults() {
        let p = Pipeline::parse(
            r#"
[[step]]
op = "detrend"
type = "demean"
[[step]]
op = "taper"
max_percentage = 0.05
[[step]]
op = "remove_response"
output = "DISP"
pre_filt = [0.001, 0.005, 4.9, 5.0]
water_level = 0
zero_mean = false
taper = false
[[step]]
op = "interpolate"
sampling_rate = 10
method = "lanczos"
a = 25
npts = 12000
"#,
        )
        .unwrap();
        assert_eq!(p.steps.len(), 4);
        assert_eq!(
            p.steps[1],
            Step::Taper {
                max_percentage: Some(0.05),
                kind: Window::Hann,
                max_length: None,
                side: Side::Both
            }
        );
        match &p.steps[2] {
            Step::RemoveResponse {
                water_level,
                taper_fraction,
                ..
            } => {
                assert_eq!(*water_level, Some(0.0));
                assert_eq!(*taper_fraction, 0.05);
            }
            s => panic!("{s:?}"),
        }
        assert_eq!(p.warnings.len(), 1, "water_level = 0 warns");
    }

    fn err(text: &str) -> String {
        Pipeline::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_step_and_key() {
        let e = err("[[step]]\nop = \"detrend\"\n[[step]]\nop = \"tapr\"\n");
        assert!(
            e.contains("step 2") && e.contains("tapr") && e.contains("`op`"),
            "{e}"
        );
        let e = err("[[step]]\nop = \"taper\"\nmax_percentage = \"five\"\n");
        assert!(
            e.contains("step 1") && e.contains("max_percentage") && e.contains("number"),
            "{e}"
        );
        let e = err("[[step]]\nop = \"remove_response\"\nwater_lvl = 10\n");
        assert!(e.contains("water_lvl") && e.contains("unknown key"), "{e}");
        let e = err("[[step]]\nop = \"filter\"\ntype = \"bandpass\"\nfreqmin = 2\nfreqmax = 1\n");
        assert!(e.contains("freqmax"), "{e}");
        let e = err("[[step]]\nop = \"interpolate\"\nsampling_rate = 10\nmethod = \"lanczos\"\n");
        assert!(e.contains("`a`"), "{e}");
        let e = err("[[step]]\nop = \"decimate\"\nfactor = 20\n");
        assert!(e.contains("factor"), "{e}");
        assert!(err("").contains("no [[step]]"));
    }
}
