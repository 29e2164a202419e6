// deconvolve: remove_response's spectral division (NUMERICS §3.2 step 8) on a batch of full
// complex spectra of real traces. Each trace multiplies by its own inverse-response table
// (nfft/2+1 bins: evaluated response, water level, pre_filt and the DISP/VEL/ACC conversion,
// computed in f64 by src/response/cache.rs and uploaded once per distinct response). Bins
// above Nyquist take the conjugate mirror so the inverse FFT stays real; the Nyquist bin
// becomes |X T| + 0i as ObsPy's `data[-1] = abs(data[-1]) + 0.0j`.
// CPU twin: src/ops/deconvolve.rs (deconvolve).
//
// bindings: 0 params (uniform DeconvolveParams), 1 spec (storage rw, vec2 [count x nfft]),
//           2 tables (storage read, vec2 [slots x (nfft/2+1)]), 3 slot (storage read, u32 [count]),
//           9 and 17 spec1, spec2 (spec's parts above the binding limit), 31 parts (uniform Parts)
// workgroup size 256, one invocation per bin.

struct DeconvolveParams { // keep in sync with gpu::stages::deconvolve::DeconvolveParams
    nfft: u32,
    count: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: DeconvolveParams;
@group(0) @binding(1) var<storage, read_write> spec: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> tables: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> slot: array<u32>;

// A spectrum above the device's binding limit comes in up to three parts (as shaders/fft.wgsl):
// bin i is in part i / len, at i mod len; a whole one has its length past every bin.
struct Parts { // keep in sync with gpu::kernels::PartStarts
    data: u32,
    table: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(9) var<storage, read_write> spec1: array<vec2<f32>>;
@group(0) @binding(17) var<storage, read_write> spec2: array<vec2<f32>>;
@group(0) @binding(31) var<uniform> h: Parts;

fn ld_spec(i: u32) -> vec2<f32> {
    let s = h.data;
    if i < s {
        return spec[i];
    }
    if i - s < s {
        return spec1[i - s];
    }
    return spec2[i - 2u * s];
}

fn st_spec(i: u32, v: vec2<f32>) {
    let s = h.data;
    if i < s {
        spec[i] = v;
    } else if i - s < s {
        spec1[i - s] = v;
    } else {
        spec2[i - 2u * s] = v;
    }
}

@compute @workgroup_size(256)
fn deconvolve(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let g = invocation_index(wid, nwg, lid, 256u);
    if g >= p.nfft * p.count {
        return;
    }
    let b = g / p.nfft;
    let k = g - b * p.nfft;
    let half = p.nfft / 2u;
    let row = slot[b] * (half + 1u);
    let x = ld_spec(g);
    var t: vec2<f32>;
    if k <= half {
        t = tables[row + k];
    } else {
        t = tables[row + p.nfft - k];
        t.y = -t.y;
    }
    var y = vec2<f32>(x.x * t.x - x.y * t.y, x.x * t.y + x.y * t.x);
    if k == half {
        y = vec2<f32>(length(y), 0.0);
    }
    st_spec(g, y);
}
