// correlate: ambient-noise cross-correlation of station pairs in batches (issue #27), the
// device twin of src/ops/noise/correlate.rs for cc_method xcorr averaged over a chunk's
// windows (NoisePy's `correlate` with substack false). The host keeps each channel's kept
// windows' spectra (nfft/2 bins each, vec2) in one buffer per channel, on the device for the
// whole chunk; a pair binds its two channels and the list of windows both kept.
//
// Entry points (one dispatch per pair; src and rcv are the pair's two channels):
//   correlate_peaks     one workgroup of 64 per common window w: over the bins k < n2 of
//                prod = conj(src[ws, k]) rcv[wr, k], the largest in numpy's complex order
//                (real part, then imaginary) and the sum -> peaks[base + w] = (max, sum):
//                the host applies NoisePy's rejection (20 x the median peak) and the mean bin.
//   correlate_spectrum  one invocation per bin k <= nfft/2: the kept windows' mean product less the
//                mean bin (k < n2; 0 above), written with its conjugate mirror at nfft - k
//                into the pair's row of dst: the Hermitian spectrum whose inverse FFT is
//                NoisePy's irfft (the transform's first pass reads it as written).
//   correlate_cut       one invocation per kept lag: ifftshift and the +-maxlag cut of the inverse
//                transform's real part, times 1/nfft -> out (f32 [count x nlags]).
// bindings: 0 params (uniform CcParams), 1 src, 2 rcv, 3 windows (u32 pairs: the window's
// slot in src and in rcv), 4 peaks (vec4), 5 dst / 6 cut input (vec2), 7 out (f32).

struct CcParams { // keep in sync with gpu::kernels::CcParams
    n2: u32,       // bins per window (nfft / 2)
    nfft: u32,     // transform length
    windows: u32,  // windows listed (correlate_peaks: common; correlate_spectrum: kept)
    base: u32,     // the pair's first slot in peaks (correlate_peaks) or row in dst (correlate_spectrum)
    mean_re: f32,  // correlate_spectrum: the mean bin of the mean product
    mean_im: f32,
    inv: f32,      // correlate_spectrum: 1 / kept windows; correlate_cut: 1 / nfft
    first: u32,    // correlate_cut: the first kept lag's index in the shifted row
    nlags: u32,    // correlate_cut: lags kept
    count: u32,    // correlate_cut: rows in the batch
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: CcParams;
@group(0) @binding(1) var<storage, read> src: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> rcv: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> windows: array<vec2<u32>>;
@group(0) @binding(4) var<storage, read_write> peaks: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> dst: array<vec2<f32>>;
@group(0) @binding(6) var<storage, read> spec: array<vec2<f32>>;
@group(0) @binding(7) var<storage, read_write> out: array<f32>;

// conj(a) b.
fn xprod(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(a.x * b.x + a.y * b.y, a.x * b.y - a.y * b.x);
}

// numpy's order: by real part, then imaginary.
fn lex_less(a: vec2<f32>, b: vec2<f32>) -> bool {
    return a.x < b.x || (a.x == b.x && a.y < b.y);
}

const PEAK_GROUP: u32 = 64u;
var<workgroup> best: array<vec2<f32>, 64>;
var<workgroup> total: array<vec2<f32>, 64>;

@compute @workgroup_size(64)
fn correlate_peaks(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let w = group_index(wid, nwg);
    // Uniform control flow for the barriers: a group past the list works on nothing.
    let live = w < p.windows;
    var m = vec2<f32>(-3.0e38, -3.0e38);
    var s = vec2<f32>(0.0, 0.0);
    var seen = false;
    if (live) {
        let slots = windows[w];
        let a0 = slots.x * p.n2;
        let b0 = slots.y * p.n2;
        for (var k = lid; k < p.n2; k = k + PEAK_GROUP) {
            let v = xprod(src[a0 + k], rcv[b0 + k]);
            if (!seen || lex_less(m, v)) {
                m = v;
                seen = true;
            }
            s = s + v;
        }
    }
    best[lid] = m;
    total[lid] = s;
    workgroupBarrier();
    for (var half = PEAK_GROUP / 2u; half > 0u; half = half / 2u) {
        if (lid < half) {
            if (lex_less(best[lid], best[lid + half])) {
                best[lid] = best[lid + half];
            }
            total[lid] = total[lid] + total[lid + half];
        }
        workgroupBarrier();
    }
    if (live && lid == 0u) {
        peaks[p.base + w] = vec4<f32>(best[0], total[0]);
    }
}

@compute @workgroup_size(256)
fn correlate_spectrum(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let k = invocation_index(wid, nwg, lid, 256u);
    if (k > p.nfft / 2u) {
        return;
    }
    var v = vec2<f32>(0.0, 0.0);
    if (k < p.n2) {
        var acc = vec2<f32>(0.0, 0.0);
        for (var w = 0u; w < p.windows; w = w + 1u) {
            let slots = windows[w];
            acc = acc + xprod(src[slots.x * p.n2 + k], rcv[slots.y * p.n2 + k]);
        }
        v = acc * p.inv - vec2<f32>(p.mean_re, p.mean_im);
    }
    let row = p.base * p.nfft;
    dst[row + k] = v;
    let m = p.nfft - k;
    if (k > 0u && m != k && m < p.nfft) {
        dst[row + m] = vec2<f32>(v.x, -v.y);
    }
}

@compute @workgroup_size(256)
fn correlate_cut(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
    let i = invocation_index(wid, nwg, lid, 256u);
    if (i >= p.count * p.nlags) {
        return;
    }
    let row = i / p.nlags;
    let lag = i % p.nlags;
    let at = (p.first + lag + p.nfft / 2u) % p.nfft;
    out[i] = spec[row * p.nfft + at].x * p.inv;
}
