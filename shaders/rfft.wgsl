// rfft: remove_response's transform pair (pad, rfft, times the trace's inverse-response table,
// irfft, truncate) in three passes through device memory instead of ~12, and resample's
// forward rfft in two, for an even length (nfft) whose half N' = nfft / 2 splits as
// N' = n1 n2 with lines that fit workgroup memory.
// CPU twins: src/ops/deconvolve.rs (deconvolve_in_place: realfft's rfft, the table, irfft),
// with detrend's line and the taper window of src/ops/{detrend,taper}.rs when fused;
// src/ops/resample.rs (spectral: realfft's rfft) for rfft_in + rfft_spectrum.
// Recorded by src/gpu/record/rfft.rs (split, radices and fusion are plan data).
//
// The real transform of nfft points is a complex one of N' points, z[j] = x[2j] + i x[2j+1],
// untangled afterwards (X[k] = E[k] + W_nfft^k O[k], E/O the spectra of the even/odd samples);
// the N'-point transform is four-step (n = n2 + N2 n1, k = k1 + N1 k2):
//   rfft_in          for each n2: the n1-point FFT over n1 of z[N2 n1 + n2] (read straight
//                    from the real samples, zero-padded, minus the detrend line and times the
//                    taper window when those stages are fused), times W_N'^{n2 k1},
//                    to y[N2 k1 + n2]                                    (pass 1)
//   rfft_deconvolve  for the pair of lines k1 and N1 - k1 (mod N1): the n2-point FFTs over n2
//                    -> Z[k1 + N1 k2]; every bin k meets its mirror N' - k in this pair of
//                    lines, so the untangling, the response multiply (Nyquist bin as |.|, DC
//                    real, as deconvolve.wgsl and numpy's irfft), the inverse's tangling and
//                    the inverse's first step (n2-point inverse FFTs over k2, times
//                    W_N'^{-k1 n2}) all happen in workgroup memory -> u[N2 k1 + n2]  (pass 2)
//   rfft_spectrum    (resample's forward transform) pass 2 up to the untangling; writes the
//                    bins 0..=limit its gather reads, compact                  (pass 2)
//   rfft_out         for each n2: the n1-point inverse FFT over k1 of u[N2 k1 + n2] -> z[n2 +
//                    N2 n1], scaled by 1/N', written as real samples 2j, 2j+1 < n_real (pass 3)
// Line FFTs are Stockham passes between the two halves of `tile`: radix 2, 3, 4, 5 as
// butterflies written out (no dynamically indexed private arrays: those live in local memory
// on NVIDIA), any larger prime (below 500, as ObsPy's nfft rule leaves them) as direct sums. Twiddles W_nfft^k come from the host's f64 table (binding 3), as in fft.wgsl.
//
// bindings: 0 params (uniform RfftParams), 1 src (vec2), 2 dst (vec2), 3 table (W_nfft^k,
// k < nfft), 4 src_r (f32 [count x n_real]), 5 dst_r (f32 [count x n_real]), 6 responses (vec2
// [slots x (N' + 1)]), 7 slot (u32 [count]), 8 window (f32 [n_real]), 9 fit (vec2 [count]).
// Workgroup size 256, 32 KiB of workgroup memory.

const RTILE: u32 = 2048u; // complex values per half of `tile`

struct RfftParams { // keep in sync with gpu::kernels::RfftParams
    n: u32,         // N' = nfft / 2
    n1: u32,        // N' = n1 n2
    n2: u32,
    count: u32,     // traces in the batch
    n_real: u32,    // rfft_in: real samples in per trace; rfft_out: real samples out
    per_group: u32, // rfft_in, rfft_out: lines per workgroup (per_group n1 <= RTILE)
    passes1: u32,   // radix passes of the n1-point FFTs (radices1)
    passes2: u32,   // and of the n2-point FFTs (radices2)
    radices1: array<vec4<u32>, 2>,
    radices2: array<vec4<u32>, 2>,
    prologue: u32,  // rfft_in: bit 0 subtract the detrend line `fit`, bit 1 times `window`
    fit_kind: u32,  // as DetrendParams.kind: 2 (simple) anchors the line at sample 0
    scale: f32,     // rfft_out: 1 / N'
    limit: u32,     // rfft_spectrum: bins 0..=limit written, limit + 1 per trace
}

