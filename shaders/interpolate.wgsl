// interpolate: ObsPy's Lanczos resampling (NUMERICS §7, method="lanczos", window "lanczos"):
// y_j = sum over |u| <= a of x[i] L(u), u = pos_j - i, L(u) = sinc(u) sinc(u / a).
// The output grid (integer part idx and fraction of pos_j = offset + j * dt_factor) is
// computed in f64 on the host: in f32, j * dt_factor loses the fraction for long traces.
// sin(pi u) = (-1)^m sin(pi frac) for u = frac + m, so only sin(pi u / a) varies per tap,
// with |argument| <= pi (1 + 1/a) where GPU sin is accurate.
// CPU twin: src/ops/interpolate.rs (lanczos, checked against lanczos_reference).
//
// bindings: 0 params (uniform InterpolateParams), 1 src (storage read, f32 [count x n]),
//           2 dst (storage rw, f32 [count x npts]), 3 grid (storage read, GridPoint [npts])
// workgroup size 256, one invocation per output sample.

struct InterpolateParams { // keep in sync with gpu::stages::interpolate::InterpolateParams
    n: u32,
    npts: u32,
    count: u32,
    a: u32,
}

struct GridPoint { // keep in sync with gpu::stages::interpolate::GridPoint
    idx: i32,
    frac: f32,
}

@group(0) @binding(0) var<uniform> p: InterpolateParams;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(3) var<storage, read> grid: array<GridPoint>;

const PI: f32 = 3.141592653589793;

@compute @workgroup_size(256)
fn interpolate(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let g = invocation_index(wid, nwg, lid, 256u);
    if g >= p.npts * p.count {
        return;
    }
    let b = g / p.npts;
    let j = g - b * p.npts;
    let gp = grid[j];
    let a = i32(p.a);
    let af = f32(p.a);
    let n = i32(p.n);
    let base = b * p.n;
    let s_frac = sin(PI * gp.frac);
    var acc = 0.0;
    for (var m = -a; m <= a; m++) {
        let i = gp.idx - m;
        let u = gp.frac + f32(m);
        if i < 0 || i >= n || abs(u) > af {
            continue;
        }
        var l = 1.0;
        if abs(u) >= 1e-10 {
            var s1 = s_frac;
            if (m & 1) != 0 {
                s1 = -s1;
            }
            l = af * s1 * sin(PI * u / af) / (PI * PI * u * u);
        }
        acc += src[base + u32(i)] * l;
    }
    dst[g] = acc;
}
