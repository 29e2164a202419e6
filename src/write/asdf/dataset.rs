//! `--layout dataset`: the whole run as one ASDF data set (`OUTPUT/dataset.h5`; a shard's is
//! `dataset.K-of-N.h5`), as pyasdf users keep a project. Events are gathered as crash-safe,
//! journaled miniSEED as for one file per event; at the end the data set is written whole
//! under a temporary name: what it held before (the earlier part of a resumed run), then each
//! event file in turn (memory: one event at a time), the events' QuakeML merged into one
//! catalog; then the rename, then the miniSEED removed. A failure leaves every event's
//! miniSEED (nothing is lost) and is reported.

use std::path::{Path, PathBuf};

use super::convert::{read_own, station_xml, Source};
use crate::read::mseed;
use crate::write::append::Appender;
use crate::write::output::OutputDir;
use crate::write::report::FileProblem;

/// The data set's file name: one per run, or per shard (`K-of-N`).
pub fn name(shard: Option<(usize, usize)>) -> String {
    match shard {
        Some((k, n)) => format!("dataset.{k}-of-{n}.h5"),
        None => "dataset.h5".to_string(),
    }
}

/// What the conversion is given (as `convert_events`).
pub struct Args<'a> {
    pub out: &'a OutputDir,
    pub input_root: &'a Path,
    pub inventory: Option<&'a Path>,
    pub tag: &'a str,
    pub provenance: &'a (String, String),
    pub appender: &'a Appender,
    /// The data set's file name in OUTPUT (`name`).
    pub file: &'a str,
}

/// Writes the data set from what it held and every event file left; returns what could not
/// be converted (then every event's traces stay in their miniSEED files).
pub fn convert(a: &Args) -> Vec<FileProblem> {
    let events: Vec<PathBuf> = a
        .appender
        .files()
        .into_iter()
        .filter(|rel| std::fs::symlink_metadata(a.out.root.join(rel)).is_ok())
        .collect();
    if events.is_empty() {
        return Vec::new(); // nothing new since the data set was written
    }
    let target = a.out.root.join(a.file);
    let previous = std::fs::symlink_metadata(&target)
        .is_ok_and(|m| m.is_file())
        .then(|| target.clone());
    let mut quakemls: Vec<Vec<u8>> = Vec::new();
    let mut warnings = Vec::new();
    let r = super::write_whole(&target, &mut |f| {
        super::put_provenance(f, &target, &a.provenance.0)?;
        if let Some(prev) = &previous {
            copy_previous(f, &target, prev, a, &mut quakemls)?;
        }
        for rel in &events {
            let bytes = read_own(a.out, rel)?;
            let d = mseed::read_bytes(&bytes);
            let event_dir = rel.parent().unwrap_or(Path::new("")).to_path_buf();
            let source = Source::find(a.input_root, &event_dir);
            let xml = |net: &str, sta: &str| {
                source
                    .station_xml(net, sta)
                    .or_else(|| station_xml(a.inventory, a.input_root, &event_dir, net, sta))
            };
            let event_id = |net: &str, sta: &str| source.event_id(net, sta);
            let meta = super::Meta {
                tag: a.tag,
                stationxml: &xml,
                quakeml: None,
                event_id: &event_id,
                provenance: Some(a.provenance),
            };
            super::add(f, &target, &d.traces, &meta)?;
            quakemls.extend(source.quakeml.clone());
        }
        let (merged, w) = merge_quakeml(&quakemls);
        warnings = w;
        if let Some(q) = merged {
            super::put_bytes(f, &target, "QuakeML", &q)?;
        }
        Ok(())
    });
    let mut problems: Vec<FileProblem> = warnings
        .into_iter()
        .map(|w| FileProblem {
            file: target.display().to_string(),
            bytes: None,
            reason: w,
        })
        .collect();
    match r {
        Ok(()) => {
            for rel in &events {
                let p = a.out.root.join(rel);
                if let Err(e) = std::fs::remove_file(&p) {
                    problems.push(FileProblem {
                        file: p.display().to_string(),
                        bytes: None,
                        reason: format!("in {} now, but not removed: {e}", a.file),
                    });
                }
                // The event folders the run made, now empty (a folder holding anything else
                // stays: remove_dir only takes an empty one, and never follows a link).
                for dir in rel.ancestors().skip(1) {
                    if dir.as_os_str().is_empty()
                        || std::fs::remove_dir(a.out.root.join(dir)).is_err()
                    {
                        break;
                    }
                }
            }
        }
        Err(e) => problems.extend(events.iter().map(|rel| FileProblem {
            file: a.out.root.join(rel).display().to_string(),
            bytes: None,
            reason: format!("ASDF data set: {e}; the event's traces stay in this miniSEED file"),
        })),
    }
    problems
}

