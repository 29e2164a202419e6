// integrate: ObsPy Trace.integrate("cumtrapz") (scipy's cumulative_trapezoid, initial 0) on a
// batch: y[0] = 0, y[i] = dx sum_{j=1..i} (x[j-1] + x[j]) / 2, a scan per trace.
// CPU twin: src/ops/integrate.rs. Host side: src/stages/integrate.rs (IntegrateParams).
//
// bindings: 0 params (uniform IntegrateParams), 1 src (storage read, f32 [count x n]),
//           2 dst (storage rw, f32 [count x n])
// workgroup size 256, one workgroup per trace: each invocation sums the trapezoids of its
// contiguous chunk, a workgroup scan of the 256 chunk sums gives each chunk its offset, then
// each invocation writes its chunk's running sum, scaled by dx once at the end.
//
// The sums are f64 (SHADER_F64; adapters without it run integrate on the CPU path): a
// running f32 sum of 2^21 samples lost 2e-4 of the result (issue #23), and f32 compensated
// sums (two-sum) are simplified away by shader compilers that may reassociate, which WGSL
// cannot forbid. Samples stay f32 in memory; each is widened once.

struct IntegrateParams { // keep in sync with gpu::stages::integrate::IntegrateParams
    n: u32,
    count: u32,
    dx: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: IntegrateParams;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

var<workgroup> sums: array<f64, 256>;

// The trapezoid ending at sample j of the trace at `base` (0 for j = 0), times 2.
fn trap2(base: u32, j: u32) -> f64 {
    if j == 0u {
        return f64(0.0);
    }
    return f64(src[base + j - 1u]) + f64(src[base + j]);
}

@compute @workgroup_size(256)
fn integrate(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
    let b = group_index(wid, nwg);
    // Uniform control flow: every invocation of a workgroup sees the same b.
    let live = b < p.count;
    let base = b * p.n;
    let chunk = (p.n + 255u) / 256u;
    let lo = min(lid * chunk, p.n);
    let hi = min(lo + chunk, p.n);
    var s = f64(0.0);
    if live {
        for (var j = lo; j < hi; j++) {
            s += trap2(base, j);
        }
    }
    sums[lid] = s;
    workgroupBarrier();
    // Inclusive Hillis-Steele scan of the chunk sums.
    for (var w = 1u; w < 256u; w <<= 1u) {
        var add = f64(0.0);
        if lid >= w {
            add = sums[lid - w];
        }
        workgroupBarrier();
        sums[lid] += add;
        workgroupBarrier();
    }
    if live {
        let half_dx = f64(p.dx) * f64(0.5);
        var acc = sums[lid] - s; // what the chunks before this one sum to
        for (var j = lo; j < hi; j++) {
            acc += trap2(base, j);
            dst[base + j] = f32(acc * half_dx);
        }
    }
}
