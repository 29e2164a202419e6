//! Batch layout: a pure function from buffer shapes and device limits to how many traces go
//! into one batch and how a dispatch is split over the workgroup grid. No device needed: the
//! unit tests below are the whole contract.

use std::ops::Range;

/// Invocations per workgroup of every element-wise kernel (`@workgroup_size(256)`).
pub const WORKGROUP: u32 = 256;

/// What the device allows, from the adapter's real limits (not WebGPU's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceLimits {
    /// Largest storage buffer one binding may see, bytes.
    pub max_binding: u64,
    /// Largest buffer, bytes.
    pub max_buffer: u64,
    /// Workgroups per dispatch dimension (65,535 on every backend wgpu supports).
    pub max_groups_per_dim: u32,
}

/// Bytes a batch needs: `fixed` once (shared tables), plus per trace the sum of its buffers,
/// of which the largest single one (`largest`, with `elements` 4- or 8-byte elements) is what
/// hits the binding limit and the u32 index range of the shaders. `table`: the largest FFT
/// table the batch binds. With `parts` (every kernel binding them takes its work buffers and
/// table in parts: `record::PART_STRIDE`) those may be up to DATA_PARTS and TABLE_PARTS
/// bindings' worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footprint {
    pub per_trace: u64,
    pub largest: u64,
    pub largest_elements: u64,
    pub fixed: u64,
    pub table: u64,
    pub parts: bool,
}

/// Parts a complex work buffer may come in (a 100 Hz day's f64 spectrum, 276 MB, takes three
/// of lavapipe's 128 MiB bindings), and an FFT table (a Bluestein chirp; the radix passes'
/// twiddles are factorised, ~2 sqrt(N) values): the kernels bind each part, and 3 + 3 + 2
/// storage buffers is what WebGPU's default of 8 per stage allows.
pub const DATA_PARTS: u64 = 3;
pub const TABLE_PARTS: u64 = 2;

/// Alignment of the boundaries between a buffer's parts: a whole number of f64 complex values,
/// and of wgpu's copy and offset alignments.
pub const PART_ALIGN: u64 = 256;

/// Bytes of each part but the last of a buffer split at the device's limit (`whole`: the most one
/// binding and one buffer may hold).
pub fn part_bytes(whole: u64) -> u64 {
    whole / PART_ALIGN * PART_ALIGN
}

/// The largest buffer in at most `parts` parts: all but the last of `part_bytes` bytes.
pub fn largest_allowed(limits: &DeviceLimits, parts: u64) -> u64 {
    let whole = limits.max_binding.min(limits.max_buffer);
    part_bytes(whole)
        .saturating_mul(parts.max(1) - 1)
        .saturating_add(whole)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    #[error("one trace needs {need} bytes of device memory but the budget leaves {have}")]
    OverBudget { need: u64, have: u64 },
    #[error("one trace needs a {need}-byte buffer; the device binds at most {max} bytes")]
    OverBinding { need: u64, max: u64 },
}

/// Most traces one batch may hold: within the memory budget, the binding and buffer limits,
/// and shader indices that fit in u32.
pub fn traces_per_batch(
    fp: &Footprint,
    limits: &DeviceLimits,
    budget: u64,
) -> Result<usize, LayoutError> {
    let have = budget.saturating_sub(fp.fixed);
    let per_trace = fp.per_trace.max(1);
    if per_trace > have {
        return Err(LayoutError::OverBudget {
            need: per_trace,
            have,
        });
    }
    let (data, table) = match fp.parts {
        true => (DATA_PARTS, TABLE_PARTS),
        false => (1, 1),
    };
    let max_one = largest_allowed(limits, data);
    let largest = fp.largest.max(1);
    if largest > max_one {
        return Err(LayoutError::OverBinding {
            need: largest,
            max: max_one,
        });
    }
    if fp.table > largest_allowed(limits, table) {
        return Err(LayoutError::OverBinding {
            need: fp.table,
            max: largest_allowed(limits, table),
        });
    }
    let by_budget = have / per_trace;
    let by_binding = max_one / largest;
    let by_index = u64::from(u32::MAX) / fp.largest_elements.max(1);
    // by_index < 2^32: a usize on every target wgpu runs on.
    Ok(usize::try_from(by_budget.min(by_binding).min(by_index).max(1)).unwrap_or(1))
}

