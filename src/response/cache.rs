//! Evaluated inverse-response tables, computed once per (channel epoch, Δt, nfft, step
//! parameters) and shared: a million traces share a few thousand responses (issue #2).
//! The table folds pre_filt and the water-level inversion together, which is also what the
//! GPU path will upload once per distinct response.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use num_complex::Complex64 as C;

use super::{eval, Response};
use crate::once_map::OnceMap;
use crate::response::Output;

/// What one step's response table is: remove_response's inverse table on its FFT grid with
/// its options, or remove_sensitivity's one bin. Both executors look tables up by it
/// (`inventory::table_at`), and the cache keys on it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TableSpec {
    Inverse {
        delta: f64,
        nfft: usize,
        output: Output,
        water_level: Option<f64>,
        pre_filt: Option<[f64; 4]>,
    },
    Sensitivity,
}

impl TableSpec {
    /// Complex values in the table.
    pub fn bins(&self) -> usize {
        match self {
            TableSpec::Inverse { nfft, .. } => nfft / 2 + 1,
            TableSpec::Sensitivity => 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub response_id: usize,
    pub delta_bits: u64,
    pub nfft: usize,
    pub output: u8,
    pub water_level_bits: Option<u64>,
    pub pre_filt_bits: Option<[u64; 4]>,
}

pub type Table = Arc<Result<Vec<C>, String>>;

pub struct ResponseCache {
    map: OnceMap<Key, Table>,
    /// Bytes of the tables held, and how many were evaluated (a table evaluated again after
    /// the cache restarted counts again).
    bytes: AtomicU64,
    evaluated: AtomicUsize,
}

/// The device pool (`TableSpec::pool`) of remove_sensitivity's one-bin tables, 1 / the
/// InstrumentSensitivity value (`sensitivity_table`): they ride the same lookup, cache and
/// device pools as remove_response's tables, keyed apart from any real nfft.
pub const SENSITIVITY: usize = 0;

/// Most bytes of tables the cache holds before it restarts: about 270 tables of 20-minute
/// 100 Hz traces. Without a bound a run over many stations and odd trace lengths (gaps)
/// grows without limit; restarting costs one re-evaluation (milliseconds) per table in use.
/// TODO(issue #4): least-recently-used eviction instead of a restart.
pub const MAX_CACHE_BYTES: u64 = 416 << 20;

impl Default for ResponseCache {
    fn default() -> Self {
        ResponseCache {
            map: OnceMap::default(),
            bytes: AtomicU64::new(0),
            evaluated: AtomicUsize::new(0),
        }
    }
}

impl ResponseCache {
    /// Tables evaluated so far (report.json's responses_evaluated).
    pub fn len(&self) -> usize {
        self.evaluated.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The table `spec` names for one response: remove_response's inverse table R·T on its
    /// grid, or remove_sensitivity's one bin.
    pub fn table(&self, response_id: usize, resp: &Response, spec: &TableSpec) -> Table {
        let key = match *spec {
            TableSpec::Inverse {
                delta,
                nfft,
                output,
                water_level,
                pre_filt,
            } => Key {
                response_id,
                delta_bits: delta.to_bits(),
                nfft,
                output: output as u8,
                water_level_bits: water_level.map(f64::to_bits),
                pre_filt_bits: pre_filt.map(|p| p.map(f64::to_bits)),
            },
            TableSpec::Sensitivity => Key {
                response_id,
                delta_bits: 0,
                nfft: SENSITIVITY,
                output: Output::Def as u8,
                water_level_bits: None,
                pre_filt_bits: None,
            },
        };
        if spec.bins() > super::stages::LARGE_GRID {
            // A long trace's table (a day's: 138 MB) is not kept: held in the cache it would
            // be 16 bytes per sample through the inverse transform and after, for the next day
            // of the same channel to save ~5 % of its time (issue #26's memory per sample).
            self.evaluated.fetch_add(1, Ordering::Relaxed);
            return Arc::new(self.evaluate(resp, spec));
        }
        if self.bytes.load(Ordering::Relaxed) > MAX_CACHE_BYTES {
            self.map.clear();
            self.bytes.store(0, Ordering::Relaxed);
        }
        self.map.get_or_init(key, || {
            self.evaluated.fetch_add(1, Ordering::Relaxed);
            self.bytes
                .fetch_add(spec.bins() as u64 * 16, Ordering::Relaxed);
            Arc::new(self.evaluate(resp, spec))
        })
    }

    fn evaluate(&self, resp: &Response, spec: &TableSpec) -> Result<Vec<C>, String> {
        match *spec {
            TableSpec::Sensitivity => sensitivity_table(resp),
            TableSpec::Inverse {
                delta,
                nfft,
                output,
                water_level,
                pre_filt,
            } => inverse_table(resp, delta, nfft, output, water_level, pre_filt),
        }
    }
}

/// remove_sensitivity's one-bin "table": 1 / the InstrumentSensitivity value (what the
/// device multiplies by; the CPU twin divides by the value itself, as ObsPy).
pub fn sensitivity_table(resp: &Response) -> Result<Vec<C>, String> {
    match &resp.sensitivity {
        Some(s) if s.value != 0.0 && s.value.is_finite() => Ok(vec![C::new(1.0 / s.value, 0.0)]),
        Some(s) => Err(format!(
            "InstrumentSensitivity value {} cannot divide",
            s.value
        )),
        None => Err("the response has no InstrumentSensitivity".into()),
    }
}

/// NUMERICS §3.2 steps 5–7: H on linspace(0, Nyquist, nfft/2+1), the SAC cosine frequency taper
/// and the inverse with water level, multiplied into one table.
pub fn inverse_table(
    resp: &Response,
    delta: f64,
    nfft: usize,
    output: Output,
    water_level: Option<f64>,
    pre_filt: Option<[f64; 4]>,
) -> Result<Vec<C>, String> {
    let f = eval::grid(delta, nfft);
    let mut r = eval::evaluate(resp, &f, output)?;
    match water_level {
        None => {
            r.iter_mut().for_each(|v| *v = C::new(1.0, 0.0) / *v);
            r[0] = C::new(0.0, 0.0);
        }
        Some(wl) => invert_spectrum_in_place(&mut r, wl),
    };
    if let Some(pf) = pre_filt {
        for (v, &fk) in r.iter_mut().zip(&f) {
            *v *= sac_taper(fk, pf);
        }
    }
    Ok(r)
}

/// `invert_spectrum(spec, wlev)` (NUMERICS §3.6).
pub fn invert_spectrum(h: &[C], wl: f64) -> Vec<C> {
    let mut r = h.to_vec();
    invert_spectrum_in_place(&mut r, wl);
    r
}

/// `invert_spectrum` over `h` itself: no second table nor one of magnitudes (a day trace's
/// would be 24 bytes per sample more at the peak, issue #26).
pub fn invert_spectrum_in_place(h: &mut [C], wl: f64) {
    // |H| as hypot, as numpy's abs (sqrt(re² + im²) would be 4 % of a real-data run faster,
    // but moves clipped bins by an ulp and a band-passed chain's f64 output by 1e-12: issue
    // #25 measured it, kept hypot); computed again in the second pass rather than kept, the
    // same bits both times.
    let amax = h.iter().map(|v| v.norm()).fold(0.0, f64::max);
    let tau = amax * 10f64.powf(-wl / 20.0);
    for v in h.iter_mut() {
        let m = v.norm();
        // A raised bin keeps its phase at |H| = tau > m > 0; any other keeps |H| = m: so
        // "the result is not zero" is m > 0 (NaN included, as before: it fails both).
        let raised = if m > 0.0 && m < tau {
            *v * (tau / m)
        } else {
            *v
        };
        *v = if m > 0.0 {
            C::new(1.0, 0.0) / raised
        } else {
            C::new(0.0, 0.0)
        };
    }
}

/// `cosine_sac_taper(freqs, flimit)` (NUMERICS §3.5).
pub fn sac_taper(f: f64, [f1, f2, f3, f4]: [f64; 4]) -> f64 {
    use std::f64::consts::PI;
    if f1 <= f && f <= f2 {
        0.5 * (1.0 - (PI * (f - f1) / (f2 - f1)).cos())
    } else if f2 < f && f < f3 {
        1.0
    } else if f3 <= f && f <= f4 {
        0.5 * (1.0 + (PI * (f - f3) / (f4 - f3)).cos())
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::Sensitivity;

    #[test]
    fn sensitivity_tables_hold_the_inverse_or_say_why_not() {
        let with = |value: f64| Response {
            sensitivity: Some(Sensitivity {
                value,
                frequency: Some(1.0),
                input_units: Some("M/S".into()),
                output_units: Some("COUNTS".into()),
            }),
            stages: Vec::new(),
        };
        assert_eq!(sensitivity_table(&with(4.0)), Ok(vec![C::new(0.25, 0.0)]));
        assert!(sensitivity_table(&with(0.0))
            .unwrap_err()
            .contains("cannot divide"));
        let none = Response {
            sensitivity: None,
            stages: Vec::new(),
        };
        assert!(sensitivity_table(&none)
            .unwrap_err()
            .contains("no InstrumentSensitivity"));
        // Through the cache, as the executors ask for it.
        let cache = ResponseCache::default();
        let t = cache.table(7, &with(2.0), &TableSpec::Sensitivity);
        assert_eq!(t.as_ref().as_ref().unwrap(), &vec![C::new(0.5, 0.0)]);
    }
}
