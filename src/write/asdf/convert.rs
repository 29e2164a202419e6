//! `--format asdf`: each event's miniSEED (every one this run or the run it resumes appended
//! to) becomes EVENT.h5 once the run is done, the miniSEED removed once the ASDF file is in
//! place. A failure leaves the miniSEED (nothing is lost) and is reported.

use std::path::{Path, PathBuf};

use crate::read::mseed;
use crate::write;
use crate::write::append::Appender;
use crate::write::names::escape;
use crate::write::output::OutputDir;
use crate::write::report::FileProblem;

/// Converts every event file `appender` knows; returns what could not be converted (those
/// events' traces stay in their miniSEED file). `inventory`: `--inventory`.
pub fn convert_events(
    out: &OutputDir,
    input_root: &Path,
    inventory: Option<&Path>,
    tag: &str,
    provenance: &(String, String),
    appender: &Appender,
) -> Vec<FileProblem> {
    let mut problems = Vec::new();
    for rel in appender.files() {
        let mseed = out.root.join(&rel);
        if std::fs::symlink_metadata(&mseed).is_err() {
            continue; // converted by the run this one resumes
        }
        let event_dir = rel.parent().unwrap_or(Path::new("")).to_path_buf();
        let r = read_own(out, &rel)
            .and_then(|bytes| {
                let d = mseed::read_bytes(&bytes);
                let source = Source::find(input_root, &event_dir);
                let xml = |net: &str, sta: &str| {
                    source
                        .station_xml(net, sta)
                        .or_else(|| station_xml(inventory, input_root, &event_dir, net, sta))
                };
                let event_id = |net: &str, sta: &str| source.event_id(net, sta);
                let meta = write::asdf::Meta {
                    tag,
                    stationxml: &xml,
                    quakeml: source.quakeml.clone(),
                    event_id: &event_id,
                    provenance: Some(provenance),
                };
                let target =
                    out.dir(&event_dir)
                        .map_err(|e| e.to_string())?
                        .join(write::asdf::target(Path::new(
                            rel.file_name().unwrap_or_default(),
                        )));
                write::asdf::write(&target, &d.traces, &meta)
            })
            .and_then(|()| std::fs::remove_file(&mseed).map_err(|e| e.to_string()));
        if let Err(e) = r {
            problems.push(FileProblem {
                file: mseed.display().to_string(),
                bytes: None,
                reason: format!("ASDF: {e}; the event's traces stay in this miniSEED file"),
            });
        }
    }
    problems
}

/// An event file this run wrote, read back without following a link.
pub(super) fn read_own(out: &OutputDir, rel: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let dir = out
        .dir(rel.parent().unwrap_or(Path::new("")))
        .map_err(|e| e.to_string())?;
    let path = dir.join(rel.file_name().unwrap_or_default());
    let mut f =
        crate::read::sniff::open(&path, true).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut v = Vec::new();
    f.read_to_end(&mut v).map_err(|e| e.to_string())?;
    Ok(v)
}

/// The StationXML to store beside a station's waveforms in ASDF: the event's
/// resp/NET.STA.xml (MassDownloader), else --inventory's NET.STA.xml or the file itself. Codes
/// come from the data: a file name is built from them only when they are plain codes
/// (`[A-Za-z0-9-]`), so a hostile station code never names a file to read.
pub(super) fn station_xml(
    inventory: Option<&Path>,
    input_root: &Path,
    event_dir: &Path,
    net: &str,
    sta: &str,
) -> Option<Vec<u8>> {
    let plain = escape(net) == net && escape(sta) == sta && !net.is_empty() && !sta.is_empty();
    let name = format!("{net}.{sta}.xml");
    let mut candidates: Vec<PathBuf> = Vec::new();
    if plain {
        candidates.push(input_root.join(event_dir).join("resp").join(&name));
    }
    if let Some(inv) = inventory {
        if inv.is_file() {
            candidates.push(inv.to_path_buf());
        } else if plain {
            candidates.push(inv.join(&name));
        }
    }
    candidates.iter().find_map(|p| {
        crate::read::sniff::read_regular(p, false, crate::limits::MAX_STATIONXML_BYTES).ok()
    })
}

/// Where an event's metadata comes from besides --inventory: the ASDF file it was read from
/// (its stations' StationXML, its QuakeML, the event each station's waveforms name), else the
/// event folder's event.xml (MassDownloader), whose one event every waveform is associated
/// with.
pub(super) struct Source {
    asdf: Option<PathBuf>,
    pub(super) quakeml: Option<Vec<u8>>,
    /// The event.xml's event, when that is the source.
    folder_event: Option<String>,
}

impl Source {
    /// The event folder `event_dir` (relative to the input root) came from an ASDF file named
    /// as the folder (`EVENT.h5`, `.asdf`, `.hdf5`), or from `EVENT/` with an event.xml.
    pub(super) fn find(input_root: &Path, event_dir: &Path) -> Source {
        let name = event_dir.file_name().unwrap_or_default().to_os_string();
        let parent = input_root.join(event_dir.parent().unwrap_or(Path::new("")));
        let asdf = ["h5", "asdf", "hdf5"].iter().find_map(|ext| {
            let mut n = name.clone();
            n.push(format!(".{ext}"));
            let p = parent.join(n);
            (crate::read::sniff::sniff(&p).ok() == Some(crate::read::sniff::Kind::Asdf))
                .then_some(p)
        });
        if let Some(p) = asdf {
            let quakeml = crate::read::asdf::quakeml(&p, crate::events::MAX_EVENTS_BYTES)
                .ok()
                .flatten();
            return Source {
                asdf: Some(p),
                quakeml,
                folder_event: None,
            };
        }
        let xml = input_root.join(event_dir).join("event.xml");
        let quakeml =
            crate::read::sniff::read_regular(&xml, false, crate::events::MAX_EVENTS_BYTES).ok();
        let folder_event = quakeml.as_ref().and_then(|q| {
            match crate::events::quakeml_ids(&String::from_utf8_lossy(q))
                .ok()?
                .as_slice()
            {
                [(Some(id), _)] => Some(id.clone()),
                _ => None,
            }
        });
        Source {
            asdf: None,
            quakeml,
            folder_event,
        }
    }

    pub(super) fn station_xml(&self, net: &str, sta: &str) -> Option<Vec<u8>> {
        let p = self.asdf.as_ref()?;
        crate::read::asdf::station_xml(p, &format!("{net}.{sta}"))
            .ok()
            .flatten()
    }

    /// The event a station's waveforms name in the ASDF source (when they name one), else
    /// the folder's event.
    pub(super) fn event_id(&self, net: &str, sta: &str) -> Option<String> {
        match &self.asdf {
            Some(p) => match crate::read::asdf::event_ids(p, &format!("{net}.{sta}"), &[]) {
                Ok(ids) if ids.len() == 1 => ids.into_iter().next(),
                _ => None,
            },
            None => self.folder_event.clone(),
        }
    }
}
