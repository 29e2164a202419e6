// detrend: ObsPy Trace.detrend("demean" | "linear" | "simple"), one batch of traces.
// CPU twin: src/ops/detrend.rs. Host side: src/stages/detrend.rs (DetrendParams).
//
// bindings: 0 params (uniform DetrendParams), 1 data (storage rw, f32 [count x n]),
//           2 fit (storage rw, vec2<f32> [count]: the line c + slope * (i - t0) removed)
// workgroup size 256.
//   detrend_fit:   one workgroup per trace, tree reduction of sum(x) and sum((i - tm) x)
//   detrend_apply: one invocation per sample, subtracts the fitted line
// A detrend that opens a device run is not recorded at all: the upload removes it in f64
// (an f32 fit over 2^21 raw samples put the line off by 1.5e-5; issue #23). Later in a run
// the samples are already near zero, and this f32 fit stays within 1e-6 up to 2^21 samples.

struct DetrendParams { // keep in sync with gpu::stages::detrend::DetrendParams
    n: u32,
    count: u32,
    kind: u32, // 0 demean, 1 linear, 2 simple (as pipeline::DetrendType)
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: DetrendParams;
@group(0) @binding(1) var<storage, read_write> data: array<f32>;
@group(0) @binding(2) var<storage, read_write> fit: array<vec2<f32>>;

var<workgroup> s0: array<f32, 256>;
var<workgroup> s1: array<f32, 256>;

@compute @workgroup_size(256)
fn detrend_fit(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let b = group_index(wid, nwg);
    // Uniform control flow: every invocation of a workgroup sees the same b.
    let live = b < p.count;
    let base = b * p.n;
    // Centre the index at tm so sum(t x) does not carry n^2 * mean, which f32 cannot hold.
    let tm = (f32(p.n) - 1.0) * 0.5;
    var a0 = 0.0;
    var a1 = 0.0;
    if live {
        for (var i = lid; i < p.n; i += 256u) {
            let v = data[base + i];
            a0 += v;
            a1 += (f32(i) - tm) * v;
        }
    }
    s0[lid] = a0;
    s1[lid] = a1;
    workgroupBarrier();
    for (var w = 128u; w > 0u; w >>= 1u) {
        if lid < w {
            s0[lid] += s0[lid + w];
            s1[lid] += s1[lid + w];
        }
        workgroupBarrier();
    }
    if lid == 0u && live {
        let nf = f32(p.n);
        let mean = s0[0] / nf;
        if p.kind == 0u {
            fit[b] = vec2<f32>(mean, 0.0);
        } else if p.kind == 1u {
            // sum((i - tm)^2) = n (n^2 - 1) / 12, exactly the sxx of the CPU twin.
            let sxx = nf * (nf * nf - 1.0) / 12.0;
            var slope = 0.0;
            if sxx > 0.0 {
                slope = s1[0] / sxx;
            }
            fit[b] = vec2<f32>(mean, slope);
        } else {
            let x0 = data[base];
            let slope = (data[base + p.n - 1u] - x0) / (nf - 1.0);
            fit[b] = vec2<f32>(x0, slope);
        }
    }
}

@compute @workgroup_size(256)
fn detrend_apply(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
    let g = group_index(wid, nwg) * 256u + lid;
    if g >= p.n * p.count {
        return;
    }
    let b = g / p.n;
    let i = g - b * p.n;
    let f = fit[b];
    var t0 = (f32(p.n) - 1.0) * 0.5; // linear: the line passes through (tm, mean)
    if p.kind == 2u {
        t0 = 0.0; // simple: through (0, x0)
    }
    data[g] = data[g] - (f.x + f.y * (f32(i) - t0));
}
