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
//   fft_pass   src (vec2 [count x n]) -> dst, one radix pass; table = the twiddles W_N^k, k < N,
//              factorised (gpu::fft_plan::roots: ~2 sqrt(N) values)
//   fft_cmul   src (vec2 [count x n_in]) -> dst (vec2 [count x n_out]):
//              dst[k] = k < lim ? src[k] * table[k] * scale : 0
//   fft_unpack src (vec2 [count x n_in]) -> dst_r (f32 [count x n_out]): real part * scale
// bindings: 0 params (uniform FftParams), 1 src, 2 dst, 3 table (vec2, read), 4 src_r, 5 dst_r,
// 9 src1, 17 src2, 10 dst1, 18 dst2, 11 table1 (the parts of 1-3 above the binding limit),
// 31 parts (uniform Parts)
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
    roots: u32,   // fft_pass: row length B of the factorised twiddles in table
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: FftParams;
@group(0) @binding(1) var<storage, read> src: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> table: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read> src_r: array<f32>;
@group(0) @binding(5) var<storage, read_write> dst_r: array<f32>;

// Buffers above the device's binding limit come in parts (as shaders/fft64.wgsl): element i of
// src/dst is in part i / len (src, src1, src2) at i mod len, and of table in table or table1;
// a whole buffer has its length past every index and 16-byte stand-ins as the other parts
// (gpu::record::PART_STRIDE, gpu::runner).
struct Parts { // keep in sync with gpu::kernels::PartStarts
    data: u32,  // length of a part of src/dst, in elements
    table: u32, // length of a part of table, in elements
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(9) var<storage, read> src1: array<vec2<f32>>;
@group(0) @binding(17) var<storage, read> src2: array<vec2<f32>>;
@group(0) @binding(10) var<storage, read_write> dst1: array<vec2<f32>>;
@group(0) @binding(18) var<storage, read_write> dst2: array<vec2<f32>>;
@group(0) @binding(11) var<storage, read> table1: array<vec2<f32>>;
@group(0) @binding(31) var<uniform> h: Parts;

fn ld_src(i: u32) -> vec2<f32> {
    let s = h.data;
    if i < s {
        return src[i];
    }
    if i - s < s {
        return src1[i - s];
    }
    return src2[i - 2u * s];
}

fn st_dst(i: u32, v: vec2<f32>) {
    let s = h.data;
    if i < s {
        dst[i] = v;
    } else if i - s < s {
        dst1[i - s] = v;
    } else {
        dst2[i - 2u * s] = v;
    }
}

fn ld_table(i: u32) -> vec2<f32> {
    let s = h.table;
    if i < s {
        return table[i];
    }
    return table1[i - s];
}

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
    st_dst(g, v);
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

// W_N^k from the factorised table (gpu::fft_plan::roots): W_N^(B floor(k/B)) at B + k/B times
// W_N^(k mod B) at k mod B.
fn twiddle(k: u32) -> vec2<f32> {
    let a = k / p.roots;
    return cmul(ld_table(p.roots + a), ld_table(k - a * p.roots));
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
        var w = twiddle(step * r);
        if p.inverse == 1u {
            w.y = -w.y;
        }
        v[r] = cmul(ld_src(base + j + r * m), w);
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
                w = twiddle(((r * q) % r_n) * m);
            }
            if p.inverse == 1u {
                w.y = -w.y;
            }
            acc += cmul(v[r], w);
        }
        st_dst(out + q * p.ns, acc);
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
        v = cmul(ld_src(b * p.n_in + k), ld_table(k)) * p.scale;
    }
    st_dst(g, v);
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
    dst_r[g] = ld_src(b * p.n_in + k).x * p.scale;
}
