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
                let xml =
                    |net: &str, sta: &str| station_xml(inventory, input_root, &event_dir, net, sta);
                let target =
                    out.dir(&event_dir)
                        .map_err(|e| e.to_string())?
                        .join(write::asdf::target(Path::new(
                            rel.file_name().unwrap_or_default(),
                        )));
                write::asdf::write(&target, &d.traces, &xml)
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
fn read_own(out: &OutputDir, rel: &Path) -> Result<Vec<u8>, String> {
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
fn station_xml(
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
    candidates.iter().find_map(|p| std::fs::read(p).ok())
}
