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
        f.sync_data()?;
        super::test_delay();
        if replace {
            std::fs::rename(&tmp, path)
        } else {
            rename_noreplace(&tmp, path)
        }
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
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
