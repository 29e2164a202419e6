//! Files seisbatch wrote earlier and reads back: the journal, `run.json`, shard reports. They
//! are input like any other (issue #23): one replaced by a FIFO hung the run, one linked to
//! `/dev/zero` was read until the kernel killed the process for memory. Each is opened
//! without following a link, must be a regular file, and is read up to a size bound; a file
//! that breaks a rule is a clear error naming it.

use std::path::Path;

/// Largest journal read back: a line per input file (~300 bytes, more with failures and
/// warnings), so ~10 million inputs.
pub const MAX_JOURNAL_BYTES: u64 = 4 << 30;
/// Largest `run.json` (the pipeline and the run's settings: a few KB).
pub const MAX_IDENTITY_BYTES: u64 = 16 << 20;
/// Largest shard report merged (every failure of the shard's traces, ~200 bytes each).
pub const MAX_REPORT_BYTES: u64 = 2 << 30;

/// The bytes of the state file `path`, or None when it does not exist. `what` names it in
/// errors ("the journal").
pub fn read(path: &Path, what: &str, max: u64) -> Result<Option<Vec<u8>>, String> {
    match crate::read::sniff::read_regular(path, true, max) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => Err(format!(
            "{what} {}: is a symbolic link; seisbatch reads its own state files only as regular files",
            path.display()
        )),
        Err(e) => Err(format!("{what} {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_within_the_bound_are_read() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("journal.jsonl");
        assert_eq!(read(&p, "the journal", 10), Ok(None));
        std::fs::write(&p, b"0123456789").unwrap();
        assert_eq!(
            read(&p, "the journal", 10),
            Ok(Some(b"0123456789".to_vec()))
        );
        let e = read(&p, "the journal", 9).unwrap_err();
        assert!(e.contains("more than the 9 bytes"), "{e}");
        let link = d.path().join("link");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let e = read(&link, "the journal", 1 << 30).unwrap_err();
        assert!(e.contains("symbolic link"), "{e}");
        let fifo = d.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path, valid for the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = read(&fifo, "the journal", 1 << 30).unwrap_err();
        assert!(e.contains("not a regular file"), "{e}");
        let e = read(d.path(), "the journal", 1 << 30).unwrap_err();
        assert!(e.contains("not a regular file"), "{e}");
    }
}
