//! A correlation as SAC, as ObsPy reads it: the receiver's codes and coordinates as the
//! station, the source's as the event, the component pair as the channel ("ZZ"), lag 0 at
//! the event time `o` (the chunk's start; the trace starts maxlag earlier), dist, az and baz
//! from the two (SAC's lcalda, computed as ObsPy computes them). Per chunk in
//! `OUTPUT/<chunk>/<SOURCE>_<RECEIVER>/<CS><CR>.sac` and stacked over the run in
//! `OUTPUT/stack/...` (codes escaped: a name never leaves OUTPUT).

use std::collections::BTreeMap;
use std::path::Path;

use super::config::StackMethod;
use super::pairs::{Day, Row};
use super::Config;
use crate::archive::windows::Window;
use crate::escape::escape;
use crate::events::Event;
use crate::ops::noise::stack;
use crate::trace::Trace;
use crate::write::sac;

fn station_dir((n, s, l): &(String, String, String)) -> String {
    format!("{}.{}.{}", escape(n), escape(s), escape(l))
}

fn write_row(
    out: &Path,
    folder: &str,
    row: &Row,
    data: &[f64],
    lag0_ns: i64,
) -> Result<(), String> {
    let dir = out.join(folder).join(format!(
        "{}_{}",
        station_dir(&row.source_codes),
        station_dir(&row.receiver_codes)
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (n, s, l) = &row.receiver_codes;
    let dt_ns = row.dt * 1e9;
    let tr = Trace {
        network: n.clone(),
        station: s.clone(),
        location: l.clone(),
        channel: format!("{}{}", row.components.0, row.components.1),
        start_ns: lag0_ns - (row.zero as f64 * dt_ns).round() as i64,
        sampling_rate: 1.0 / row.dt,
        data: data.to_vec(),
    };
    let meta = sac::Meta {
        station: row.receiver_coords,
        event: row.source_coords.map(|c| Event {
            time_ns: lag0_ns,
            latitude: c.latitude,
            longitude: c.longitude,
            depth_km: 0.0,
        }),
    };
    let name = format!(
        "{}{}.sac",
        escape(&row.components.0.to_string()),
        escape(&row.components.1.to_string())
    );
    let path = dir.join(name);
    crate::write::atomic::write_atomic_in(&dir, &path, &sac::encode_with(&tr, &meta), "cc", false)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// A chunk's rows; the files written.
pub fn write_chunk(out: &Path, w: &Window, day: &Day, _cfg: &Config) -> Result<usize, String> {
    for r in &day.rows {
        write_row(out, &w.label, r, &r.data, w.start_ns)?;
    }
    Ok(day.rows.len())
}

/// A pair and component pair: source, receiver, and the two components.
type PairKey = (String, String, char, char);

/// A pair's rows over the run: its first chunk's row (for the header) and every chunk's
/// correlation with the windows it stands for.
type PairRows = (Row, Vec<(Vec<f64>, usize)>);

/// The run's stacks, per pair and component pair.
#[derive(Default)]
pub struct Stacks {
    by_pair: BTreeMap<PairKey, PairRows>,
}

impl Stacks {
    pub fn add(&mut self, day: &Day) {
        for r in &day.rows {
            let key = (
                r.source.clone(),
                r.receiver.clone(),
                r.components.0,
                r.components.1,
            );
            let e = self.by_pair.entry(key).or_insert_with(|| {
                (
                    Row {
                        data: Vec::new(),
                        ..clone_meta(r)
                    },
                    Vec::new(),
                )
            });
            // Chunks with another lag grid (another rate) are not stacked with the first.
            if e.1.first().is_none_or(|f| f.0.len() == r.data.len()) {
                e.1.push((r.data.clone(), r.windows));
            }
        }
    }

    /// Writes `OUTPUT/stack/...`, lag 0 at the first chunk's start; the files written.
    pub fn write(
        &self,
        out: &Path,
        cfg: &Config,
        first: Option<&std::sync::Arc<Window>>,
    ) -> Result<usize, String> {
        let Some(first) = first else {
            return Ok(0);
        };
        for (row, days) in self.by_pair.values() {
            let data = match cfg.stack_method {
                StackMethod::Linear => stack::linear(days),
                StackMethod::Pws => stack::pws(days),
            };
            write_row(out, "stack", row, &data, first.start_ns)?;
        }
        Ok(self.by_pair.len())
    }
}

fn clone_meta(r: &Row) -> Row {
    Row {
        source: r.source.clone(),
        receiver: r.receiver.clone(),
        components: r.components,
        source_codes: r.source_codes.clone(),
        receiver_codes: r.receiver_codes.clone(),
        source_coords: r.source_coords,
        receiver_coords: r.receiver_coords,
        dt: r.dt,
        data: Vec::new(),
        zero: r.zero,
        windows: 0,
    }
}