@group(0) @binding(0) var<uniform> rp: RfftParams;
@group(0) @binding(1) var<storage, read> src: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> table: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read> src_r: array<f32>;
@group(0) @binding(5) var<storage, read_write> dst_r: array<f32>;
@group(0) @binding(6) var<storage, read> responses: array<vec2<f32>>;
@group(0) @binding(7) var<storage, read> slot: array<u32>;
@group(0) @binding(8) var<storage, read> window: array<f32>;
@group(0) @binding(9) var<storage, read> fit: array<vec2<f32>>;

var<workgroup> tile: array<vec2<f32>, 4096>; // 2 x RTILE

fn cmul(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}

fn conj(a: vec2<f32>) -> vec2<f32> {
    return vec2<f32>(a.x, -a.y);
}

// -i a (forward) or +i a (inverse).
fn mul_mi(a: vec2<f32>, inv: bool) -> vec2<f32> {
    return select(vec2<f32>(a.y, -a.x), vec2<f32>(-a.y, a.x), inv);
}

// W_nfft^k, conjugated for the inverse.
fn twid(k: u32, inv: bool) -> vec2<f32> {
    let w = table[k];
    return select(w, conj(w), inv);
}

fn radix_of(which: u32, q: u32) -> u32 {
    if which == 1u {
        return rp.radices1[q / 4u][q % 4u];
    }
    return rp.radices2[q / 4u][q % 4u];
}

// One radix-r butterfly of a Stockham pass: inputs tile[s + t m], t < r, twiddled by
// W^{t step}; outputs to tile[d + q ns], q < r.
fn butterfly(r: u32, s: u32, m: u32, d: u32, ns: u32, step: u32, inv: bool) {
    let a0 = tile[s];
    let a1 = cmul(tile[s + m], twid(step, inv));
    if r == 2u {
        tile[d] = a0 + a1;
        tile[d + ns] = a0 - a1;
        return;
    }
    let a2 = cmul(tile[s + 2u * m], twid(2u * step, inv));
    if r == 3u {
        // W_3 = -1/2 -+ i sqrt(3)/2
        let t1 = a1 + a2;
        let t2 = a0 - 0.5 * t1;
        let t3 = mul_mi(0.8660254037844386 * (a1 - a2), inv);
        tile[d] = a0 + t1;
        tile[d + ns] = t2 + t3;
        tile[d + 2u * ns] = t2 - t3;
        return;
    }
    let a3 = cmul(tile[s + 3u * m], twid(3u * step, inv));
    if r == 4u {
        let b0 = a0 + a2;
        let b1 = a0 - a2;
        let b2 = a1 + a3;
        let b3 = mul_mi(a1 - a3, inv);
        tile[d] = b0 + b2;
        tile[d + ns] = b1 + b3;
        tile[d + 2u * ns] = b0 - b2;
        tile[d + 3u * ns] = b1 - b3;
        return;
    }
    // r == 5: cos/sin of 2 pi / 5 and 4 pi / 5.
    let a4 = cmul(tile[s + 4u * m], twid(4u * step, inv));
    let c1 = 0.30901699437494745;
    let c2 = -0.8090169943749475;
    let s1 = 0.9510565162951535;
    let s2 = 0.5877852522924731;
    let p1 = a1 + a4;
    let m1 = a1 - a4;
    let p2 = a2 + a3;
    let m2 = a2 - a3;
    let e1 = a0 + c1 * p1 + c2 * p2;
    let e2 = a0 + c2 * p1 + c1 * p2;
    let o1 = mul_mi(s1 * m1 + s2 * m2, inv);
    let o2 = mul_mi(s2 * m1 - s1 * m2, inv);
    tile[d] = a0 + p1 + p2;
    tile[d + ns] = e1 + o1;
    tile[d + 2u * ns] = e2 + o2;
    tile[d + 3u * ns] = e2 - o2;
    tile[d + 4u * ns] = e1 - o1;
}

