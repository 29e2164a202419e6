//! Fault injection for the integrity tests (tests/resume.rs, integrity.rs, faults.rs, cli.rs):
//! a full disk after N writes, a pause between an output's temporary file and its rename (so
//! a kill lands while temporaries exist), slow reads, a lost device, a log of the durability
//! batches. Read from the environment only in a build with the `fault-hooks` feature, which
//! only the tests enable (Cargo.toml: the crate is its own dev-dependency with that feature);
//! in a release build each hook is a constant no-op and the variables mean nothing.

/// `SEISBATCH_TEST_FAIL_WRITES_AFTER=N`: every output write after the first N fails with "No
/// space left on device", as a full disk does.
#[cfg(feature = "fault-hooks")]
pub(crate) fn write_fault() -> std::io::Result<()> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static AFTER: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    static DONE: AtomicU64 = AtomicU64::new(0);
    let after = *AFTER.get_or_init(|| {
        std::env::var("SEISBATCH_TEST_FAIL_WRITES_AFTER")
            .ok()
            .and_then(|v| v.parse().ok())
    });
    match after {
        Some(n) if DONE.fetch_add(1, Ordering::Relaxed) >= n => Err(std::io::Error::new(
            std::io::ErrorKind::StorageFull,
            "No space left on device (SEISBATCH_TEST_FAIL_WRITES_AFTER)",
        )),
        _ => Ok(()),
    }
}

#[cfg(not(feature = "fault-hooks"))]
#[inline(always)]
pub(crate) fn write_fault() -> std::io::Result<()> {
    Ok(())
}

/// `SEISBATCH_TEST_WRITE_DELAY_MS=MS`: every output is held MS milliseconds between its
/// temporary file and the rename.
#[cfg(feature = "fault-hooks")]
pub(crate) fn write_delay() {
    static MS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    pause(&MS, "SEISBATCH_TEST_WRITE_DELAY_MS");
}

#[cfg(not(feature = "fault-hooks"))]
#[inline(always)]
pub(crate) fn write_delay() {}

/// `SEISBATCH_TEST_READ_DELAY_MS=MS`: every input file is read MS milliseconds late, so a test
/// can change the input folder while a run is known to be reading it.
#[cfg(feature = "fault-hooks")]
pub(crate) fn read_delay() {
    static MS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    pause(&MS, "SEISBATCH_TEST_READ_DELAY_MS");
}

#[cfg(not(feature = "fault-hooks"))]
#[inline(always)]
pub(crate) fn read_delay() {}

/// `SEISBATCH_TEST_EXTRA_LOOP_DELAY_MS=MS`: an executor loop other than the stream's first
/// waits MS milliseconds before each call, so that the first loop finishes the stream and
/// waits for it while another loop still has a call to make (the state in which a GPU run
/// with --jobs 1 once deadlocked).
#[cfg(feature = "fault-hooks")]
pub(crate) fn extra_loop_delay() {
    static MS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    pause(&MS, "SEISBATCH_TEST_EXTRA_LOOP_DELAY_MS");
}

#[cfg(not(feature = "fault-hooks"))]
#[inline(always)]
pub(crate) fn extra_loop_delay() {}

/// Sleeps the milliseconds `var` names (read once into `ms`; unset or not a number: none).
#[cfg(feature = "fault-hooks")]
fn pause(ms: &std::sync::OnceLock<u64>, var: &str) {
    let ms = *ms.get_or_init(|| {
        std::env::var(var)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    });
    if ms > 0 {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

/// `SEISBATCH_TEST_SYNC_LOG=FILE`: each batch of outputs made durable together appends its
/// size (a line) to FILE, so a test sees how outputs were batched.
#[cfg(feature = "fault-hooks")]
pub(crate) fn log_sync(outputs: usize) {
    use std::io::Write;
    if let Some(p) = std::env::var_os("SEISBATCH_TEST_SYNC_LOG") {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
        {
            let _ = writeln!(f, "{outputs}");
        }
    }
}

#[cfg(not(feature = "fault-hooks"))]
#[inline(always)]
pub(crate) fn log_sync(_outputs: usize) {}

/// `SEISBATCH_GPU_FAIL` set: the device's first batch fails and the device counts as lost.
#[cfg(feature = "fault-hooks")]
pub(crate) fn gpu_fail() -> bool {
    std::env::var_os("SEISBATCH_GPU_FAIL").is_some()
}

#[cfg(not(feature = "fault-hooks"))]
#[inline(always)]
pub(crate) fn gpu_fail() -> bool {
    false
}

/// `SEISBATCH_TEST_GPU_MAX_BINDING=BYTES`: the device is taken to bind at most BYTES (never
/// more than it does), so a test on lavapipe splits buffers a 40 Hz day needs in halves as a
/// 100 Hz day's are on it.
#[cfg(feature = "fault-hooks")]
pub(crate) fn gpu_max_binding() -> Option<u64> {
    std::env::var("SEISBATCH_TEST_GPU_MAX_BINDING")
        .ok()
        .and_then(|v| v.parse().ok())
}

#[cfg(not(feature = "fault-hooks"))]
#[inline(always)]
pub(crate) fn gpu_max_binding() -> Option<u64> {
    None
}

/// `SEISBATCH_TEST_DUPLICATE_GPUS=1`: `--gpus` may name one adapter twice (two devices on it),
/// so that the several-device path runs on a machine with one adapter (CI's lavapipe).
#[cfg(feature = "fault-hooks")]
pub(crate) fn duplicate_gpus() -> bool {
    std::env::var_os("SEISBATCH_TEST_DUPLICATE_GPUS").is_some_and(|v| v == "1")
}

#[cfg(not(feature = "fault-hooks"))]
#[inline(always)]
pub(crate) fn duplicate_gpus() -> bool {
    false
}

/// `SEISBATCH_TEST_FEED_SAMPLES=N`: the GPU path's executor loops gather N samples a call
/// instead of 2^26, so that test-sized inputs make many calls (several devices share them).
#[cfg(feature = "fault-hooks")]
pub(crate) fn feed_samples() -> Option<usize> {
    std::env::var("SEISBATCH_TEST_FEED_SAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
}

#[cfg(not(feature = "fault-hooks"))]
#[inline(always)]
pub(crate) fn feed_samples() -> Option<usize> {
    None
}

/// `SEISBATCH_TEST_PART_BYTES=N`: outputs of N bytes or more go to object storage as
/// multipart uploads (parts stay 16 MiB), so a test's small outputs take that path.
#[cfg(feature = "fault-hooks")]
pub(crate) fn part_bytes() -> Option<usize> {
    std::env::var("SEISBATCH_TEST_PART_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
}

#[cfg(not(feature = "fault-hooks"))]
#[inline(always)]
pub(crate) fn part_bytes() -> Option<usize> {
    None
}
