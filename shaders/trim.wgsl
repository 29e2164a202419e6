// trim: ObsPy Trace.trim on a batch of traces that share one cut (the plan works it out per
// trace from ObsPy's time arithmetic, src/ops/trim.rs): out[i] = fill for the pad_before
// fills, then in[skip + i - pad_before] for `keep` samples, then fill.
// CPU twin: src/ops/trim.rs (Cut::apply).
//
// bindings: 0 params (uniform TrimParams), 1 src (storage read, f32 [count x n_in]),
//           2 dst (storage rw, f32 [count x n_out])
// workgroup size 256, one invocation per output sample.

struct TrimParams { // keep in sync with gpu::stages::trim::TrimParams
    n_in: u32,
    n_out: u32,
    count: u32,
    pad_before: u32,
    skip: u32,
    keep: u32,
    fill: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: TrimParams;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(256)
fn trim(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let g = invocation_index(wid, nwg, lid, 256u);
    if g >= p.n_out * p.count {
        return;
    }
    let b = g / p.n_out;
    let i = g - b * p.n_out;
    var v = p.fill;
    if i >= p.pad_before && i - p.pad_before < p.keep {
        v = src[b * p.n_in + p.skip + i - p.pad_before];
    }
    dst[g] = v;
}