// The l-point FFTs of the nl lines tile[h + c l ..][..l], c < nl, with the radices of `which`
// (1: n1, 2: n2); W_l = W_nfft^{stride}. Returns the half of `tile` holding the result.
fn line_ffts(h: u32, l: u32, nl: u32, which: u32, stride: u32, inv: bool, lid: u32) -> u32 {
    var half = h;
    var ns = 1u;
    let passes = select(rp.passes2, rp.passes1, which == 1u);
    for (var q = 0u; q < passes; q++) {
        let r = radix_of(which, q);
        let m = l / r;
        let next = RTILE - half;
        if r <= 5u {
            for (var t = lid; t < nl * m; t += 256u) {
                let c = t / m;
                let j = t - c * m;
                let jm = j % ns;
                let step = jm * (l / (ns * r)) * stride;
                butterfly(r, half + c * l + j, m, next + c * l + (j / ns) * ns * r + jm, ns, step, inv);
            }
        } else {
            // A larger prime (ObsPy's nfft keeps them below 500): one output per invocation,
            // its r-term sum with W_r^{t q} W^{t step} = W_nfft^{(t step + (t q mod r) l/r stride)}.
            let nfft = 2u * rp.n;
            for (var u = lid; u < nl * l; u += 256u) {
                let c = u / l;
                let v = u - c * l;
                let j = v / r;
                let q = v - j * r;
                let jm = j % ns;
                let step = jm * (l / (ns * r)) * stride;
                let root = m * stride; // W_r = W_nfft^{nfft / r}
                let s = half + c * l + j;
                // Pairwise: each invocation's r terms summed as a tree of 2, 4, 8, ... (no
                // private arrays: partial sums kept per level in a small stack).
                var acc = vec2<f32>(0.0, 0.0);
                var l1 = vec2<f32>(0.0, 0.0);
                var l2 = vec2<f32>(0.0, 0.0);
                var l3 = vec2<f32>(0.0, 0.0);
                var l4 = vec2<f32>(0.0, 0.0);
                for (var t = 0u; t < r; t++) {
                    let k = (t * step + ((t * q) % r) * root) % nfft;
                    let v = cmul(tile[s + t * m], twid(k, inv));
                    if (t & 1u) == 0u { l1 = v; } else {
                        let p1 = l1 + v;
                        if (t & 2u) == 0u { l2 = p1; } else {
                            let p2 = l2 + p1;
                            if (t & 4u) == 0u { l3 = p2; } else {
                                let p3 = l3 + p2;
                                if (t & 8u) == 0u { l4 = p3; } else { acc += l4 + p3; }
                            }
                        }
                    }
                }
                // What is left below a full block of 16.
                let rest = r & 15u;
                if (rest & 1u) != 0u { acc += l1; }
                if (rest & 2u) != 0u { acc += l2; }
                if (rest & 4u) != 0u { acc += l3; }
                if (rest & 8u) != 0u { acc += l4; }
                tile[next + c * l + (j / ns) * ns * r + jm + q * ns] = acc;
            }
        }
        workgroupBarrier();
        ns *= r;
        half = next;
    }
    return half;
}

// Real sample i of trace b, zero past n_real, with the fused detrend and taper applied.
fn sample(b: u32, i: u32) -> f32 {
    if i >= rp.n_real {
        return 0.0;
    }
    var x = src_r[b * rp.n_real + i];
    if (rp.prologue & 1u) != 0u {
        let f = fit[b];
        let t0 = select((f32(rp.n_real) - 1.0) * 0.5, 0.0, rp.fit_kind == 2u);
        x = x - (f.x + f.y * (f32(i) - t0));
    }
    if (rp.prologue & 2u) != 0u {
        x = x * window[i];
    }
    return x;
}

