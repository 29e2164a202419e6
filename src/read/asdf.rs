//! ASDF as input (issue #29): an HDF5 file as pyasdf 0.8 writes it, read one station at a time
//! (pyasdf's unit of work): `/Waveforms/NET.STA/NET.STA.LOC.CHA__START__END__TAG` datasets
//! (any integer or float type, gzip/shuffle/fletcher32 filters as pyasdf writes them by
//! default) with `starttime` (ns) and `sampling_rate` attributes and an optional `event_id`
//! (comma-separated resource ids), the station's `StationXML` dataset beside them, and the
//! file's `/QuakeML`. Everything read from the file is bounded before it becomes a size: a
//! waveform by `--max-samples`, a station by the per-file sample limit, the XML documents by
//! the StationXML and events file limits.

use std::path::Path;

use hdf5_metno as h5;

use crate::limits;
use crate::trace::Trace;

/// The 8-byte signature that starts an HDF5 file (no user block: pyasdf writes none).
pub const SIGNATURE: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

/// Longest string attribute read (an `event_id` list).
const MAX_ATTR_CHARS: usize = 4096;

/// One station of an ASDF file: its selected waveforms, the event ids each references (its
/// `event_id` attribute split at commas), its StationXML, and per waveform why it was not
/// read (name, reason).
#[derive(Debug, Default)]
pub struct Station {
    pub traces: Vec<Trace>,
    pub event_ids: Vec<Vec<String>>,
    pub rejected: Vec<(String, String)>,
}

/// Whether a file's first bytes are HDF5's signature.
pub fn is_hdf5(head: &[u8]) -> bool {
    head.starts_with(SIGNATURE)
}

fn open(path: &Path) -> Result<h5::File, String> {
    let f = h5::File::open(path).map_err(|e| format!("cannot open as HDF5: {e}"))?;
    let format = string_attr(&f, "file_format").unwrap_or_default();
    if format != "ASDF" {
        return Err(format!(
            "an HDF5 file whose file_format attribute is {:?}, not \"ASDF\"",
            format
        ));
    }
    Ok(f)
}

/// The stations (`NET.STA` groups under `/Waveforms`) of an ASDF file, sorted.
pub fn stations(path: &Path) -> Result<Vec<String>, String> {
    let f = open(path)?;
    let w = f
        .group("Waveforms")
        .map_err(|e| format!("no /Waveforms group: {e}"))?;
    members(&w, limits::MAX_ASDF_STATIONS, "stations")
}

/// A group's member names, sorted, refused past `max` (counted before they are listed).
fn members(g: &h5::Group, max: usize, what: &str) -> Result<Vec<String>, String> {
    let n = g.len() as usize;
    if n > max {
        return Err(format!(
            "{n} {what}, more than the {max} seisbatch reads from one group; not read"
        ));
    }
    let mut names = g.member_names().map_err(|e| e.to_string())?;
    names.sort();
    Ok(names)
}

/// A waveform name's parts: `NET.STA.LOC.CHA`'s codes and the tag after the last `__`.
fn parse_name(name: &str) -> Option<([String; 4], &str)> {
    let (id, rest) = name.split_once("__")?;
    let tag = rest.rsplit("__").next()?;
    let mut codes = id.split('.').map(str::to_string);
    let c = [codes.next()?, codes.next()?, codes.next()?, codes.next()?];
    codes.next().is_none().then_some((c, tag))
}

/// Reads one station's waveforms whose tag is in `tags` (all when empty), and the samples
/// read so far across the station kept under `limits::max_file_samples`.
pub fn read_station(path: &Path, station: &str, tags: &[String]) -> Result<Station, String> {
    let mut out = Station::default();
    let mut total = 0usize;
    out.rejected = each_waveform(path, station, tags, Some(&mut total), &mut |t, ids| {
        out.traces.push(t);
        out.event_ids.push(ids);
    })?;
    Ok(out)
}

/// Each waveform of a station with those tags, one at a time (`each` gets the trace and its
/// event ids), `total` counting the samples read against the per-file limit (None: a caller
/// that holds one waveform at a time; each is still bounded by `--max-samples`); returns the
/// waveforms refused, with why.
pub fn each_waveform(
    path: &Path,
    station: &str,
    tags: &[String],
    mut total: Option<&mut usize>,
    each: &mut dyn FnMut(Trace, Vec<String>),
) -> Result<Vec<(String, String)>, String> {
    let f = open(path)?;
    let g = f
        .group("Waveforms")
        .and_then(|w| w.group(station))
        .map_err(|e| format!("station {station}: {e}"))?;
    let names = members(&g, limits::MAX_ASDF_WAVEFORMS, "waveforms")?;
    let mut rejected = Vec::new();
    for name in names {
        if name == "StationXML" {
            continue;
        }
        let Some((codes, tag)) = parse_name(&name) else {
            rejected.push((
                name,
                "not a waveform name NET.STA.LOC.CHA__START__END__TAG".into(),
            ));
            continue;
        };
        if !tags.is_empty() && !tags.iter().any(|t| t == tag) {
            continue;
        }
        // pyasdf files a waveform under its own NET.STA; one filed elsewhere could take
        // another station's output name (and stations may go to different shards).
        let own = format!("{}.{}", codes[0], codes[1]);
        if own != station {
            rejected.push((
                name,
                format!(
                    "a waveform of {own} under station {station}; pyasdf files each under its own"
                ),
            ));
            continue;
        }
        match waveform(&g, &name, codes, total.as_deref_mut()) {
            Ok((t, ids)) => each(t, ids),
            Err(e) => rejected.push((name, e)),
        }
    }
    Ok(rejected)
}

