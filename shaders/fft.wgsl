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

fn linear_id(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return ((wid.z * nwg.y + wid.y) * nwg.x + wid.x) * 256u + lid;
}

fn cmul(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}

@compute @workgroup_size(256)
fn fft_pack(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let g = linear_id(wid, nwg, lid);
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
    let g = linear_id(wid, nwg, lid);
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
    let g = linear_id(wid, nwg, lid);
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
    let g = linear_id(wid, nwg, lid);
    if g >= p.n_out * p.count {
        return;
    }
    let b = g / p.n_out;
    let k = g - b * p.n_out;
    dst_r[g] = src[b * p.n_in + k].x * p.scale;
}

// fft_tile: one step of a four-step FFT in workgroup memory. The transform of N = N1 N2
// points (n = N2 n1 + n2, k = k1 + N1 k2) is two steps, each reading and writing the batch
// once instead of once per radix pass:
//   A: for each n2, the N1-point FFT of x[N2 n1 + n2] over n1, times W_N^{n2 k1}, to
//      y[N2 k1 + n2]            (line = n2: in_line 1, in_el N2, out_line 1, out_el N2)
//   B: for each k1, the N2-point FFT of y[N2 k1 + n2] over n2, to X[k1 + N1 k2]
//                               (line = k1: in_line N2, in_el 1, out_line 1, out_el N1)
// N <= TILE runs as step B alone with one line per trace. A workgroup loads `per_group`
// lines of L points (neighbouring lines are neighbouring addresses when in_line or out_line
// is 1: the loads and stores are ordered so that consecutive invocations touch them), runs
// the Stockham passes of L (radix 2-5: passes in workgroup memory are cheap, and small
// radices keep more invocations busy) between the two halves of `tile`, and stores.
// bindings: 6 params (uniform TileParams), 1 src, 2 dst, 3 table (twiddles W_N^k, k < N).

const TILE: u32 = 2048u; // complex values per half of `tile`: 2 x 16 KiB of workgroup memory

struct TileParams { // keep in sync with gpu::kernels::TileParams
    n: u32,         // N: elements per trace
    l: u32,         // L: points per line
    lines: u32,     // lines per trace (N / L)
    count: u32,     // traces
    in_line: u32,   // element stride between lines, input
    in_el: u32,     // element stride within a line, input
    out_line: u32,  // the same, output
    out_el: u32,
    twiddle: u32,   // 1: output k of line j times W_N^{j k}
    inverse: u32,   // 1: conjugate twiddles and roots
    per_group: u32, // lines per workgroup (per_group * l <= TILE)
    passes: u32,    // radices used from `radices` (each 2, 3, 4 or 5)
    radices: array<vec4<u32>, 2>,
}

@group(0) @binding(6) var<uniform> tp: TileParams;

var<workgroup> tile: array<vec2<f32>, 4096>; // 2 x TILE

fn tw(k: u32) -> vec2<f32> {
    var w = table[k];
    if tp.inverse == 1u {
        w.y = -w.y;
    }
    return w;
}

@compute @workgroup_size(256)
fn fft_tile(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let group = (wid.z * nwg.y + wid.y) * nwg.x + wid.x;
    let total = tp.lines * tp.count;
    let first = min(group * tp.per_group, total);
    let nl = min(tp.per_group, total - first); // lines here (0 for a padding workgroup)
    let l = tp.l;
    let size = nl * l;
    // Load: line c of this group is global line first + c = trace b, line j.
    for (var e = lid; e < size; e += 256u) {
        var c: u32;
        var i: u32;
        if tp.in_line == 1u {
            c = e % nl;
            i = e / nl;
        } else {
            c = e / l;
            i = e % l;
        }
        let g = first + c;
        let b = g / tp.lines;
        let j = g - b * tp.lines;
        tile[c * l + i] = src[b * tp.n + j * tp.in_line + i * tp.in_el];
    }
    workgroupBarrier();
    // Stockham passes over each line, between tile[0..TILE) and tile[TILE..2 TILE).
    let stride = tp.n / l; // W_L^k = W_N^{k N/L}
    var half = 0u;
    var ns = 1u;
    for (var p = 0u; p < tp.passes; p++) {
        let r_n = tp.radices[p / 4u][p % 4u];
        let m = l / r_n;
        let next = TILE - half;
        for (var t = lid; t < nl * m; t += 256u) {
            let c = t / m;
            let j = t - c * m;
            let base = c * l;
            let jm = j % ns;
            let step = jm * (l / (ns * r_n));
            var v: array<vec2<f32>, 5>;
            for (var r = 0u; r < r_n; r++) {
                v[r] = cmul(tile[half + base + j + r * m], tw(step * r * stride));
            }
            let out = base + (j / ns) * ns * r_n + jm;
            for (var q = 0u; q < r_n; q++) {
                var acc = v[0];
                for (var r = 1u; r < r_n; r++) {
                    var w = root(r_n, (r * q) % r_n);
                    if tp.inverse == 1u {
                        w.y = -w.y;
                    }
                    acc += cmul(v[r], w);
                }
                tile[next + out + q * ns] = acc;
            }
        }
        workgroupBarrier();
        ns *= r_n;
        half = next;
    }
    // Store, twiddled by W_N^{j k} in step A.
    for (var e = lid; e < size; e += 256u) {
        var c: u32;
        var k: u32;
        if tp.out_line == 1u {
            c = e % nl;
            k = e / nl;
        } else {
            c = e / l;
            k = e % l;
        }
        let g = first + c;
        let b = g / tp.lines;
        let j = g - b * tp.lines;
        var y = tile[half + c * l + k];
        if tp.twiddle == 1u {
            y = cmul(y, tw(j * k));
        }
        dst[b * tp.n + j * tp.out_line + k * tp.out_el] = y;
    }
}
