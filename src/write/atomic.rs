//! Files written whole or not at all, never through a link, and never over a file the run did
//! not write: a temporary created `O_EXCL|O_NOFOLLOW` beside the target
//! (`.NAME.TAG.PID.seisbatch.tmp`), fsync'd, renamed (a rename replaces a planted link, never
//! follows it), without replacing unless told to. Only such temporaries are ever removed.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Temporaries this tool makes end so, and only those are ever removed.
pub const TMP_SUFFIX: &str = ".seisbatch.tmp";

pub(super) fn refuse_link(p: &Path) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!(
            "{} is a symbolic link: seisbatch never writes through a link inside the output folder",
            p.display()
        ),
    )
}

pub(super) fn exists_not_ours(p: &Path) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        format!(
            "{} exists and was not written by this run; not replaced (--overwrite replaces it)",
            p.display()
        ),
    )
}

/// The temporary name for `name` in `dir` (see the module comment).
fn temporary(dir: &Path, path: &Path, tag: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    dir.join(format!(".{name}.{tag}.{}{TMP_SUFFIX}", std::process::id()))
}

/// Writes `bytes` to `path` atomically: a temporary created with O_EXCL|O_NOFOLLOW in the same
/// folder, fsync'd, renamed onto `path` (without replacing an existing file unless `replace`).
pub fn write_atomic_in(
    dir: &Path,
    path: &Path,
    bytes: &[u8],
    tag: &str,
    replace: bool,
) -> std::io::Result<()> {
    let staged = stage(dir, path, bytes, tag, replace)?;
    let synced = durable(&[&staged]).remove(0);
    match synced {
        Ok(()) => staged.finish(),
        Err(e) => {
            staged.abandon();
            Err(e)
        }
    }
}

/// A file written under its temporary name: not yet durable, not yet in place.
pub struct Staged {
    tmp: PathBuf,
    path: PathBuf,
    file: std::fs::File,
    replace: bool,
}

/// Writes `bytes` to the temporary for `path` in `dir` (see the module comment); nothing is
/// left behind on an error.
pub fn stage(
    dir: &Path,
    path: &Path,
    bytes: &[u8],
    tag: &str,
    replace: bool,
) -> std::io::Result<Staged> {
    let tmp = temporary(dir, path, tag);
    // A stale temporary of this very process (a retried write) or a planted entry: removed
    // (unlink never follows a link), then created exclusively.
    let _ = std::fs::remove_file(&tmp);
    let res = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)?;
        f.write_all(bytes)?;
        Ok(f)
    })();
    match res {
        Ok(file) => Ok(Staged {
            tmp,
            path: path.to_path_buf(),
            file,
            replace,
        }),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

impl Staged {
    /// Renames the (durable) temporary onto its name; on an error the temporary is removed.
    pub fn finish(self) -> std::io::Result<()> {
        crate::faults::write_delay();
        let res = if self.replace {
            std::fs::rename(&self.tmp, &self.path)
        } else {
            rename_noreplace(&self.tmp, &self.path)
        };
        if res.is_err() {
            let _ = std::fs::remove_file(&self.tmp);
        }
        res
    }

    /// Drops a temporary that will not be renamed.
    pub fn abandon(self) {
        let _ = std::fs::remove_file(&self.tmp);
    }
}

/// Makes the data of staged files durable before any of them is renamed, one result per
/// file. One file: its fdatasync. More: one `syncfs` for the file system they are on (one
/// journal commit for the batch, where an fdatasync per file made one each: issue #14), and
/// per-file fdatasync wherever that fails or the files lie on more than one file system, so
/// an error is still the file's own.
pub fn durable(staged: &[&Staged]) -> Vec<std::io::Result<()>> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::MetadataExt;
    crate::faults::log_sync(staged.len());
    if staged.len() > 1 {
        let devs: Vec<Option<u64>> = staged
            .iter()
            .map(|s| s.file.metadata().ok().map(|m| m.dev()))
            .collect();
        if devs[0].is_some() && devs.iter().all(|d| *d == devs[0]) {
            // SAFETY: a file descriptor this process holds open for the call.
            if unsafe { libc::syncfs(staged[0].file.as_raw_fd()) } == 0 {
                return staged.iter().map(|_| Ok(())).collect();
            }
        }
    }
    staged.iter().map(|s| s.file.sync_data()).collect()
}

/// `rename` that fails with "exists" instead of replacing (renameat2 RENAME_NOREPLACE; where
/// the file system lacks it, a hard link and an unlink, which fail the same way).
fn rename_noreplace(from: &Path, to: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        std::ffi::CString::new(p.as_os_str().as_bytes())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
    };
    let (a, b) = (c(from)?, c(to)?);
    // SAFETY: two NUL-terminated paths, valid for the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EEXIST) => Err(exists_not_ours(to)),
        Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::EOPNOTSUPP) => {
            match std::fs::hard_link(from, to) {
                Ok(()) => std::fs::remove_file(from),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(exists_not_ours(to)),
                // No hard links either (some FUSE and SMB mounts): check, then rename.
                Err(_) => {
                    if std::fs::symlink_metadata(to).is_ok() {
                        Err(exists_not_ours(to))
                    } else {
                        std::fs::rename(from, to)
                    }
                }
            }
        }
        _ => Err(e),
    }
}

