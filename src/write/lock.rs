//! One run at a time per output folder: an exclusive `flock` on `OUTPUT/.seisbatch/lock`
//! (shards share it and each holds its own `lock.K-of-N` exclusively), with the holder's pid,
//! host and start time in the file for the refusal message. The kernel drops a lock when its
//! holder dies however it dies, so a lock left by a killed run is never in the way. Two runs
//! into one folder had both run, losing and doubling traces in per-event files.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::shard::Shard;

/// Why an output folder cannot be used: a usage error (exit 2, nothing was written) or a fatal
/// one (exit 1).
#[derive(Debug)]
pub enum OutputError {
    Usage(String),
    Fatal(String),
}

/// The lock files a run holds (open), and whether it created each.
#[derive(Default)]
pub struct FolderLock {
    files: Vec<(PathBuf, std::fs::File, bool)>,
    /// Why the folder could not be locked, on a file system without locks (the run goes on).
    pub unlocked: Option<String>,
}

/// This machine's name (lock files and lock objects say who holds them).
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        "unknown host".into()
    }
}

/// `pid host since` of this process, for a lock file.
fn holder() -> String {
    let host = hostname();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    format!(
        "pid {} on {host}, started {}",
        std::process::id(),
        crate::time::iso(now)
    )
}

/// Opens a lock file without following a link, creating it if missing; says whether it
/// created it.
fn lock_file(p: &Path) -> std::io::Result<(std::fs::File, bool)> {
    let open = |create_new: bool| {
        let mut o = std::fs::OpenOptions::new();
        o.read(true)
            .write(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC);
        if create_new {
            o.create_new(true);
        }
        o.open(p)
    };
    let (f, created) = match open(true) {
        Ok(f) => (f, true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => (open(false)?, false),
        Err(e) => return Err(e),
    };
    // A state file like any other (issue #23): a FIFO or a device there is not a lock, and
    // reading its holder for a refusal would block.
    if !f.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file (remove it; seisbatch makes its lock files itself)",
        ));
    }
    Ok((f, created))
}

impl FolderLock {
    /// Locks `state/lock` (shared by shards, exclusive otherwise) and a shard's own
    /// `state/lock.K-of-N`; a held lock is a usage error naming its holder.
    pub fn take(
        state: &Path,
        shard: Option<Shard>,
        root: &Path,
    ) -> Result<FolderLock, OutputError> {
        let mut l = FolderLock::default();
        let main = state.join("lock");
        let mut files = vec![(main, shard.is_some())];
        if let Some(s) = shard {
            files.push((
                state.join(format!("lock.{}-of-{}", s.index, s.count)),
                false,
            ));
        }
        for (p, shared) in files {
            l.lock_one(&p, shared, shard.is_some(), root)?;
        }
        Ok(l)
    }

    /// Opens and locks one lock file. The lock is on the file's inode: if the path no longer
    /// names that inode once the lock is held (a run that never started removed it meanwhile,
    /// see `release_unstarted`), the lock is worth nothing and it is taken again on the new file.
    fn lock_one(
        &mut self,
        p: &Path,
        shared: bool,
        sharded: bool,
        root: &Path,
    ) -> Result<(), OutputError> {
        let fatal = |e: std::io::Error| {
            OutputError::Fatal(format!(
                "cannot write to the output folder: {}: {e}; nothing was processed",
                p.display()
            ))
        };
        for _ in 0..16 {
            let (mut f, created) = lock_file(p).map_err(fatal)?;
            let r = if shared {
                f.try_lock_shared()
            } else {
                f.try_lock()
            };
            match r {
                Ok(()) => {
                    let held = f.metadata().map_err(fatal)?;
                    let now = std::fs::symlink_metadata(p).ok();
                    if now.is_none_or(|m| (m.dev(), m.ino()) != (held.dev(), held.ino())) {
                        continue;
                    }
                    // A lock file with other hard links (`cp -al out snapshot`) is shared with
                    // another folder: writing our name into it would change the snapshot, and
                    // a run there would lock us out. Held alone (exclusively; a shard's shared
                    // hold is upgraded if nobody else holds it), it is replaced by a file of
                    // its own and locked again; whoever opened the old one finds the path
                    // names another inode and does the same.
                    if held.nlink() > 1 && (!shared || f.try_lock().is_ok()) {
                        let dir = p.parent().unwrap_or(Path::new("."));
                        super::atomic::write_atomic_in(dir, p, b"", "lock", true).map_err(fatal)?;
                        continue;
                    }
                    if !shared {
                        let _ = f.set_len(0);
                        let _ = f.write_all(holder().as_bytes());
                    }
                    self.files.push((p.to_path_buf(), f, created));
                    return Ok(());
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    let who = super::state::read(p, "the lock", 4096)
                        .ok()
                        .flatten()
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_default();
                    let who = if who.trim().is_empty() {
                        "another seisbatch run".to_string()
                    } else {
                        format!("another seisbatch run ({})", who.trim())
                    };
                    return Err(OutputError::Usage(format!(
                        "--output {}: {who} is writing to this folder{}; wait for it to finish (or stop it), then run again (with --resume to finish its work)",
                        root.display(),
                        if sharded && !shared { " as the same shard" } else { "" }
                    )));
                }
                // A file system without locks (some network mounts): the run goes on, and the
                // report says the folder was not protected.
                Err(std::fs::TryLockError::Error(e)) => {
                    self.unlocked = Some(format!(
                        "the output folder could not be locked ({e}): nothing stops a second run from writing into it at the same time"
                    ));
                    self.files.push((p.to_path_buf(), f, created));
                    return Ok(());
                }
            }
        }
        Err(OutputError::Fatal(format!(
            "{}: the lock file keeps being replaced; nothing was processed",
            p.display()
        )))
    }

    /// A run that never started removes the lock files it created, each only if nobody else
    /// holds it (shards share the folder's): the exclusive lock, taken over our own, says so.
    /// Whoever opened it before the removal finds the path names another inode and locks again
    /// (`lock_one`).
    pub fn release_unstarted(&mut self) {
        for (p, f, created) in self.files.drain(..).rev() {
            if created && f.try_lock().is_ok() {
                let _ = std::fs::remove_file(&p);
            }
        }
    }
}
