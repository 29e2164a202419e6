//! Which files under `--input` are read, in path order, lazily: one folder's sorted entries
//! are held per level, never the whole list, so memory does not grow with the number of
//! files.
//!
//! Only regular files are read, and each at most once (issue #12: a FIFO blocked a run
//! forever, a link to /dev/zero was read until the process was killed, a link loop made 3
//! inputs be read 123 times, two links to `.` hung the counting walk):
//! - FIFOs, sockets and devices are skipped, and named;
//! - a symbolic link whose target lies inside the input is skipped (the target is read under
//!   its own path); a link to outside the input is followed, and every folder (by device and
//!   inode) is listed at most once, so no link or bind mount can make a cycle or a second
//!   copy; a file reached through a link, or with more than one hard link, is read once;
//! - a broken or looping link is skipped and named;
//! - the output folder, when it lies inside the input, is left out;
//! - files are recognised as miniSEED by their content when their name has no miniSEED
//!   extension (SDS archives, obspyDMT trees); everything else is skipped and named.
//!
//! The counting walk before the run ([`survey`]) gathers what was skipped for the report.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::sniff::{self, Kind};
use super::tree::{Folders, InputFile};

/// File name endings taken as miniSEED without looking inside (a file with such a name that
/// holds something else is reported as unreadable, not skipped).
pub const MSEED_EXTENSIONS: &[&str] = &[
    "mseed", "miniseed", "ms", "msd", "seed", "mseed2", "mseed3", "ms3",
];

/// A folder the walk could not read.
#[derive(Debug)]
pub struct WalkError {
    pub path: PathBuf,
    pub error: std::io::Error,
}

/// A file or folder the walk did not read, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    pub path: PathBuf,
    pub reason: String,
}

/// Device and inode: what "the same file" means on a Unix file system.
type FileId = (u64, u64);

fn file_id(m: &std::fs::Metadata) -> FileId {
    (m.dev(), m.ino())
}

/// What to leave out of a walk.
#[derive(Debug, Clone, Default)]
pub struct Exclude {
    /// The output folder (device, inode), when it exists inside the input.
    pub output: Option<(u64, u64)>,
}

pub struct Walker {
    folders: Folders,
    /// The input root with links resolved: a link whose target lies below it is skipped.
    root_real: PathBuf,
    /// Per open folder: its remaining entries (with their type as listed), sorted.
    stack: Vec<std::vec::IntoIter<(PathBuf, Option<std::fs::FileType>)>>,
    single: Option<PathBuf>,
    /// Every folder listed so far (cycles and second copies through links or bind mounts).
    seen_dirs: HashSet<FileId>,
    /// Files reached through a link or with several hard links, read once each.
    seen_files: HashSet<FileId>,
    exclude: Exclude,
    /// What was skipped since the last `take_skipped`.
    skipped: Vec<Skip>,
    /// An ASDF file's stations after the first, yielded before the walk goes on.
    pending: std::collections::VecDeque<InputFile>,
}

