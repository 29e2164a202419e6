// normalize: ObsPy Trace.normalize(norm) on a batch: divide by |norm|, or by the trace's
// largest |sample| (ObsPy's |Trace.max()|); a divisor of 0 leaves the trace unchanged.
// CPU twin: src/ops/normalize.rs. Host side: src/stages/normalize.rs (NormalizeParams).
//
// bindings: 0 params (uniform NormalizeParams), 1 data (storage rw, f32 [count x n]),
//           2 peak (storage rw, vec2<f32> [count]: .x the trace's largest |sample|)
// workgroup size 256.
//   normalize_peak:  one workgroup per trace, max-reduction (only without a given norm)
//   normalize_apply: one invocation per sample

struct NormalizeParams { // keep in sync with gpu::stages::normalize::NormalizeParams
    n: u32,
    count: u32,
    given: u32,   // 1: divide by `divisor`; 0: by peak[b].x
    divisor: f32, // |norm|
}

@group(0) @binding(0) var<uniform> p: NormalizeParams;
@group(0) @binding(1) var<storage, read_write> data: array<f32>;
@group(0) @binding(2) var<storage, read_write> peak: array<vec2<f32>>;

var<workgroup> m: array<f32, 256>;

@compute @workgroup_size(256)
fn normalize_peak(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
    let b = group_index(wid, nwg);
    // Uniform control flow: every invocation of a workgroup sees the same b.
    let live = b < p.count;
    var a = 0.0;
    if live {
        for (var i = lid; i < p.n; i += 256u) {
            a = max(a, abs(data[b * p.n + i]));
        }
    }
    m[lid] = a;
    workgroupBarrier();
    for (var w = 128u; w > 0u; w >>= 1u) {
        if lid < w {
            m[lid] = max(m[lid], m[lid + w]);
        }
        workgroupBarrier();
    }
    if lid == 0u && live {
        peak[b] = vec2<f32>(m[0], 0.0);
    }
}

@compute @workgroup_size(256)
fn normalize_apply(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
    let g = invocation_index(wid, nwg, lid, 256u);
    if g >= p.n * p.count {
        return;
    }
    var d = p.divisor;
    if p.given == 0u {
        d = peak[g / p.n].x;
    }
    if d != 0.0 {
        data[g] = data[g] / d;
    }
}
