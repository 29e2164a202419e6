// taper: multiplies every trace of a batch by one window of n samples. The window (ObsPy's
// Trace.taper, or remove_response's cosine taper) is computed in f64 by the CPU twin
// src/ops/taper.rs and uploaded: the traces of a batch share n, so they share the window.
//
// bindings: 0 params (uniform TaperParams), 1 data (storage rw, f32 [count x n]),
//           2 window (storage read, f32 [n])
// workgroup size 256, one invocation per sample.

struct TaperParams { // keep in sync with gpu::stages::taper::TaperParams
    n: u32,
    count: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: TaperParams;
@group(0) @binding(1) var<storage, read_write> data: array<f32>;
@group(0) @binding(2) var<storage, read> window: array<f32>;

@compute @workgroup_size(256)
fn taper(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) lid: u32) {
    let g = invocation_index(wid, nwg, lid, 256u);
    if g >= p.n * p.count {
        return;
    }
    data[g] = data[g] * window[g % p.n];
}
