//! An ASDF station as a run's input (issue #29): its waveforms decoded as a file's traces, its
//! StationXML as the event folder's inventory, the QuakeML event its waveforms reference as
//! the folder's event.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::work::{failure, Ctx, Decoded};
use super::FileOutcome;
use crate::events::Event;
use crate::read::asdf;
use crate::read::tree::InputFile;
use crate::write::report::FileProblem;

type Quake = Rc<Result<Vec<(Option<String>, Event)>, String>>;

thread_local! {
    /// The last ASDF file's events on this reader thread: a file's stations are walked one
    /// after the other, so its QuakeML is parsed once per thread, not once per station.
    static LAST_QUAKEML: RefCell<Option<(PathBuf, Quake)>> = const { RefCell::new(None) };
}

impl Ctx<'_> {
    /// One station's waveforms with the tags `--tag` asks for.
    pub(super) fn decode_asdf(&self, f: &InputFile, station: &str) -> Decoded {
        let mut out = FileOutcome::default();
        match asdf::read_station(&f.path, station, &self.cfg.tags) {
            Ok(s) => {
                for (name, reason) in s.rejected {
                    out.failures.push(failure(
                        f,
                        format!("{station}/{name}"),
                        String::new(),
                        format!("ASDF waveform not read: {reason}"),
                    ));
                }
                if s.traces.is_empty() && out.failures.is_empty() {
                    out.warnings.push(format!(
                        "{}: station {station} has no waveform{}",
                        f.path.display(),
                        match self.cfg.tags.as_slice() {
                            [] => String::new(),
                            t => format!(" tagged {}", t.join(" or ")),
                        }
                    ));
                }
                out.samples = s.traces.iter().map(|t| t.data.len() as u64).sum();
                Decoded {
                    traces: s.traces,
                    out,
                }
            }
            Err(e) => {
                // HDF5 says little about why an open failed: it may be the disk, so the
                // station is not journaled and --resume reads it again.
                out.io_errors += 1;
                out.problems.push(FileProblem {
                    file: f.path.display().to_string(),
                    bytes: None,
                    reason: format!(
                        "ASDF station {station}: {e}; not journaled: --resume reads it again"
                    ),
                });
                Decoded {
                    traces: Vec::new(),
                    out,
                }
            }
        }
    }

    /// The station's event: the file's only QuakeML event, or the one its waveforms name in
    /// their `event_id` (pyasdf's association); or why there is none.
    pub(super) fn asdf_event(&self, path: &Path, station: &str) -> Result<Event, String> {
        let quake = LAST_QUAKEML.with(|c| {
            let mut c = c.borrow_mut();
            if let Some((p, q)) = c.as_ref() {
                if p == path {
                    return q.clone();
                }
            }
            let q: Quake = Rc::new(match asdf::quakeml(path, crate::events::MAX_EVENTS_BYTES) {
                Ok(Some(b)) => crate::events::quakeml_ids(&String::from_utf8_lossy(&b))
                    .map_err(|e| format!("{}: QuakeML: {e}", path.display())),
                Ok(None) => Ok(Vec::new()),
                Err(e) => Err(format!("{}: {e}", path.display())),
            });
            *c = Some((path.to_path_buf(), q.clone()));
            q
        });
        let events = quake.as_ref().as_ref().map_err(Clone::clone)?;
        let named = asdf::event_ids(path, station, &self.cfg.tags)?;
        pick_event(events, &named).map_err(|e| format!("{} station {station}: {e}", path.display()))
    }

    /// Samples a station's waveforms hold (their datasets' sizes): what it is admitted by.
    pub(super) fn asdf_samples(&self, f: &InputFile, station: &str) -> u64 {
        asdf::station_samples(&f.path, station).unwrap_or(0)
    }
}

/// The event of a station whose waveforms name `named` (distinct ids): the one they name, or
/// the file's only event when they name none.
fn pick_event(events: &[(Option<String>, Event)], named: &[String]) -> Result<Event, String> {
    match named {
        [] => match events {
            [(_, e)] => Ok(*e),
            [] => Err("the ASDF file holds no QuakeML event".into()),
            _ => Err(format!(
                "the file holds {} events and its waveforms name none (event_id)",
                events.len()
            )),
        },
        [id] => events
            .iter()
            .find(|(p, _)| p.as_deref() == Some(id.as_str()))
            .map(|(_, e)| *e)
            .ok_or_else(|| {
                format!("its waveforms name event {id}, which the file's QuakeML lacks")
            }),
        _ => Err(format!(
            "its waveforms name {} different events; a station is processed with one",
            named.len()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::pick_event;
    use crate::events::Event;

    #[test]
    fn a_station_takes_the_event_its_waveforms_name() {
        let ev = |t| Event {
            time_ns: t,
            latitude: 0.0,
            longitude: 0.0,
            depth_km: 1.0,
        };
        let one = [(Some("smi:a/1".to_string()), ev(1))];
        assert_eq!(pick_event(&one, &[]).unwrap().time_ns, 1);
        let two = [
            (Some("smi:a/1".to_string()), ev(1)),
            (Some("smi:a/2".into()), ev(2)),
        ];
        assert_eq!(pick_event(&two, &["smi:a/2".into()]).unwrap().time_ns, 2);
        assert!(pick_event(&two, &[]).unwrap_err().contains("2 events"));
        assert!(pick_event(&two, &["smi:a/3".into()])
            .unwrap_err()
            .contains("lacks"));
        assert!(pick_event(&two, &["smi:a/1".into(), "smi:a/2".into()]).is_err());
        assert!(pick_event(&[], &[]).is_err());
    }
}
