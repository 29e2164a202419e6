// fft64: remove_response's transform pair in f64 on adapters with SHADER_F64 (the default
// there; `SEISBATCH_GPU_FFT=rfft` or `passes` keeps it in f32). Why: the response division
// lifts the bins where the instrument is weak by up to the water level (60 dB: 1000x) over
// the spectrum's peak, while an f32 transform's error is spread over every bin at ~1e-7 of
// the input's whole norm; on an infrasound channel whose microbarom peak dominates its input
// that reached 1.04e-5 of ObsPy's result (docs/NUMERICS.md §9). In f64 the same amplification
// leaves ~1e-13. Samples stay f32 in and out (their rounding costs ~2e-7 here); everything
// between the two is f64: the spectra, twiddles and chirps (from the host's f64 tables), the
// butterflies and the response multiply (the table itself is f32: ~3e-8).
// CPU twin: src/ops/deconvolve.rs (deconvolve_in_place). The f32 kernels this mirrors, with
// the same indexing, are fft_pack/fft_pass/fft_cmul/fft_unpack in shaders/fft.wgsl and
// shaders/deconvolve.wgsl; recorded by src/gpu/record/fft.rs with `Precision::F64`.
//
// Entry points, workgroup size 256, one invocation per output element (as fft.wgsl):
//   fft64_pack        src_r (f32 [count x n_in]) -> dst (vec2<f64> [count x n_out]), padded
//   fft64_pass        src -> dst, one Stockham radix pass; table = W_N^k (f64), k < N, factorised
//   fft64_cmul        dst[k] = k < lim ? src[k] * table[k] : 0 (Bluestein's chirp steps)
//   fft64_deconvolve  dst (in place, [count x n_in], n_in = nfft) times the trace's response
//                     table; the Nyquist bin as |.| (ObsPy's `data[-1] = abs(data[-1])`)
//   fft64_unpack      the real parts of src's first n_out of n_in values, divided by n_in
//                     in f64 (the inverse transform's 1/N)
// bindings: 0 params (uniform FftParams), 1 src, 2 dst (vec2<f64>), 3 table (vec2<f64>),
// 4 src_r, 5 dst_r (f32), 6 responses (vec2<f32> [slots x (nfft/2+1)]), 7 slot (u32 [count]),
// 9 src1, 17 src2, 10 dst1, 18 dst2, 11 table1 (the parts of 1-3 above the binding limit),
// 31 parts (uniform Parts).
// A vec2<f64> is two of the f32 executor's 8-byte complex slots: the recorder sizes the
// complex work buffers twice as long.

