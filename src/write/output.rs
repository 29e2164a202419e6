//! The output folder as a boundary (issue #12): nothing is written outside it, nothing inside
//! it is written through a link, one run at a time writes into it, and a run never mixes its
//! products with another run's.
//!
//! - **Where**: OUTPUT must not be INPUT, nor hold it (`write::placement`). OUTPUT inside
//!   INPUT is allowed and left out of the input walk.
//! - **Through links**: every folder below OUTPUT is created or checked component by
//!   component and must be a real folder, not a symbolic link; files are written by
//!   `write::atomic` (exclusive temporary, rename, never over a file this run did not write);
//!   files appended to are opened with O_NOFOLLOW and must be regular files.
//! - **One run at a time**: `write::lock` (a `flock` the kernel drops when the holder dies).
//! - **One product per folder**: `.seisbatch/run[.K-of-N].json` records the run's identity
//!   (pipeline, format, layout, gap policy, limits, input and inventory, version); a resume
//!   that does not match is refused, naming the difference.
//! - **Own temporaries only**: temporaries are `.NAME.TAG.PID.seisbatch.tmp`; a resumed or
//!   overwriting run removes those (a shard only its own tag), nothing else.
//! - **Nothing left by a run that never started**: until [`OutputDir::start`], what this run
//!   created (the folder, the lock files) is removed again if the run stops.

use std::collections::HashSet;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

use super::atomic::{exists_not_ours, refuse_link, remove_temporaries, write_atomic_in, Staged};
use super::lock::FolderLock;
pub use super::lock::OutputError;

/// The marker folder inside OUTPUT.
pub const STATE_DIR: &str = ".seisbatch";

/// The files and folders a run holds in OUTPUT.
pub struct OutputDir {
    /// OUTPUT as the user spelled it (paths in messages and the report).
    pub root: PathBuf,
    /// Device and inode of OUTPUT (the walk leaves it out).
    pub id: (u64, u64),
    /// Temporary-name tag: `run`, or `K-of-N` for a shard.
    tag: String,
    shard: Option<crate::shard::Shard>,
    /// The run's hold on the folder.
    lock: FolderLock,
    /// Output sub-folders known to be real folders (not links).
    dirs: Mutex<HashSet<PathBuf>>,
    /// Replace existing files (--resume or --overwrite), or never (a fresh run).
    replace: bool,
    /// What this run created, removed again unless the run starts.
    created: Vec<PathBuf>,
    started: bool,
}

/// What opening the folder found.
pub struct Opened {
    pub dir: OutputDir,
    /// An earlier run's identity (on --resume), checked by the caller against its own.
    pub identity: Option<serde_json::Value>,
}