// Pass 1. A workgroup takes `per_group` consecutive lines (trace b, column n2): consecutive
// invocations load and store neighbouring n2, i.e. neighbouring addresses.
@compute @workgroup_size(256)
fn rfft_in(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
    let total = rp.n2 * rp.count;
    let first = min(group_index(wid, nwg) * rp.per_group, total);
    let nl = min(rp.per_group, total - first);
    let l = rp.n1;
    for (var e = lid; e < nl * l; e += 256u) {
        let c = e % nl;
        let i = e / nl;
        let g = first + c;
        let b = g / rp.n2;
        let j = rp.n2 * i + (g - b * rp.n2);
        tile[c * l + i] = vec2<f32>(sample(b, 2u * j), sample(b, 2u * j + 1u));
    }
    workgroupBarrier();
    let h = line_ffts(0u, l, nl, 1u, 2u * rp.n2, false, lid);
    for (var e = lid; e < nl * l; e += 256u) {
        let c = e % nl;
        let k1 = e / nl;
        let g = first + c;
        let b = g / rp.n2;
        let n2 = g - b * rp.n2;
        // W_N'^{n2 k1} = W_nfft^{2 n2 k1}, 2 n2 k1 < nfft.
        dst[b * rp.n + rp.n2 * k1 + n2] = cmul(tile[h + c * l + k1], table[2u * n2 * k1]);
    }
}

// Pass 2's start. Workgroup g (trace b, k1 <= N1 / 2) holds line k1 at tile[h..h + n2) and
// its mirror line k1b = (N1 - k1) mod N1 at tile[h + n2..h + 2 n2) (the same line twice when
// k1b = k1), each through its n2-point FFT: Z[k1 + N1 k2] at element k2 of line A. Every bin
// k of line A meets its mirror N' - k in line B at element `mirror(k2)`.
struct Pair {
    b: u32,
    k1: u32,
    k1b: u32,
    nl: u32, // lines held: 2, or 0 for a padding workgroup
    h: u32,  // the half of `tile` holding them
}

fn pair_lines(g: u32, lid: u32) -> Pair {
    let pairs = rp.n1 / 2u + 1u;
    // Uniform control flow: a padding workgroup runs the barriers with nothing to do.
    let live = g < pairs * rp.count;
    let b = select(0u, g / pairs, live);
    let k1 = g - b * pairs;
    let k1b = (rp.n1 - k1) % rp.n1;
    let l = rp.n2;
    let nl = select(0u, 2u, live);
    for (var e = lid; e < nl * l; e += 256u) {
        let line = select(k1, k1b, e >= l);
        tile[e] = src[b * rp.n + l * line + e % l];
    }
    workgroupBarrier();
    let h = line_ffts(0u, l, nl, 2u, 2u * rp.n1, false, lid);
    return Pair(b, k1, k1b, nl, h);
}

fn mirror(p: Pair, k2: u32) -> u32 {
    let l = rp.n2;
    return select(l - 1u - k2, (l - k2) % l, p.k1 == 0u);
}

// The real transform's bins X[k] and X[N' - k] (X[N'] for k = 0) from Z[k] and Z[N' - k]:
// X[k] = E + W_nfft^k O, X[N' - k] = conj(E - W_nfft^k O), E and O the even and odd samples'
// spectra. Returns (X[k], X[N' - k]) as one vec4.
fn untangle(z: vec2<f32>, z_mirror: vec2<f32>, k: u32) -> vec4<f32> {
    let zb = conj(z_mirror);
    let e = 0.5 * (z + zb);
    let o = mul_mi(0.5 * (z - zb), false);
    let wo = cmul(table[k], o);
    return vec4<f32>(e + wo, conj(e - wo));
}

