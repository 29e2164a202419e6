//! remove_response's frequency-domain part: pad to nfft, rfft, times the trace's inverse
//! table (`Plan::responses[response]`), Nyquist magnitude, irfft, truncate. Twin
//! `ops::deconvolve`; on the device the FFT kernels around `deconvolve`. simulate's is the
//! same with one table for every trace (`fixed`: poles and zeros from the pipeline), on
//! the device uploaded with each batch (`gpu::stages::deconvolve`).

use std::sync::Arc;

use num_complex::Complex64;
use serde_json::{json, Value};

use super::{OnCpu, StageError, StageOps};
use crate::inventory::table_at;
use crate::ops::deconvolve;

#[derive(Debug, Clone, PartialEq)]
pub struct Deconvolve {
    pub nfft: usize,
    /// Index into `Plan::responses`.
    pub response: usize,
    /// simulate's table (nfft / 2 + 1 bins), the same for every trace: no lookup.
    pub fixed: Option<Arc<[Complex64]>>,
}

impl Deconvolve {
    /// The deconvolution of an `nfft`-point transform by the table of
    /// `Plan::responses[response]`.
    pub fn new(nfft: usize, response: usize) -> Deconvolve {
        Deconvolve {
            nfft,
            response,
            fixed: None,
        }
    }

    /// The deconvolution by `table` for every trace (simulate's).
    pub fn fixed(nfft: usize, table: Vec<Complex64>) -> Deconvolve {
        Deconvolve {
            fixed: Some(table.into()),
            ..Deconvolve::new(nfft, 0)
        }
    }
}

impl StageOps for Deconvolve {
    fn cpu(&self, x: OnCpu) -> Result<(), StageError> {
        if let Some(table) = &self.fixed {
            deconvolve::deconvolve_in_place(&mut x.tr.data, table, self.nfft);
            return Ok(());
        }
        let Some(need) = x.needs.get(self.response) else {
            return Err(StageError::Op("internal: no such response table".into()));
        };
        let tr = x.tr;
        // The samples apart while the closure looks the trace's channel up (put back on
        // either outcome: an error leaves them as they were, or empty after a long transform,
        // which gives them back while the table is evaluated; the trace fails either way).
        let mut data = std::mem::take(&mut tr.data);
        let done = deconvolve::deconvolve_with(&mut data, self.nfft, || {
            let (_, table) = table_at(x.responses, x.cache, tr.codes(), tr.start_ns, &need.spec)
                .map_err(StageError::Trace)?;
            // table_at returns only tables that were built.
            Tabled::new(table).ok_or_else(|| StageError::Op("no response table".into()))
        });
        tr.data = data;
        done
    }

    fn table_bytes(&self) -> usize {
        self.fixed.as_ref().map_or(0, |t| t.len() * 16)
    }

    fn describe(&self) -> Value {
        if self.fixed.is_some() {
            return json!({"nfft": self.nfft, "table": "poles and zeros (simulate)"});
        }
        json!({
            "nfft": self.nfft,
            "response_table": self.response,
        })
    }
}

/// A built table (`table_at` returns no other), borrowed as its values.
struct Tabled(crate::response::cache::Table);

impl Tabled {
    fn new(t: crate::response::cache::Table) -> Option<Tabled> {
        t.is_ok().then_some(Tabled(t))
    }
}

impl AsRef<[Complex64]> for Tabled {
    fn as_ref(&self) -> &[Complex64] {
        match self.0.as_ref() {
            Ok(v) => v,
            Err(_) => &[],
        }
    }
}
