//! Channel epochs from StationXML files, each distinct file parsed once, and the lookup
//! `remove_response` needs: the epoch that contains the trace's start (ObsPy's rule).

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::TraceError;
use crate::once_map::OnceMap;
use crate::read::stationxml::{self, ChannelEpoch};
use crate::read::tree::xml_files;
use crate::response::cache::{ResponseCache, Table, TableSpec};
use crate::response::Response;
use crate::time;
use crate::trace::{Codes, Trace};

/// What `remove_response` needs from the outside: the channel epoch's response for a trace
/// (looked up at the trace's current start time, as ObsPy does) and the shared cache.
pub trait ResponseSource: Sync {
    /// The response of the channel epoch `codes` has at `time_ns` (with the id the cache
    /// keys on), or why there is none.
    fn response_at(&self, codes: Codes, time_ns: i64)
        -> Result<(usize, Arc<Response>), TraceError>;

    /// The trace's event, or why it has none.
    fn event(&self) -> Result<crate::events::Event, &str> {
        Err("the trace has no event")
    }

    /// The origin time of the trace's event (`origin+S` trim bounds), or why it has none.
    fn origin(&self) -> Result<i64, &str> {
        self.event().map(|e| e.time_ns)
    }

    /// The trace's channel epoch coordinates and orientation, where the inventory has them.
    fn coordinates(&self, _tr: &Trace) -> Option<stationxml::Coordinates> {
        None
    }

    /// Which input folder the trace comes from (rotate never groups across folders: two
    /// events' traces of a station are not one rotation).
    fn folder(&self) -> usize {
        0
    }

    /// Whether the call this trace belongs to was interrupted (Python's Ctrl-C): the
    /// executors stop between stages, so a long trace does not hold the caller up.
    fn interrupted(&self) -> bool {
        false
    }
}

#[derive(Debug, Default)]
pub struct Inventory {
    pub epochs: Vec<Arc<Vec<ChannelEpoch>>>,
    /// Files that could not be read or parsed, with the reason.
    pub errors: Vec<(PathBuf, String)>,
    /// Whether any of those could not be *read* (permissions, a vanished file, an I/O error).
    /// Unlike a parse error, that may be gone by the next run: a file whose traces failed
    /// with this inventory is not journaled, and `--resume` tries it again.
    pub unreadable: bool,
    pub looked_in: String,
}

type Parsed = Arc<Result<Arc<Vec<ChannelEpoch>>, String>>;

/// Source bytes of the parses `XmlCache` keeps before it starts over: 16,000 StationXML
/// files of ~21 KB, each a different download, were all kept for the whole run.
const XML_CACHE_BYTES: usize = 64 << 20;

/// Parsed StationXML files, shared by every event folder that holds the same content:
/// MassDownloader repeats NET.STA.xml in every event folder, and one parse (so one
/// response id, so one evaluated table per trace shape) serves them all. "The same content"
/// ignores the document's `<Created>` time, which differs between downloads of one station.
/// Past XML_CACHE_BYTES of source the parses start over (a file met again is parsed again).
#[derive(Default)]
pub struct XmlCache {
    by_content: OnceMap<(usize, u64), Parsed>,
    /// Source bytes behind `by_content`.
    bytes: std::sync::atomic::AtomicUsize,
    folders: OnceMap<PathBuf, Arc<Inventory>>,
}

/// The bytes of a StationXML document that say what it describes: all of it but the text of
/// its first `<Created>` element (in the header, before any network).
fn content_key(bytes: &[u8]) -> (usize, u64) {
    let mut h = std::hash::DefaultHasher::new();
    let head = &bytes[..bytes.len().min(4096)];
    let find = |pat: &[u8]| head.windows(pat.len()).position(|w| w == pat);
    match (find(b"<Created>"), find(b"</Created>")) {
        (Some(a), Some(b)) if a < b => {
            bytes[..a].hash(&mut h);
            bytes[b..].hash(&mut h);
            (bytes.len() - (b - a), h.finish())
        }
        _ => {
            bytes.hash(&mut h);
            (bytes.len(), h.finish())
        }
    }
}

impl XmlCache {
    /// One file parsed (or its parse error), or the error reading it.
    fn file(&self, p: &Path) -> std::io::Result<Parsed> {
        let len = std::fs::metadata(p)?.len();
        if len > crate::limits::MAX_STATIONXML_BYTES {
            return Ok(Arc::new(Err(format!(
                "{len} bytes, more than the {} a StationXML file may have; not read",
                crate::limits::MAX_STATIONXML_BYTES
            ))));
        }
        let bytes = std::fs::read(p)?;
        Ok(self.parsed(&bytes))
    }