/// Makes `path` (in `dir`) a file of its own before it is changed in place (appended to, cut
/// back, locked): a file with more than one hard link shares its bytes with another name,
/// often outside OUTPUT (`cp -al out snapshot`, a common backup habit), and a resumed run
/// wrote into the snapshot too (issue #23). Its first `keep` bytes (all when None) are copied
/// to a temporary, made durable and renamed over `path`; the other names keep the old bytes.
/// Nothing happens to a file with one link or no file. Returns whether it copied.
pub fn unshare(dir: &Path, path: &Path, keep: Option<u64>, tag: &str) -> std::io::Result<bool> {
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if !meta.is_file() || meta.nlink() <= 1 {
        return Ok(false);
    }
    let tmp = temporary(dir, path, tag);
    let _ = std::fs::remove_file(&tmp);
    let res = (|| {
        let mut from = crate::read::sniff::open(path, true)?;
        let mut to = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)?;
        let want = keep.unwrap_or(u64::MAX).min(meta.len());
        let copied = std::io::copy(&mut (&mut from).take(want), &mut to)?;
        if copied != want {
            return Err(std::io::Error::other(format!(
                "{} shrank while it was copied ({copied} of {want} bytes)",
                path.display()
            )));
        }
        to.sync_data()?;
        std::fs::rename(&tmp, path)
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res.map(|()| true)
}

/// Removes this tool's temporaries under `dir` (never following a link): all of them, or only
/// those of one shard tag. Returns how many.
pub fn remove_temporaries(dir: &Path, tag: Option<&str>) -> usize {
    let mut n = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Ok(t) = e.file_type() else { continue };
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file()
                && name.starts_with('.')
                && name.ends_with(TMP_SUFFIX)
                && tag.is_none_or(|tag| name.contains(&format!(".{tag}.")))
                && std::fs::remove_file(e.path()).is_ok()
            {
                n += 1;
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_made_durable_together_then_put_in_place() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path();
        std::fs::write(dir.join("c.sac"), b"not ours").unwrap();
        let staged: Vec<Staged> = ["a.sac", "b.sac", "c.sac", "d.sac"]
            .iter()
            .map(|n| stage(dir, &dir.join(n), n.as_bytes(), "run", false).unwrap())
            .collect();
        // Nothing in place before the batch is durable.
        assert!(!dir.join("a.sac").exists());
        let synced = durable(&staged.iter().collect::<Vec<_>>());
        assert!(synced.iter().all(|r| r.is_ok()));
        let mut it = staged.into_iter();
        it.next().unwrap().finish().unwrap();
        it.next().unwrap().finish().unwrap();
        // An existing file the run did not write is not replaced; its temporary goes.
        let e = it.next().unwrap().finish().unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
        it.next().unwrap().abandon();
        assert_eq!(std::fs::read(dir.join("a.sac")).unwrap(), b"a.sac");
        assert_eq!(std::fs::read(dir.join("b.sac")).unwrap(), b"b.sac");
        assert_eq!(std::fs::read(dir.join("c.sac")).unwrap(), b"not ours");
        assert!(!dir.join("d.sac").exists());
        assert_eq!(remove_temporaries(dir, None), 0, "no temporary left behind");
    }

    #[test]
    fn a_file_with_other_names_is_copied_before_it_changes() {
        use std::os::unix::fs::MetadataExt;
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a"), d.path().join("snapshot_a"));
        std::fs::write(&a, b"0123456789").unwrap();
        assert!(
            !unshare(d.path(), &a, Some(4), "run").unwrap(),
            "one link: left"
        );
        std::fs::hard_link(&a, &b).unwrap();
        assert!(unshare(d.path(), &a, Some(4), "run").unwrap());
        assert_eq!(std::fs::read(&a).unwrap(), b"0123");
        assert_eq!(std::fs::read(&b).unwrap(), b"0123456789");
        assert_eq!(std::fs::metadata(&a).unwrap().nlink(), 1);
        assert_eq!(std::fs::metadata(&b).unwrap().nlink(), 1);
        std::fs::hard_link(&b, d.path().join("c")).unwrap();
        assert!(unshare(d.path(), &b, None, "run").unwrap());
        assert_eq!(std::fs::read(&b).unwrap(), b"0123456789");
        assert!(!unshare(d.path(), &d.path().join("none"), None, "run").unwrap());
        assert_eq!(remove_temporaries(d.path(), None), 0);
    }

    #[test]
    fn only_this_tools_temporaries_are_removed() {
        let d = tempfile::tempdir().unwrap();
        for n in [
            ".x.sac.run.12.seisbatch.tmp",
            ".y.sac.0-of-2.12.seisbatch.tmp",
            ".z.sac.1-of-2.12.seisbatch.tmp",
            ".editor.tmp",
            ".x.sac.12.tmp",
            "x.sac",
        ] {
            std::fs::write(d.path().join(n), b"").unwrap();
        }
        assert_eq!(remove_temporaries(d.path(), Some("0-of-2")), 1);
        assert_eq!(remove_temporaries(d.path(), None), 2);
        let mut left: Vec<String> = std::fs::read_dir(d.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, vec![".editor.tmp", ".x.sac.12.tmp", "x.sac"]);
    }
}