impl Walker {
    /// Fails only when `input` itself cannot be read, or is not a folder or a regular file.
    pub fn new(input: &Path, exclude: Exclude) -> std::io::Result<Walker> {
        let meta = std::fs::metadata(input)?;
        let root_real = std::fs::canonicalize(input)?;
        let mut w = Walker {
            folders: Folders::new(input),
            root_real,
            stack: Vec::new(),
            single: None,
            seen_dirs: HashSet::new(),
            seen_files: HashSet::new(),
            exclude,
            skipped: Vec::new(),
            pending: Default::default(),
        };
        if meta.is_file() {
            w.folders = Folders::new(input.parent().unwrap_or(Path::new("")));
            w.single = Some(input.to_path_buf());
        } else if meta.is_dir() {
            w.seen_dirs.insert(file_id(&meta));
            w.stack.push(entries(input)?.into_iter());
        } else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("not a regular file or a folder ({})", kind_of(&meta)),
            ));
        }
        Ok(w)
    }

    /// What the walk skipped since the last call.
    pub fn take_skipped(&mut self) -> Vec<Skip> {
        std::mem::take(&mut self.skipped)
    }

    fn skip(&mut self, path: PathBuf, reason: impl Into<String>) {
        self.skipped.push(Skip {
            path,
            reason: reason.into(),
        });
    }

    /// A folder to descend into, unless it is the output folder or was listed already.
    fn enter(&mut self, path: PathBuf, meta: &std::fs::Metadata) -> Option<WalkError> {
        let id = file_id(meta);
        if self.exclude.output == Some(id) {
            self.skip(path, "the output folder: never read as input");
            return None;
        }
        if !self.seen_dirs.insert(id) {
            self.skip(
                path,
                "a folder already read under another path (a link or mount loop)",
            );
            return None;
        }
        match entries(&path) {
            Ok(e) => {
                self.stack.push(e.into_iter());
                None
            }
            Err(error) => Some(WalkError { path, error }),
        }
    }

    /// A regular file: an input if it is miniSEED (by name or content), else skipped.
    /// Without its metadata (it vanished since the listing), a file with a miniSEED name is
    /// still an input: its read fails with the reason, and --resume tries it again.
    fn consider(
        &mut self,
        path: PathBuf,
        meta: Option<&std::fs::Metadata>,
        linked: bool,
    ) -> Option<InputFile> {
        if let Some(meta) = meta {
            if (linked || meta.nlink() > 1) && !self.seen_files.insert(file_id(meta)) {
                self.skip(
                    path,
                    "the same file as one already read (a hard or symbolic link)",
                );
                return None;
            }
        }
        if has_mseed_extension(&path) {
            return Some(self.folders.input_file(path));
        }
        match sniff::sniff(&path) {
            Ok(Kind::Mseed) => Some(self.folders.input_file(path)),
            Ok(Kind::Asdf) => self.asdf(path),
            // StationXML in an event's resp/ folder is read with its event, not skipped.
            Ok(Kind::StationXml) if super::tree::in_resp_folder(&path) => None,
            Ok(kind) => {
                self.skip(path, kind.skip_reason());
                None
            }
            Err(e) => {
                self.skip(path, format!("cannot read its first bytes: {e}"));
                None
            }
        }
    }

    /// An ASDF file: one input per station (its first now, the others next). A file that
    /// cannot be listed, and a station whose name is no plain `NET.STA`, are skipped and named.
    fn asdf(&mut self, path: PathBuf) -> Option<InputFile> {
        let stations = match super::asdf::stations(&path) {
            Ok(s) => s,
            Err(e) => {
                self.skip(path, format!("ASDF: {e}"));
                return None;
            }
        };
        let (plain, odd): (Vec<String>, Vec<String>) = stations
            .into_iter()
            .partition(|s| super::tree::plain_station(s));
        for s in odd {
            self.skip(
                path.clone(),
                format!("ASDF: station group {s:?} is not a plain NET.STA name; not read"),
            );
        }
        if plain.is_empty() {
            self.skip(path, "ASDF: no station under /Waveforms");
            return None;
        }
        let mut units = self.folders.asdf_stations(&path, &plain).into_iter();
        let first = units.next();
        self.pending.extend(units);
        first
    }

    /// One folder entry: a file to read, a folder to enter, or something skipped.
    fn visit(
        &mut self,
        path: PathBuf,
        listed: Option<std::fs::FileType>,
    ) -> Option<Result<InputFile, WalkError>> {
        let lmeta = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            // Gone since the folder was listed: a file still goes to the reader (which says
            // why it cannot be read, and leaves it to --resume); a folder is reported.
            Err(error) => {
                return match listed {
                    Some(t) if t.is_file() => self.consider(path, None, false).map(Ok),
                    _ => Some(Err(WalkError { path, error })),
                }
            }
        };
        let ft = lmeta.file_type();
        if ft.is_dir() {
            return self.enter(path, &lmeta).map(Err);
        }
        if ft.is_file() {
            return self.consider(path, Some(&lmeta), false).map(Ok);
        }
        if !ft.is_symlink() {
            let what = kind_of(&lmeta);
            self.skip(path, format!("not a regular file ({what})"));
            return None;
        }
        let target = match std::fs::canonicalize(&path) {
            Ok(t) => t,
            Err(e) => {
                self.skip(path, format!("a broken or looping symbolic link ({e})"));
                return None;
            }
        };
        if target.starts_with(&self.root_real) {
            self.skip(
                path,
                format!(
                    "a symbolic link to {} inside the input (read under its own path)",
                    target.display()
                ),
            );
            return None;
        }
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) => {
                self.skip(
                    path,
                    format!("a symbolic link that cannot be followed ({e})"),
                );
                return None;
            }
        };
        if meta.is_dir() {
            self.enter(path, &meta).map(Err)
        } else if meta.is_file() {
            self.consider(path, Some(&meta), true).map(Ok)
        } else {
            let what = kind_of(&meta);
            self.skip(
                path,
                format!("a symbolic link to something not a regular file ({what})"),
            );
            None
        }
    }
}

