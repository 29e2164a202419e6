// detrend64: ObsPy Trace.detrend("polynomial", order=k), the least-squares polynomial fit
// removed, one batch of traces, in f64 (SHADER_F64). CPU twin: src/ops/lsq.rs
// (polynomial_fit, Legendre basis and Cholesky). Host side: src/gpu/stages/detrend.rs.
//
// The fit is a projection onto the discrete orthogonal (Gram) polynomials of the trace's own
// sample grid, so it needs no solve: with u = (i - (n-1)/2) / c the monic polynomials obey
// Q_0 = 1, Q_1 = u, Q_{k+1} = u Q_k - g_k Q_{k-1}, they are orthogonal over i = 0..n-1, and
// the fit's coefficient of Q_k is sum(y Q_k) / sum(Q_k^2). The host computes c, the g_k and
// the norms in f64 (`gram_table`); the same space as numpy's polyfit, so the same fit.
//
// bindings: 0 params (uniform Detrend64Params), 1 data (storage rw, f32 [count x n]),
//           2 gram (storage read, f64: 1/c, g_1..g_{terms-1}, then 1/h_0..1/h_{terms-1}),
//           3 coef (storage rw, f64 [count x MAX_TERMS], a complex work buffer)
// workgroup size 256.
//   detrend64_fit:   one workgroup per trace, tree reductions of sum(y Q_k), k < terms
//   detrend64_apply: one invocation per sample, subtracts sum(coef_k Q_k) in f64

struct Detrend64Params { // keep in sync with gpu::stages::detrend::Detrend64Params
    n: u32,
    count: u32,
    terms: u32, // order + 1, at most MAX_TERMS and at most n
    _pad: u32,
}

const MAX_TERMS: u32 = 16u;

@group(0) @binding(0) var<uniform> p: Detrend64Params;
@group(0) @binding(1) var<storage, read_write> data: array<f32>;
@group(0) @binding(2) var<storage, read> gram: array<f64>;
@group(0) @binding(3) var<storage, read_write> coef: array<f64>;

var<workgroup> red: array<f64, 256>;

// Q_0 .. Q_{terms-1} at sample i.
fn basis(i: u32, q: ptr<function, array<f64, 16>>) {
    let u = (f64(i) - (f64(p.n) - 1.0) * 0.5) * gram[0];
    (*q)[0] = f64(1.0);
    if p.terms > 1u {
        (*q)[1] = u;
    }
    for (var k = 1u; k + 1u < p.terms; k++) {
        (*q)[k + 1u] = u * (*q)[k] - gram[k] * (*q)[k - 1u];
    }
}

@compute @workgroup_size(256)
fn detrend64_fit(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
    let b = group_index(wid, nwg);
    // Uniform control flow: every invocation of a workgroup sees the same b.
    let live = b < p.count;
    var acc: array<f64, 16>;
    var q: array<f64, 16>;
    if live {
        for (var i = lid; i < p.n; i += 256u) {
            basis(i, &q);
            let y = f64(data[b * p.n + i]);
            for (var k = 0u; k < p.terms; k++) {
                acc[k] += y * q[k];
            }
        }
    }
    for (var k = 0u; k < p.terms; k++) {
        red[lid] = acc[k];
        workgroupBarrier();
        for (var w = 128u; w > 0u; w >>= 1u) {
            if lid < w {
                red[lid] += red[lid + w];
            }
            workgroupBarrier();
        }
        if lid == 0u && live {
            coef[b * MAX_TERMS + k] = red[0] * gram[p.terms + k];
        }
        workgroupBarrier();
    }
}

@compute @workgroup_size(256)
fn detrend64_apply(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
    let g = invocation_index(wid, nwg, lid, 256u);
    if g >= p.n * p.count {
        return;
    }
    let b = g / p.n;
    let i = g - b * p.n;
    var q: array<f64, 16>;
    basis(i, &q);
    var fit: f64 = 0.0;
    for (var k = 0u; k < p.terms; k++) {
        fit += coef[b * MAX_TERMS + k] * q[k];
    }
    data[g] = f32(f64(data[g]) - fit);
}
