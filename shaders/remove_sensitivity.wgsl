// remove_sensitivity: ObsPy Trace.remove_sensitivity on a batch: each trace times its own
// 1 / InstrumentSensitivity value (computed in f64 on the host, src/response/cache.rs
// sensitivity_table, and kept as a one-bin table in the response pool). CPU twin:
// src/ops/remove_sensitivity.rs.
//
// bindings: 0 params (uniform SensitivityParams), 1 data (storage rw, f32 [count x n]),
//           2 tables (storage read, vec2 [slots]: .x = 1 / value), 3 slot (storage read, u32 [count])
// workgroup size 256, one invocation per sample.

struct SensitivityParams { // keep in sync with gpu::stages::remove_sensitivity::SensitivityParams
    n: u32,
    count: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: SensitivityParams;
@group(0) @binding(1) var<storage, read_write> data: array<f32>;
@group(0) @binding(2) var<storage, read> tables: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> slot: array<u32>;

@compute @workgroup_size(256)
fn remove_sensitivity(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                      @builtin(local_invocation_index) lid: u32) {
    let g = invocation_index(wid, nwg, lid, 256u);
    if g >= p.n * p.count {
        return;
    }
    data[g] = data[g] * tables[slot[g / p.n]].x;
}