struct FftParams { // keep in sync with gpu::kernels::FftParams
    n_in: u32,
    n_out: u32,
    count: u32,
    ns: u32,
    radix: u32,
    inverse: u32,
    lim: u32,
    scale: f32, // unused here: every scale is computed in f64 from the lengths
    roots: u32, // fft64_pass: row length B of the factorised twiddles in table
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: FftParams;
@group(0) @binding(1) var<storage, read> src: array<vec2<f64>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec2<f64>>;
@group(0) @binding(3) var<storage, read> table: array<vec2<f64>>;
@group(0) @binding(4) var<storage, read> src_r: array<f32>;
@group(0) @binding(5) var<storage, read_write> dst_r: array<f32>;
@group(0) @binding(6) var<storage, read> responses: array<vec2<f32>>;
@group(0) @binding(7) var<storage, read> slot: array<u32>;

// Buffers above the device's binding limit come in parts (issue #26: a 100 Hz day's
// 17,280,000-point spectrum is 276 MB in f64, where lavapipe binds 128 MiB): element i of
// src/dst is in part i / len (src, src1, src2) at i mod len, and of table in table or table1;
// a whole buffer has its length past every index and 16-byte stand-ins as the other parts
// (gpu::record::PART_STRIDE, gpu::runner).
struct Parts { // keep in sync with gpu::kernels::PartStarts
    data: u32,  // length of a part of src/dst, in 8-byte slots (two per vec2<f64>)
    table: u32, // length of a part of table, in 8-byte slots (two per vec2<f64>)
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(9) var<storage, read> src1: array<vec2<f64>>;
@group(0) @binding(17) var<storage, read> src2: array<vec2<f64>>;
@group(0) @binding(10) var<storage, read_write> dst1: array<vec2<f64>>;
@group(0) @binding(18) var<storage, read_write> dst2: array<vec2<f64>>;
@group(0) @binding(11) var<storage, read> table1: array<vec2<f64>>;
@group(0) @binding(31) var<uniform> h: Parts;

fn ld_src(i: u32) -> vec2<f64> {
    let s = h.data / 2u;
    if i < s {
        return src[i];
    }
    if i - s < s {
        return src1[i - s];
    }
    return src2[i - 2u * s];
}

fn ld_dst(i: u32) -> vec2<f64> {
    let s = h.data / 2u;
    if i < s {
        return dst[i];
    }
    if i - s < s {
        return dst1[i - s];
    }
    return dst2[i - 2u * s];
}

fn st_dst(i: u32, v: vec2<f64>) {
    let s = h.data / 2u;
    if i < s {
        dst[i] = v;
    } else if i - s < s {
        dst1[i - s] = v;
    } else {
        dst2[i - 2u * s] = v;
    }
}

fn ld_table(i: u32) -> vec2<f64> {
    let s = h.table / 2u;
    if i < s {
        return table[i];
    }
    return table1[i - s];
}

fn cmul(a: vec2<f64>, b: vec2<f64>) -> vec2<f64> {
    return vec2<f64>(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}

@compute @workgroup_size(256)
fn fft64_pack(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let g = invocation_index(wid, nwg, lid, 256u);
    if g >= p.n_out * p.count {
        return;
    }
    let b = g / p.n_out;
    let k = g - b * p.n_out;
    var v = vec2<f64>(0.0, 0.0);
    if k < p.n_in {
        v.x = f64(src_r[b * p.n_in + k]);
    }
    st_dst(g, v);
}

// exp(-2 pi i q / R) for R in {2, 3, 4, 5}, q < R (the literals are abstract floats: full
// f64 precision).
fn root(radix: u32, q: u32) -> vec2<f64> {
    if radix == 2u {
        return select(vec2<f64>(1.0, 0.0), vec2<f64>(-1.0, 0.0), q == 1u);
    }
    if radix == 4u {
        switch q {
            case 0u: { return vec2<f64>(1.0, 0.0); }
            case 1u: { return vec2<f64>(0.0, -1.0); }
            case 2u: { return vec2<f64>(-1.0, 0.0); }
            default: { return vec2<f64>(0.0, 1.0); }
        }
    }
    if radix == 3u {
        switch q {
            case 0u: { return vec2<f64>(1.0, 0.0); }
            case 1u: { return vec2<f64>(-0.5, -0.8660254037844386); }
            default: { return vec2<f64>(-0.5, 0.8660254037844386); }
        }
    }
    switch q {
        case 0u: { return vec2<f64>(1.0, 0.0); }
        case 1u: { return vec2<f64>(0.30901699437494745, -0.9510565162951535); }
        case 2u: { return vec2<f64>(-0.8090169943749475, -0.5877852522924731); }
        case 3u: { return vec2<f64>(-0.8090169943749475, 0.5877852522924731); }
        default: { return vec2<f64>(0.30901699437494745, 0.9510565162951535); }
    }
}

// W_N^k from the factorised table (gpu::fft_plan::roots): W_N^(B floor(k/B)) at B + k/B times
// W_N^(k mod B) at k mod B.
fn twiddle(k: u32) -> vec2<f64> {
    let a = k / p.roots;
    return cmul(ld_table(p.roots + a), ld_table(k - a * p.roots));
}

// fft.wgsl's fft_pass in f64 (same Stockham indexing).
@compute @workgroup_size(256)
fn fft64_pass(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
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
    var v: array<vec2<f64>, 25>;
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
            var w: vec2<f64>;
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
fn fft64_cmul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let g = invocation_index(wid, nwg, lid, 256u);
    if g >= p.n_out * p.count {
        return;
    }
    let b = g / p.n_out;
    let k = g - b * p.n_out;
    var v = vec2<f64>(0.0, 0.0);
    if k < p.lim {
        v = cmul(ld_src(b * p.n_in + k), ld_table(k));
    }
    st_dst(g, v);
}

// deconvolve.wgsl's multiply in f64: bins above Nyquist take the table's conjugate mirror.
@compute @workgroup_size(256)
fn fft64_deconvolve(@builtin(workgroup_id) wid: vec3<u32>,
                    @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
    let g = invocation_index(wid, nwg, lid, 256u);
    let nfft = p.n_in;
    if g >= nfft * p.count {
        return;
    }
    let b = g / nfft;
    let k = g - b * nfft;
    let half = nfft / 2u;
    let row = slot[b] * (half + 1u);
    var t: vec2<f64>;
    if k <= half {
        t = vec2<f64>(responses[row + k]);
    } else {
        t = vec2<f64>(responses[row + nfft - k]);
        t.y = -t.y;
    }
    var y = cmul(ld_dst(g), t);
    if k == half {
        y = vec2<f64>(sqrt(y.x * y.x + y.y * y.y), 0.0);
    }
    st_dst(g, y);
}

@compute @workgroup_size(256)
fn fft64_unpack(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
    let g = invocation_index(wid, nwg, lid, 256u);
    if g >= p.n_out * p.count {
        return;
    }
    let b = g / p.n_out;
    let k = g - b * p.n_out;
    dst_r[g] = f32(ld_src(b * p.n_in + k).x / f64(p.n_in));
}
