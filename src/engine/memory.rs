//! `--memory GB`: the CPU path's budget of host memory. Every input is admitted with its
//! modeled peak (samples x [`PEAK_BYTES_PER_SAMPLE`]) and holds it until it is committed
//! (`commit::Committer::admit_group`): an input that does not fit beside those in flight
//! waits for them, and one larger than the whole budget runs alone. So `--jobs 64` over
//! day-long traces never has more read and in processing than asked, whatever the number of
//! jobs (report.json: `memory`).

/// Peak host memory of one trace through a chain on the CPU path, per input sample: measured
/// on 100 Hz day traces through the noise chain (demean, linear detrend, taper,
/// remove_response VEL, band-pass, decimate; docs/BENCHMARKS.md, issue #26): a trace alone
/// 74 bytes per sample where remove_response's transform is 2x the samples, 137 where ObsPy's
/// rule makes it the next power of two (3.9x), the FFT plan's tables (shared by every job)
/// included; 160 covers both with a margin.
pub const PEAK_BYTES_PER_SAMPLE: u64 = 160;

/// The default budget: three quarters of the memory this process may use (the smaller of the
/// machine's and its cgroup's limit), or 8 GiB when neither can be read.
pub fn default_budget() -> u64 {
    let total = meminfo_total().unwrap_or(8 << 30);
    let limit = cgroup_limit().map_or(total, |c| c.min(total));
    limit / 4 * 3
}

fn meminfo_total() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// cgroup v2's `memory.max` (a container's limit), or v1's `memory.limit_in_bytes`.
fn cgroup_limit() -> Option<u64> {
    [
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ]
    .iter()
    .find_map(|p| std::fs::read_to_string(p).ok()?.trim().parse::<u64>().ok())
}

/// An input's modeled peak host memory on the CPU path: its samples (an archive window's from
/// the index; a file's taken as one per byte, Steim2's usual 2 to 4 bytes per sample rounded
/// the safe way) times [`PEAK_BYTES_PER_SAMPLE`].
pub fn modeled_bytes(samples: u64) -> u64 {
    samples.saturating_mul(PEAK_BYTES_PER_SAMPLE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_below_the_machines_memory() {
        let d = default_budget();
        assert!(d > 0);
        if let Some(t) = meminfo_total() {
            assert!(d < t);
        }
    }
}
