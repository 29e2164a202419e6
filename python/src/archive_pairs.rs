//! `process_pairs` over archives with windows (issue #29): the windows a request gives over a
//! catalog, the stations a catalog holds, and one station's data in one window, read in the
//! worker process that runs the user's function. A worker keeps the last few catalogs it
//! read (by path, size and modification time), so each pair does not read them again.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use seisbatch::archive::index::Index;
use seisbatch::archive::windows::{Request, Window};

use super::dataset::out_trace;
use super::OutTrace;

/// Catalogs a worker keeps.
const KEPT: usize = 4;

type Key = (PathBuf, u64, Option<std::time::SystemTime>);

fn catalog(path: &Path) -> Result<Arc<Index>, String> {
    static CACHE: Mutex<Vec<(Key, Arc<Index>)>> = Mutex::new(Vec::new());
    let m = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let key = (path.to_path_buf(), m.len(), m.modified().ok());
    if let Some(i) = CACHE
        .lock()
        .map_err(|_| "a catalog cache poisoned".to_string())?
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, i)| i.clone())
    {
        return Ok(i);
    }
    let index = Arc::new(seisbatch::archive::catalog::read(path)?);
    let mut c = CACHE
        .lock()
        .map_err(|_| "a catalog cache poisoned".to_string())?;
    if c.len() >= KEPT {
        c.remove(0);
    }
    c.push((key, index.clone()));
    Ok(index)
}

/// catalog_windows(catalog, window, segment, step, start, end) -> [(label, start_ns, end_ns)]:
/// the windows `run --window/--segment` would cut over this catalog's extent.
#[pyfunction]
#[pyo3(signature = (catalog, window=None, segment=None, step=None, start=None, end=None))]
pub fn catalog_windows(
    py: Python<'_>,
    catalog: PathBuf,
    window: Option<String>,
    segment: Option<f64>,
    step: Option<f64>,
    start: Option<String>,
    end: Option<String>,
) -> PyResult<Vec<(String, i64, i64)>> {
    py.detach(|| {
        let request = match (&window, segment) {
            (Some(w), None) => Request::parse_window(w)?,
            (None, Some(s)) => Request::segments(s, step, start.as_deref(), end.as_deref())?,
            _ => return Err("give window='START/END' or segment=SECONDS, not both".to_string()),
        };
        let index = self::catalog(&catalog)?;
        let windows: Vec<Window> = request.windows(None, seisbatch::archive::extent(&index))?;
        Ok(windows
            .into_iter()
            .map(|w| (w.label, w.start_ns, w.end_ns))
            .collect())
    })
    .map_err(|e: String| PyValueError::new_err(format!("{}: {e}", catalog.display())))
}

/// catalog_stations(catalog) -> [NET.STA, ...]: the stations a catalog holds, sorted.
#[pyfunction]
pub fn catalog_stations(py: Python<'_>, catalog: PathBuf) -> PyResult<Vec<String>> {
    py.detach(|| {
        let index = self::catalog(&catalog)?;
        let mut s: Vec<String> = index
            .channels
            .iter()
            .map(|(n, s, _, _)| format!("{n}.{s}"))
            .collect();
        s.dedup();
        Ok(s)
    })
    .map_err(|e: String| PyValueError::new_err(format!("{}: {e}", catalog.display())))
}

/// catalog_station(catalog, station, start_ns, end_ns) -> (traces, problems): every channel
/// of NET.STA in [start, end] (both ends included, as a run's window), joined and cut as a
/// run's window is (`archive::fetch`).
#[pyfunction]
pub fn catalog_station<'py>(
    py: Python<'py>,
    catalog: PathBuf,
    station: String,
    start_ns: i64,
    end_ns: i64,
) -> PyResult<(Vec<OutTrace<'py>>, Vec<String>)> {
    let (traces, problems) = py
        .detach(|| {
            let index = self::catalog(&catalog)?;
            let (net, sta) = station
                .split_once('.')
                .ok_or_else(|| format!("{station}: not NET.STA"))?;
            let longest = seisbatch::archive::units::longest_runs(&index);
            let w = Arc::new(Window {
                label: String::new(),
                start_ns,
                end_ns,
                event: None,
            });
            let mut traces = Vec::new();
            let mut problems = Vec::new();
            let mut buf = Vec::new();
            for (ch, codes) in index.channels.iter().enumerate() {
                if codes.0 != net || codes.1 != sta {
                    continue;
                }
                let codes = Arc::new(codes.clone());
                let Some(unit) =
                    seisbatch::archive::units::channel_unit(&index, ch, &codes, longest[ch], &w)
                else {
                    continue;
                };
                match seisbatch::archive::fetch::fetch(
                    &unit,
                    seisbatch::read::join::Gaps::Split,
                    &mut buf,
                ) {
                    Ok(f) => {
                        traces.extend(f.traces);
                        problems.extend(
                            f.problems
                                .into_iter()
                                .map(|(p, q)| format!("{}: {}", p.display(), q.reason)),
                        );
                    }
                    Err(e) => problems.push(format!("{}: {}", e.path.display(), e.reason)),
                }
            }
            Ok::<_, String>((traces, problems))
        })
        .map_err(|e| PyValueError::new_err(format!("{}: {e}", catalog.display())))?;
    Ok((
        traces.into_iter().map(|t| out_trace(py, t)).collect(),
        problems,
    ))
}
