//! Which files to read and where their responses and outputs go. `--input` may be one
//! file, a folder of files, or a MassDownloader tree (`EVENT/raw/*.mseed` beside
//! `EVENT/resp/*.xml`); outputs mirror the input folder with a final `raw` dropped.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// File name endings taken as miniSEED when walking a folder (a single `--input` file is
/// always read, whatever its name).
pub const MSEED_EXTENSIONS: &[&str] = &[
    "mseed", "miniseed", "ms", "msd", "seed", "mseed2", "mseed3", "ms3",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    pub path: PathBuf,
    /// Output sub-folder: the file's folder relative to `--input`, a final "raw" dropped.
    /// Shared by every file of a folder (a million inputs hold a few thousand of these).
    pub out_dir: Arc<Path>,
    /// The event's own StationXML folder (`../resp` beside a `raw` folder), if it exists.
    pub resp_dir: Option<Arc<Path>>,
}

/// The input files in path order, found lazily: one directory's sorted entries are held at
/// a time per level, never the whole list, so memory does not grow with the number of files
/// (a million-file download is walked in the memory of its largest folder). Each file comes
/// with its output folder and its event's resp/ folder; an unreadable folder comes as an
/// error naming it, and the walk goes on.
pub struct Walker {
    root: PathBuf,
    /// Per open directory: its remaining entries (path, is a directory), sorted.
    stack: Vec<std::vec::IntoIter<(PathBuf, bool)>>,
    single: Option<PathBuf>,
    /// The last file's folder, output folder and resp/ folder (shared by its neighbours).
    folder: Option<(PathBuf, Arc<Path>, Option<Arc<Path>>)>,
}

/// A folder the walk could not read.
#[derive(Debug)]
pub struct WalkError {
    pub path: PathBuf,
    pub error: std::io::Error,
}

impl Walker {
    /// Fails only when `input` itself cannot be read.
    pub fn new(input: &Path) -> std::io::Result<Walker> {
        let meta = std::fs::metadata(input)?;
        let mut w = Walker {
            root: input.to_path_buf(),
            stack: Vec::new(),
            single: None,
            folder: None,
        };
        if meta.is_file() {
            w.root = input.parent().unwrap_or(Path::new("")).to_path_buf();
            w.single = Some(input.to_path_buf());
        } else {
            w.stack.push(entries(input)?.into_iter());
        }
        Ok(w)
    }

    fn input_file(&mut self, path: PathBuf) -> InputFile {
        let parent = path.parent().unwrap_or(Path::new("")).to_path_buf();
        if self.folder.as_ref().is_none_or(|(p, _, _)| *p != parent) {
            let mut rel = parent
                .strip_prefix(&self.root)
                .map(Path::to_path_buf)
                .unwrap_or_default();
            // MassDownloader: EVENT/raw/*.mseed writes to EVENT/, responses in EVENT/resp/.
            let in_raw = parent.file_name().is_some_and(|n| n == "raw");
            if in_raw && rel.file_name().is_some_and(|n| n == "raw") {
                rel.pop();
            }
            let resp_dir = in_raw
                .then(|| parent.with_file_name("resp"))
                .filter(|d| d.is_dir())
                .map(Arc::from);
            self.folder = Some((parent, Arc::from(rel), resp_dir));
        }
        let (out_dir, resp_dir) = match &self.folder {
            Some((_, o, r)) => (o.clone(), r.clone()),
            None => (Arc::from(Path::new("")), None),
        };
        InputFile {
            path,
            out_dir,
            resp_dir,
        }
    }
}

impl Iterator for Walker {
    type Item = Result<InputFile, WalkError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(p) = self.single.take() {
            return Some(Ok(self.input_file(p)));
        }
        loop {
            let top = self.stack.last_mut()?;
            let Some((path, is_dir)) = top.next() else {
                self.stack.pop();
                continue;
            };
            if is_dir {
                match entries(&path) {
                    Ok(e) => self.stack.push(e.into_iter()),
                    Err(error) => return Some(Err(WalkError { path, error })),
                }
            } else if is_mseed(&path) {
                return Some(Ok(self.input_file(path)));
            }
        }
    }
}

fn is_mseed(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| MSEED_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// A folder's entries, sorted by path (component-wise: the walk visits files in the order a
/// sort of all their paths would give).
fn entries(dir: &Path) -> std::io::Result<Vec<(PathBuf, bool)>> {
    let mut v = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        // Symbolic links are followed, as a plain read would.
        let is_dir = match entry.file_type()? {
            t if t.is_symlink() => entry.path().is_dir(),
            t => t.is_dir(),
        };
        v.push((entry.path(), is_dir));
    }
    v.sort();
    Ok(v)
}

/// Input files and bytes, counted by one walk before the run (for the progress bar's total
/// and for splitting shards by bytes); nothing is kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Survey {
    pub files: usize,
    pub bytes: u64,
}

pub fn survey(input: &Path) -> std::io::Result<Survey> {
    let mut s = Survey::default();
    for f in Walker::new(input)?.flatten() {
        s.files += 1;
        s.bytes += std::fs::metadata(&f.path).map(|m| m.len()).unwrap_or(0);
    }
    Ok(s)
}

/// StationXML files of a `--inventory` path or a resp folder: one file, or every `*.xml`.
pub fn xml_files(p: &Path) -> std::io::Result<Vec<PathBuf>> {
    if std::fs::metadata(p)?.is_file() {
        return Ok(vec![p.to_path_buf()]);
    }
    let mut v: Vec<PathBuf> = std::fs::read_dir(p)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("xml")))
        .collect();
    v.sort();
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn massdownloader_tree_drops_raw_and_finds_resp() {
        let d = tempfile::tempdir().unwrap();
        let ev = d.path().join("EV1");
        std::fs::create_dir_all(ev.join("raw")).unwrap();
        std::fs::create_dir_all(ev.join("resp")).unwrap();
        std::fs::write(ev.join("raw/A.B..HHZ__x__y.mseed"), b"").unwrap();
        std::fs::write(ev.join("resp/A.B.xml"), b"").unwrap();
        std::fs::write(d.path().join("notes.txt"), b"").unwrap();
        let f: Vec<InputFile> = Walker::new(d.path()).unwrap().flatten().collect();
        assert_eq!(f.len(), 1);
        assert_eq!(&*f[0].out_dir, Path::new("EV1"));
        assert_eq!(f[0].resp_dir.as_deref(), Some(ev.join("resp").as_path()));
        assert_eq!(survey(d.path()).unwrap(), Survey { files: 1, bytes: 0 });
    }

    #[test]
    fn walk_is_in_path_order_like_a_sorted_list() {
        let d = tempfile::tempdir().unwrap();
        for f in [
            "b/x.mseed",
            "a/z.mseed",
            "a/b/y.mseed",
            "a.mseed",
            "c/w.txt",
        ] {
            let p = d.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, b"12").unwrap();
        }
        let names: Vec<PathBuf> = Walker::new(d.path())
            .unwrap()
            .flatten()
            .map(|f| f.path.strip_prefix(d.path()).unwrap().to_path_buf())
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert_eq!(names.len(), 4);
        assert_eq!(survey(d.path()).unwrap(), Survey { files: 4, bytes: 8 });
        // A single file is its own input, written to the output folder itself.
        let one: Vec<InputFile> = Walker::new(&d.path().join("a.mseed"))
            .unwrap()
            .flatten()
            .collect();
        assert_eq!(one.len(), 1);
        assert_eq!(&*one[0].out_dir, Path::new(""));
        assert!(Walker::new(&d.path().join("missing")).is_err());
    }
}