impl OutputDir {
    /// Checks the folder against --resume/--overwrite, creates it, takes the lock. Nothing in
    /// it is changed yet (see [`start`](Self::start)).
    pub fn open(
        root: &Path,
        shard: Option<crate::shard::Shard>,
        resume: bool,
        overwrite: bool,
    ) -> Result<Opened, OutputError> {
        let mut created = Vec::new();
        match std::fs::symlink_metadata(root) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // Create the missing ancestors too, and remember the first one we made.
                let mut missing = Vec::new();
                let mut p = root.to_path_buf();
                while !p.as_os_str().is_empty() && std::fs::symlink_metadata(&p).is_err() {
                    missing.push(p.clone());
                    if !p.pop() {
                        break;
                    }
                }
                std::fs::create_dir_all(root).map_err(|e| {
                    OutputError::Fatal(format!(
                        "cannot create output folder {}: {e}",
                        root.display()
                    ))
                })?;
                created.extend(missing);
            }
            Err(e) => {
                return Err(OutputError::Fatal(format!(
                    "--output {}: {e}",
                    root.display()
                )))
            }
        }
        let meta = std::fs::metadata(root)
            .map_err(|e| OutputError::Fatal(format!("--output {}: {e}", root.display())))?;
        if !meta.is_dir() {
            return Err(OutputError::Usage(format!(
                "--output {} is not a folder",
                root.display()
            )));
        }
        let mut dir = OutputDir {
            root: root.to_path_buf(),
            id: (meta.dev(), meta.ino()),
            tag: shard.map_or_else(|| "run".into(), |s| format!("{}-of-{}", s.index, s.count)),
            shard,
            lock: FolderLock::default(),
            dirs: Mutex::new(HashSet::new()),
            replace: resume || overwrite,
            created,
            started: false,
        };
        let state = dir.state_dir().map_err(|e| {
            OutputError::Fatal(format!(
                "cannot write to the output folder: {}: {e}; nothing was processed",
                root.join(STATE_DIR).display()
            ))
        })?;
        dir.lock = FolderLock::take(&state, dir.shard, &dir.root)?;
        let used = dir.used();
        if let Some(what) = &used {
            if !resume && !overwrite {
                return Err(OutputError::Usage(format!(
                    "--output {}: {what}; add --resume to finish an interrupted run (finished inputs are skipped), or --overwrite to run it all again over it",
                    root.display()
                )));
            }
        }
        let identity = if resume {
            let read = super::state::read(
                &dir.identity_path(),
                "the run's identity",
                super::state::MAX_IDENTITY_BYTES,
            );
            match read {
                Ok(Some(b)) => Some(serde_json::from_slice(&b).map_err(|e| {
                    OutputError::Usage(format!(
                        "--resume: {}: {e}; resume cannot trust it (--overwrite runs everything again)",
                        dir.identity_path().display()
                    ))
                })?),
                Ok(None) => {
                    if used.is_some() {
                        return Err(OutputError::Usage(format!(
                            "--resume: {} holds the output of a run that recorded no identity (an older seisbatch, or another tool); it cannot be resumed safely: use --overwrite",
                            root.display()
                        )));
                    }
                    None
                }
                Err(e) => {
                    return Err(OutputError::Usage(format!(
                        "--resume: {e} (--overwrite runs everything again)"
                    )))
                }
            }
        } else {
            None
        };
        Ok(Opened { dir, identity })
    }

    fn name(&self, stem: &str, ext: &str) -> String {
        match self.shard {
            None => format!("{stem}.{ext}"),
            Some(s) => format!("{stem}.{}-of-{}.{ext}", s.index, s.count),
        }
    }

    /// Why the folder could not be locked (a file system without locks), if so.
    pub fn unlocked(&self) -> Option<&String> {
        self.lock.unlocked.as_ref()
    }

    /// The shard this run is, if any.
    pub fn shard(&self) -> Option<crate::shard::Shard> {
        self.shard
    }

    /// `.seisbatch/run[.K-of-N].json`.
    pub fn identity_path(&self) -> PathBuf {
        self.root.join(STATE_DIR).join(self.name("run", "json"))
    }

    /// `.seisbatch/journal[.K-of-N].jsonl`.
    pub fn journal_path(&self) -> PathBuf {
        self.root
            .join(STATE_DIR)
            .join(self.name("journal", "jsonl"))
    }

    /// `report.json`, or `report.K-of-N.json` for a shard.
    pub fn report_name(&self) -> String {
        self.name("report", "json")
    }

    /// What says an earlier run wrote here: this run's kind of identity, journal or report
    /// (a shard: its own only; the others share the folder). A folder holding only a user's
    /// files is not "used".
    fn used(&self) -> Option<String> {
        let state = self.root.join(STATE_DIR);
        let exists = |p: PathBuf| std::fs::symlink_metadata(p).is_ok();
        match self.shard {
            Some(_) => (exists(self.identity_path())
                || exists(self.journal_path())
                || exists(self.root.join(self.report_name())))
            .then(|| "this shard already ran here".to_string()),
            None => {
                let ours = |n: &str| {
                    (n.starts_with("run") && n.ends_with(".json")) || n.starts_with("journal")
                };
                let in_state = std::fs::read_dir(&state)
                    .is_ok_and(|d| d.flatten().any(|e| ours(&e.file_name().to_string_lossy())));
                let report = std::fs::read_dir(&self.root).is_ok_and(|d| {
                    d.flatten().any(|e| {
                        let n = e.file_name().to_string_lossy().into_owned();
                        n.starts_with("report.") && n.ends_with(".json")
                    })
                });
                (in_state || report).then(|| "a run already ran here".to_string())
            }
        }
    }

    /// The state folder, created if missing; never a link.
    fn state_dir(&mut self) -> std::io::Result<PathBuf> {
        let p = self.root.join(STATE_DIR);
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.is_dir() => Ok(p),
            Ok(_) => Err(refuse_link(&p)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match std::fs::create_dir(&p) {
                Ok(()) => {
                    self.created.push(p.clone());
                    Ok(p)
                }
                // Shards start together: another one made it first.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    match std::fs::symlink_metadata(&p) {
                        Ok(m) if m.is_dir() => Ok(p),
                        _ => Err(refuse_link(&p)),
                    }
                }
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    /// The run starts writing: an --overwrite clears the earlier run's state, leftover
    /// temporaries of this tool are removed, and the identity is recorded. From here on the
    /// folder is "used".
    pub fn start(
        &mut self,
        identity: &serde_json::Value,
        overwrite: bool,
        resume: bool,
    ) -> Result<(), OutputError> {
        if overwrite {
            for p in [
                self.journal_path(),
                self.identity_path(),
                self.root.join(self.report_name()),
            ] {
                match std::fs::remove_file(&p) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(OutputError::Fatal(format!(
                            "cannot remove {}: {e}",
                            p.display()
                        )))
                    }
                }
            }
        }
        if overwrite || resume {
            // An unsharded run holds the folder alone: every temporary of this tool is a dead
            // run's. A shard removes only its own tag's (its neighbours write beside it).
            let tag = self.shard.map(|_| self.tag.clone());
            remove_temporaries(&self.root, tag.as_deref());
        }
        let bytes =
            serde_json::to_vec_pretty(identity).map_err(|e| OutputError::Fatal(e.to_string()))?;
        let state = self.root.join(STATE_DIR);
        self.write_file(&state, &self.identity_path(), &bytes, true)
            .map_err(|e| {
                OutputError::Fatal(format!(
                    "cannot write to the output folder: {}: {e}; nothing was processed",
                    self.identity_path().display()
                ))
            })?;
        self.started = true;
        Ok(())
    }

    /// `OUTPUT/rel`, created folder by folder, each a real folder (never through a link).
    pub fn dir(&self, rel: &Path) -> std::io::Result<PathBuf> {
        if let Ok(d) = self.dirs.lock() {
            if d.contains(rel) {
                return Ok(self.root.join(rel));
            }
        }
        let p = real_dir(&self.root, rel)?;
        if let Ok(mut d) = self.dirs.lock() {
            // Output folders are few (one per event); past this many, start over.
            if d.len() > 65_536 {
                d.clear();
            }
            d.insert(rel.to_path_buf());
        }
        Ok(p)
    }

    /// Writes `OUTPUT/rel/name` atomically (temporary, fsync, rename). Returns its path.
    pub fn write(&self, rel: &Path, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
        let staged = self.stage(rel, name, bytes)?;
        let path = self.root.join(rel).join(name);
        match super::atomic::durable(&[&staged]).remove(0) {
            Ok(()) => staged.finish()?,
            Err(e) => {
                staged.abandon();
                return Err(e);
            }
        }
        Ok(path)
    }

    /// `OUTPUT/rel/name`'s bytes under its temporary name, for a batch to make durable
    /// together (`atomic::durable`) and then put in place (`Staged::finish`).
    pub fn stage(&self, rel: &Path, name: &str, bytes: &[u8]) -> std::io::Result<Staged> {
        crate::faults::write_fault()?;
        let dir = self.dir(rel)?;
        let path = dir.join(name);
        if Path::new(name).components().count() != 1 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{name:?} is not a file name"),
            ));
        }
        super::atomic::stage(&dir, &path, bytes, &self.tag, self.replace)
    }

    /// A file directly in OUTPUT (report.json), replacing an earlier one.
    pub fn write_top(&self, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
        let path = self.root.join(name);
        self.write_file(&self.root, &path, bytes, true)?;
        Ok(path)
    }

    fn write_file(
        &self,
        dir: &Path,
        path: &Path,
        bytes: &[u8],
        replace: bool,
    ) -> std::io::Result<()> {
        write_atomic_in(dir, path, bytes, &self.tag, replace)
    }

    /// Opens `OUTPUT/rel/name` to append to (per-event files): never through a link, only a
    /// regular file. `fresh`: this run has not written it yet, and may create it only if it
    /// is absent (on a fresh run) or our own (a resumed or overwriting run).
    pub fn open_append(
        &self,
        rel: &Path,
        name: &str,
        fresh: bool,
    ) -> std::io::Result<(PathBuf, std::fs::File)> {
        let dir = self.dir(rel)?;
        let path = dir.join(name);
        let mut o = std::fs::OpenOptions::new();
        o.write(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC);
        if fresh && !self.replace {
            o.create_new(true);
        } else {
            o.create(true);
        }
        let f = o.open(&path).map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => refuse_link(&path),
            Some(libc::EEXIST) => exists_not_ours(&path),
            _ => e,
        })?;
        if !f.metadata()?.is_file() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{} is not a regular file; not written", path.display()),
            ));
        }
        Ok((path, f))
    }

    /// `OUTPUT/rel/name` made a file of its own (its first `keep` bytes, all when None) if it
    /// has other hard links (`atomic::unshare`), before this run changes it in place.
    pub fn unshare(&self, rel: &Path, name: &str, keep: Option<u64>) -> std::io::Result<bool> {
        let dir = self.dir(rel)?;
        super::atomic::unshare(&dir, &dir.join(name), keep, &self.tag)
    }

    /// Opens a file in the state folder to append to (the journal), made a file of its own
    /// first if it has other hard links.
    pub fn open_state_append(&self, path: &Path) -> std::io::Result<std::fs::File> {
        if let Some(dir) = path.parent() {
            super::atomic::unshare(dir, path, None, &self.tag)?;
        }
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(path)
            .map_err(|e| match e.raw_os_error() {
                Some(libc::ELOOP) => refuse_link(path),
                _ => e,
            })
    }
}

