//! The Rust side of `process_dataset` and `process_pairs` (issue #29): a run whose units go
//! through a Python callable after the steps (`engine::hook`), and an ASDF station read into
//! arrays for Python.

use std::path::Path;
use std::sync::Arc;

use numpy::IntoPyArray;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use seisbatch::engine::hook::{Hook, Unit, UnitHook};
use seisbatch::trace::Trace;

use super::{OutTrace, PyTrace};

/// A Python callable `(name, traces, stationxml) -> ("ok", None | [trace...]) | ("error",
/// "Type: message")`: seisbatch's dispatcher, which runs the user's function in worker
/// processes and waits for it with the GIL released.
struct PyHook {
    call: Py<PyAny>,
    name: String,
}

/// A trace handed to Python: its samples as a new array (no copy), its codes and times.
pub(crate) fn out_trace(py: Python<'_>, t: Trace) -> OutTrace<'_> {
    (
        t.data.into_pyarray(py),
        t.network,
        t.station,
        t.location,
        t.channel,
        t.start_ns,
        t.sampling_rate,
    )
}

fn in_trace(t: PyTrace<'_>) -> PyResult<Trace> {
    let (data, network, station, location, channel, start_ns, sampling_rate) = t;
    Ok(Trace {
        network,
        station,
        location,
        channel,
        start_ns,
        sampling_rate,
        data: data.as_slice()?.to_vec(),
    })
}

impl UnitHook for PyHook {
    fn apply(&self, unit: &Unit<'_>, traces: Vec<Trace>) -> Result<Option<Vec<Trace>>, String> {
        Python::attach(|py| {
            let list = PyList::empty(py);
            for t in traces {
                list.append(out_trace(py, t)).map_err(|e| e.to_string())?;
            }
            let xml = unit.stationxml.as_deref().map(|b| PyBytes::new(py, b));
            let r = self
                .call
                .call1(py, (unit.name, list, xml))
                .map_err(|e| e.to_string())?;
            let (status, value): (String, Bound<'_, PyAny>) =
                r.extract(py).map_err(|e| format!("dispatcher: {e}"))?;
            match status.as_str() {
                "error" => Err(value.extract::<String>().unwrap_or_else(|e| e.to_string())),
                "ok" if value.is_none() => Ok(None),
                "ok" => {
                    let items: Vec<PyTrace<'_>> = value
                        .extract()
                        .map_err(|e| format!("the function's result: {e}"))?;
                    items
                        .into_iter()
                        .map(in_trace)
                        .collect::<PyResult<Vec<_>>>()
                        .map(Some)
                        .map_err(|e| e.to_string())
                }
                other => Err(format!("dispatcher: unknown status {other:?}")),
            }
        })
    }

    fn name(&self) -> String {
        self.name.clone()
    }
}

/// The hook for `start`'s `hook` argument.
pub fn hook(call: Py<PyAny>, name: String) -> Hook {
    Hook(Arc::new(PyHook { call, name }))
}

/// asdf_stations(path) -> [NET.STA, ...]: an ASDF file's stations, sorted.
#[pyfunction]
pub fn asdf_stations(py: Python<'_>, path: String) -> PyResult<Vec<String>> {
    py.detach(|| seisbatch::read::asdf::stations(Path::new(&path)))
        .map_err(|e| PyValueError::new_err(format!("{path}: {e}")))
}

/// A station as Python gets it: its traces, its StationXML, the waveforms refused (name, why).
type StationRead<'py> = (
    Vec<OutTrace<'py>>,
    Option<Bound<'py, PyBytes>>,
    Vec<(String, String)>,
);

/// asdf_station(path, station, tags) -> (traces, stationxml bytes or None, rejected): one
/// station's waveforms with those tags (all when empty), each bounded as the run bounds them.
#[pyfunction]
pub fn asdf_station<'py>(
    py: Python<'py>,
    path: String,
    station: String,
    tags: Vec<String>,
) -> PyResult<StationRead<'py>> {
    let p = Path::new(&path);
    let (s, xml) = py
        .detach(|| {
            let s = seisbatch::read::asdf::read_station(p, &station, &tags)?;
            let xml = seisbatch::read::asdf::station_xml(p, &station)?;
            Ok::<_, String>((s, xml))
        })
        .map_err(|e| PyValueError::new_err(format!("{path}: {e}")))?;
    let traces = s.traces.into_iter().map(|t| out_trace(py, t)).collect();
    Ok((traces, xml.map(|b| PyBytes::new(py, &b)), s.rejected))
}
