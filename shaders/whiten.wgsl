// whiten: NoisePy's spectral whitening of a channel's windows on the device (issue #27), the
// twin of src/ops/noise/whiten.rs, reading the forward FFT's output: one invocation per
// (window, bin < n2), the bins NoisePy keeps: `kind` 0 the plain bin (freq_norm "no"); 1
// zero outside [ix00, ix11), inside it the bin over the running mean of |spec| over `points`
// bins of the band (edges repeated, NoisePy's moving_ave), or the phase alone where points
// <= 1, then the cosine-squared tapers from ix00 (nlo bins) and from ix1 (nhi bins) -> out
// at row base + window, n2 bins a row: the channel's resident spectra for the pairs
// (shaders/correlate.wgsl reads them).
// bindings: 0 params (uniform SpecParams), 3 spec (vec2 [count x nfft]), 4 tapers (f32),
// 5 out (vec2).

// (shaders/time_norm.wgsl has the same struct, commented.)
struct SpecParams { // keep in sync with gpu::kernels::SpecParams
    len: u32,
    nfft: u32,
    n2: u32,
    count: u32,
    base: u32,
    kind: u32,
    points: u32,
    ix00: u32,
    ix1: u32,
    ix11: u32,
    nlo: u32,
    nhi: u32,
}

@group(0) @binding(0) var<uniform> p: SpecParams;
@group(0) @binding(3) var<storage, read> spec: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read> tapers: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<vec2<f32>>;

@compute @workgroup_size(256)
fn whiten(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
    let idx = invocation_index(wid, nwg, lid, 256u);
    if (idx >= p.count * p.n2) {
        return;
    }
    let row = idx / p.n2;
    let b = idx % p.n2;
    let at = row * p.nfft;
    var v = spec[at + b];
    if (p.kind == 1u) {
        if (b < p.ix00 || b >= p.ix11) {
            v = vec2<f32>(0.0, 0.0);
        } else {
            if (p.points <= 1u) {
                // from_polar(1, arg): a zero bin has angle 0.
                let r = length(v);
                if (r == 0.0) {
                    v = vec2<f32>(1.0, 0.0);
                } else {
                    v = v / r;
                }
            } else {
                let last = i32(p.ix11 - p.ix00) - 1;
                let rel = i32(b - p.ix00);
                let h = i32((p.points - 1u) / 2u);
                let w = 1.0 / f32(p.points);
                var m = 0.0;
                for (var j = 0; j < i32(p.points); j = j + 1) {
                    let k = clamp(rel + h - j, 0, last);
                    m = m + length(spec[at + p.ix00 + u32(k)]) * w;
                }
                v = v / m;
            }
            if (b - p.ix00 < p.nlo) {
                v = v * tapers[b - p.ix00];
            }
            if (b >= p.ix1 && b - p.ix1 < p.nhi) {
                v = v * tapers[p.nlo + b - p.ix1];
            }
        }
    }
    out[(p.base + row) * p.n2 + b] = v;
}