impl Drop for OutputDir {
    /// A run that never started leaves nothing behind: what it created is removed, newest
    /// first (folders only if empty).
    fn drop(&mut self) {
        if self.started {
            return;
        }
        self.lock.release_unstarted();
        for p in self.created.iter().rev() {
            let _ = std::fs::remove_dir(p);
        }
    }
}

/// `root/rel`, created folder by folder, each a real folder (never through a link): what
/// `OutputDir::dir` does, for writers that have the folder but no `OutputDir` (correlate).
pub fn real_dir(root: &Path, rel: &Path) -> std::io::Result<PathBuf> {
    let mut p = root.to_path_buf();
    for c in rel.components() {
        let Component::Normal(n) = c else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "output folder {} is not a plain relative path",
                    rel.display()
                ),
            ));
        };
        p.push(n);
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.is_dir() => {}
            Ok(m) if m.file_type().is_symlink() => return Err(refuse_link(&p)),
            Ok(_) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    format!("{} exists and is not a folder", p.display()),
                ))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match std::fs::create_dir(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if !std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir()) {
                        return Err(refuse_link(&p));
                    }
                }
                Err(e) => return Err(e),
            },
            Err(e) => return Err(e),
        }
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_never_go_through_links_or_replace_foreign_files() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        let outside = d.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        let o = OutputDir::open(&out, None, false, false).unwrap();
        let mut dir = o.dir;
        dir.start(&serde_json::json!({}), false, false).unwrap();
        std::os::unix::fs::symlink(&outside, out.join("ev")).unwrap();
        let e = dir.write(Path::new("ev"), "a.sac", b"x").unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        std::fs::create_dir(out.join("ev2")).unwrap();
        std::os::unix::fs::symlink(outside.join("victim"), out.join("ev2/E.mseed")).unwrap();
        let e = dir
            .open_append(Path::new("ev2"), "E.mseed", true)
            .unwrap_err();
        assert!(!outside.join("victim").exists(), "{e}");
        std::fs::write(out.join("ev2/mine.sac"), b"user's").unwrap();
        let e = dir
            .write(Path::new("ev2"), "mine.sac", b"ours")
            .unwrap_err();
        assert!(e.to_string().contains("not written by this run"), "{e}");
        assert_eq!(std::fs::read(out.join("ev2/mine.sac")).unwrap(), b"user's");
        assert!(dir.write(Path::new("ev2"), "new.sac", b"ours").is_ok());
        assert!(dir.write(Path::new("../x"), "a.sac", b"x").is_err());
    }

    #[test]
    fn a_second_run_is_refused_while_the_first_holds_the_folder() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        let first = OutputDir::open(&out, None, false, false).unwrap();
        let e = match OutputDir::open(&out, None, true, false) {
            Err(OutputError::Usage(m)) => m,
            _ => panic!("second run allowed"),
        };
        assert!(e.contains("another seisbatch run (pid"), "{e}");
        let shard = crate::shard::Shard { index: 0, count: 2 };
        assert!(OutputDir::open(&out, Some(shard), true, false).is_err());
        drop(first); // never started: the folder it created is gone again
        assert!(!out.exists());
        let a = OutputDir::open(&out, Some(shard), false, false).unwrap();
        let b = OutputDir::open(
            &out,
            Some(crate::shard::Shard { index: 1, count: 2 }),
            false,
            false,
        );
        assert!(b.is_ok(), "shards share the folder");
        assert!(
            OutputDir::open(&out, Some(shard), true, false).is_err(),
            "the same shard twice"
        );
        assert!(
            OutputDir::open(&out, None, true, false).is_err(),
            "a whole run beside shards"
        );
        drop((a, b));
    }

    /// Shards started at the same moment into a folder that does not exist yet all get in
    /// (one of them lost the race to create `.seisbatch` and failed, under mpirun), and those
    /// that stop before starting never take the lock file from under the others.
    #[test]
    fn shards_starting_together_all_get_in() {
        for round in 0..20 {
            let d = tempfile::tempdir().unwrap();
            let out = d.path().join("out");
            let opened: Vec<_> = std::thread::scope(|s| {
                let hs: Vec<_> = (0..8)
                    .map(|k| {
                        let out = &out;
                        s.spawn(move || {
                            let shard = crate::shard::Shard { index: k, count: 8 };
                            OutputDir::open(out, Some(shard), false, false)
                        })
                    })
                    .collect();
                hs.into_iter().map(|h| h.join().unwrap()).collect()
            });
            assert!(opened.iter().all(Result::is_ok), "round {round}");
            // Half of them stop before starting: the others still hold the folder.
            let mut opened: Vec<_> = opened.into_iter().map(|o| o.ok().unwrap()).collect();
            opened.truncate(4);
            assert!(
                OutputDir::open(&out, None, true, false).is_err(),
                "round {round}"
            );
            drop(opened);
        }
    }
}
