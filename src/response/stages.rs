//! Stage values shared between channels: a datalogger's FIR cascade (and often the sensor's
//! poles and zeros) is the same stage for every channel it records, so on one frequency grid
//! its values are the same numbers. `StageCache` keeps each distinct stage's values per grid,
//! keyed by everything they are computed from (the filter's kind and every parameter's bits,
//! the stage's scale and delay correction, the grid's sample interval and nfft), so a hit
//! returns exactly what evaluating again would: tables stay bit-identical. On MassDownloader
//! data the three components of a station share one request window and so one grid (issue
//! #25: 226 stage evaluations of ObsPy's test StationXML channels are 62 distinct stages).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use num_complex::Complex64 as C;

use super::filter::Filter;
use crate::once_map::OnceMap;

/// Most bytes of stage values held before the cache starts over (a 20-minute 100 Hz trace's
/// grid is 1.9 MB per stage: ~35 stage grids). A run walks one event folder after another,
/// so the stages in use are those of the last few folders.
pub const MAX_STAGE_BYTES: u64 = 64 << 20;

/// Bins past which a grid's stage values are not kept (`eval::stage_product`): 2^20, a
/// 5.8-hour 100 Hz trace's grid (16 MB a stage).
pub const LARGE_GRID: usize = 1 << 20;

/// A stage on a grid: the grid (sample interval bits, nfft) and the stage's parameters as
/// bits (`Filter::key`, then scale and delay correction).
pub type StageKey = (u64, usize, Vec<u64>);

#[derive(Default)]
pub struct StageCache {
    map: OnceMap<StageKey, Arc<Vec<C>>>,
    bytes: AtomicU64,
}

impl StageCache {
    /// The values of the stage `key` names, computed by `eval` the first time.
    pub(super) fn values(&self, key: StageKey, eval: impl FnOnce() -> Vec<C>) -> Arc<Vec<C>> {
        if self.bytes.load(Ordering::Relaxed) > MAX_STAGE_BYTES {
            self.map.clear();
            self.bytes.store(0, Ordering::Relaxed);
        }
        self.map.get_or_init(key, || {
            let v = eval();
            self.bytes.fetch_add(v.len() as u64 * 16, Ordering::Relaxed);
            Arc::new(v)
        })
    }

    /// Distinct stage grids held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The key of a stage's values on the grid (`delta`, `nfft`): its filter, `scale` and the
/// delay correction `corr`, all as bits.
pub(super) fn key(
    delta: f64,
    nfft: usize,
    filter: Option<&Filter>,
    scale: f64,
    corr: f64,
) -> StageKey {
    let mut k = vec![scale.to_bits(), corr.to_bits()];
    match filter {
        Some(f) => f.key(&mut k),
        None => k.push(u64::MAX),
    }
    (delta.to_bits(), nfft, k)
}