/// One waveform dataset as a trace, its size checked before it is read.
fn waveform(
    g: &h5::Group,
    name: &str,
    [network, station, location, channel]: [String; 4],
    total: Option<&mut usize>,
) -> Result<(Trace, Vec<String>), String> {
    let d = g.dataset(name).map_err(|e| e.to_string())?;
    if d.ndim() != 1 {
        return Err(format!("{} dimensions, not 1", d.ndim()));
    }
    let n = d.size();
    if let Some(p) = limits::samples_problem("the waveform", n) {
        return Err(p);
    }
    let sofar = total.as_ref().map_or(0, |t| **t);
    if total.is_some() && sofar.saturating_add(n) > limits::max_file_samples() {
        return Err(format!(
            "the station's waveforms would hold more than the {} samples one input may (--max-samples x {})",
            limits::max_file_samples(),
            limits::FILE_SAMPLES_PER_TRACE_LIMIT
        ));
    }
    let rate: f64 = d
        .attr("sampling_rate")
        .and_then(|a| a.read_scalar())
        .map_err(|e| format!("sampling_rate: {e}"))?;
    let start_ns: i64 = d
        .attr("starttime")
        .and_then(|a| a.read_scalar())
        .map_err(|e| format!("starttime: {e}"))?;
    if let Some(p) = limits::span_problem(start_ns, n, rate) {
        return Err(p);
    }
    use h5::types::TypeDescriptor as T;
    let kind = d
        .dtype()
        .and_then(|t| t.to_descriptor())
        .map_err(|e| e.to_string())?;
    if !matches!(kind, T::Integer(_) | T::Unsigned(_) | T::Float(_)) {
        return Err(format!("samples of type {kind}, not numbers"));
    }
    // HDF5 converts integers and floats to f64 exactly (as ObsPy's float64 promotion).
    let data: Vec<f64> = d.read_raw().map_err(|e| e.to_string())?;
    if let Some(t) = total {
        *t += data.len();
    }
    let ids = string_attr(&d, "event_id")
        .map(|s| {
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Ok((
        Trace {
            network,
            station,
            location,
            channel,
            start_ns,
            sampling_rate: rate,
            data,
        },
        ids,
    ))
}

/// A string attribute (fixed-length, NUL-padded as pyasdf writes them, or variable-length),
/// at most MAX_ATTR_CHARS long; None if absent or not a string.
fn string_attr(loc: &h5::Location, name: &str) -> Option<String> {
    use h5::types::{FixedAscii, TypeDescriptor as T, VarLenAscii, VarLenUnicode};
    let a = loc.attr(name).ok()?;
    let s = match a.dtype().ok()?.to_descriptor().ok()? {
        T::FixedAscii(n) | T::FixedUnicode(n) if n <= MAX_ATTR_CHARS => a
            .read_scalar::<FixedAscii<MAX_ATTR_CHARS>>()
            .ok()?
            .as_str()
            .to_string(),
        T::VarLenAscii => a.read_scalar::<VarLenAscii>().ok()?.as_str().to_string(),
        T::VarLenUnicode => a.read_scalar::<VarLenUnicode>().ok()?.as_str().to_string(),
        _ => return None,
    };
    let s = s.trim_end_matches('\0').to_string();
    (s.len() <= MAX_ATTR_CHARS).then_some(s)
}

/// A byte dataset (StationXML, QuakeML: int8 as pyasdf writes them, or uint8), at most `max`
/// bytes; None if absent.
fn bytes_dataset(g: &h5::Group, name: &str, max: u64) -> Result<Option<Vec<u8>>, String> {
    if !g.link_exists(name) {
        return Ok(None);
    }
    let d = g.dataset(name).map_err(|e| format!("{name}: {e}"))?;
    if d.size() as u64 > max {
        return Err(format!(
            "{name}: {} bytes, more than the {max} such a document may have; not read",
            d.size()
        ));
    }
    use h5::types::{IntSize, TypeDescriptor as T};
    let kind = d
        .dtype()
        .and_then(|t| t.to_descriptor())
        .map_err(|e| format!("{name}: {e}"))?;
    let bytes = match kind {
        T::Integer(IntSize::U1) => d
            .read_raw::<i8>()
            .map(|v| v.into_iter().map(|b| b as u8).collect()),
        T::Unsigned(IntSize::U1) => d.read_raw::<u8>(),
        other => return Err(format!("{name}: bytes of type {other}, not 8-bit")),
    };
    bytes.map(Some).map_err(|e| format!("{name}: {e}"))
}

/// A station's StationXML document, if the file holds one.
pub fn station_xml(path: &Path, station: &str) -> Result<Option<Vec<u8>>, String> {
    let f = open(path)?;
    let g = f
        .group("Waveforms")
        .and_then(|w| w.group(station))
        .map_err(|e| format!("station {station}: {e}"))?;
    bytes_dataset(&g, "StationXML", limits::MAX_STATIONXML_BYTES)
}

/// The file's QuakeML document, if it holds one (at most `max` bytes: the events file bound).
pub fn quakeml(path: &Path, max: u64) -> Result<Option<Vec<u8>>, String> {
    let f = open(path)?;
    bytes_dataset(&f, "QuakeML", max)
}

/// The distinct event ids (`event_id`, first of each list) a station's waveforms with the
/// tags asked for name, sorted; no samples are read.
pub fn event_ids(path: &Path, station: &str, tags: &[String]) -> Result<Vec<String>, String> {
    let f = open(path)?;
    let g = f
        .group("Waveforms")
        .and_then(|w| w.group(station))
        .map_err(|e| format!("station {station}: {e}"))?;
    let mut ids = std::collections::BTreeSet::new();
    for name in members(&g, limits::MAX_ASDF_WAVEFORMS, "waveforms")? {
        let Some((_, tag)) = parse_name(&name) else {
            continue;
        };
        if !tags.is_empty() && !tags.iter().any(|t| t == tag) {
            continue;
        }
        let Ok(d) = g.dataset(&name) else { continue };
        if let Some(first) = string_attr(&d, "event_id")
            .and_then(|s| s.split(',').next().map(|s| s.trim().to_string()))
            .filter(|s| !s.is_empty())
        {
            ids.insert(first);
        }
    }
    Ok(ids.into_iter().collect())
}

/// Samples a station's waveforms hold (their datasets' sizes, nothing decoded): what the run
/// admits it by.
pub fn station_samples(path: &Path, station: &str) -> Result<u64, String> {
    let f = open(path)?;
    let g = f
        .group("Waveforms")
        .and_then(|w| w.group(station))
        .map_err(|e| e.to_string())?;
    let mut n = 0u64;
    for name in members(&g, limits::MAX_ASDF_WAVEFORMS, "waveforms")? {
        if name != "StationXML" {
            if let Ok(d) = g.dataset(&name) {
                n = n.saturating_add(d.size() as u64);
            }
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::parse_name;

    #[test]
    fn a_groups_members_are_counted_before_they_are_listed() {
        let d = tempfile::tempdir().unwrap();
        let f = hdf5_metno::File::create(d.path().join("x.h5")).unwrap();
        for n in ["A.B", "A.C", "A.D"] {
            f.create_group(n).unwrap();
        }
        assert_eq!(super::members(&f, 3, "stations").unwrap().len(), 3);
        let e = super::members(&f, 2, "stations").unwrap_err();
        assert!(e.contains("3 stations, more than the 2"), "{e}");
    }

    #[test]
    fn waveform_names_give_codes_and_tag() {
        let (c, tag) =
            parse_name("GR.FUR..HHZ__2014-01-01T00:00:00__2014-01-01T00:20:00__raw_recording")
                .unwrap();
        assert_eq!(c, ["GR", "FUR", "", "HHZ"].map(String::from));
        assert_eq!(tag, "raw_recording");
        assert!(parse_name("StationXML").is_none());
        assert!(parse_name("GR.FUR.HHZ__a__b__t").is_none());
        assert!(parse_name("A.B.C.D.E__a__b__t").is_none());
    }

    /// A waveform filed under another station's group is refused and named: its name could
    /// be another station's output (and shards split a file by station).
    #[test]
    fn a_waveform_under_another_stations_group_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.h5");
        let src = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/asdf/two_events.h5"
        );
        std::fs::copy(src, &p).unwrap();
        let wet = "GR.WET..HHZ__2014-01-01T00:00:00__2014-01-01T00:01:59__raw_recording";
        {
            let f = hdf5_metno::File::open_rw(&p).unwrap();
            f.link_hard(
                &format!("/Waveforms/GR.WET/{wet}"),
                &format!("/Waveforms/GR.FUR/{wet}"),
            )
            .unwrap();
        }
        let s = super::read_station(&p, "GR.FUR", &[]).unwrap();
        assert_eq!(s.traces.len(), 1, "its own waveform is read");
        assert_eq!(s.rejected.len(), 1);
        assert_eq!(s.rejected[0].0, wet);
        assert!(
            s.rejected[0].1.contains("GR.WET under station GR.FUR"),
            "{:?}",
            s.rejected
        );
    }
}
