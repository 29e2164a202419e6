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

pub fn discover(input: &Path) -> std::io::Result<Vec<InputFile>> {
    let meta = std::fs::metadata(input)?;
    let mut files = Vec::new();
    if meta.is_file() {
        files.push(input.to_path_buf());
    } else {
        walk(input, &mut files)?;
    }
    files.sort();
    let root = if meta.is_file() {
        input.parent().unwrap_or(Path::new(""))
    } else {
        input
    };
    // Files arrive sorted, so a folder's files are consecutive: one lookup per folder.
    let mut folder: Option<(PathBuf, Arc<Path>, Option<Arc<Path>>)> = None;
    Ok(files
        .into_iter()
        .map(|path| {
            let parent = path.parent().unwrap_or(Path::new("")).to_path_buf();
            if folder.as_ref().is_none_or(|(p, _, _)| *p != parent) {
                let mut rel = parent
                    .strip_prefix(root)
                    .map(Path::to_path_buf)
                    .unwrap_or_default();
                let in_raw = parent.file_name().is_some_and(|n| n == "raw");
                if in_raw && rel.file_name().is_some_and(|n| n == "raw") {
                    rel.pop();
                }
                let resp_dir = in_raw
                    .then(|| parent.with_file_name("resp"))
                    .filter(|d| d.is_dir())
                    .map(Arc::from);
                folder = Some((parent, Arc::from(rel), resp_dir));
            }
            let (out_dir, resp_dir) = match &folder {
                Some((_, o, r)) => (o.clone(), r.clone()),
                None => (Arc::from(Path::new("")), None),
            };
            InputFile {
                path,
                out_dir,
                resp_dir,
            }
        })
        .collect())
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let p = entry.path();
        let ft = entry.file_type()?;
        if ft.is_dir() {
            walk(&p, out)?;
        } else if p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| MSEED_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        {
            out.push(p);
        }
    }
    Ok(())
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
        let f = discover(d.path()).unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(&*f[0].out_dir, Path::new("EV1"));
        assert_eq!(f[0].resp_dir.as_deref(), Some(ev.join("resp").as_path()));
    }
}
