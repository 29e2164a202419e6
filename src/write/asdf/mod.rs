//! `--format asdf`: one ASDF file (Adaptable Seismic Data Format 1.0.3, on HDF5) per event
//! folder, as pyasdf 0.8 reads it: `/Waveforms/NET.STA/NET.STA.LOC.CHA__START__END__processed`
//! float32 datasets with `sampling_rate` and `starttime` (ns) attributes, the station's
//! StationXML as a `StationXML` byte dataset beside them, and the empty `AuxiliaryData` and
//! `Provenance` groups the format names. HDF5 files are written in place (a kill can leave
//! one unreadable), so the run gathers each event as crash-safe appended miniSEED (the
//! per-event layout, journaled) and converts each event file at the end: to a temporary
//! name, then a rename, then the miniSEED removed. A resumed run converts what is left.
//! Behind the `asdf` cargo feature (libhdf5).

mod aux;
mod convert;
pub use aux::{write_aux, Attr, Aux};
pub use convert::convert_events;

use std::path::{Path, PathBuf};

use crate::trace::Trace;

/// The ASDF file for the per-event miniSEED file `mseed` (`EVENT.mseed` -> `EVENT.h5`).
pub fn target(mseed: &Path) -> PathBuf {
    mseed.with_extension("h5")
}

/// ASDF waveform names carry whole seconds (`%Y-%m-%dT%H:%M:%S`, as pyasdf writes them).
fn second(ns: i64) -> String {
    let s = crate::time::iso(ns); // 2014-01-01T00:10:00.000000Z
    s.get(..19).unwrap_or(&s).to_string()
}

/// `NET.STA.LOC.CHA__START__END__processed`, a `_N` suffix on the tag for a repeat.
pub fn waveform_name(tr: &Trace, repeat: usize) -> String {
    let tag = if repeat == 0 {
        "processed".to_string()
    } else {
        format!("processed_{repeat}")
    };
    format!(
        "{}__{}__{}__{tag}",
        super::names::safe_id(tr),
        second(tr.start_ns),
        second(tr.end_ns())
    )
}

/// Writes an ASDF file whole: `fill` gets the new file (the format's attributes and its three
/// groups made) at a temporary name in the target's folder, then the rename. HDF5 creates by
/// path: an entry planted at the temporary name is removed first (unlink never follows a
/// link), and the rename replaces, never follows, one at the target.
#[cfg(feature = "asdf")]
pub(crate) fn write_whole(
    path: &Path,
    fill: &mut dyn FnMut(&hdf5_metno::File) -> Result<(), String>,
) -> Result<(), String> {
    use hdf5_metno as h5;
    let e = |what: &str| {
        let what = what.to_string();
        move |err: h5::Error| format!("{}: {what}: {err}", path.display())
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("out.h5");
    let tmp = dir.join(format!(
        ".{name}.run.{}{}",
        std::process::id(),
        super::atomic::TMP_SUFFIX
    ));
    let _ = std::fs::remove_file(&tmp);
    let res = (|| {
        let f = h5::File::create(&tmp).map_err(e("create"))?;
        // Fixed-length ASCII: pyasdf reads these as bytes and decodes them.
        let fixed = |s: &str| h5::types::FixedAscii::<16>::from_ascii(s).map_err(|x| x.to_string());
        f.new_attr::<h5::types::FixedAscii<16>>()
            .create("file_format")
            .and_then(|a| a.write_scalar(&fixed("ASDF")?.clone()).map(|_| a))
            .map_err(e("file_format"))?;
        f.new_attr::<h5::types::FixedAscii<16>>()
            .create("file_format_version")
            .and_then(|a| a.write_scalar(&fixed("1.0.3")?.clone()).map(|_| a))
            .map_err(e("file_format_version"))?;
        for g in ["Waveforms", "AuxiliaryData", "Provenance"] {
            f.create_group(g).map_err(e(g))?;
        }
        fill(&f)?;
        f.close().map_err(e("close"))?;
        std::fs::rename(&tmp, path).map_err(|err| format!("{}: {err}", path.display()))
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

#[cfg(feature = "asdf")]
pub fn write(
    path: &Path,
    traces: &[Trace],
    stationxml: &dyn Fn(&str, &str) -> Option<Vec<u8>>,
) -> Result<(), String> {
    use hdf5_metno as h5;
    use std::collections::{BTreeMap, HashSet};
    let e = |what: &str| {
        let what = what.to_string();
        move |err: h5::Error| format!("{}: {what}: {err}", path.display())
    };
    write_whole(path, &mut |f| {
        let waveforms = f.group("Waveforms").map_err(e("Waveforms"))?;
        let mut stations: BTreeMap<String, Vec<&Trace>> = BTreeMap::new();
        for t in traces {
            // Group names from codes, escaped: a '/' in a code would make an HDF5 path.
            stations
                .entry(format!(
                    "{}.{}",
                    super::names::escape(&t.network),
                    super::names::escape(&t.station)
                ))
                .or_default()
                .push(t);
        }
        for (station, ts) in stations {
            let g = waveforms.create_group(&station).map_err(e(&station))?;
            if let Some(xml) = stationxml(&ts[0].network, &ts[0].station) {
                g.new_dataset_builder()
                    .with_data(&xml)
                    .create("StationXML")
                    .map_err(e("StationXML"))?;
            }
            let mut used = HashSet::new();
            for t in ts {
                let mut repeat = 0;
                let mut wname = waveform_name(t, 0);
                while !used.insert(wname.clone()) {
                    repeat += 1;
                    wname = waveform_name(t, repeat);
                }
                let data: Vec<f32> = t.data.iter().map(|&v| v as f32).collect();
                let d = g
                    .new_dataset_builder()
                    .with_data(&data)
                    .create(wname.as_str())
                    .map_err(e(&wname))?;
                d.new_attr::<f64>()
                    .create("sampling_rate")
                    .and_then(|a| a.write_scalar(&t.sampling_rate))
                    .map_err(e("sampling_rate"))?;
                d.new_attr::<i64>()
                    .create("starttime")
                    .and_then(|a| a.write_scalar(&t.start_ns))
                    .map_err(e("starttime"))?;
            }
        }
        Ok(())
    })
}

#[cfg(not(feature = "asdf"))]
pub fn write(
    path: &Path,
    _traces: &[Trace],
    _stationxml: &dyn Fn(&str, &str) -> Option<Vec<u8>>,
) -> Result<(), String> {
    Err(without_asdf(path))
}

/// What a build without the `asdf` feature says when asked to write `path`.
#[cfg(not(feature = "asdf"))]
fn without_asdf(path: &Path) -> String {
    format!(
        "{}: this seisbatch was built without ASDF (cargo build --features asdf, needs libhdf5)",
        path.display()
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn waveform_names_follow_pyasdf() {
        let t = crate::trace::Trace {
            network: "GR".into(),
            station: "FUR".into(),
            location: String::new(),
            channel: "HHZ".into(),
            start_ns: 1_388_535_000_000_000_000, // 2014-01-01T00:10:00
            sampling_rate: 10.0,
            data: vec![0.0; 12000],
        };
        assert_eq!(
            super::waveform_name(&t, 0),
            "GR.FUR..HHZ__2014-01-01T00:10:00__2014-01-01T00:29:59__processed"
        );
        assert!(super::waveform_name(&t, 2).ends_with("__processed_2"));
    }
}
