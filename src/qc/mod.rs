//! Quality control (`seisbatch qc`, `run --qc`): per channel and day the metrics ISPAQ names
//! (`metrics`), the probabilistic PSD as ObsPy's `PPSD` computes it (`ppsd`) against
//! Peterson's noise models (`models`), one channel at a time a day at a time (`channel`);
//! the pictures (`plot`) and one self-contained HTML page (`html`); the files written
//! (`output`).

pub mod channel;
pub mod compare;
pub mod html;
pub mod metrics;
pub mod models;
pub mod moveout;
pub mod plot;
pub mod ppsd;
pub mod report;

use rayon::prelude::*;

use crate::archive::index::Index;
use crate::inventory::Inventories;

/// Every channel of `index` in [start, end) (None: all), in channel order; `keep_segments`
/// keeps each PSD segment (tests, and the per-segment output).
pub fn analyse(
    index: &Index,
    span: (Option<i64>, Option<i64>),
    inv: &Inventories,
    keep_segments: bool,
) -> Vec<channel::ChannelQc> {
    let longest = crate::archive::units::longest_runs(index);
    (0..index.channels.len())
        .into_par_iter()
        .map(|ch| channel::channel_qc(index, ch, longest[ch], span, inv, keep_segments))
        .collect()
}
