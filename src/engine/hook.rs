//! A caller's own function per input unit (issue #29: Python's `process_dataset`, pyasdf's
//! `process(function)`): after the pipeline's steps, a unit's processed traces (an ASDF
//! station, or an input file) go to the hook with the unit's StationXML, and what it returns
//! is written instead. The hook raising fails the unit with its message (the run goes on);
//! returning None writes nothing for the unit, which is still journaled as done.

use std::sync::Arc;

use super::work::{failure, Ctx, Outcome};
use super::FileOutcome;
use crate::read::tree::InputFile;
use crate::trace::Trace;

/// What a hook is given besides the traces.
pub struct Unit<'a> {
    /// The unit's name: an ASDF station (`NET.STA`), else the input file's relative path.
    pub name: &'a str,
    /// The unit's StationXML document, where the input has one (the ASDF station's own, the
    /// event folder's resp/NET.STA.xml, or an --inventory file).
    pub stationxml: Option<Vec<u8>>,
}

pub trait UnitHook: Send + Sync {
    /// The traces to write for a unit (None: none), or why the unit failed.
    fn apply(&self, unit: &Unit<'_>, traces: Vec<Trace>) -> Result<Option<Vec<Trace>>, String>;
    /// What names the hook in the run's identity (a resume must use the same one).
    fn name(&self) -> String;
}

/// `RunConfig::hook`: a hook shared by the run's writer threads.
#[derive(Clone)]
pub struct Hook(pub Arc<dyn UnitHook>);

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Hook({})", self.0.name())
    }
}

impl Ctx<'_> {
    /// A unit's results through the hook: the traces that came through the steps go to it
    /// together, the failures stay as they are.
    pub(super) fn hooked(
        &self,
        hook: &Hook,
        f: &InputFile,
        results: Vec<(Outcome, String, String)>,
        out: &mut FileOutcome,
    ) -> Vec<(Outcome, String, String)> {
        let (mut kept, mut traces) = (Vec::new(), Vec::new());
        for (r, id, start) in results {
            match r {
                Ok((t, w)) => {
                    out.warnings
                        .extend(w.into_iter().map(|w| format!("{id}: {w}")));
                    traces.push(t);
                }
                Err(e) => kept.push((Err(e), id, start)),
            }
        }
        if traces.is_empty() {
            return kept;
        }
        let name = match &f.asdf {
            Some(s) => s.to_string(),
            None => f.rel.display().to_string(),
        };
        let unit = Unit {
            name: &name,
            stationxml: self.unit_stationxml(f, &traces[0]),
        };
        match hook.0.apply(&unit, traces) {
            Ok(Some(back)) => {
                for t in back {
                    let (id, start) = (t.id(), crate::time::iso(t.start_ns));
                    let r = match crate::limits::samples_problem(
                        "the function's trace",
                        t.data.len(),
                    ) {
                        Some(p) => Err(crate::error::TraceError::Samples(p)),
                        None => Ok((t, Vec::new())),
                    };
                    kept.push((r, id, start));
                }
            }
            Ok(None) => {}
            Err(e) => out
                .failures
                .push(failure(f, name, String::new(), format!("function: {e}"))),
        }
        kept
    }

    /// The StationXML a hook is given with a unit: an ASDF station's own, else the event
    /// folder's resp/NET.STA.xml (plain codes only: codes come from the data), else the
    /// --inventory file.
    fn unit_stationxml(&self, f: &InputFile, first: &Trace) -> Option<Vec<u8>> {
        let max = crate::limits::MAX_STATIONXML_BYTES;
        if let Some(s) = &f.asdf {
            return crate::read::asdf::station_xml(&f.path, s).ok().flatten();
        }
        let name = format!("{}.{}", first.network, first.station);
        let from_resp = f
            .resp_dir
            .as_ref()
            .filter(|_| crate::read::tree::plain_station(&name))
            .and_then(|d| {
                crate::read::sniff::read_regular(&d.join(format!("{name}.xml")), false, max).ok()
            });
        from_resp.or_else(|| {
            let inv = self.cfg.inventory.as_ref()?;
            crate::read::sniff::read_regular(inv, false, max).ok()
        })
    }
}

/// A user's function takes a station's files together (`group::by_station`): the traces that
/// came through the steps in every file of a group (`groups`: their lengths, in order) move
/// to the group's last file, whose journal line then says the function's outputs are written.
/// A resumed run reads a journaled last file again only as a partner and drops its results,
/// so the function's outputs are never written twice. Failures stay with their files.
pub(super) fn gather_groups(per_file: &mut [Vec<(Outcome, String, String)>], groups: &[usize]) {
    let mut at = 0;
    for &n in groups {
        let end = (at + n).min(per_file.len());
        if end > at + 1 {
            let mut moved = Vec::new();
            for r in &mut per_file[at..end - 1] {
                let (ok, kept): (Vec<_>, Vec<_>) = std::mem::take(r)
                    .into_iter()
                    .partition(|(o, _, _)| o.is_ok());
                *r = kept;
                moved.extend(ok);
            }
            moved.append(&mut per_file[end - 1]);
            per_file[end - 1] = moved;
        }
        at = end;
    }
}