    /// A document parsed (or its parse error), once per content while the cache holds it.
    fn parsed(&self, bytes: &[u8]) -> Parsed {
        use std::sync::atomic::Ordering;
        if self.bytes.fetch_add(bytes.len(), Ordering::Relaxed) > XML_CACHE_BYTES {
            self.by_content.clear();
            self.bytes.store(bytes.len(), Ordering::Relaxed);
        }
        self.by_content.get_or_init(content_key(bytes), || {
            Arc::new(stationxml::parse(&String::from_utf8_lossy(bytes)).map(Arc::new))
        })
    }

    /// An ASDF station's own StationXML (`/Waveforms/NET.STA/StationXML`), kept as a folder's
    /// inventory is, parsed once per content (the same station in many event files is one
    /// parse). A station without one has an empty inventory (--inventory still applies).
    pub fn asdf_station(&self, path: &Path, station: &str) -> Arc<Inventory> {
        const FOLDERS: usize = 256;
        if self.folders.len() > FOLDERS {
            self.folders.clear();
        }
        // Not a path to open: the map's key for (file, station).
        let key = path.join(format!("#{station}"));
        self.folders.get_or_init(key, || {
            let mut inv = Inventory {
                looked_in: format!("{} (/Waveforms/{station}/StationXML)", path.display()),
                ..Default::default()
            };
            match crate::read::asdf::station_xml(path, station) {
                Ok(Some(bytes)) => match self.parsed(&bytes).as_ref() {
                    Ok(e) => inv.epochs.push(e.clone()),
                    Err(e) => inv.errors.push((path.to_path_buf(), e.clone())),
                },
                Ok(None) => {}
                Err(e) => {
                    inv.errors.push((path.to_path_buf(), e));
                    inv.unreadable = true;
                }
            }
            Arc::new(inv)
        })
    }

    /// Parses kept now (tests).
    pub fn parses(&self) -> usize {
        self.by_content.len()
    }

    /// The inventory of one file or folder (every `*.xml` in it), loaded once while it is in
    /// use. The walk finishes one event folder before the next (give or take the files in
    /// flight), so past FOLDERS folders the map starts over rather than grow with the number
    /// of events; a folder met again is listed again, its files' parses come from
    /// `by_content`.
    pub fn inventory(&self, p: &Path) -> Arc<Inventory> {
        const FOLDERS: usize = 256;
        if self.folders.len() > FOLDERS {
            self.folders.clear();
        }
        self.folders.get_or_init(p.to_path_buf(), || {
            let mut inv = Inventory {
                looked_in: p.display().to_string(),
                ..Default::default()
            };
            match xml_files(p) {
                Err(e) => {
                    inv.errors.push((p.to_path_buf(), e.to_string()));
                    inv.unreadable = true;
                }
                Ok(files) => {
                    for f in files {
                        match self.file(&f) {
                            Ok(parsed) => match parsed.as_ref() {
                                Ok(e) => inv.epochs.push(e.clone()),
                                Err(e) => inv.errors.push((f, e.clone())),
                            },
                            Err(e) => {
                                inv.errors.push((f, e.to_string()));
                                inv.unreadable = true;
                            }
                        }
                    }
                }
            }
            Arc::new(inv)
        })
    }
}

/// The inventories that apply to one input file: its event's resp folder, then `--inventory`.
pub struct Inventories<'a> {
    pub layers: Vec<&'a Inventory>,
}

