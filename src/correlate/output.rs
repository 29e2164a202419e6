//! A correlation as SAC, as ObsPy reads it: the receiver's codes and coordinates as the
//! station, the source's as the event, the component pair as the channel ("ZZ", or "RT" after
//! rotation), lag 0 at the event time `o` (the chunk's start; the trace starts maxlag
//! earlier), dist, az and baz from the two (SAC's lcalda, computed as ObsPy computes them).
//! Per chunk in `OUTPUT/<chunk>/<SOURCE>_<RECEIVER>/<CS><CR>.sac`, stacked over the run in
//! `OUTPUT/stack/...` and rotated in `OUTPUT/stack_rtz/...` (codes escaped: a name never
//! leaves OUTPUT). A file is replaced whole: a resumed chunk rewrites what a killed one left.

use std::path::{Path, PathBuf};

use super::journal::{to_coords, Head};
use super::pairs::Day;
use crate::archive::windows::Window;
use crate::escape::escape;
use crate::events::Event;
use crate::trace::Trace;
use crate::write::sac;

fn station_dir(c: &[String; 3]) -> String {
    format!("{}.{}.{}", escape(&c[0]), escape(&c[1]), escape(&c[2]))
}

/// The folder of a pair's rows in `folder` (a chunk's label, "stack" or "stack_rtz"),
/// relative to OUTPUT.
fn row_dir(folder: &str, head: &Head) -> PathBuf {
    Path::new(folder).join(format!(
        "{}_{}",
        station_dir(&head.source_codes),
        station_dir(&head.receiver_codes)
    ))
}

/// Where a row of `folder` is.
pub fn row_path(out: &Path, folder: &str, head: &Head, components: &str) -> PathBuf {
    out.join(row_dir(folder, head))
        .join(format!("{}.sac", escape(components)))
}

/// `OUTPUT/rel`, made folder by folder, never through a link (a resumed run's OUTPUT may
/// hold one planted since).
pub fn out_dir(out: &Path, rel: &Path) -> Result<PathBuf, String> {
    crate::write::output::real_dir(out, rel)
        .map_err(|e| format!("{}: {e}", out.join(rel).display()))
}

/// The component pair's name: source component, then receiver component.
pub fn components(head: &Head) -> String {
    format!("{}{}", head.components.0, head.components.1)
}

pub fn write_row(
    out: &Path,
    folder: &str,
    head: &Head,
    components: &str,
    data: &[f64],
    lag0_ns: i64,
) -> Result<(), String> {
    let dir = out_dir(out, &row_dir(folder, head))?;
    let path = dir.join(format!("{}.sac", escape(components)));
    let [n, s, l] = &head.receiver_codes;
    let dt_ns = head.dt * 1e9;
    let tr = Trace {
        network: n.clone(),
        station: s.clone(),
        location: l.clone(),
        channel: components.to_string(),
        start_ns: lag0_ns - (head.zero as f64 * dt_ns).round() as i64,
        sampling_rate: 1.0 / head.dt,
        data: data.to_vec(),
    };
    let meta = sac::Meta {
        station: head.receiver_coords.as_ref().map(to_coords),
        event: head.source_coords.map(|c| Event {
            time_ns: lag0_ns,
            latitude: c[0],
            longitude: c[1],
            depth_km: 0.0,
        }),
    };
    crate::write::atomic::write_atomic_in(&dir, &path, &sac::encode_with(&tr, &meta), "cc", true)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// A chunk's rows; the files written.
pub fn write_chunk(out: &Path, w: &Window, day: &Day) -> Result<usize, String> {
    for r in &day.rows {
        write_row(
            out,
            &w.label,
            &r.head,
            &components(&r.head),
            &r.data,
            w.start_ns,
        )?;
    }
    Ok(day.rows.len())
}

/// A row written by `write_row`, read back: its samples (f32 in the file) after checking the
/// header against what the run recorded: npts and delta (`dt`).
pub fn read_row(path: &Path, npts: usize, dt: f64) -> Result<Vec<f64>, String> {
    let at = |e: String| format!("{}: {e}", path.display());
    let want = 632 + 4 * npts as u64;
    let bytes =
        crate::read::sniff::read_regular(path, true, want).map_err(|e| at(e.to_string()))?;
    if bytes.len() as u64 != want {
        return Err(at(format!(
            "{} bytes where {want} were written",
            bytes.len()
        )));
    }
    let word = |i: usize| {
        [
            bytes[4 * i],
            bytes[4 * i + 1],
            bytes[4 * i + 2],
            bytes[4 * i + 3],
        ]
    };
    let delta = f32::from_le_bytes(word(0)) as f64;
    let got = i32::from_le_bytes(word(79));
    if got as i64 != npts as i64 || (delta - dt).abs() > 1e-6 * dt {
        return Err(at(format!(
            "npts {got} and delta {delta} where the run wrote {npts} and {dt}"
        )));
    }
    Ok(bytes[632..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
        .collect())
}
