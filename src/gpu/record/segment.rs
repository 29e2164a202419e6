//! Which stages of a plan run on the device and which on their CPU twins: what the adapter
//! offers (`Caps`), why a stage cannot run there (`host_reason`), and the plan cut into runs
//! of device and host stages (`segments`).

use std::ops::Range;

use serde::Serialize;

use crate::plan::Plan;

/// Longest loop a kernel may run in one invocation (llvmpipe stops loops at 65535).
pub const MAX_LOOP: usize = 65_535;

/// What the device offers, as recording needs it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Caps {
    pub shader_f64: bool,
    pub max_groups_per_dim: u32,
    /// remove_response's transform pair through shaders/rfft.wgsl (three passes, fused) where
    /// the plan has a split for its nfft (`Runner::rfft`: the device has the 32 KiB of
    /// workgroup memory; off only to compare with the radix passes).
    pub rfft: bool,
    /// remove_response's transform pair in f64 (shaders/fft64.wgsl): on by default where
    /// the adapter has SHADER_F64 (`Runner::f64_transforms`); off keeps it in f32 (rfft or
    /// the radix passes).
    pub f64_transforms: bool,
    /// Stages forced onto the CPU twin (`--cpu-stages`), by name.
    pub cpu_stages: Vec<String>,
}

impl Caps {
    /// A nominal adapter (SHADER_F64, 65,535 workgroups per dimension): what `seisbatch
    /// plan` models without opening a device.
    pub fn nominal() -> Caps {
        Caps {
            shader_f64: true,
            max_groups_per_dim: 65_535,
            // 32 KiB of workgroup memory: every desktop Vulkan adapter (NVIDIA offers 48).
            rfft: true,
            f64_transforms: true,
            cpu_stages: Vec::new(),
        }
    }
}

/// Where a run of consecutive stages executes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segment {
    pub stages: Range<usize>,
    /// None: on the device; Some(why): through the CPU twins.
    pub host: Option<String>,
}

/// Why the device cannot run stage `i` of `plan`, if it cannot.
pub fn host_reason(plan: &Plan, i: usize, caps: &Caps) -> Option<String> {
    let at = &plan.stages[i];
    let name = at.stage.name();
    if caps.cpu_stages.iter().any(|s| s == name) {
        return Some(format!("{name} (--cpu-stages)"));
    }
    // Degenerate lengths keep ObsPy's special cases on the CPU twins; not worth kernels.
    if plan.n_in < 2 || at.n_in == 0 || at.n_out == 0 {
        return Some(format!("{name} of a {}-sample trace", at.n_in));
    }
    // detrend_fit loops n/256 times per invocation; llvmpipe caps a loop at 65535.
    if at.n_in.max(at.n_out) > MAX_LOOP * 256 {
        return Some(format!(
            "{name} of traces longer than {} samples",
            MAX_LOOP * 256
        ));
    }
    crate::gpu::stages::device_limit(&at.stage, caps)
}

/// The plan cut into runs of stages on the device and on the host, in order.
pub fn segments(plan: &Plan, caps: &Caps) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    for i in 0..plan.stages.len() {
        let host = host_reason(plan, i, caps);
        match out.last_mut() {
            Some(s) if s.host.is_some() == host.is_some() => s.stages.end = i + 1,
            _ => out.push(Segment {
                stages: i..i + 1,
                host,
            }),
        }
    }
    out
}