impl Inventories<'_> {
    /// The coordinates of the channel epoch that contains the trace's start (the event's own
    /// resp/ folder first), if it gives them.
    pub fn coordinates_for(&self, tr: &Trace) -> Option<crate::read::stationxml::Coordinates> {
        self.station_epochs(tr)
            .find(|e| e.channel == tr.channel)
            .and_then(|e| e.coords)
    }

    /// The channel epochs (layers in order) of the trace's station and location that
    /// contain its start.
    fn station_epochs<'t>(
        &'t self,
        tr: &'t Trace,
    ) -> impl Iterator<Item = &'t crate::read::stationxml::ChannelEpoch> + 't {
        self.layers
            .iter()
            .flat_map(|inv| inv.epochs.iter().flat_map(|v| v.iter()))
            .filter(|e| {
                e.network == tr.network
                    && e.station == tr.station
                    && e.location == tr.location
                    && e.covers(tr.start_ns)
            })
    }

    /// SAC's station words for a trace of a rotate run: a channel the rotation wrote (its
    /// output letters) has its band's position and the rotation's orientation (R and T from the
    /// back-azimuth used: the step's, else event to station); any other keeps its epoch's.
    pub fn rotated_coordinates_for(
        &self,
        args: &crate::ops::rotate::RotateArgs,
        tr: &Trace,
        event: Option<&crate::events::Event>,
    ) -> Option<crate::read::stationxml::Coordinates> {
        let letter = tr.channel.chars().last()?;
        if !args.method.letters().1.contains(letter) {
            return self.coordinates_for(tr);
        }
        let mut c = self.band_coordinates_for(tr)?;
        let back_az = args
            .back_azimuth
            .or_else(|| event?.back_azimuth_at(c.latitude, c.longitude));
        let o = crate::ops::rotate::orientation_of(args.method, letter, back_az);
        c.azimuth = o.map(|o| o.0);
        c.dip = o.map(|o| o.1);
        Some(c)
    }

    /// A rotated trace's station position: the first channel epoch of its band (the channel
    /// code without its component letter) that contains its start; its orientation is the
    /// rotation's, not that channel's (`ops::rotate::orientation_of`).
    pub fn band_coordinates_for(&self, tr: &Trace) -> Option<crate::read::stationxml::Coordinates> {
        let band = tr.channel.get(..tr.channel.len().checked_sub(1)?)?;
        // The first sibling with coordinates (a channel without them says nothing).
        self.station_epochs(tr)
            .filter(|e| e.channel.len() == tr.channel.len() && e.channel.starts_with(band))
            .find_map(|e| e.coords)
    }

    pub fn response_at(
        &self,
        codes: Codes,
        time_ns: i64,
    ) -> Result<(usize, Arc<Response>), TraceError> {
        let tr = codes;
        let mut station_seen = false;
        for inv in &self.layers {
            for e in inv.epochs.iter().flat_map(|v| v.iter()) {
                if e.network != tr.network || e.station != tr.station {
                    continue;
                }
                station_seen = true;
                if e.location != tr.location || e.channel != tr.channel || !e.covers(time_ns) {
                    continue;
                }
                match &e.response {
                    Some(Ok((id, r))) => return Ok((*id, r.clone())),
                    Some(Err(m)) => {
                        return Err(TraceError::BadResponse {
                            id: tr.id(),
                            message: m.clone(),
                        })
                    }
                    None => continue,
                }
            }
        }
        if !station_seen {
            let mut looked: Vec<String> = self.layers.iter().map(|i| i.looked_in.clone()).collect();
            for inv in &self.layers {
                for (p, e) in &inv.errors {
                    looked.push(format!("unreadable {}: {e}", p.display()));
                }
            }
            return Err(TraceError::NoStationXml {
                net: tr.network.to_string(),
                sta: tr.station.to_string(),
                looked: if looked.is_empty() {
                    "no inventory given".into()
                } else {
                    looked.join("; ")
                },
            });
        }
        Err(TraceError::NoResponse {
            id: tr.id(),
            time: time::iso(time_ns),
        })
    }
}

impl ResponseSource for Inventories<'_> {
    fn response_at(
        &self,
        codes: Codes,
        time_ns: i64,
    ) -> Result<(usize, Arc<Response>), TraceError> {
        Inventories::response_at(self, codes, time_ns)
    }
}

/// The one response-table lookup both executors make: the response of `codes` at
/// `time_ns` (the start the trace has when its step runs), and the table `spec` names for
/// it from the shared cache; a response the table cannot be built from is the trace's
/// error, named.
pub fn table_at(
    source: &dyn ResponseSource,
    cache: &ResponseCache,
    codes: Codes,
    time_ns: i64,
    spec: &TableSpec,
) -> Result<(Arc<Response>, Table), TraceError> {
    let (rid, resp) = source.response_at(codes, time_ns)?;
    let table = cache.table(rid, &resp, spec);
    if let Err(m) = table.as_ref() {
        return Err(TraceError::BadResponse {
            id: codes.id(),
            message: m.clone(),
        });
    }
    Ok((resp, table))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One station downloaded for 300 events: 300 files that differ only in <Created> are one
    /// parse; 300 really different files are parsed each, and the cache stays bounded.
    #[test]
    fn stationxml_differing_only_in_created_is_parsed_once_and_the_cache_is_bounded() {
        let d = tempfile::tempdir().unwrap();
        let doc = |created: &str, code: &str| {
            format!(
                "<?xml version='1.0'?><FDSNStationXML schemaVersion=\"1.1\"><Source>x</Source>\
                 <Created>{created}</Created><Network code=\"{code}\"/></FDSNStationXML>"
            )
        };
        let cache = XmlCache::default();
        for e in 0..300 {
            let dir = d.path().join(format!("ev{e}"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(
                dir.join("XX.S.xml"),
                doc(&format!("2024-01-01T00:00:{:02}", e % 60), "XX"),
            )
            .unwrap();
            let inv = cache.inventory(&dir);
            assert!(inv.errors.is_empty(), "{:?}", inv.errors);
        }
        assert_eq!(cache.parses(), 1);
        let big = "x".repeat(1 << 20); // 1 MiB each: the cache must start over
        for e in 0..100 {
            let p = d.path().join(format!("big{e}.xml"));
            std::fs::write(&p, doc(&big, &format!("N{e}"))).unwrap();
            cache.inventory(&p);
        }
        assert!(cache.parses() <= 70, "{} parses kept", cache.parses());
    }
}