/// Splits `n` traces into consecutive batches of at most `per_batch`, as even as possible
/// (1000 traces at 600 per batch -> 500 + 500, not 600 + 400: the same work per submit).
pub fn batches(n: usize, per_batch: usize) -> Vec<Range<usize>> {
    if n == 0 {
        return Vec::new();
    }
    let per_batch = per_batch.max(1);
    let k = n.div_ceil(per_batch);
    let (q, r) = (n / k, n % k);
    let mut out = Vec::with_capacity(k);
    let mut start = 0;
    for i in 0..k {
        let len = q + usize::from(i < r);
        out.push(start..start + len);
        start += len;
    }
    out
}

/// Workgroup grid for `invocations` invocations of a `group_size` kernel: x up to the
/// per-dimension limit, then y, then z. The shaders linearise (z, y, x) and bounds-check, so
/// the few surplus invocations of the last row do nothing. None if even x*y*z cannot hold it.
pub fn dispatch(invocations: u64, group_size: u32, max_per_dim: u32) -> Option<[u32; 3]> {
    let groups = invocations.div_ceil(u64::from(group_size.max(1))).max(1);
    let m = u64::from(max_per_dim.max(1));
    // Every value below is <= m, a u32.
    let d = |v: u64| u32::try_from(v).ok();
    if groups <= m {
        return Some([d(groups)?, 1, 1]);
    }
    let y = groups.div_ceil(m);
    if y <= m {
        return Some([d(m)?, d(y)?, 1]);
    }
    let z = y.div_ceil(m);
    if z <= m {
        return Some([d(m)?, d(m)?, d(z)?]);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: DeviceLimits = DeviceLimits {
        max_binding: 128 << 20,
        max_buffer: 256 << 20,
        max_groups_per_dim: 65_535,
    };

    #[test]
    fn dispatch_covers_every_invocation_and_splits_above_65535() {
        assert_eq!(dispatch(1, 256, 65_535), Some([1, 1, 1]));
        assert_eq!(dispatch(256, 256, 65_535), Some([1, 1, 1]));
        assert_eq!(dispatch(257, 256, 65_535), Some([2, 1, 1]));
        assert_eq!(
            dispatch(0, 256, 65_535),
            Some([1, 1, 1]),
            "never a zero grid"
        );
        let n = 65_535u64 * 256 + 1;
        assert_eq!(dispatch(n, 256, 65_535), Some([65_535, 2, 1]));
        for inv in [1u64, 1000, 16_776_960, 16_776_961, 5_000_000_000, 1 << 40] {
            let [x, y, z] = dispatch(inv, 256, 65_535).unwrap();
            let cap = u64::from(x) * u64::from(y) * u64::from(z) * 256;
            assert!(cap >= inv, "{inv}");
            // Not wasteful: less than one row of x workgroups left over.
            assert!(cap - inv < u64::from(x) * u64::from(y) * 256, "{inv}");
            assert!(x <= 65_535 && y <= 65_535 && z <= 65_535);
        }
        assert_eq!(dispatch(u64::MAX, 256, 65_535), None);
        // A small per-dimension limit exercises the z split.
        assert_eq!(dispatch(1000, 1, 10), Some([10, 10, 10]));
        assert_eq!(dispatch(1001, 1, 10), None);
    }

    #[test]
    fn per_batch_takes_the_tightest_limit() {
        // forum chain: npts 120000 -> nfft 240000; 2 real f32 + 3 complex buffers per trace.
        let fp = Footprint {
            per_trace: 2 * 120_000 * 4 + 3 * 240_000 * 8,
            largest: 240_000 * 8,
            largest_elements: 240_000,
            fixed: 0,
            table: 240_000 * 8,
            parts: false,
        };
        // Budget: 1 GiB / 6.72 MB = 159 traces on a device that binds 2 GiB.
        let big = DeviceLimits {
            max_binding: 2 << 30,
            max_buffer: 2 << 30,
            max_groups_per_dim: 65_535,
        };
        assert_eq!(traces_per_batch(&fp, &big, 1 << 30), Ok(159));
        // Binding: 128 MiB / 1.92 MB = 69 traces, tighter than a 4 GiB budget.
        assert_eq!(traces_per_batch(&fp, &LIMITS, 4 << 30), Ok(69));
        // The fixed part (response tables) comes off the budget first.
        let with_fixed = Footprint {
            fixed: (1 << 30) - 10 * fp.per_trace,
            ..fp
        };
        assert_eq!(traces_per_batch(&with_fixed, &big, 1 << 30), Ok(10));
        // u32 element indices: 2^32 / 240000 = 17895 traces even with unlimited memory.
        let huge = DeviceLimits {
            max_binding: u64::MAX,
            max_buffer: u64::MAX,
            max_groups_per_dim: 65_535,
        };
        assert_eq!(traces_per_batch(&fp, &huge, u64::MAX), Ok(17_895));
    }

    #[test]
    fn impossible_budgets_are_errors_not_zero_batches() {
        let fp = Footprint {
            per_trace: 1000,
            largest: 600,
            largest_elements: 150,
            fixed: 100,
            table: 0,
            parts: false,
        };
        assert_eq!(
            traces_per_batch(&fp, &LIMITS, 1099),
            Err(LayoutError::OverBudget {
                need: 1000,
                have: 999
            })
        );
        assert_eq!(traces_per_batch(&fp, &LIMITS, 1100), Ok(1));
        let tiny = DeviceLimits {
            max_binding: 500,
            ..LIMITS
        };
        assert!(matches!(
            traces_per_batch(&fp, &tiny, 1 << 20),
            Err(LayoutError::OverBinding {
                need: 600,
                max: 500
            })
        ));
    }

    #[test]
    fn buffers_in_parts_reach_three_bindings() {
        // A 100 Hz day through f64 passes: nfft 17,280,000, 276,480,000 bytes of spectrum,
        // on a device binding 128 MiB (lavapipe); its factorised twiddles are 133 kB.
        let day = Footprint {
            per_trace: 2 * 34_560_000 + 3 * 276_480_000,
            largest: 276_480_000,
            largest_elements: 34_560_000,
            fixed: 0,
            table: 133_024,
            parts: true,
        };
        let lavapipe = DeviceLimits {
            max_binding: 128 << 20,
            max_buffer: u64::MAX,
            max_groups_per_dim: 65_535,
        };
        assert_eq!(largest_allowed(&lavapipe, DATA_PARTS), 3 * (128 << 20));
        assert_eq!(traces_per_batch(&day, &lavapipe, 4 << 30), Ok(1));
        // Without parts the same trace is over the binding, naming the largest buffer.
        let whole = Footprint {
            parts: false,
            ..day
        };
        assert_eq!(
            traces_per_batch(&whole, &lavapipe, 4 << 30),
            Err(LayoutError::OverBinding {
                need: 276_480_000,
                max: 128 << 20
            })
        );
        // Past three bindings of spectrum, or two of table, is refused too.
        let nfft_2_25 = Footprint {
            largest: (1 << 25) * 16,
            ..day
        };
        assert!(traces_per_batch(&nfft_2_25, &lavapipe, 8 << 30).is_err());
        let huge_table = Footprint {
            table: 2 * (128 << 20) + 1,
            ..day
        };
        assert!(traces_per_batch(&huge_table, &lavapipe, 4 << 30).is_err());
        // The parts stay aligned where the limit is not.
        let odd = DeviceLimits {
            max_binding: 1000,
            max_buffer: 1000,
            max_groups_per_dim: 65_535,
        };
        assert_eq!(part_bytes(1000), 768);
        assert_eq!(largest_allowed(&odd, 3), 2536);
        assert_eq!(largest_allowed(&odd, 1), 1000);
    }

    #[test]
    fn batches_are_even_and_cover_everything_once() {
        assert!(batches(0, 10).is_empty());
        assert_eq!(batches(1000, 600), vec![0..500, 500..1000]);
        assert_eq!(batches(7, 3), vec![0..3, 3..5, 5..7]);
        assert_eq!(batches(5, 0), vec![0..1, 1..2, 2..3, 3..4, 4..5]);
        for (n, per) in [(1usize, 1usize), (10, 10), (11, 10), (12345, 678)] {
            let b = batches(n, per);
            assert_eq!(b.first().unwrap().start, 0);
            assert_eq!(b.last().unwrap().end, n);
            assert!(b.windows(2).all(|w| w[0].end == w[1].start));
            assert!(b.iter().all(|r| r.len() <= per && !r.is_empty()));
            let (lo, hi) = (
                b.iter().map(|r| r.len()).min().unwrap(),
                b.iter().map(|r| r.len()).max().unwrap(),
            );
            assert!(hi - lo <= 1);
        }
    }
}
