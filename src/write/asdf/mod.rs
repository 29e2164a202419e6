//! `--format asdf`: one ASDF file (Adaptable Seismic Data Format 1.0.3, on HDF5) per event
//! folder, as pyasdf 0.8 reads it: `/Waveforms/NET.STA/NET.STA.LOC.CHA__START__END__processed`
//! float32 datasets with `sampling_rate` and `starttime` (ns) attributes, the station's
//! StationXML as a `StationXML` byte dataset beside them, and the empty `AuxiliaryData` and
//! `Provenance` groups the format names. HDF5 files are written in place (a kill can leave
//! one unreadable), so the run gathers each event as crash-safe appended miniSEED (the
//! per-event layout, journaled) and converts each event file at the end: to a temporary
//! name, then a rename, then the miniSEED removed. A resumed run converts what is left.
//! In every build: HDF5 is compiled from source and linked statically (hdf5-metno's `static`).

mod aux;
mod convert;
pub mod dataset;
pub mod provenance;
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

/// The tag of the waveforms a run writes unless `--output-tag` says another.
pub const DEFAULT_TAG: &str = "processed";

/// Whether `tag` is one pyasdf takes (its TAG_REGEX `^[a-z_0-9]+$`).
pub fn valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// `--tag` and `--output-tag` checked: a tag pyasdf could not have written names no waveform.
pub fn check_tags(tags: &[String], output_tag: &str) -> Result<(), String> {
    for (flag, t) in tags
        .iter()
        .map(|t| ("--tag", t.as_str()))
        .chain([("--output-tag", output_tag)])
    {
        if !valid_tag(t) {
            return Err(format!(
                "{flag} {t:?}: ASDF tags are lower-case letters, digits and _ (pyasdf's rule)"
            ));
        }
    }
    Ok(())
}

/// What an event's ASDF file holds beside its waveforms.
pub struct Meta<'a> {
    /// The waveforms' tag (`--output-tag`).
    pub tag: &'a str,
    /// A station's StationXML, by network and station code.
    pub stationxml: &'a dyn Fn(&str, &str) -> Option<Vec<u8>>,
    /// The event's QuakeML document, stored as `/QuakeML`.
    pub quakeml: Option<Vec<u8>>,
    /// The event a station's waveforms are associated with (their `event_id`).
    pub event_id: &'a dyn Fn(&str, &str) -> Option<String>,
    /// The run's SEIS-PROV document and the entity every waveform names as its
    /// `provenance_id` (`provenance::document`).
    pub provenance: Option<&'a (String, String)>,
}

/// `NET.STA.LOC.CHA__START__END__TAG`, a `_N` suffix on the tag for a repeat.
pub fn waveform_name(tr: &Trace, tag: &str, repeat: usize) -> String {
    let tag = if repeat == 0 {
        tag.to_string()
    } else {
        format!("{tag}_{repeat}")
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

/// Writes an event's ASDF file whole: its QuakeML, the provenance, its waveforms.
pub fn write(path: &Path, traces: &[Trace], meta: &Meta) -> Result<(), String> {
    write_whole(path, &mut |f| {
        if let Some(q) = &meta.quakeml {
            put_bytes(f, path, "QuakeML", q)?;
        }
        if let Some((doc, _)) = meta.provenance {
            put_provenance(f, path, doc)?;
        }
        add(f, path, traces, meta)
    })
}

/// A byte dataset at the file's top (`/QuakeML`).
pub(crate) fn put_bytes(
    f: &hdf5_metno::File,
    path: &Path,
    name: &str,
    bytes: &[u8],
) -> Result<(), String> {
    f.new_dataset_builder()
        .with_data(bytes)
        .create(name)
        .map(|_| ())
        .map_err(|e| format!("{}: {name}: {e}", path.display()))
}

/// The SEIS-PROV document as `/Provenance/seisbatch`.
pub(crate) fn put_provenance(f: &hdf5_metno::File, path: &Path, doc: &str) -> Result<(), String> {
    f.group("Provenance")
        .and_then(|g| {
            g.new_dataset_builder()
                .with_data(doc.as_bytes())
                .create(provenance::NAME)
        })
        .map(|_| ())
        .map_err(|e| format!("{}: Provenance: {e}", path.display()))
}

/// Adds `traces` to an open ASDF file: a station's group is made on first use with its
/// StationXML (`meta.stationxml`), a waveform name the group holds already gets a `_N` tag
/// suffix; `meta.event_id` gives a station's waveforms their `event_id` (asked once per
/// station: it may read the source file). A data set grows by one event's
/// traces at a time, so its size never has to fit in memory.
pub(crate) fn add(
    f: &hdf5_metno::File,
    path: &Path,
    traces: &[Trace],
    meta: &Meta,
) -> Result<(), String> {
    use hdf5_metno as h5;
    use std::collections::BTreeMap;
    let e = |what: &str| {
        let what = what.to_string();
        move |err: h5::Error| format!("{}: {what}: {err}", path.display())
    };
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
        let g = if waveforms.link_exists(&station) {
            waveforms.group(&station).map_err(e(&station))?
        } else {
            let g = waveforms.create_group(&station).map_err(e(&station))?;
            if let Some(xml) = (meta.stationxml)(&ts[0].network, &ts[0].station) {
                g.new_dataset_builder()
                    .with_data(&xml)
                    .create("StationXML")
                    .map_err(e("StationXML"))?;
            }
            g
        };
        let event_id = (meta.event_id)(&ts[0].network, &ts[0].station);
        for t in ts {
            let mut repeat = 0;
            let mut wname = waveform_name(t, meta.tag, 0);
            while g.link_exists(&wname) {
                repeat += 1;
                wname = waveform_name(t, meta.tag, repeat);
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
            if let Some((_, id)) = meta.provenance {
                fixed_attr(&d, "provenance_id", id)
                    .map_err(|x| format!("{}: {x}", path.display()))?;
            }
            if let Some(id) = &event_id {
                fixed_attr(&d, "event_id", id).map_err(|x| format!("{}: {x}", path.display()))?;
            }
        }
    }
    Ok(())
}

/// A fixed-length ASCII attribute (what pyasdf reads with `.tobytes().decode()`), NUL-padded;
/// up to 4095 bytes (a longer value is refused).
fn fixed_attr(loc: &hdf5_metno::Location, name: &str, value: &str) -> Result<(), String> {
    use hdf5_metno::types::FixedAscii;
    fn put<const N: usize>(
        loc: &hdf5_metno::Location,
        name: &str,
        value: &str,
    ) -> Result<(), String> {
        let v = FixedAscii::<N>::from_ascii(value).map_err(|e| format!("{name}: {e}"))?;
        loc.new_attr::<FixedAscii<N>>()
            .create(name)
            .and_then(|a| a.write_scalar(&v))
            .map_err(|e| format!("{name}: {e}"))
    }
    match value.len() {
        0..256 => put::<256>(loc, name, value),
        256..4096 => put::<4096>(loc, name, value),
        n => Err(format!(
            "{name}: {n} bytes, more than an attribute of ours holds"
        )),
    }
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
            super::waveform_name(&t, "processed", 0),
            "GR.FUR..HHZ__2014-01-01T00:10:00__2014-01-01T00:29:59__processed"
        );
        assert!(super::waveform_name(&t, "processed", 2).ends_with("__processed_2"));
        assert!(super::valid_tag("raw_recording") && super::valid_tag("p2"));
        assert!(!super::valid_tag("") && !super::valid_tag("Raw") && !super::valid_tag("a b"));
    }
}