impl Iterator for Walker {
    type Item = Result<InputFile, WalkError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(f) = self.pending.pop_front() {
            return Some(Ok(f));
        }
        if let Some(p) = self.single.take() {
            // The file the user named is read whatever its name; an ASDF file by station.
            if sniff::sniff(&p).is_ok_and(|k| k == Kind::Asdf) {
                return self.asdf(p).map(Ok).or_else(|| self.next());
            }
            return Some(Ok(self.folders.input_file(p)));
        }
        loop {
            if let Some(f) = self.pending.pop_front() {
                return Some(Ok(f));
            }
            let top = self.stack.last_mut()?;
            let Some((path, listed)) = top.next() else {
                self.stack.pop();
                continue;
            };
            if let Some(r) = self.visit(path, listed) {
                return Some(r);
            }
        }
    }
}

fn has_mseed_extension(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| MSEED_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// A file type in words, for a skip reason.
pub fn kind_of(m: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = m.file_type();
    if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_dir() {
        "a folder"
    } else {
        "a special file"
    }
}

/// A folder's entries, sorted by path (component-wise: the walk visits files in the order a
/// sort of all their paths would give).
fn entries(dir: &Path) -> std::io::Result<Vec<(PathBuf, Option<std::fs::FileType>)>> {
    let mut v = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        v.push((entry.path(), entry.file_type().ok()));
    }
    v.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(v)
}

/// At most this many skipped paths are listed in a report; the rest are counted.
pub const SKIPS_LISTED: usize = 1000;

/// Input files and bytes, counted by one walk before the run (for the progress bar's total
/// and for splitting shards by bytes), and what the walk skipped (the first SKIPS_LISTED).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Survey {
    pub files: usize,
    pub bytes: u64,
    pub skipped: Vec<Skip>,
    pub skipped_count: usize,
}

impl Survey {
    pub fn note_skips(&mut self, skips: Vec<Skip>) {
        self.skipped_count += skips.len();
        let room = SKIPS_LISTED.saturating_sub(self.skipped.len());
        self.skipped.extend(skips.into_iter().take(room));
    }
}

/// An input's bytes in walk order, an ASDF file's counted once (with its first station).
#[derive(Default)]
pub struct Sizer {
    last_asdf: Option<PathBuf>,
}

impl Sizer {
    pub fn size(&mut self, f: &InputFile) -> u64 {
        let again = f.asdf.is_some() && self.last_asdf.as_ref() == Some(&f.path);
        self.last_asdf = f.asdf.is_some().then(|| f.path.clone());
        if again {
            0
        } else {
            std::fs::metadata(&f.path).map(|m| m.len()).unwrap_or(0)
        }
    }
}

