// differentiate: ObsPy Trace.differentiate("gradient") (numpy.gradient, edge_order 1) on a
// batch: central differences inside, one-sided at both ends (n >= 2: the plan refuses one
// sample as numpy does). CPU twin: src/ops/differentiate.rs.
//
// bindings: 0 params (uniform DifferentiateParams), 1 src (storage read, f32 [count x n]),
//           2 dst (storage rw, f32 [count x n])
// workgroup size 256, one invocation per sample.

struct DifferentiateParams { // keep in sync with gpu::stages::differentiate::DifferentiateParams
    n: u32,
    count: u32,
    dx: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: DifferentiateParams;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(256)
fn differentiate(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
    let g = invocation_index(wid, nwg, lid, 256u);
    if g >= p.n * p.count {
        return;
    }
    let b = g / p.n;
    let i = g - b * p.n;
    let base = b * p.n;
    var y: f32;
    if i == 0u {
        y = (src[base + 1u] - src[base]) / p.dx;
    } else if i == p.n - 1u {
        y = (src[g] - src[g - 1u]) / p.dx;
    } else {
        y = (src[g + 1u] - src[g - 1u]) / (2.0 * p.dx);
    }
    dst[g] = y;
}