// Pass 2 of the deconvolution: untangle, multiply by the trace's table, tangle for the
// inverse, and the inverse's first step, all in workgroup memory.
@compute @workgroup_size(256)
fn rfft_deconvolve(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
    let p = pair_lines(group_index(wid, nwg), lid);
    let l = rp.n2;
    let h = p.h;
    let row = slot[p.b] * (rp.n + 1u);
    // In place: invocation k2 reads and writes A[k2] and B[mirror(k2)] only.
    for (var k2 = lid; k2 < p.nl / 2u * l; k2 += 256u) {
        let k = p.k1 + rp.n1 * k2;
        let kb = mirror(p, k2);
        let x = untangle(tile[h + k2], tile[h + l + kb], k);
        var y = cmul(x.xy, responses[row + k]);
        var yb = cmul(x.zw, responses[row + rp.n - k]);
        if k == 0u {
            y = vec2<f32>(y.x, 0.0);
            yb = vec2<f32>(length(yb), 0.0);
        }
        // The inverse's tangling: Z'[k] = E' + i O', Z'[N' - k] = conj(E') + i conj(O').
        let e2 = 0.5 * (y + conj(yb));
        let o2 = cmul(0.5 * (y - conj(yb)), conj(table[k]));
        tile[h + k2] = e2 + vec2<f32>(-o2.y, o2.x);
        tile[h + l + kb] = conj(e2) + vec2<f32>(o2.y, o2.x);
    }
    workgroupBarrier();
    let h2 = line_ffts(h, l, p.nl, 2u, 2u * rp.n1, true, lid);
    // Line B is line A again when k1b = k1: one store.
    let stores = select(p.nl, p.nl / 2u, p.k1b == p.k1);
    for (var e = lid; e < stores * l; e += 256u) {
        let line = select(p.k1, p.k1b, e >= l);
        let n2 = e % l;
        // W_N'^{-k1 n2}
        dst[p.b * rp.n + l * line + n2] = cmul(tile[h2 + e], twid(2u * line * n2, true));
    }
}

// Pass 2 of a forward real transform whose bins 0..=limit are all a later kernel reads
// (resample's gather): untangle and write those bins, limit + 1 per trace.
@compute @workgroup_size(256)
fn rfft_spectrum(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
    let p = pair_lines(group_index(wid, nwg), lid);
    let l = rp.n2;
    let stride = rp.limit + 1u;
    for (var k2 = lid; k2 < p.nl / 2u * l; k2 += 256u) {
        let k = p.k1 + rp.n1 * k2;
        // A line paired with itself meets each pair twice: the half with k <= N' - k writes.
        if p.k1 != p.k1b || k <= rp.n - k {
            let x = untangle(tile[p.h + k2], tile[p.h + l + mirror(p, k2)], k);
            if k <= rp.limit {
                dst[p.b * stride + k] = x.xy;
            }
            if rp.n - k <= rp.limit {
                dst[p.b * stride + rp.n - k] = x.zw;
            }
        }
    }
}

// Pass 3, laid out as pass 1: lines n2, the n1-point inverse FFT over k1, real samples out.
@compute @workgroup_size(256)
fn rfft_out(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) lid: u32) {
    let total = rp.n2 * rp.count;
    let first = min(group_index(wid, nwg) * rp.per_group, total);
    let nl = min(rp.per_group, total - first);
    let l = rp.n1;
    for (var e = lid; e < nl * l; e += 256u) {
        let c = e % nl;
        let k1 = e / nl;
        let g = first + c;
        let b = g / rp.n2;
        tile[c * l + k1] = src[b * rp.n + rp.n2 * k1 + (g - b * rp.n2)];
    }
    workgroupBarrier();
    let h = line_ffts(0u, l, nl, 1u, 2u * rp.n2, true, lid);
    for (var e = lid; e < nl * l; e += 256u) {
        let c = e % nl;
        let n1 = e / nl;
        let g = first + c;
        let b = g / rp.n2;
        let j = (g - b * rp.n2) + rp.n2 * n1;
        let z = tile[h + c * l + n1] * rp.scale;
        let i = 2u * j;
        if i < rp.n_real {
            dst_r[b * rp.n_real + i] = z.x;
        }
        if i + 1u < rp.n_real {
            dst_r[b * rp.n_real + i + 1u] = z.y;
        }
    }
}