pub fn survey(input: &Path, exclude: &Exclude) -> std::io::Result<Survey> {
    let mut s = Survey::default();
    let mut w = Walker::new(input, exclude.clone())?;
    let mut sizer = Sizer::default();
    while let Some(f) = w.next() {
        if let Ok(f) = f {
            s.files += 1;
            s.bytes += sizer.size(&f);
        }
        let skips = w.take_skipped();
        s.note_skips(skips);
    }
    let skips = w.take_skipped();
    s.note_skips(skips);
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(p: &Path, bytes: &[u8]) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }

    fn walk(root: &Path) -> (Vec<PathBuf>, Vec<Skip>) {
        let mut w = Walker::new(root, Exclude::default()).unwrap();
        let mut files = Vec::new();
        let mut skips = Vec::new();
        while let Some(f) = w.next() {
            files.push(f.unwrap().path.strip_prefix(root).unwrap().to_path_buf());
            skips.extend(w.take_skipped());
        }
        skips.extend(w.take_skipped());
        (files, skips)
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
            write(&d.path().join(f), b"12");
        }
        let (names, skips) = walk(d.path());
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert_eq!(names.len(), 4);
        assert_eq!(skips.len(), 1, "c/w.txt is named: {skips:?}");
        assert!(skips[0].reason.starts_with("not miniSEED"));
        let s = survey(d.path(), &Exclude::default()).unwrap();
        assert_eq!((s.files, s.bytes, s.skipped_count), (4, 8, 1));
        // A single file is its own input, written to the output folder itself.
        let one: Vec<InputFile> = Walker::new(&d.path().join("a.mseed"), Exclude::default())
            .unwrap()
            .flatten()
            .collect();
        assert_eq!(one.len(), 1);
        assert_eq!(&*one[0].out_dir, Path::new(""));
        assert!(Walker::new(&d.path().join("missing"), Exclude::default()).is_err());
    }

    #[test]
    fn links_specials_and_content() {
        use std::os::unix::fs::symlink;
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("in");
        let outside = d.path().join("outside");
        let tr = crate::trace::ramp(0, 10);
        let ms = crate::write::mseed::encode(&tr);
        write(&root.join("ev/raw/XX.S..HHZ"), &ms); // no extension: by content
        write(&root.join("ev/raw/notes.txt"), b"hello");
        write(&outside.join("far.mseed"), &ms);
        symlink(&root, root.join("loop")).unwrap(); // a link to the root
        symlink(".", root.join("ev/dot")).unwrap(); // a link to its own folder
        symlink("/dev/zero", root.join("zero.mseed")).unwrap();
        symlink(&outside, root.join("ext")).unwrap(); // followed
        symlink(&outside, root.join("ext2")).unwrap(); // the same folder again
        symlink("nowhere", root.join("broken.mseed")).unwrap();
        symlink(root.join("a"), root.join("b")).unwrap();
        symlink(root.join("b"), root.join("a")).unwrap(); // a link loop
        let fifo =
            std::ffi::CString::new(root.join("fifo.mseed").as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a NUL-terminated path; mkfifo creates a FIFO there.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        let (files, skips) = walk(&root);
        assert_eq!(
            files,
            vec![
                PathBuf::from("ev/raw/XX.S..HHZ"),
                PathBuf::from("ext/far.mseed")
            ]
        );
        let reasons: Vec<String> = skips
            .iter()
            .map(|s| {
                format!(
                    "{} {}",
                    s.path.strip_prefix(&root).unwrap().display(),
                    s.reason
                )
            })
            .collect();
        let has = |name: &str, words: &str| {
            assert!(
                reasons
                    .iter()
                    .any(|r| r.starts_with(name) && r.contains(words)),
                "{name}: {words}: {reasons:#?}"
            )
        };
        has("a ", "broken or looping");
        has("b ", "broken or looping");
        has("broken.mseed", "broken or looping");
        has("ev/dot", "inside the input");
        has("loop", "inside the input");
        has("ev/raw/notes.txt", "not miniSEED");
        has("ext2", "already read");
        has("fifo.mseed", "FIFO");
        has("zero.mseed", "character device");
    }
}