/// A resumed run's data set: its waveforms, each station's StationXML, their
/// event associations and its QuakeML, copied one station at a time into the new file.
fn copy_previous(
    f: &hdf5_metno::File,
    target: &Path,
    prev: &Path,
    a: &Args,
    quakemls: &mut Vec<Vec<u8>>,
) -> Result<(), String> {
    use crate::read::asdf;
    let what = |e: String| format!("{} (the data set this run adds to): {e}", prev.display());
    if let Some(q) = asdf::quakeml(prev, crate::events::MAX_EVENTS_BYTES).map_err(what)? {
        quakemls.push(q);
    }
    for station in asdf::stations(prev).map_err(what)? {
        let xml = asdf::station_xml(prev, &station).map_err(what)?;
        let xml_of = |_: &str, _: &str| xml.clone();
        // Every waveform (the data set is this run's own: `TAG` and its repeats `TAG_N`), one
        // at a time: a station of many events need not fit in memory.
        let mut failed = Ok(());
        let rejected = asdf::each_waveform(prev, &station, &[], None, &mut |t, ids| {
            if failed.is_ok() {
                let event_id = |_: &str, _: &str| ids.first().cloned();
                let meta = super::Meta {
                    tag: a.tag,
                    stationxml: &xml_of,
                    quakeml: None,
                    event_id: &event_id,
                    provenance: Some(a.provenance),
                };
                failed = super::add(f, target, std::slice::from_ref(&t), &meta);
            }
        })
        .map_err(what)?;
        failed?;
        if let Some((name, why)) = rejected.first() {
            return Err(what(format!("{station}/{name}: {why}")));
        }
    }
    Ok(())
}

/// The events' QuakeML documents as one catalog: the `eventParameters` content of each
/// distinct document appended to the first's. A document whose root differs from the
/// first's (other namespaces or prefixes) cannot be spliced as text and is left out, said.
pub fn merge_quakeml(docs: &[Vec<u8>]) -> (Option<Vec<u8>>, Vec<String>) {
    let mut distinct: Vec<&Vec<u8>> = Vec::new();
    for d in docs {
        if !distinct.contains(&d) {
            distinct.push(d);
        }
    }
    let Some((first, rest)) = distinct.split_first() else {
        return (None, Vec::new());
    };
    if rest.is_empty() {
        return (Some(first.to_vec()), Vec::new());
    }
    let mut warnings = Vec::new();
    let base = String::from_utf8_lossy(first).into_owned();
    let Some(b) = parts(&base) else {
        return (
            Some(first.to_vec()),
            vec!["QuakeML: the first event's document has no eventParameters; the others' events are not in the data set".into()],
        );
    };
    let mut inner = String::new();
    for d in rest {
        let text = String::from_utf8_lossy(d);
        match parts(&text) {
            Some(p) if text[..p.open] == base[..b.open] => {
                inner.push_str(&text[p.inner.clone()]);
            }
            _ => warnings.push(
                "QuakeML: an event's document is written differently from the first's (its root or eventParameters); its events are not in the data set's catalog".into(),
            ),
        }
    }
    let mut out = String::with_capacity(base.len() + inner.len());
    out.push_str(&base[..b.inner.end]);
    out.push_str(&inner);
    out.push_str(&base[b.inner.end..]);
    (Some(out.into_bytes()), warnings)
}

/// Where a QuakeML document's `eventParameters` element opens (its `<`) and what lies between
/// its tags.
struct Parts {
    open: usize,
    inner: std::ops::Range<usize>,
}

fn parts(text: &str) -> Option<Parts> {
    let name = "eventParameters";
    // The start tag: `<eventParameters` or `<q:eventParameters`, then a space, `/` or `>`.
    let mut from = 0;
    let (open, start_end) = loop {
        let at = from + text[from..].find(name)?;
        let before = &text[..at];
        let lt = before.rfind('<')?;
        let prefix = &before[lt + 1..];
        let after = text[at + name.len()..].chars().next()?;
        let is_tag = !prefix.starts_with('/')
            && prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            && (after.is_whitespace() || after == '>');
        if is_tag {
            let gt = at + text[at..].find('>')?;
            break (lt, gt + 1);
        }
        from = at + name.len();
    };
    let close = text.rfind(&format!("{name}>"))?;
    let close_lt = text[..close].rfind("</")?;
    (close_lt >= start_end).then_some(Parts {
        open,
        inner: start_end..close_lt,
    })
}

#[cfg(test)]
mod tests {
    use super::merge_quakeml;

    fn doc(ev: &str) -> Vec<u8> {
        format!(
            "<?xml version='1.0' encoding='utf-8'?>\n<q:quakeml xmlns:q=\"http://quakeml.org/xmlns/quakeml/1.2\" \
             xmlns=\"http://quakeml.org/xmlns/bed/1.2\">\n  <eventParameters publicID=\"smi:local/{ev}\">\n    \
             <event publicID=\"smi:local/event/{ev}\"/>\n  </eventParameters>\n</q:quakeml>\n"
        )
        .into_bytes()
    }

    #[test]
    fn events_of_several_documents_join_the_first() {
        let (m, w) = merge_quakeml(&[doc("a"), doc("b"), doc("a")]);
        let m = String::from_utf8(m.unwrap()).unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(m.matches("<event publicID").count(), 2, "{m}");
        assert!(m.find("event/a").unwrap() < m.find("event/b").unwrap());
        assert!(
            m.trim_end().ends_with("</eventParameters>\n</q:quakeml>"),
            "{m}"
        );
        // One document: as it is; none: none.
        assert_eq!(merge_quakeml(&[doc("a")]).0.unwrap(), doc("a"));
        assert!(merge_quakeml(&[]).0.is_none());
        // Another root: left out, said.
        let other = b"<quakeml xmlns=\"x\"><eventParameters><event publicID=\"z\"/></eventParameters></quakeml>".to_vec();
        let (m, w) = merge_quakeml(&[doc("a"), other]);
        assert_eq!(w.len(), 1);
        assert!(!String::from_utf8(m.unwrap()).unwrap().contains("\"z\""));
    }
}
