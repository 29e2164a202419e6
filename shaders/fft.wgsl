// fft: batched complex FFTs of any length, as numpy computes them (forward unnormalised; the
// inverse's 1/N is a scale on fft_unpack). CPU twin: src/ops/fft.rs (rfft/irfft via realfft);
// the plan (radix passes, Bluestein tables) is data built in src/plan/fft.rs and recorded by src/gpu/record/fft.rs.
//
// 2/3/5-smooth lengths (every nfft remove_response uses) run as Stockham autosort passes of
// radix 16, 8, 4, 2 and 25, 9, 15, 3, 5 (fft_pass, ping-pong buffers, no bit reversal). Each
// pass reads and writes the whole batch once, and on a GPU the FFT is bound by that traffic:
// remove_response's 240,000 = 2^7 3 5^4 takes 5 passes where radices 2-5 took 9. Other lengths (resample
// uses the trace's own npts) run Bluestein's chirp-z: fft_cmul with the chirp, a smooth FFT
// of length M >= 2N-1, fft_cmul with the chirp filter's spectrum, the inverse, fft_cmul again.
// Twiddles and chirps are computed in f64 on the host (exact n^2 mod 2N) and stored as f32:
// GPU sin/cos are not accurate enough at large arguments.
//
// Entry points, workgroup size 256, one invocation per output element:
//   fft_pack   src_r (f32 [count x n_in]) -> dst (vec2 [count x n_out]), zero-padded
//   fft_pass   src (vec2 [count x n]) -> dst, one radix pass; table = twiddles W_N^k, k < N
//   fft_cmul   src (vec2 [count x n_in]) -> dst (vec2 [count x n_out]):
//              dst[k] = k < lim ? src[k] * table[k] * scale : 0
//   fft_unpack src (vec2 [count x n_in]) -> dst_r (f32 [count x n_out]): real part * scale
// bindings: 0 params (uniform FftParams), 1 src, 2 dst, 3 table (vec2, read), 4 src_r, 5 dst_r
// (each entry point uses its own subset; the host builds the layout per entry point).

struct FftParams { // keep in sync with gpu::kernels::FftParams
    n_in: u32,    // elements per trace in src (fft_pass: the FFT length N)
    n_out: u32,   // elements per trace in dst
    count: u32,   // traces in the batch
    ns: u32,      // fft_pass: product of the radices already applied
    radix: u32,   // fft_pass: 2, 3, 4, 5, 8, 9, 15, 16 or 25
    inverse: u32, // fft_pass: 1 = conjugate twiddles and roots (exp(+2 pi i k/N))
    lim: u32,     // fft_cmul: elements taken from src, the rest are zero
    scale: f32,   // fft_cmul, fft_unpack
}

@group(0) @binding(0) var<uniform> p: FftParams;
@group(0) @binding(1) var<storage, read> src: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> table: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read> src_r: array<f32>;
@group(0) @binding(5) var<storage, read_write> dst_r: array<f32>;

fn cmul(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}

@compute @workgroup_size(256)
fn fft_pack(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let g = invocation_index(wid, nwg, lid, 256u);
    if g >= p.n_out * p.count {
        return;
    }
    let b = g / p.n_out;
    let k = g - b * p.n_out;
    var v = vec2<f32>(0.0, 0.0);
    if k < p.n_in {
        v.x = src_r[b * p.n_in + k];
    }
    dst[g] = v;
}

// exp(-2 pi i q / R) for R in {2, 3, 4, 5}, q < R, f64-rounded constants.
fn root(radix: u32, q: u32) -> vec2<f32> {
    if radix == 2u {
        return select(vec2<f32>(1.0, 0.0), vec2<f32>(-1.0, 0.0), q == 1u);
    }
    if radix == 4u {
        switch q {
            case 0u: { return vec2<f32>(1.0, 0.0); }
            case 1u: { return vec2<f32>(0.0, -1.0); }
            case 2u: { return vec2<f32>(-1.0, 0.0); }
            default: { return vec2<f32>(0.0, 1.0); }
        }
    }
    if radix == 3u {
        switch q {
            case 0u: { return vec2<f32>(1.0, 0.0); }
            case 1u: { return vec2<f32>(-0.5, -0.8660254037844386); }
            default: { return vec2<f32>(-0.5, 0.8660254037844386); }
        }
    }
    switch q {
        case 0u: { return vec2<f32>(1.0, 0.0); }
        case 1u: { return vec2<f32>(0.30901699437494745, -0.9510565162951535); }
        case 2u: { return vec2<f32>(-0.8090169943749475, -0.5877852522924731); }
        case 3u: { return vec2<f32>(-0.8090169943749475, 0.5877852522924731); }
        default: { return vec2<f32>(0.30901699437494745, 0.9510565162951535); }
    }
}

// One Stockham pass (Govindaraju et al. 2008): invocation j < N/R of each trace reads R
// inputs N/R apart, twiddles them by W_N^{(j mod Ns) r N/(Ns R)}, does a radix-R DFT and
// writes R outputs Ns apart at (j / Ns) Ns R + j mod Ns.
@compute @workgroup_size(256)
fn fft_pass(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let n = p.n_in;
    let r_n = p.radix;
    let m = n / r_n;
    let g = invocation_index(wid, nwg, lid, 256u);
    if g >= m * p.count {
        return;
    }
    let b = g / m;
    let j = g - b * m;
    let base = b * n;
    let jm = j % p.ns;
    let step = jm * (n / (p.ns * r_n));
    var v: array<vec2<f32>, 25>;
    for (var r = 0u; r < r_n; r++) {
        var w = table[step * r];
        if p.inverse == 1u {
            w.y = -w.y;
        }
        v[r] = cmul(src[base + j + r * m], w);
    }
    let out = base + (j / p.ns) * p.ns * r_n + jm;
    for (var q = 0u; q < r_n; q++) {
        var acc = v[0];
        for (var r = 1u; r < r_n; r++) {
            // Roots of the larger radices are twiddles: W_R^k = W_N^{k N/R} (R divides N).
            var w: vec2<f32>;
            if r_n <= 5u {
                w = root(r_n, (r * q) % r_n);
            } else {
                w = table[((r * q) % r_n) * m];
            }
            if p.inverse == 1u {
                w.y = -w.y;
            }
            acc += cmul(v[r], w);
        }
        dst[out + q * p.ns] = acc;
    }
}

@compute @workgroup_size(256)
fn fft_cmul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let g = invocation_index(wid, nwg, lid, 256u);
    if g >= p.n_out * p.count {
        return;
    }
    let b = g / p.n_out;
    let k = g - b * p.n_out;
    var v = vec2<f32>(0.0, 0.0);
    if k < p.lim {
        v = cmul(src[b * p.n_in + k], table[k]) * p.scale;
    }
    dst[g] = v;
}

@compute @workgroup_size(256)
fn fft_unpack(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let g = invocation_index(wid, nwg, lid, 256u);
    if g >= p.n_out * p.count {
        return;
    }
    let b = g / p.n_out;
    let k = g - b * p.n_out;
    dst_r[g] = src[b * p.n_in + k].x * p.scale;
}
