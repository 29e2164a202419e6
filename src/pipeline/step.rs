//! One `[[step]]` table -> a [`Step`] with every parameter resolved to ObsPy's value, or a
//! configuration error naming the step and key. ObsPy's own spellings are kept: its
//! defaults, and which strings it lower-cases (filter and detrend types, taper type and
//! side, interpolate method, remove_response output) and which it does not (resample's
//! scipy window name).

use std::collections::BTreeMap;

use super::*;
use crate::error::ConfigError;

/// Typed access to one step's table that remembers which keys were used, so unknown keys
/// are reported instead of silently ignored (a misspelled `water_lvl` would otherwise
/// quietly fall back to a default).
pub(super) struct Keys<'a> {
    step: usize,
    op: &'a str,
    pub(super) t: &'a toml::Table,
    used: BTreeMap<&'static str, ()>,
}

impl<'a> Keys<'a> {
    pub(super) fn err(&self, key: &str, msg: impl Into<String>) -> ConfigError {
        ConfigError::key(self.step, self.op, key, msg)
    }
    pub(super) fn get(&mut self, key: &'static str) -> Option<&'a toml::Value> {
        self.used.insert(key, ());
        self.t.get(key)
    }
    pub(super) fn f64(&mut self, key: &'static str) -> Result<Option<f64>, ConfigError> {
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
    pub(super) fn str(&mut self, key: &'static str) -> Result<Option<&'a str>, ConfigError> {
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
    /// A required sampling rate a trace can carry (`limits::rate_problem`).
    fn rate(&mut self, key: &'static str) -> Result<f64, ConfigError> {
        let r = self
            .positive(key)?
            .ok_or_else(|| self.err(key, "required, in Hz"))?;
        match crate::limits::rate_problem(r) {
            Some(p) => Err(self.err(key, p)),
            None => Ok(r),
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

/// A trim bound key (`ops::trim::Bound::parse`).
fn bound(k: &mut Keys, key: &'static str) -> Result<Option<crate::ops::trim::Bound>, ConfigError> {
    match k.str(key)? {
        None => Ok(None),
        Some(s) => crate::ops::trim::Bound::parse(s)
            .map(Some)
            .map_err(|m| k.err(key, m)),
    }
}

const OPS: &str =
    "detrend, taper, remove_response, filter, resample, interpolate, decimate, rotate, \
                   integrate, differentiate, normalize, remove_sensitivity, trim, select";

pub(super) fn parse_step(
    n: usize,
    t: &toml::Table,
    warnings: &mut Vec<String>,
) -> Result<Step, ConfigError> {
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
            // ObsPy's Trace.taper lower-cases type and side.
            let side = match k
                .str("side")?
                .unwrap_or("both")
                .to_ascii_lowercase()
                .as_str()
            {
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
            // ObsPy's default is 60 (NUMERICS §3.6); TOML has no None, so "no water level" is
            // spelled `water_level = false` (a literal port of `remove_response(inv)` must
            // give ObsPy's numbers: an omitted key meaning none differed by a relative L2
            // of 191).
            let water_level = match k.get("water_level") {
                None => Some(DEFAULT_WATER_LEVEL),
                Some(toml::Value::Boolean(false)) => None,
                Some(toml::Value::Float(x)) if x.is_finite() => Some(*x),
                Some(toml::Value::Integer(x)) => Some(*x as f64),
                Some(v) => {
                    return Err(k.err(
                        "water_level",
                        format!(
                            "expected a number in dB (ObsPy's default 60), or false for no water level; got {v}"
                        ),
                    ))
                }
            };
            if water_level == Some(0.0) {
                warnings.push(format!(
                    "step {n} (remove_response): water_level = 0 clips every bin to the response peak: \
                     the inverse response becomes one constant magnitude (phase correction only). \
                     ObsPy does the same; write water_level = false for no water level"
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
            // ObsPy's Trace.filter lower-cases the type ("Bandpass" works there).
            let kind = match ty.to_ascii_lowercase().as_str() {
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
            let sampling_rate = k.rate("sampling_rate")?;
            // scipy's get_window (what ObsPy's resample calls) is case-sensitive: "Hann"
            // raises there, so it is refused here too.
            let window = match k.str("window")?.unwrap_or("hann") {
                "none" | "None" => None,
                w => Some(
                    Window::parse(w)
                        .filter(|p| *p != Window::Cosine && w == w.to_ascii_lowercase())
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
            let sampling_rate = k.rate("sampling_rate")?;
            // ObsPy's Trace.interpolate lower-cases the method, and lanczos_kernel the window.
            let m = k.str("method")?.unwrap_or("weighted_average_slopes");
            let method = match m.to_ascii_lowercase().as_str() {
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
                Some(s) => Some(crate::limits::parse_time(s).map_err(|e| {
                    k.err(
                        "starttime",
                        format!("expected an ISO 8601 time like 2020-01-01T00:00:00Z: {e}"),
                    )
                })?),
            };
            let npts = k.usize("npts")?;
            if npts == Some(0) {
                return Err(k.err("npts", "must be >= 1"));
            }
            let time_shift = k.f64("time_shift")?.unwrap_or(0.0);
            // A shift past the whole representable time range can never give a time
            // (1e308 gave one-sample traces dated 2262).
            let span_s =
                (crate::limits::last_ns() as f64 - crate::limits::first_ns() as f64) * 1e-9;
            if time_shift.abs() > span_s {
                return Err(k.err(
                    "time_shift",
                    format!(
                        "{time_shift} s moves every trace out of the years {}-{} that times can hold",
                        crate::limits::FIRST_YEAR,
                        crate::limits::LAST_YEAR
                    ),
                ));
            }
            let a = k.usize("a")?;
            let window = k.str("window")?.unwrap_or("lanczos").to_ascii_lowercase();
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
        "integrate" => {
            // ObsPy lower-cases the method; "spline" (InterpolatedUnivariateSpline) is not here.
            let method = k.str("method")?.unwrap_or("cumtrapz").to_ascii_lowercase();
            if method != "cumtrapz" {
                return Err(k.err(
                    "method",
                    format!("\"{method}\" is not supported (only ObsPy's default, \"cumtrapz\")"),
                ));
            }
            Step::Integrate { method }
        }
        "differentiate" => {
            let method = k.str("method")?.unwrap_or("gradient").to_ascii_lowercase();
            if method != "gradient" {
                return Err(k.err(
                    "method",
                    format!("\"{method}\" is not supported (ObsPy has only \"gradient\")"),
                ));
            }
            Step::Differentiate { method }
        }
        "select" => {
            // ObsPy upper-cases both sides; its `inventory` key is not here.
            let mut pat = |key: &'static str| -> Result<Option<String>, ConfigError> {
                Ok(k.str(key)?.map(str::to_uppercase))
            };
            let sel = super::select::Select {
                network: pat("network")?,
                station: pat("station")?,
                location: pat("location")?,
                channel: pat("channel")?,
                component: pat("component")?,
                id: pat("id")?,
                sampling_rate: k.positive("sampling_rate")?,
                npts: k.usize("npts")?,
            };
            sel.check().map_err(|m| k.err("component", m))?;
            Step::Select(sel)
        }
        "trim" => {
            let starttime = bound(&mut k, "starttime")?;
            let endtime = bound(&mut k, "endtime")?;
            let pad = k.bool("pad", false)?;
            let fill_value = k.f64("fill_value")?;
            if pad && fill_value.is_none() {
                return Err(k.err(
                    "fill_value",
                    "required with pad = true (ObsPy would leave the padded samples masked, \
                     which no output format here can hold)",
                ));
            }
            Step::Trim(crate::ops::trim::TrimArgs {
                starttime,
                endtime,
                pad,
                nearest_sample: k.bool("nearest_sample", true)?,
                fill_value,
            })
        }
        "rotate" => super::rotate::parse(&mut k)?,
        // No keys: ObsPy's `inventory` is the event's resp/ folder and --inventory.
        "remove_sensitivity" => Step::RemoveSensitivity,
        "normalize" => {
            let norm = k.f64("norm")?;
            if let Some(v) = norm {
                if v == 0.0 {
                    warnings.push(format!(
                        "step {n} (normalize): norm = 0: Attempting to normalize by dividing \
                         through zero. This is not allowed and the data will thus not be \
                         changed. (ObsPy's warning)"
                    ));
                }
                if v < 0.0 {
                    warnings.push(format!(
                        "step {n} (normalize): norm = {v}: Normalizing with negative values is \
                         forbidden. Using absolute value. (ObsPy's warning)"
                    ));
                }
            }
            Step::Normalize { norm }
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
