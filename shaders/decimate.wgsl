// decimate: keeps every factor-th sample (ObsPy Trace.decimate after its optional
// lowpass_cheby_2, which runs as a filter.wgsl stage before this one).
// CPU twin: src/ops/decimate.rs.
//
// bindings: 0 params (uniform DecimateParams), 1 src (storage read, f32 [count x n_in]),
//           2 dst (storage rw, f32 [count x n_out])
// workgroup size 256, one invocation per output sample.

struct DecimateParams { // keep in sync with gpu::stages::decimate::DecimateParams
    n_in: u32,
    n_out: u32,
    count: u32,
    factor: u32,
}

@group(0) @binding(0) var<uniform> p: DecimateParams;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(256)
fn decimate(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let g = invocation_index(wid, nwg, lid, 256u);
    if g >= p.n_out * p.count {
        return;
    }
    let b = g / p.n_out;
    let j = g - b * p.n_out;
    dst[g] = src[b * p.n_in + j * p.factor];
}
