// time_norm: NoisePy's time-domain normalisation of a channel's kept windows on the device
// (issue #27), the twin of src/ops/noise/time_norm.rs, writing the forward FFT's input: one
// invocation per (window, point < nfft) of the batch: the window's sample normalised
// (`kind` 0 no, 1 one_bit: the sign, 0 and NaN kept; 2 rma: divided by the running mean of
// |x| over `points` samples, NoisePy's moving_ave with its edges repeated), zero past `len`
// (numpy's fft(x, nfft) pads), as vec2 (re, 0) at dst[row * nfft + i].
// bindings: 0 params (uniform SpecParams), 1 win (f32 [count x len]), 2 dst (vec2).

// (shaders/whiten.wgsl has the same struct.)
struct SpecParams { // keep in sync with gpu::kernels::SpecParams
    len: u32,    // samples a window
    nfft: u32,   // transform length
    n2: u32,     // bins kept (nfft / 2)
    count: u32,  // windows in the batch
    base: u32,   // whiten: the batch's first row in out
    kind: u32,   // time_norm: 0 no, 1 one_bit, 2 rma; whiten: 0 plain bins, 1 whiten
    points: u32, // smooth_N (time_norm) or smoothspect_N (whiten; <= 1: the phase alone)
    ix00: u32,   // whiten: the band's first bin (tapers included)
    ix1: u32,    // whiten: the band's last bin before its upper taper
    ix11: u32,   // whiten: one past the band's upper taper
    nlo: u32,    // whiten: lower taper's bins (tapers[0 .. nlo])
    nhi: u32,    // whiten: upper taper's bins (tapers[nlo .. nlo + nhi])
}

@group(0) @binding(0) var<uniform> p: SpecParams;
@group(0) @binding(1) var<storage, read> win: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec2<f32>>;

@compute @workgroup_size(256)
fn time_norm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
    let idx = invocation_index(wid, nwg, lid, 256u);
    if (idx >= p.count * p.nfft) {
        return;
    }
    let row = idx / p.nfft;
    let i = idx % p.nfft;
    var v = 0.0;
    if (i < p.len) {
        let at = row * p.len;
        v = win[at + i];
        if (p.kind == 1u) {
            // numpy's sign: 0 stays 0 (and NaN stays NaN).
            if (v > 0.0) {
                v = 1.0;
            } else if (v < 0.0) {
                v = -1.0;
            }
        } else if (p.kind == 2u && p.points > 1u) {
            // moving_ave: point i averages i + h - j for j < points, clamped to the window
            // (NoisePy's N copies of the first and last value), each term times 1 / points.
            let h = i32((p.points - 1u) / 2u);
            let w = 1.0 / f32(p.points);
            var m = 0.0;
            for (var j = 0; j < i32(p.points); j = j + 1) {
                let k = clamp(i32(i) + h - j, 0, i32(p.len) - 1);
                m = m + abs(win[at + u32(k)]) * w;
            }
            v = v / m;
        }
    }
    dst[idx] = vec2<f32>(v, 0.0);
}
