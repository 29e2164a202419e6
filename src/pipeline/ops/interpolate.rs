//! `Trace.interpolate(sampling_rate, method="weighted_average_slopes", starttime=None,
//! npts=None, time_shift=0.0, *args)` with lanczos' `a` and `window`.

use serde::Serialize;

use super::Operation;
use crate::error::ConfigError;
use crate::ops::interpolate;
use crate::pipeline::build::Build;
use crate::pipeline::keys::Keys;
use crate::pipeline::shape::StepShape;
use crate::pipeline::InterpMethod;
use crate::stages;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Interpolate {
    pub sampling_rate: f64,
    pub method: InterpMethod,
    /// Absolute start time of the new grid, ns; None = the trace's own start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starttime: Option<i64>,
    pub npts: Option<usize>,
    pub time_shift: f64,
    pub a: Option<usize>,
    pub window: String,
}

impl Operation for Interpolate {
    const CHANGES_SHAPE: bool = true;

    fn parse(k: &mut Keys, warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        let n = k.step();
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
        let span_s = (crate::limits::last_ns() as f64 - crate::limits::first_ns() as f64) * 1e-9;
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
        Ok(Interpolate {
            sampling_rate,
            method,
            starttime,
            npts,
            time_shift,
            a,
            window,
        })
    }

    fn shape(&self, s: &mut StepShape, _origin: Result<i64, &str>) -> Result<(), String> {
        let (n, rate, start) = (s.before.npts, s.before.sampling_rate, s.before.start_ns);
        let g = interpolate::grid(
            n,
            start,
            rate,
            self.sampling_rate,
            self.starttime,
            self.npts,
            self.time_shift,
        )?;
        s.after.start_ns = g.start_ns;
        if n > 0 {
            match self.method {
                InterpMethod::Lanczos if self.a.is_none() => {
                    return Err("lanczos needs `a`".into())
                }
                InterpMethod::WeightedAverageSlopes if n < 2 => {
                    return Err("weighted_average_slopes needs at least 2 samples".into())
                }
                _ => {}
            }
            s.after.npts = g.npts;
            s.after.sampling_rate = g.sampling_rate;
            s.grid = Some(g);
        }
        Ok(())
    }

    fn compile(&self, b: &mut Build, s: &StepShape) -> Result<(), String> {
        if let Some(g) = &s.grid {
            b.push(
                stages::Interpolate {
                    method: self.method,
                    a: self.a,
                    offset: g.offset,
                    dt_factor: g.dt_factor,
                },
                s.before.npts,
                s.after.npts,
            );
        }
        Ok(())
    }
}
