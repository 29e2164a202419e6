//! Where an input file's responses and outputs go. `--input` may be one file, a folder of
//! files (SDS archives included), or an event tree as MassDownloader scripts or obspyDMT lay
//! it out (`EVENT/raw/*` beside `EVENT/resp/*`); outputs mirror the input folder with a final
//! `raw` dropped. Which files are read is `read::walk`'s job.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::sniff::{self, Kind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    pub path: PathBuf,
    /// The file's path relative to the input root (the folder, or a single file's folder):
    /// how the journal knows it whatever spelling of `--input` a resumed run uses.
    pub rel: PathBuf,
    /// Output sub-folder: the file's folder relative to `--input`, a final "raw" dropped.
    /// Shared by every file of a folder (a million inputs hold a few thousand of these).
    pub out_dir: Arc<Path>,
    /// The event's own StationXML folder (`../resp` beside a `raw` folder), if it exists.
    pub resp_dir: Option<Arc<Path>>,
    /// An archive window's unit (its number in the run's plan, and the bytes it reads)
    /// rather than a file: `path` is then its name, not a file to open.
    pub unit: Option<(usize, u64)>,
    /// An ASDF file's station (`NET.STA`, pyasdf's unit of work) rather than the whole file:
    /// `path` is the ASDF file, `rel` the file's path joined with the station.
    pub asdf: Option<Arc<str>>,
}

/// Builds [`InputFile`]s for a walk, sharing each folder's output and resp/ folders between
/// its files.
pub struct Folders {
    root: PathBuf,
    /// The last file's folder, output folder and resp/ folder (shared by its neighbours).
    last: Option<(PathBuf, Arc<Path>, Option<Arc<Path>>)>,
}

impl Folders {
    pub fn new(root: &Path) -> Folders {
        Folders {
            root: root.to_path_buf(),
            last: None,
        }
    }

    pub fn input_file(&mut self, path: PathBuf) -> InputFile {
        let parent = path.parent().unwrap_or(Path::new("")).to_path_buf();
        if self.last.as_ref().is_none_or(|(p, _, _)| *p != parent) {
            let mut rel = parent
                .strip_prefix(&self.root)
                .map(Path::to_path_buf)
                .unwrap_or_default();
            // MassDownloader/obspyDMT: EVENT/raw/* writes to EVENT/, responses in EVENT/resp/.
            let in_raw = parent.file_name().is_some_and(|n| n == "raw");
            if in_raw && rel.file_name().is_some_and(|n| n == "raw") {
                rel.pop();
            }
            let resp_dir = in_raw
                .then(|| parent.with_file_name("resp"))
                .filter(|d| d.is_dir())
                .map(Arc::from);
            self.last = Some((parent, Arc::from(rel), resp_dir));
        }
        let (out_dir, resp_dir) = match &self.last {
            Some((_, o, r)) => (o.clone(), r.clone()),
            None => (Arc::from(Path::new("")), None),
        };
        let rel = path
            .strip_prefix(&self.root)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| path.file_name().map(PathBuf::from).unwrap_or_default());
        InputFile {
            path,
            rel,
            out_dir,
            resp_dir,
            unit: None,
            asdf: None,
        }
    }

    /// One input per station of the ASDF file at `path`: outputs go to a folder named as the
    /// file without its extension (the data set is the event, as an event folder is), and
    /// the journal knows each as `FILE/STATION`. Station names come from the file: each has
    /// been checked to be a plain name (`plain_station`).
    pub fn asdf_stations(&mut self, path: &Path, stations: &[String]) -> Vec<InputFile> {
        let file = self.input_file(path.to_path_buf());
        let stem = path.file_stem().unwrap_or_default();
        let out_dir: Arc<Path> = Arc::from(file.out_dir.join(stem));
        stations
            .iter()
            .map(|s| InputFile {
                path: path.to_path_buf(),
                rel: file.rel.join(s),
                out_dir: out_dir.clone(),
                resp_dir: None,
                unit: None,
                asdf: Some(Arc::from(s.as_str())),
            })
            .collect()
    }
}

