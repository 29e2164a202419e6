//! glibc's allocator tuned for a run's allocation pattern: per trace, a handful of buffers of
//! 1-20 MB (the padded spectrum, response tables, chirp-z work) are allocated and freed. By
//! default glibc serves blocks over its mmap threshold with fresh mappings and trims the heap
//! top past 128 KiB, so every trace's buffers came back as new pages: the kernel zeroed and
//! faulted them in again (28 % of a `--jobs 1` run on real event data was kernel time, 15 %
//! of the wall time went away with the settings below; docs/BENCHMARKS.md 2026-12-05, second
//! entry).
//!
//! Memory stays budgeted: a heap keeps at most the free space its own thread's largest trace
//! used, so the peak resident size is the same (measured: within 1.5 %); only the return of
//! that space to the system is deferred to the end of the run. Set for the command-line
//! program only: a Python process's allocator belongs to the interpreter and its user.

/// Blocks under 32 MiB come from the heap (glibc's own ceiling for the dynamic threshold);
/// the heap top is given back only past 128 MiB free.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn tune() {
    const MMAP_THRESHOLD: libc::c_int = 32 << 20;
    const TRIM_THRESHOLD: libc::c_int = 128 << 20;
    // SAFETY: mallopt only sets two of the allocator's parameters; it is called first thing
    // in main, while the process has one thread. A refusal (returns 0) leaves glibc's
    // defaults, which are correct, only slower.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
    }
}

/// Other C libraries keep their own policies.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune() {}
