//! f64 CPU implementations of the ObsPy operations, one file per stage. The GPU kernels
//! (issue #3) will carry the same names: `shaders/<stage>.wgsl` <-> `src/ops/<stage>.rs`.

pub mod decimate;
pub mod deconvolve;
pub mod detrend;
pub mod fft;
pub mod filter;
pub mod iir;
pub mod interpolate;
pub mod resample;
pub mod taper;

use std::sync::Arc;

use crate::error::TraceError;
use crate::pipeline::{DetrendType, Step};
use crate::response::cache::ResponseCache;
use crate::response::Response;
use crate::trace::Trace;

/// What `remove_response` needs from the outside: the channel epoch's response for a trace
/// (looked up at the trace's current start time, as ObsPy does) and the shared cache.
pub trait ResponseSource: Sync {
    fn response_for(&self, tr: &Trace) -> Result<(usize, Arc<Response>), TraceError>;
}

/// Runs every step on one trace. Returns ObsPy-style warnings; the first failing step
/// ends the trace with a reason.
pub fn run_steps(
    steps: &[Step],
    tr: &mut Trace,
    responses: &dyn ResponseSource,
    cache: &ResponseCache,
) -> Result<Vec<String>, TraceError> {
    let mut warnings = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let n = i + 1;
        let op_err = |message: String| TraceError::Op {
            step: n,
            op: step.op().to_string(),
            message,
        };
        if let Some(w) = apply(step, tr, responses, cache).map_err(|e| match e {
            StepError::Op(m) => op_err(m),
            StepError::Trace(t) => t,
        })? {
            warnings.push(format!("step {n} ({}): {w}", step.op()));
        }
        // A shift or a new rate must leave times a trace can carry (limits.rs).
        if let Some(p) = crate::limits::span_problem(tr.start_ns, tr.data.len(), tr.sampling_rate) {
            return Err(op_err(p));
        }
    }
    Ok(warnings)
}

pub enum StepError {
    Op(String),
    Trace(TraceError),
}

impl From<String> for StepError {
    fn from(s: String) -> Self {
        StepError::Op(s)
    }
}

/// One step on one trace.
pub fn apply(
    step: &Step,
    tr: &mut Trace,
    responses: &dyn ResponseSource,
    cache: &ResponseCache,
) -> Result<Option<String>, StepError> {
    if !tr.sampling_rate.is_finite() || tr.sampling_rate <= 0.0 {
        return Err(StepError::Op(format!(
            "invalid sampling rate {}",
            tr.sampling_rate
        )));
    }
    match step {
        Step::Detrend { kind } => {
            // ObsPy's linear detrend is scipy's lstsq, which refuses non-finite input; the
            // other kinds return NaN samples (which the engine then refuses to write).
            if *kind == DetrendType::Linear {
                if let Some(i) = tr.data.iter().position(|v| !v.is_finite()) {
                    return Err(StepError::Op(format!(
                        "linear detrend needs finite samples; sample {i} is {} (ObsPy: \"array must not contain infs or NaNs\")",
                        tr.data[i]
                    )));
                }
            }
            detrend::detrend(&mut tr.data, *kind)
        }
        Step::Taper {
            max_percentage,
            kind,
            max_length,
            side,
        } => {
            return Ok(taper::taper(
                &mut tr.data,
                tr.sampling_rate,
                *max_percentage,
                *kind,
                *max_length,
                *side,
            ));
        }
        Step::RemoveResponse {
            output,
            water_level,
            pre_filt,
            zero_mean,
            taper,
            taper_fraction,
        } => {
            if tr.data.is_empty() {
                return Err(StepError::Op("trace has no samples".into()));
            }
            let (rid, resp) = responses.response_for(tr).map_err(StepError::Trace)?;
            let nfft = deconvolve::npts2nfft(tr.data.len());
            let table = cache.table(
                rid,
                &resp,
                tr.delta(),
                nfft,
                *output,
                *water_level,
                *pre_filt,
            );
            let table = match table.as_ref() {
                Ok(t) => t,
                Err(m) => {
                    return Err(StepError::Trace(TraceError::BadResponse {
                        id: tr.id(),
                        message: m.clone(),
                    }))
                }
            };
            deconvolve::prepare(&mut tr.data, *zero_mean, *taper, *taper_fraction)?;
            tr.data = deconvolve::deconvolve(&tr.data, table, nfft);
            if let Some(pf) = pre_filt {
                let nyq = 0.5 * tr.sampling_rate;
                if pf[3] > nyq {
                    return Ok(Some(format!(
                        "pre_filt corner f4 = {} Hz is above Nyquist ({nyq} Hz) of this trace",
                        pf[3]
                    )));
                }
            }
        }
        Step::Filter {
            kind,
            freq,
            freqmin,
            freqmax,
            corners,
            zerophase,
        } => {
            if tr.data.is_empty() {
                // As ObsPy (its filter raises on an empty trace).
                return Err(StepError::Op("trace has no samples".into()));
            }
            return Ok(filter::filter(
                &mut tr.data,
                tr.sampling_rate,
                *kind,
                *freq,
                *freqmin,
                *freqmax,
                *corners,
                *zerophase,
            )?);
        }
        Step::Resample {
            sampling_rate,
            window,
            no_filter,
            strict_length,
        } => {
            if tr.data.is_empty() {
                // ObsPy returns an empty trace unchanged, its rate included.
                return Ok(None);
            }
            let (data, w) = resample::resample(
                &tr.data,
                tr.sampling_rate,
                *sampling_rate,
                *window,
                *no_filter,
                *strict_length,
            )?;
            tr.data = data;
            tr.sampling_rate = *sampling_rate;
            return Ok(w);
        }
        Step::Interpolate {
            sampling_rate,
            method,
            starttime,
            npts,
            time_shift,
            a,
            ..
        } => {
            let r = interpolate::interpolate(
                &tr.data,
                tr.start_ns,
                tr.sampling_rate,
                *sampling_rate,
                *method,
                *starttime,
                *npts,
                *time_shift,
                *a,
            )?;
            tr.start_ns = r.start_ns;
            tr.sampling_rate = r.sampling_rate;
            tr.data = r.data;
        }
        Step::Decimate {
            factor,
            no_filter,
            strict_length,
        } => {
            if tr.data.is_empty() {
                // As ObsPy (its decimation raises on an empty trace).
                return Err(StepError::Op("trace has no samples".into()));
            }
            decimate::decimate(
                &mut tr.data,
                tr.sampling_rate,
                *factor,
                *no_filter,
                *strict_length,
            )?;
            tr.sampling_rate /= *factor as f64;
        }
    }
    Ok(None)
}