/// Whether an ASDF station group's name can name a journal entry and an output: `NET.STA`
/// codes only (letters, digits, `.`, `_`, `-`), not starting with a dot, at most 64 bytes.
pub fn plain_station(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// Whether a file lies in an event's `resp/` folder (beside its `raw/`).
pub fn in_resp_folder(p: &Path) -> bool {
    p.parent()
        .filter(|d| d.file_name().is_some_and(|n| n == "resp"))
        .is_some_and(|d| d.with_file_name("raw").is_dir())
}

/// StationXML files of a `--inventory` path or a resp folder: one file, or every regular file
/// in the folder named `*.xml` or holding StationXML (obspyDMT names them `STXML.NET.STA.LOC.CHA`,
/// without an extension). Links are followed, as the user named the folder.
pub fn xml_files(p: &Path) -> std::io::Result<Vec<PathBuf>> {
    if std::fs::metadata(p)?.is_file() {
        return Ok(vec![p.to_path_buf()]);
    }
    let mut v: Vec<PathBuf> = std::fs::read_dir(p)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| {
            p.extension().is_some_and(|e| e.eq_ignore_ascii_case("xml"))
                || sniff::sniff(p).is_ok_and(|k| k == Kind::StationXml)
        })
        .collect();
    v.sort();
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::walk::{survey, Exclude, Walker};

    #[test]
    fn massdownloader_tree_drops_raw_and_finds_resp() {
        let d = tempfile::tempdir().unwrap();
        let ev = d.path().join("EV1");
        std::fs::create_dir_all(ev.join("raw")).unwrap();
        std::fs::create_dir_all(ev.join("resp")).unwrap();
        std::fs::write(ev.join("raw/A.B..HHZ__x__y.mseed"), b"").unwrap();
        std::fs::write(ev.join("resp/A.B.xml"), b"").unwrap();
        std::fs::write(d.path().join("notes.txt"), b"").unwrap();
        let f: Vec<InputFile> = Walker::new(d.path(), Exclude::default())
            .unwrap()
            .flatten()
            .collect();
        assert_eq!(f.len(), 1);
        assert_eq!(&*f[0].out_dir, Path::new("EV1"));
        assert_eq!(f[0].rel, Path::new("EV1/raw/A.B..HHZ__x__y.mseed"));
        assert_eq!(f[0].resp_dir.as_deref(), Some(ev.join("resp").as_path()));
        let s = survey(d.path(), &Exclude::default()).unwrap();
        assert_eq!((s.files, s.bytes), (1, 0));
        // resp/A.B.xml is empty, so not StationXML by content: named; notes.txt too.
        assert_eq!(s.skipped_count, 2, "{:?}", s.skipped);
    }

    #[test]
    fn only_plain_asdf_station_names_become_inputs() {
        for ok in ["GR.FUR", "XX.S-01", "A_B.C"] {
            assert!(plain_station(ok), "{ok}");
        }
        let long = "A".repeat(65);
        for bad in ["", "..", ".hidden", "a/b", "GR.FÜR", "a b", long.as_str()] {
            assert!(!plain_station(bad), "{bad}");
        }
    }

    #[test]
    fn obspydmt_stationxml_is_found_by_content() {
        let d = tempfile::tempdir().unwrap();
        let xml = "<?xml version='1.0'?>\n<FDSNStationXML schemaVersion=\"1.1\"></FDSNStationXML>";
        std::fs::write(d.path().join("STXML.XX.S..HHZ"), xml).unwrap();
        std::fs::write(d.path().join("B.xml"), xml).unwrap();
        std::fs::write(d.path().join("README"), "not xml").unwrap();
        let names: Vec<String> = xml_files(d.path())
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["B.xml", "STXML.XX.S..HHZ"]);
    }
}
